/**
 * Data preparation: the face crop, dataset listing, the preprocessed cache, batch sampling and
 * the LFW fetch script. Real LFW images are read from ../shared (never copied into the project).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSampler, makeBatch, type BatchSamplerState } from '../src/data/batches.js';
import { centerCropBox, cropAndResize, cropAndResizeBytes, LFW_CROP } from '../src/data/crop.js';
import { buildDatasetCache, datasetCachePaths, loadDatasetCache, prepareDatasetCache } from '../src/data/dataset-cache.js';
import { listFaces, parseManifest } from '../src/data/face-folder.js';
import { centerCropSquare, readImage, type RgbImage } from '../src/io/image.js';
import { FIXTURE_FACES, HAVE_LFW, LFW_DIR, LFW_IMAGES, REPO_ROOT, needsShared } from './helpers/paths.js';

const NEEDS_LFW = needsShared('datasets/lfw');
/** The columns of ../shared/datasets/lfw/manifest.csv, which the fetch script writes too. */
const MANIFEST_HEADER = 'file,identity,split';
const LFW_MANIFEST = join(LFW_DIR, 'manifest.csv');
const SAMPLE = join(LFW_IMAGES, 'Aaron_Eckhart_0001.jpg');
/** A 64 px face models/default made (test/fixtures), for crops that need no LFW photo. */
const GENERATED = join(FIXTURE_FACES, 'generated-7001.png');
const run = promisify(execFile);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pulse-data-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Rows of the shared manifest, parsed independently of src/data. */
function manifestRows(): { file: string; identity: string; split: string }[] {
  return readFileSync(LFW_MANIFEST, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [file, identity, split] = l.trim().split(',');
      return { file, identity, split };
    });
}

describe('face crop', () => {
  it('LFW_CROP is the documented square inside 150x150', () => {
    expect(LFW_CROP).toEqual({ left: 19, top: 24, size: 112 });
    expect(LFW_CROP.left + LFW_CROP.size).toBeLessThanOrEqual(150);
    expect(LFW_CROP.top + LFW_CROP.size).toBeLessThanOrEqual(150);
    // eyes ~0.34 down, mouth ~0.75 down, eye distance ~0.37 of the side
    expect((62 - LFW_CROP.top) / LFW_CROP.size).toBeCloseTo(0.34, 2);
    expect((108 - LFW_CROP.top) / LFW_CROP.size).toBeCloseTo(0.75, 2);
    expect((95 - 54) / LFW_CROP.size).toBeCloseTo(0.37, 2);
    expect(Object.isFrozen(LFW_CROP)).toBe(true);
  });

  it.skipIf(!HAVE_LFW)(`crops a real LFW image to 64x64, and the float result is the 8-bit one / 255 ${NEEDS_LFW}`, async () => {
    const img = await cropAndResize(SAMPLE, LFW_CROP, 64);
    expect(img.width).toBe(64);
    expect(img.height).toBe(64);
    expect(img.data.length).toBe(64 * 64 * 3);
    let min = Infinity;
    let max = -Infinity;
    for (const v of img.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max - min).toBeGreaterThan(0.3); // a real picture, not a flat fill

    const bytes = await cropAndResizeBytes(SAMPLE, LFW_CROP, 64);
    expect(bytes.data.length).toBe(64 * 64 * 3);
    for (let i = 0; i < bytes.data.length; i++) expect(Math.abs(img.data[i] - bytes.data[i] / 255)).toBeLessThan(1e-6);
  });

  it('extracts exactly the box (no resize when the size equals the box side)', async () => {
    const { image } = await readImage(GENERATED);
    const box = { left: 9, top: 5, size: 48 };
    const cut = await cropAndResize(GENERATED, box, box.size);
    for (const [y, x] of [
      [0, 0],
      [0, 47],
      [47, 0],
      [23, 30],
      [47, 47],
    ]) {
      for (let c = 0; c < 3; c++) {
        const want = image.data[((box.top + y) * image.width + box.left + x) * 3 + c];
        expect(cut.data[(y * 48 + x) * 3 + c]).toBeCloseTo(want, 6);
      }
    }
  });

  it("'center' takes the largest centred square (in-memory source)", async () => {
    const w = 15;
    const h = 10;
    const data = new Float32Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i % 97) / 96;
    const src: RgbImage = { width: w, height: h, data };
    expect(centerCropBox(w, h)).toEqual({ left: 2, top: 0, size: 10 });
    const out = await cropAndResize(src, 'center', 10);
    const ref = centerCropSquare(src);
    expect(out.width).toBe(10);
    for (let i = 0; i < ref.data.length; i++) expect(Math.abs(out.data[i] - ref.data[i])).toBeLessThan(1e-4);
  });

  it('a box outside the image is an error naming the file and the image size', async () => {
    await expect(cropAndResize(GENERATED, { left: 30, top: 0, size: 48 }, 32)).rejects.toThrow(/generated-7001\.png.*64x64/);
    await expect(cropAndResizeBytes(GENERATED, { left: 0, top: 20, size: 48 }, 32)).rejects.toThrow(/generated-7001\.png.*64x64/);
    await expect(cropAndResize(GENERATED, { left: -1, top: 0, size: 10 }, 64)).rejects.toThrow(/invalid crop box/);
    await expect(cropAndResize(join(tmp, 'nope.jpg'), LFW_CROP, 64)).rejects.toThrow(/nope\.jpg.*no such file/);
  });
});

