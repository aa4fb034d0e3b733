/**
 * `pulse bench-data` on a CelebA-HQ-like folder of photos (manifest.csv without splits +
 * images/): a 1024 px photo and a 512 px one holding faces the built-in model draws, a photo
 * without a face and a corrupt file. The 64x protocol (1024 px HR, 16x16 LR) against a plain
 * float64 re-implementation of PULSE's BicubicDownSample; the crop aligned to a model's
 * convention (`--model`) against src/align run directly; bad files reported while the rest go on.
 * Then the real CelebA-HQ set when ../shared has it.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignCentralFace } from '../src/align/align-face.js';
import { padWithBorder } from '../src/align/detect.js';
import { FFHQ_RULE, LFW_CROP_RULE } from '../src/align/quad.js';
import { benchConventionOf, benchSourceLayout, cropForConvention, makeBenchData, readBenchManifest } from '../src/benchmark/bench-data.js';
import { celebahqCrop, celebahqDir } from '../src/benchmark/celebahq.js';
import { reproFaces } from '../src/notebook/sources.js';
import { type RgbImage, imageFromNhwc, readImage, resizeImage, writePng } from '../src/io/image.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { useTestBackend } from './helpers/backend.js';
import { runCli } from './helpers/cli.js';
import { officialDownsample } from './helpers/official-bicubic.js';
import { CELEBAHQ_DIR, HAVE_CELEBAHQ, needsShared } from './helpers/paths.js';

let work: string;
let src: string;
let images: string;

/** Bytes of an 8-bit image read back (values / 255 -> 0..255). */
const bytesOf = (im: RgbImage): number[] => Array.from(im.data, (v) => Math.round(v * 255));

/** LR bytes as the official code makes them: BicubicDownSample in float64, then floor(clamp(x) * 255). */
function officialLr(hr: RgbImage, factor: number): number[] {
  const x = Float64Array.from(hr.data);
  const down = officialDownsample(x, [1, hr.height, hr.width, 3], factor);
  return Array.from(down, (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255));
}

