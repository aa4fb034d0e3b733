/**
 * Every recorded official run in ../shared/parity/cases, judged by `pulse parity` exactly
 * as a user runs it, on the native backend and on wasm (one child process each, since a
 * tfjs backend is process-global).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARITY_CASES, REPO_ROOT } from './helpers/paths.js';

const cases = readdirSync(PARITY_CASES).sort();
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
  const r = spawnSync(process.execPath, [pulse, 'parity', join(PARITY_CASES, caseName), '--json'], {
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
  const allowMissing = process.env.PULSE_ALLOW_NO_NATIVE === '1';
  it.each(cases)('%s: every quantity within its tolerance', (caseName) => {
    if (!available) {
      if (allowMissing) return;
      throw new Error('the native backend (@tensorflow/tfjs-node) is not built: run `npm run build:native` (or set PULSE_ALLOW_NO_NATIVE=1)');
    }
    const report = parity(backend, caseName);
    expect(report.backend).toBe(backend);
    expect(report.reports).toHaveLength(1);
    expect(report.reports[0].checks.length).toBeGreaterThan(8);
  });
});