describe('dataset listing', () => {
  it.skipIf(!HAVE_LFW)(`lists the shared LFW manifest by split, with the manifest counts ${NEEDS_LFW}`, async () => {
    expect(readFileSync(LFW_MANIFEST, 'utf8').split('\n')[0].trim()).toBe(MANIFEST_HEADER);
    const rows = manifestRows();
    const train = await listFaces(LFW_DIR, { split: 'train' });
    const dev = await listFaces(LFW_DIR, { split: 'dev' });
    const all = await listFaces(LFW_DIR);
    expect(train.length).toBe(rows.filter((r) => r.split === 'train').length);
    expect(dev.length).toBe(rows.filter((r) => r.split === 'dev').length);
    expect(all.length).toBe(rows.length);
    expect(train.length).toBe(6132);
    expect(dev.length).toBe(730);
    expect(train[0].path.startsWith(LFW_IMAGES)).toBe(true);
    expect(train.every((e) => e.split === 'train' && typeof e.identity === 'string')).toBe(true);
    const trainIds = new Set(train.map((e) => e.identity));
    expect(dev.some((e) => trainIds.has(e.identity))).toBe(false); // split by identity
    const paths = all.map((e) => e.path);
    expect([...paths].sort()).toEqual(paths);
  });

  it('names a missing folder, a missing manifest, and missing listed files (or skips them on request)', async () => {
    await expect(listFaces(join(tmp, 'absent'))).rejects.toThrow(/absent does not exist/);
    const dir = join(tmp, 'mini');
    await fsp.mkdir(join(dir, 'images'), { recursive: true });
    await expect(listFaces(dir, { manifest: join(dir, 'nope.csv') })).rejects.toThrow(/nope\.csv/);

    await fsp.writeFile(join(dir, 'images', 'A_0001.jpg'), 'x');
    await fsp.writeFile(join(dir, 'manifest.csv'), 'file,identity,split\nA_0001.jpg,A,train\nB_0001.jpg,B,dev\n');
    await expect(listFaces(dir)).rejects.toThrow(/B_0001\.jpg/);
    const warnings: string[] = [];
    const got = await listFaces(dir, { skipMissing: true, warn: (m) => warnings.push(m) });
    expect(got).toEqual([{ path: join(dir, 'images', 'A_0001.jpg'), identity: 'A', split: 'train' }]);
    expect(warnings.join('\n')).toMatch(/B_0001\.jpg/);
    expect(() => parseManifest('file,identity,split\nx.jpg,X,test\n', 'm.csv')).toThrow(/m\.csv row 2.*unknown split 'test'/);
    expect(() => parseManifest('file,who\n', 'm.csv')).toThrow(/lacks column\(s\) identity, split/);
  });

  it('lists a plain folder sorted, optionally recursively; a split of a plain folder is an error', async () => {
    const dir = join(tmp, 'plain');
    await fsp.mkdir(join(dir, 'sub'), { recursive: true });
    for (const f of ['b.png', 'a.JPG', 'notes.txt', 'sub/c.jpg', '.hidden.jpg']) await fsp.writeFile(join(dir, f), 'x');
    expect((await listFaces(dir)).map((e) => e.path)).toEqual([join(dir, 'a.JPG'), join(dir, 'b.png')]);
    expect((await listFaces(dir, { recursive: true })).map((e) => e.path)).toEqual([join(dir, 'a.JPG'), join(dir, 'b.png'), join(dir, 'sub', 'c.jpg')]);
    await expect(listFaces(dir, { split: 'train' })).rejects.toThrow(/no manifest\.csv/);
  });
});

