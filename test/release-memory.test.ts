/**
 * Giving memory back after start-up and after a model's build: which mappings may be dropped
 * (src/backend/library-pages.ts), and, in child processes on the native backend with the addon
 * built (native/release-memory.c), that dropping them and tuning the C heap leave every result
 * as it was.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { droppableMappings, parseSmaps } from '../src/backend/library-pages.js';
import { thresholdsChosenByUser } from '../src/backend/host-memory.js';
import { RELEASE_MEMORY_ADDON } from '../src/backend/release-memory-addon.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TF = '/opt/app/node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow_cc.so.2';

/** A cut-down /proc/self/smaps: the library's five segments, another library, the heap. */
const SMAPS = [
  [`7f0000000000-7f0001000000 r--p 00000000 fd:01 42  ${TF}`, 15808, 0, 0],
  [`7f0001000000-7f0002000000 r-xp 01000000 fd:01 42  ${TF}`, 16416, 0, 0],
  [`7f0002000000-7f0002100000 r--p 02000000 fd:01 42  ${TF}`, 620, 620, 620], // RELRO: relocated, private copies
  [`7f0002100000-7f0002200000 rw-p 02100000 fd:01 42  ${TF}`, 636, 636, 636],
  [`7f0002200000-7f0002300000 r--p 02200000 fd:01 42  ${TF}`, 0, 0, 0], // nothing resident
  ['7f0003000000-7f0003100000 r-xp 00000000 fd:01 43  /usr/lib/x86_64-linux-gnu/libc.so.6', 1500, 0, 0],
  ['55d000000000-55d010000000 rw-p 00000000 00:00 0  [heap]', 418000, 418000, 418000],
]
  .map(([header, rss, anon, dirty]) => `${header}\nSize:  4 kB\nRss:   ${rss} kB\nPrivate_Dirty:  ${dirty} kB\nAnonymous:  ${anon} kB\nVmFlags: rd mr mw me\n`)
  .join('');

describe('parseSmaps and droppableMappings', () => {
  it('reads each mapping\'s range, permissions, path and page counts', () => {
    const maps = parseSmaps(SMAPS);
    expect(maps).toHaveLength(7);
    expect(maps[0]).toEqual({ start: 0x7f0000000000n, end: 0x7f0001000000n, perms: 'r--p', path: TF, rssKb: 15808, anonymousKb: 0, privateDirtyKb: 0 });
    expect(maps[6]).toMatchObject({ path: '[heap]', rssKb: 418000, anonymousKb: 418000 });
  });

  it('drops only the TensorFlow library\'s read-only segments with resident pages and no private copy', () => {
    const picked = droppableMappings(parseSmaps(SMAPS)).map((m) => m.perms);
    expect(picked).toEqual(['r--p', 'r-xp']);
  });

  it('never picks a mapping with a dirty page, even one not counted as anonymous', () => {
    const text = SMAPS.replace('Rss:   16416 kB\nPrivate_Dirty:  0 kB', 'Rss:   16416 kB\nPrivate_Dirty:  4 kB');
    expect(droppableMappings(parseSmaps(text)).map((m) => m.perms)).toEqual(['r--p']);
  });
});

describe('thresholdsChosenByUser', () => {
  it('leaves glibc\'s thresholds alone where the user set them', () => {
    expect(thresholdsChosenByUser({})).toBe(false);
    expect(thresholdsChosenByUser({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' })).toBe(false);
    expect(thresholdsChosenByUser({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304' })).toBe(true);
    expect(thresholdsChosenByUser({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1' })).toBe(true);
    expect(thresholdsChosenByUser({ MALLOC_MMAP_THRESHOLD_: '131072' })).toBe(true);
  });
});

/** Runs `code` (an ES module; tsx loads the TypeScript) in a fresh Node process on the native backend. */
function inChild(code: string, env: NodeJS.ProcessEnv = {}): { status: number | null; out: Record<string, unknown>; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, PULSE_BACKEND: 'tensorflow', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  return { status: res.status, out: line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}, stderr: res.stderr };
}

const nativeWhy = (() => {
  if (process.platform !== 'linux') return 'Linux only';
  if (!existsSync(path.join(ROOT, RELEASE_MEMORY_ADDON))) return `${RELEASE_MEMORY_ADDON} is not built (npm run build:native)`;
  const probe = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: ROOT, stdio: 'ignore', timeout: 60_000 });
  return probe.status === 0 ? '' : 'the native backend is not built (npm run build:native)';
})();

/** The library's resident pages, a convolution and a small generator's image, before and after. */
const PROBE = `
  import { readFileSync } from 'node:fs';
  import * as tf from '@tensorflow/tfjs-core';
  import { initBackend } from './src/backend/select.ts';
  import { parseSmaps } from './src/backend/library-pages.ts';
  import { buildReleasingLeftovers } from './src/backend/host-memory.ts';
  import { Synthesis } from './src/stylegan/synthesis.ts';
  import { randomSynthesisStateDict } from './src/stylegan/random-weights.ts';
  import { DEFAULT_SYNTHESIS_CONFIG } from './src/stylegan/config.ts';
  const info = await initBackend();
  const libraryKb = parseSmaps(readFileSync('/proc/self/smaps', 'utf8')).filter((m) => /libtensorflow_cc/.test(m.path)).reduce((s, m) => s + m.rssKb, 0);
  const conv = Array.from(tf.conv2d(tf.range(0, 48).reshape([1, 4, 4, 3]), tf.range(0, 54).reshape([3, 3, 3, 2]).div(7), 1, 'same').dataSync());
  const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 16, fmapBase: 256 };
  const synthesis = await buildReleasingLeftovers(() => Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 3, 0.1), 'random', cfg));
  const noise = Array.from({ length: 6 }, () => null);
  const image = Array.from(synthesis.forward(tf.ones([1, 6, 512]).mul(0.3), noise).dataSync());
  console.log(JSON.stringify({ libraryPages: info.libraryPages, libraryKb, conv, image }));
`;

describe.skipIf(nativeWhy !== '')(`native backend: handing memory back${nativeWhy ? ` (skipped: ${nativeWhy})` : ''}`, () => {
  it('drops most of the library\'s resident pages at start-up, and every result stays bit for bit', () => {
    const kept = inChild(PROBE, { PULSE_LIBRARY_PAGES: 'keep', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432' });
    const released = inChild(PROBE);
    expect(kept.status, kept.stderr).toBe(0);
    expect(released.status, released.stderr).toBe(0);
    expect(kept.out.libraryPages).toEqual({ released: false, why: 'PULSE_LIBRARY_PAGES=keep' });
    const r = released.out.libraryPages as { released: boolean; mappings: number; residentMb: number };
    expect(r.released).toBe(true);
    expect(r.residentMb).toBeGreaterThan(50);
    // Measured: about 330 MB kept against 45 MB after dropping (docs/performance.md).
    expect(released.out.libraryKb as number).toBeLessThan((kept.out.libraryKb as number) / 2);
    expect(released.out.conv).toEqual(kept.out.conv);
    expect(released.out.image).toEqual(kept.out.image);
    expect((released.out.image as number[]).length).toBe(16 * 16 * 3);
  });
});
