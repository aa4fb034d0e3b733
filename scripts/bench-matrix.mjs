#!/usr/bin/env node
/**
 * Runs `pulse bench --json` over the configurations BENCHMARKS.md records, each in its own
 * process (a backend is process-global), appending one JSON line per run to the output file
 * and printing a markdown table at the end. A failed run (e.g. out of memory) is recorded
 * with its error, and the matrix goes on.
 *
 *   node scripts/bench-matrix.mjs [--backends tensorflow,wasm] [--out bench-results.jsonl] [--only 64,256,1024] [--batches 1,4] [--steps 8,5,3]
 *
 * --steps gives the steps per run for 64, 256 and 1024 px; the first step is warm-up and
 * excluded from the median.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backends = opt('backends', 'tensorflow,wasm').split(',');
const out = path.resolve(opt('out', 'bench-results.jsonl'));
const only = opt('only', '64,256,1024').split(',').map(Number);
const batches = opt('batches', '1,4').split(',').map(Number);
/** Official PULSE (PyTorch 2.13 CPU, 2 threads, batch 1) on this machine, from ../shared/GUIDE.md. */
const OFFICIAL = { 64: 0.33, 256: 0.76, 1024: 11.5 };
const steps = opt('steps', '8,5,3').split(',').map(Number);
const CONFIGS = [
  { res: 64, factor: 8, steps: steps[0] },
  { res: 256, factor: 16, steps: steps[1] },
  { res: 1024, factor: 64, steps: steps[2] },
].filter((c) => only.includes(c.res));

for (const backend of backends) {
  for (const c of CONFIGS) {
    for (const batch of batches) {
      const argv = ['bin/pulse.mjs', 'bench', '--res', c.res, '--fmap-base', 8192, '--factor', c.factor, '--batch', batch, '--steps', c.steps, '--json'].map(String);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, argv, { cwd: ROOT, env: { ...process.env, PULSE_BACKEND: backend }, encoding: 'utf8', maxBuffer: 1 << 26 });
      let row;
      try {
        row = JSON.parse(r.stdout.trim().split('\n').pop());
      } catch {
        const err = (r.stderr || '').trim().split('\n').filter((l) => /error|Error|memory|abort/i.test(l)).slice(-2).join(' | ');
        row = { backend, res: c.res, factor: c.factor, batch, failed: true, error: err || `exit ${r.status ?? r.signal}` };
      }
      row.wall_s = (Date.now() - t0) / 1000;
      row.date = new Date().toISOString();
      appendFileSync(out, `${JSON.stringify(row)}\n`);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }
}

if (existsSync(out)) {
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  console.log('| backend | res | factor | batch | s/step (median) | s/step per image | vs official (batch 1: 0.33/0.76/11.5 s) | first step s | peak RSS MB | peak tensor MB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.failed) {
      console.log(`| ${r.backend} | ${r.res} | ${r.factor} | ${r.batch} | failed: ${r.error} | | | | | |`);
      continue;
    }
    const ratio = r.median_step_s / OFFICIAL[r.res];
    console.log(
      `| ${r.backend} | ${r.res} | ${r.factor} | ${r.batch} | ${r.median_step_s.toFixed(3)} | ${(r.median_step_s / r.batch).toFixed(3)} | ${ratio.toFixed(2)}x | ${r.first_step_s.toFixed(2)} | ${r.peak_rss_mb.toFixed(0)} | ${r.peak_tensor_mb.toFixed(0)} |`,
    );
  }
}