describe('dataset cache', () => {
  it.skipIf(!HAVE_LFW)(`builds 20 LFW images once, reloads them exactly, keys by size ${NEEDS_LFW}`, async () => {
    const cacheDir = join(tmp, 'cache');
    const files = (await listFaces(LFW_DIR, { split: 'train' })).slice(0, 20);
    const progress: [number, number][] = [];
    const built = await buildDatasetCache(files, { crop: LFW_CROP, size: 32, cacheDir, onProgress: (d, t) => progress.push([d, t]) });
    expect(built.built).toBe(true);
    expect(progress.length).toBe(20);
    expect(progress[19]).toEqual([20, 20]);
    expect(built.header.count).toBe(20);
    expect(built.header.skipped).toEqual([]);
    expect(built.header.crop).toEqual(LFW_CROP);
    expect(built.headerPath.startsWith(cacheDir)).toBe(true);

    const cache = await loadDatasetCache(built.headerPath);
    expect(cache.count).toBe(20);
    expect(cache.size).toBe(32);
    expect(cache.pixels.length).toBe(20 * 32 * 32 * 3);
    expect(cache.files).toEqual(files.map((f) => f.path).sort());
    for (const k of [0, 7, 19]) {
      const ref = await cropAndResizeBytes(cache.files[k], LFW_CROP, 32);
      expect(Buffer.from(cache.pixels.subarray(k * 32 * 32 * 3, (k + 1) * 32 * 32 * 3)).equals(Buffer.from(ref.data))).toBe(true);
    }

    // Same list (any order) -> reused; another size -> another key.
    const again = await prepareDatasetCache([...files].reverse(), { crop: LFW_CROP, size: 32, cacheDir });
    expect(again.built).toBe(false);
    expect(Buffer.from(again.pixels).equals(Buffer.from(cache.pixels))).toBe(true);
    const other = await datasetCachePaths(files, { crop: LFW_CROP, size: 16, cacheDir });
    expect(other.headerPath).not.toBe(built.headerPath);
    const otherCrop = await datasetCachePaths(files, { crop: { left: 18, top: 24, size: 112 }, size: 32, cacheDir });
    expect(otherCrop.key).not.toBe(built.header.key);
    const otherKernel = await datasetCachePaths(files, { crop: LFW_CROP, size: 32, kernel: 'cubic', cacheDir });
    expect(otherKernel.key).not.toBe(built.header.key);
    const small = await prepareDatasetCache(files.slice(0, 3), { crop: LFW_CROP, size: 16, cacheDir });
    expect(small.built).toBe(true);
    expect(small.pixels.length).toBe(3 * 16 * 16 * 3);
    expect((await fsp.readdir(cacheDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keys by content: a copy with new modification times keeps the cache, an edited byte does not', async () => {
    const dir = join(tmp, 'keyed');
    await fsp.mkdir(dir, { recursive: true });
    const files = ['generated-7000.png', 'generated-7001.png'].map((f) => join(dir, f));
    for (const f of files) await fsp.copyFile(join(FIXTURE_FACES, basename(f)), f);
    const options = { crop: 'center' as const, size: 16, cacheDir: join(tmp, 'cache-keyed') };
    const first = await prepareDatasetCache(files, options);
    expect(first.built).toBe(true);

    // The shared datasets are copied afresh each session: same bytes, new times.
    const later = new Date(Date.now() + 3_600_000);
    for (const f of files) await fsp.utimes(f, later, later);
    const recopied = await prepareDatasetCache(files, options);
    expect(recopied.built).toBe(false);

    const bytes = await fsp.readFile(files[1]);
    bytes[bytes.length - 1] ^= 1; // past the PNG's IEND data: the image decodes the same, the file differs
    await fsp.writeFile(files[1], bytes);
    expect((await datasetCachePaths(files, options)).key).not.toBe(first.header.key);
  });

  it.skipIf(!HAVE_LFW)(`skips a corrupt file with a warning naming it, records it, and goes on ${NEEDS_LFW}`, async () => {
    const cacheDir = join(tmp, 'cache-corrupt');
    const bad = join(tmp, 'corrupt.jpg');
    await fsp.writeFile(bad, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]));
    const good = (await listFaces(LFW_DIR, { split: 'dev' })).slice(0, 3).map((e) => e.path);
    const warnings: string[] = [];
    const cache = await prepareDatasetCache([...good, bad], { crop: LFW_CROP, size: 16, cacheDir, warn: (m) => warnings.push(m) });
    expect(cache.count).toBe(3);
    expect(cache.files).toEqual([...good].sort());
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain(bad);
    expect(cache.header.skipped.map((s) => s.file)).toEqual([bad]);
    expect(cache.header.sourceCount).toBe(4);

    await expect(buildDatasetCache([bad], { crop: LFW_CROP, size: 16, cacheDir, warn: () => {} })).rejects.toThrow(/none of the 1 source files/);
  });
});

describe('BatchSampler', () => {
  it('is deterministic per seed', () => {
    const a = new BatchSampler(50, 8, 'seed-1');
    const b = new BatchSampler(50, 8, 'seed-1');
    const c = new BatchSampler(50, 8, 'seed-2');
    const sa = Array.from({ length: 10 }, () => a.next());
    const sb = Array.from({ length: 10 }, () => b.next());
    const sc = Array.from({ length: 10 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('covers every index exactly once per epoch, batches always full', () => {
    const count = 10;
    const s = new BatchSampler(count, 3, 7);
    const stream: number[] = [];
    const epochs: number[] = [];
    for (let k = 0; k < 10; k++) {
      const b = s.next();
      expect(b.indices.length).toBe(3);
      expect(b.flips.length).toBe(3);
      stream.push(...b.indices);
      epochs.push(b.epoch);
    }
    for (let e = 0; e < 3; e++) {
      expect([...stream.slice(e * count, (e + 1) * count)].sort((x, y) => x - y)).toEqual([...Array(count).keys()]);
    }
    expect(epochs[0]).toBe(0);
    expect(epochs[9]).toBe(2);
    // epochs differ in order
    expect(stream.slice(0, count)).not.toEqual(stream.slice(count, 2 * count));
  });

  it('resumes exactly from a saved state (through JSON)', () => {
    const uninterrupted = new BatchSampler(37, 5, 'resume');
    const expected = Array.from({ length: 30 }, () => uninterrupted.next());

    for (const k of [0, 1, 7, 8, 13]) {
      const first = new BatchSampler(37, 5, 'resume');
      for (let i = 0; i < k; i++) first.next();
      const saved = JSON.parse(JSON.stringify(first.state())) as BatchSamplerState;
      const resumed = BatchSampler.restore(saved);
      expect(resumed.batches).toBe(k);
      const rest = Array.from({ length: 30 - k }, () => resumed.next());
      expect(rest).toEqual(expected.slice(k));
    }
    expect(() => BatchSampler.restore({ kind: 'other' } as unknown as BatchSamplerState)).toThrow(/not a version 1/);
  });

  it('flips about half the items', () => {
    const s = new BatchSampler(100, 50, 'flips');
    let flipped = 0;
    for (let i = 0; i < 40; i++) flipped += s.next().flips.filter(Boolean).length;
    expect(flipped / 2000).toBeGreaterThan(0.45);
    expect(flipped / 2000).toBeLessThan(0.55);
  });
});

describe('makeBatch', () => {
  it('gives NHWC float32 in [-1, 1] and mirrors flipped items', () => {
    const size = 4;
    const count = 3;
    const per = size * size * 3;
    const pixels = new Uint8Array(count * per);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
    pixels[0] = 0;
    pixels[1] = 255;
    const src = { count, size, pixels };
    const batch = makeBatch(src, [2, 0, 2], [false, false, true]);
    expect(batch.length).toBe(3 * per);
    expect(Math.min(...batch)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...batch)).toBeLessThanOrEqual(1);
    expect(batch[per]).toBe(-1); // item 1 = image 0, byte 0
    expect(batch[per + 1]).toBe(1); // byte 255
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          const srcByte = pixels[2 * per + (y * size + x) * 3 + c];
          expect(batch[(y * size + x) * 3 + c]).toBeCloseTo(srcByte / 127.5 - 1, 6);
          expect(batch[2 * per + (y * size + (size - 1 - x)) * 3 + c]).toBe(batch[(y * size + x) * 3 + c]);
        }
      }
    }
    expect(() => makeBatch(src, [3])).toThrow(/out of range/);
    expect(() => makeBatch(src, [0, 1], [true])).toThrow(/2 indices but 1 flips/);
  });
});

// ---------------------------------------------------------------------------------------------
// datasets/fetch-lfw.mjs on a tiny synthetic archive

/** A minimal ustar writer (regular files and folders; GNU 'L' records for names over 100 bytes). */
function tarBuffer(entries: { name: string; data?: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: string): Buffer => {
    const h = Buffer.alloc(512);
    h.write(name.slice(0, 100), 0, 'utf8');
    h.write(type === '5' ? '0000755\0' : '0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    h.write('14000000000\0', 136);
    h.write('        ', 148);
    h.write(type, 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return h;
  };
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  for (const e of entries) {
    const type = e.data === undefined ? '5' : '0';
    if (Buffer.byteLength(e.name) > 100) {
      const long = Buffer.from(`${e.name}\0`);
      blocks.push(header('././@LongLink', long.length, 'L'), pad(long));
    }
    blocks.push(header(e.name, e.data?.length ?? 0, type));
    if (e.data !== undefined) blocks.push(pad(e.data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe('datasets/fetch-lfw.mjs', () => {
  const script = join(REPO_ROOT, 'datasets', 'fetch-lfw.mjs');

  it('extracts a local .tgz flat, writes the manifest with the shared columns, and a split by identity', async () => {
    const jpeg = (shade: number) =>
      sharp({ create: { width: 150, height: 150, channels: 3, background: { r: shade, g: 100, b: 50 } } })
        .jpeg()
        .toBuffer();
    const people = ['Alice_Able', 'Bob_Baker', 'Carol_Cole', 'Dan_Dee', 'Eve_Ede', 'Fay_Fox', 'Gus_Gray', 'Hal_Hope'];
    const longName = `${'Z'.repeat(60)}_Long`;
    const entries: { name: string; data?: Buffer }[] = [{ name: 'lfw-deepfunneled/' }];
    const expected: string[] = [];
    for (const [i, p] of [...people, longName].entries()) {
      entries.push({ name: `lfw-deepfunneled/${p}/` });
      for (let n = 1; n <= (i % 3) + 1; n++) {
        const file = `${p}_${String(n).padStart(4, '0')}.jpg`;
        entries.push({ name: `lfw-deepfunneled/${p}/${file}`, data: await jpeg(20 * i + n) });
        expected.push(file);
      }
    }
    entries.push({ name: 'lfw-deepfunneled/README.txt', data: Buffer.from('not an image') });
    const archive = join(tmp, 'lfw-mini.tgz');
    await fsp.writeFile(archive, gzipSync(tarBuffer(entries)));
    const peopleTxt = join(tmp, 'people.txt');
    await fsp.writeFile(peopleTxt, `1\n${people.length + 1}\n${[...people, longName].map((p, i) => `${p}\t${(i % 3) + 1}`).join('\n')}\n`);
    const pairsTxt = join(tmp, 'pairs.txt');
    await fsp.writeFile(pairsTxt, '1\t2\nBob_Baker\t1\t2\nAlice_Able\t1\tCarol_Cole\t3\nAlice_Able\t1\tNobody\t1\n');

    const out = join(tmp, 'lfw-out');
    const { stdout } = await run(process.execPath, [script, '--out', out, '--archive', archive, '--people', peopleTxt, '--pairs', pairsTxt, '--dev-fraction', '0.5']);
    expect(stdout).toMatch(new RegExp(`${expected.length} images of ${people.length + 1} people`));

    expect((await fsp.readdir(join(out, 'images'))).sort()).toEqual([...expected].sort());
    const manifest = readFileSync(join(out, 'manifest.csv'), 'utf8').trim().split('\n');
    expect(manifest[0]).toBe(MANIFEST_HEADER);
    const rows = parseManifest(manifest.join('\n'));
    expect(rows.map((r) => r.file)).toEqual([...expected].sort());
    const splitOf = new Map<string, string>();
    for (const r of rows) {
      expect(r.file.startsWith(`${r.identity}_`)).toBe(true);
      if (splitOf.has(r.identity)) expect(splitOf.get(r.identity)).toBe(r.split);
      splitOf.set(r.identity, r.split);
    }
    expect(new Set(splitOf.values())).toEqual(new Set(['train', 'dev']));
    expect(readFileSync(join(out, 'pairs.csv'), 'utf8')).toBe('a,b,same\nBob_Baker_0001.jpg,Bob_Baker_0002.jpg,1\nAlice_Able_0001.jpg,Carol_Cole_0003.jpg,0\n');
    expect(readFileSync(join(out, '.gitignore'), 'utf8')).toMatch(/^\*$/m);

    // The output is a dataset folder the rest of the project reads.
    const dev = await listFaces(out, { split: 'dev' });
    expect(dev.length).toBe(rows.filter((r) => r.split === 'dev').length);
    const crop = await cropAndResize(dev[0].path, LFW_CROP, 64);
    expect(crop.width).toBe(64);

    // Re-running without --force does not clobber the manifest.
    await expect(run(process.execPath, [script, '--out', out, '--archive', archive, '--no-lists'])).rejects.toThrow(/already exists; pass --force/);
  });

  it('fails a download with a message pointing at --archive, and names a corrupt archive', async () => {
    const out = join(tmp, 'lfw-nonet');
    const err = await run(process.execPath, [script, '--out', out, '--url', 'http://127.0.0.1:9/lfw-deepfunneled.tgz', '--no-lists']).catch((e: { stderr: string; code: number }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(/could not download the LFW archive from http:\/\/127\.0\.0\.1:9/);
    expect((err as { stderr: string }).stderr).toMatch(/--archive path\/to\/lfw-deepfunneled\.tgz/);
    expect(existsSync(join(out, 'manifest.csv'))).toBe(false);

    const bad = join(tmp, 'bad.tgz');
    await fsp.writeFile(bad, gzipSync(Buffer.alloc(600, 65)));
    await expect(run(process.execPath, [script, '--out', join(tmp, 'lfw-bad'), '--archive', bad, '--no-lists'])).rejects.toThrow(/cannot extract .*bad\.tgz: bad tar header checksum/);
  });
});