beforeAll(async () => {
  await useTestBackend();
  work = mkdtempSync(join(tmpdir(), 'pulse-bench-faces-'));
  src = join(work, 'celeba-like');
  images = join(src, 'images');
  mkdirSync(images, { recursive: true });
  const model = await loadModel(defaultModelPath());
  const r = model.synthesis.config.resolution;
  const batch = await sampleFaces(model, [0, 5]); // faces face-api finds with high scores (test/align.test.ts)
  model.dispose();
  const face = async (k: number, side: number) => resizeImage(imageFromNhwc(batch, k, { width: r, height: r }), side, side, 'cubic');
  await writePng(join(images, 'a_1024.png'), padWithBorder(await face(0, 400), 312, 0.5)); // 1024 x 1024
  await writePng(join(images, 'b_512.png'), padWithBorder(await face(1, 200), 156, 0.5)); // 512 x 512
  const bands: RgbImage = { width: 256, height: 256, data: new Float32Array(256 * 256 * 3) };
  for (let i = 0; i < 256 * 256; i++) bands.data.set([(i % 256) / 256, 0.4, ((i / 256) | 0) / 256], i * 3);
  await writePng(join(images, 'c_noface.png'), bands);
  writeFileSync(join(images, 'd_corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]));
  // Like ../shared/datasets/celebahq/manifest.csv: describes the files, has no identity/split.
  writeFileSync(join(src, 'manifest.csv'), 'file,source_repo,sha256,licence\na_1024.png,generated,0,none\n');
}, 120_000);

describe('bench-data sources and conventions', () => {
  it('reads a folder whose manifest.csv has no split as the plain folder of its images/', () => {
    expect(benchSourceLayout(src)).toEqual({ layout: 'folder', imageDir: images });
  });

  it("picks the crop of a model's convention: the LFW box only for deep-funneled LFW", () => {
    expect(cropForConvention('lfw-crop', 'lfw')).toBe('lfw');
    expect(cropForConvention('lfw-crop', 'folder')).toBe('lfw-aligned');
    expect(cropForConvention('ffhq', 'folder')).toBe('ffhq');
    expect(cropForConvention('ffhq', 'lfw')).toBe('ffhq');
    // Trained here: as recorded; no training record (official weights, converted or not): FFHQ.
    expect(benchConventionOf({ data: { crop: { left: 19, top: 24, size: 112 } } })).toBe('lfw-crop');
    expect(benchConventionOf({ data: { crop: 'ffhq' } })).toBe('ffhq');
    expect(benchConventionOf({})).toBe('ffhq');
    expect(benchConventionOf({ convertedFrom: { synthesis: 'synthesis.pt' } })).toBe('ffhq');
  });

  it('finds CelebA-HQ (PULSE_CELEBAHQ, else ../shared beside the checkout); notebook 05 prefers it to LFW, as is at 1024 px, aligned to the model otherwise', () => {
    const root = mkdtempSync(join(tmpdir(), 'pulse-celebahq-root-'));
    const repo = join(root, 'repo');
    mkdirSync(repo);
    expect(celebahqDir({}, repo)).toBeNull();
    expect(celebahqDir({ PULSE_CELEBAHQ: src }, repo)).toBe(src);
    expect(() => celebahqDir({ PULSE_CELEBAHQ: repo }, repo)).toThrow(/PULSE_CELEBAHQ=.*holds no images/);
    const shared = join(root, 'shared', 'datasets', 'celebahq', 'images');
    mkdirSync(shared, { recursive: true });
    expect(celebahqDir({}, repo)).toBeNull(); // an empty folder is not the set
    writeFileSync(join(shared, 'x.jpg'), '');
    expect(celebahqDir({}, repo)).toBe(join(root, 'shared', 'datasets', 'celebahq'));
    expect(celebahqCrop(1024, 'ffhq')).toBe('center');
    expect(celebahqCrop(64, 'lfw-crop')).toBe('lfw-aligned');
    expect(celebahqCrop(64, 'ffhq')).toBe('ffhq');
    expect(reproFaces({}, repo, { resolution: 64, convention: 'lfw-crop' })).toMatchObject({ crop: 'lfw-aligned', split: 'all' });
    expect(reproFaces({}, repo, { resolution: 1024, convention: 'ffhq' })?.description).toMatch(/CelebA-HQ faces from .* as they are/);
    expect(reproFaces({ PULSE_NOTEBOOK_FACES: 'generated' }, repo)).toBeNull();
    expect(reproFaces({ PULSE_REPRO_FACES: src }, repo)).toMatchObject({ dir: src, crop: 'center' });
  });
});

describe('pulse bench-data on photos', () => {
  it("64x protocol: 1024 px HR (centre crop) and 16x16 LR equal to the official BicubicDownSample of the saved HR; the corrupt file is reported, the rest go on", async () => {
    const out = join(work, 'x64');
    const skipped: string[] = [];
    const m = await makeBenchData({ source: src, size: 1024, factors: [64], crop: 'center', out, onSkip: (s) => skipped.push(s.error) });
    expect(m.faces.map((f) => f.id)).toEqual(['a_1024', 'b_512', 'c_noface']); // no detection in a centre crop
    expect(m.skipped?.map((s) => s.source)).toEqual([join(images, 'd_corrupt.jpg')]);
    expect(skipped[0]).toContain(join(images, 'd_corrupt.jpg'));
    for (const face of m.faces.slice(0, 2)) {
      const { image: hr } = await readImage(join(out, face.hr.file));
      const { image: lr } = await readImage(join(out, face.lr['64'].file));
      expect([hr.width, lr.width]).toEqual([1024, 16]);
      const want = officialLr(hr, 64);
      const got = bytesOf(lr);
      // float32 (tfjs) against float64: a value on a rounding edge may land one step apart.
      const diffs = got.map((g, i) => Math.abs(g - want[i]));
      expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
      expect(diffs.filter((d) => d > 0).length).toBeLessThan(got.length * 0.02);
      // And it is not just any downscale: libvips' lanczos3 differs by much more.
      const other = await resizeImage(hr, 16, 16, 'lanczos3');
      expect(Math.max(...bytesOf(other).map((g, i) => Math.abs(g - want[i])))).toBeGreaterThan(2);
    }
  }, 120_000);

  /** The built-in model's files with its training crop relabelled, as v1 (trained on the LFW box) recorded it. */
  function lfwCropModel(): string {
    const dir = join(work, 'v1-like-model');
    mkdirSync(dir, { recursive: true });
    const json = JSON.parse(readFileSync(join(defaultModelPath(), 'model.json'), 'utf8'));
    json.metadata = { ...json.metadata, data: { ...json.metadata?.data, crop: { left: 19, top: 24, size: 112 } } };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    copyFileSync(join(defaultModelPath(), 'weights.bin'), join(dir, 'weights.bin'));
    return dir;
  }

  // The built-in model (v2) was trained on FFHQ-aligned faces; v1 on the LFW box, whose framing
  // other photos get from landmarks (lfw-aligned). Each --model gets its own convention's crop.
  it.each([
    { label: 'the built-in model: FFHQ alignment', model: () => defaultModelPath(), crop: 'ffhq', rule: FFHQ_RULE, other: LFW_CROP_RULE },
    { label: 'a model trained on the LFW box (v1): its framing from landmarks', model: lfwCropModel, crop: 'lfw-aligned', rule: LFW_CROP_RULE, other: FFHQ_RULE },
  ])("--model, $label; HR equals src/align's face; no face and corrupt reported by name, exit code 1", async ({ model, crop, rule, other }) => {
    const out = join(work, `aligned-${crop}`);
    const r = await runCli(['bench-data', src, '--model', model(), '--factors', '8,16', '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`crop ${crop}`);
    expect(r.err).toContain(`${join(images, 'c_noface.png')}: no face found`);
    expect(r.err).toMatch(new RegExp(`error: ${join(images, 'd_corrupt.jpg')}.*not an image`));
    const m = readBenchManifest(out);
    expect(m.size).toBe(64);
    expect(m.crop.name).toBe(crop);
    expect(m.faces.map((f) => f.id)).toEqual(['a_1024', 'b_512']);
    expect(m.skipped?.map((s) => s.source)).toEqual([join(images, 'c_noface.png'), join(images, 'd_corrupt.jpg')]);
    for (const face of m.faces) {
      const { image: photo } = await readImage(face.source);
      const want = await alignCentralFace(photo, { size: 64, rule });
      const { image: hr } = await readImage(join(out, face.hr.file));
      expect(bytesOf(hr)).toEqual(Array.from(want.bytes));
      expect(face.alignment).toMatchObject({ rule: rule.name });
      // The other framing of the same photo is another image: the crop really follows the rule.
      const otherFace = await alignCentralFace(photo, { size: 64, rule: other });
      expect(Buffer.from(otherFace.bytes).equals(Buffer.from(want.bytes))).toBe(false);
      for (const f of [8, 16]) {
        const { image: lr } = await readImage(join(out, face.lr[String(f)].file));
        const diffs = bytesOf(lr).map((g, i) => Math.abs(g - officialLr(hr, f)[i]));
        expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
      }
    }
  }, 180_000);
});

describe.skipIf(!HAVE_CELEBAHQ)(`CelebA-HQ ${needsShared('datasets/celebahq')}`, () => {
  it('reads the set in place: sources hashed as its manifest says, 1024 px at 64x, and aligned at the default model\'s size', async () => {
    const manifestCsv = readFileSync(join(CELEBAHQ_DIR, 'manifest.csv'), 'utf8').trim().split('\n');
    const header = manifestCsv[0].split(',');
    const sha = new Map(manifestCsv.slice(1).map((l) => l.split(',')).map((c) => [c[header.indexOf('file')], c[header.indexOf('sha256')]]));
    const x64 = await makeBenchData({ source: CELEBAHQ_DIR, size: 1024, factors: [64], crop: 'center', count: 2, out: join(work, 'celebahq-x64') });
    expect(x64.source.layout).toBe('folder');
    expect(x64.faces.map((f) => f.id)).toEqual(['maskgan_0', 'maskgan_1']);
    for (const f of x64.faces) {
      expect(f.sourceSha256).toBe(sha.get(`${f.id}.jpg`));
      expect(f.sourceSha256).toBe(createHash('sha256').update(readFileSync(f.source)).digest('hex'));
      expect(f.lr['64']).toMatchObject({ width: 16, height: 16 });
    }
    const aligned = await makeBenchData({ source: CELEBAHQ_DIR, size: 64, factors: [8, 16], crop: 'lfw-aligned', count: 2, out: join(work, 'celebahq-64') });
    expect(aligned.skipped).toEqual([]);
    expect(aligned.faces).toHaveLength(2);
    expect(aligned.faces[0].alignment).toMatchObject({ rule: 'lfw-crop' });
  }, 180_000);
});
