#!/usr/bin/env node
/**
 * Step speed and memory of this project, and with --official of the official PULSE code, size by
 * size in one run on one machine (machines of one kind differ: only numbers of one run compare).
 * Each configuration runs in its own process (a backend is process-global): ours is
 * `pulse speed ... --json`, the official one ../shared/ref/pulse_ref.py's `speed` under
 * `/usr/bin/time -v` for its peak RSS. One JSON line per run is appended to --out (a failed run,
 * e.g. out of memory, is recorded with its error and the matrix goes on), and a markdown table
 * with the CPU model and flags is printed at the end, from this run's lines only.
 *
 *   node scripts/bench-matrix.mjs [--backends tensorflow,wasm] [--official] [--out FILE]
 *        [--only 64,256,1024] [--batches 1,4] [--steps 8,5,3]
 *
 * --steps gives the steps per run for 64, 256 and 1024 px; the first step is warm-up and
 * excluded from the median. --official needs the reference set up as ../shared/ref/README.md
 * says (.cache/pulse_ref and .cache/tvenv; PULSE_REF_DIR and PULSE_REF_PYTHON override them).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backends = opt('backends', 'tensorflow,wasm').split(',').filter(Boolean);
const official = args.includes('--official');
const out = path.resolve(opt('out', 'bench-results.jsonl'));
const only = opt('only', '64,256,1024').split(',').map(Number);
const batches = opt('batches', '1,4').split(',').map(Number);
const steps = opt('steps', '8,5,3').split(',').map(Number);
const CONFIGS = [
  { res: 64, factor: 8, steps: steps[0] },
  { res: 256, factor: 16, steps: steps[1] },
  { res: 1024, factor: 64, steps: steps[2] },
].filter((c) => only.includes(c.res));

const REF_DIR = path.resolve(ROOT, process.env.PULSE_REF_DIR ?? '.cache/pulse_ref');
const REF_PYTHON = path.resolve(ROOT, process.env.PULSE_REF_PYTHON ?? '.cache/tvenv/bin/python');
const REF_SCRIPT = path.resolve(ROOT, '../shared/ref/pulse_ref.py');
if (official && !(existsSync(REF_PYTHON) && existsSync(path.join(REF_DIR, 'PULSE.py')) && existsSync(REF_SCRIPT))) {
  console.error(`bench-matrix: --official needs the official code set up (../shared/ref/README.md): ${REF_DIR}/PULSE.py and ${REF_PYTHON}`);
  process.exit(2);
}

/** The CPU as /proc/cpuinfo names it, with the vector extensions that decide conv speed. */
function cpuDescription() {
  const model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let flags = [];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const have = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
    flags = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile'].filter((f) => have.has(f));
  } catch {
    // not Linux: the model alone
  }
  return `${model}, ${cpus().length} threads, ${flags.join(' ') || 'no AVX2'}`;
}

/** Peak RSS in MB from `/usr/bin/time -v` output. */
function maxRssMb(stderr) {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : null;
}

function lastJson(stdout) {
  return JSON.parse(stdout.trim().split('\n').pop());
}

function failure(stderr, status, signal) {
  const lines = (stderr || '').trim().split('\n').filter((l) => /error|Error|memory|abort|Killed|Check failed/i.test(l));
  return lines.slice(-2).join(' | ') || `exit ${status ?? signal}`;
}

/** The commit measured, with "+changes" when the work tree differs from it. */
function commitDescription() {
  const git = (...a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin', 'scripts').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+changes' : ''}`;
}

const cpu = cpuDescription();
const commit = commitDescription();
const runId = new Date().toISOString();
const rows = [];
function record(row) {
  const full = { ...row, cpu, commit, run: runId, date: new Date().toISOString() };
  rows.push(full);
  appendFileSync(out, `${JSON.stringify(full)}\n`);
  process.stderr.write(`${JSON.stringify(full)}\n`);
}

for (const c of CONFIGS) {
  for (const batch of batches) {
    if (official) {
      const argv = ['-v', REF_PYTHON, REF_SCRIPT, 'speed', `res=${c.res}`, 'fmap_base=8192', `factor=${c.factor}`, `steps=${c.steps}`, `batch=${batch}`, 'threads=2'];
      const t0 = Date.now();
      const r = spawnSync('/usr/bin/time', argv, { cwd: ROOT, env: { ...process.env, PULSE_REF_DIR: REF_DIR }, encoding: 'utf8', maxBuffer: 1 << 26 });
      let row;
      try {
        const j = lastJson(r.stdout);
        row = { backend: `official (torch ${j.torch})`, res: c.res, factor: c.factor, batch, steps: c.steps, median_step_s: j.median_step_s, peak_rss_mb: maxRssMb(r.stderr), glibc_tunables: process.env.GLIBC_TUNABLES ?? '' };
      } catch {
        row = { backend: 'official', res: c.res, factor: c.factor, batch, failed: true, error: failure(r.stderr, r.status, r.signal) };
      }
      record({ ...row, wall_s: (Date.now() - t0) / 1000 });
    }
    for (const backend of backends) {
      const argv = ['bin/pulse.mjs', 'speed', '--res', c.res, '--fmap-base', 8192, '--factor', c.factor, '--batch', batch, '--steps', c.steps, '--json'].map(String);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, argv, { cwd: ROOT, env: { ...process.env, PULSE_BACKEND: backend }, encoding: 'utf8', maxBuffer: 1 << 26 });
      let row;
      try {
        row = lastJson(r.stdout);
      } catch {
        row = { backend, res: c.res, factor: c.factor, batch, failed: true, error: failure(r.stderr, r.status, r.signal) };
      }
      record({ ...row, wall_s: (Date.now() - t0) / 1000 });
    }
  }
}

const officialOf = (r) => rows.find((o) => o.backend.startsWith('official') && !o.failed && o.res === r.res && o.batch === r.batch);
console.log(`CPU: ${cpu}; commit ${commit}; run ${runId}\n`);
console.log('| backend | res (factor) | batch | s/step (median) | s/step per solution | vs official, same run | peak RSS MB | vs official RSS |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  if (r.failed) {
    console.log(`| ${r.backend} | ${r.res} (${r.factor}x) | ${r.batch} | failed: ${r.error} | | | | |`);
    continue;
  }
  const o = r.backend.startsWith('official') ? undefined : officialOf(r);
  const time = o ? `${(r.median_step_s / o.median_step_s).toFixed(2)}x` : '';
  const rss = o && o.peak_rss_mb && r.peak_rss_mb ? `${(r.peak_rss_mb / o.peak_rss_mb).toFixed(2)}x` : '';
  console.log(
    `| ${r.backend} | ${r.res} (${r.factor}x) | ${r.batch} | ${r.median_step_s.toFixed(3)} | ${(r.median_step_s / r.batch).toFixed(3)} | ${time} | ${r.peak_rss_mb?.toFixed(0) ?? ''} | ${rss} |`,
  );
}
