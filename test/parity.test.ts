/**
 * Recorded official runs judged by `pulse parity` exactly as a user runs it, on the native
 * backend and on wasm (one child process each, since a tfjs backend is process-global): the
 * project's own fixture case always, every case in ../shared/parity/cases where it is beside
 * the checkout (skipped, with the reason in the title, where it is not). Without a built
 * native backend the native runs are skipped when PULSE_ALLOW_NO_NATIVE=1 and fail otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FIXTURE_CASE, HAVE_SHARED_PARITY, REPO_ROOT, caseDir, needsShared, sharedCaseNames } from './helpers/paths.js';

const sharedCases = HAVE_SHARED_PARITY ? sharedCaseNames() : ['p64', 'p32-l1', 'p128-tile', 'p64-x4'];
const pulse = join(REPO_ROOT, 'bin', 'pulse.mjs');

function nativeAvailable(): boolean {
  try {
    execFileSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: REPO_ROOT, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Report {
  backend: string;
  reports: { dir: string; pass: boolean; checks: { quantity: string; error: number; bound: number; pass: boolean }[] }[];
}

function parity(backend: string, caseName: string): Report {
  const r = spawnSync(process.execPath, [pulse, 'parity', caseDir(caseName), '--json'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PULSE_BACKEND: backend },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (!r.stdout.trim()) throw new Error(`pulse parity produced no report (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const report = JSON.parse(r.stdout) as Report;
  const failed = report.reports.flatMap((c) => c.checks.filter((k) => !k.pass));
  expect(failed, r.stderr.slice(-3000)).toEqual([]);
  expect(r.status).toBe(0);
  return report;
}

describe.each(['tensorflow', 'wasm'])('pulse parity on %s', (backend) => {
  const available = backend !== 'tensorflow' || nativeAvailable();
  const skipNative = !available && process.env.PULSE_ALLOW_NO_NATIVE === '1';
  const noNative = skipNative ? ' [native backend not built, PULSE_ALLOW_NO_NATIVE=1: skipped]' : '';
  const check = (caseName: string) => {
    if (!available) {
      throw new Error('the native backend (@tensorflow/tfjs-node) is not built: run `npm run build:native` (or set PULSE_ALLOW_NO_NATIVE=1 to skip these)');
    }
    const report = parity(backend, caseName);
    expect(report.backend).toBe(backend);
    expect(report.reports).toHaveLength(1);
    expect(report.reports[0].checks.length).toBeGreaterThan(8);
  };
  it.skipIf(skipNative)(`f32 (test/fixtures): every quantity within its tolerance${noNative}`, () => {
    expect(caseDir('f32')).toBe(FIXTURE_CASE);
    check('f32');
  });
  for (const caseName of sharedCases) {
    const why = !HAVE_SHARED_PARITY ? ` ${needsShared('parity')}` : noNative;
    it.skipIf(!HAVE_SHARED_PARITY || skipNative)(`${caseName}: every quantity within its tolerance${why}`, () => check(caseName));
  }
});
