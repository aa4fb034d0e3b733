/**
 * Per-kernel profile of one PULSE step at each size (src/speed/profile.ts), as markdown for
 * docs/performance.md, plus the raw groups as JSON lines when --json FILE is given.
 *
 *   npx tsx scripts/profile-step.ts [--only 64,256,1024] [--batch 1] [--top 25] [--json FILE] [--by-shape Conv2D,...]
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tunedMallocEnv } from '../src/backend/malloc-env.js';
import { profileStep, profileTable } from '../src/speed/profile.js';

// The allocator settings `pulse` runs with (src/backend/malloc-env.ts): without them every large
// tensor is fresh pages, and at batch 4 the elementwise kernels timed 2-10x slower than in a search.
const tuned = tunedMallocEnv(process.env);
if (tuned) process.exit(spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: tuned }).status ?? 1);

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const FACTOR: Record<number, number> = { 64: 8, 256: 16, 1024: 64 };
const sizes = opt('only', '64,256,1024').split(',').map(Number);
const batch = Number(opt('batch', '1'));
const top = Number(opt('top', '25'));
const json = opt('json', '');
/** Kernels listed per input shape (comma-separated names; default the convolutions). */
const byShape = new Set(opt('by-shape', 'Conv2D,Conv2DBackpropInput,Conv2DBackpropFilter,Conv2DTranspose').split(','));

console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} threads visible)\n`);
for (const res of sizes) {
  const p = await profileStep({ res, fmapBase: 8192, factor: FACTOR[res] ?? 8, batch, steps: 3 }, 2, (k) => byShape.has(k));
  console.log(`${profileTable(p, top)}\n`);
  if (json) appendFileSync(json, `${JSON.stringify({ ...p, date: new Date().toISOString(), cpu: cpus()[0]?.model })}\n`);
}
