/**
 * The FFHQ alignment (src/align): the quad rule, padding and sampling against hand-derived and
 * numpy/scipy-recorded values; then the whole chain on photos made from faces the built-in model
 * draws (nothing from ../shared is needed): eyes land on the FFHQ template, a rotated photo comes
 * out upright, two faces give two crops, and bad inputs are reported by name while the batch
 * goes on.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignFaces, bytesToImage } from '../src/align/align-face.js';
import { channelMedians, gaussianBlur, padWithFade, preparePhoto, reflectIndex, rint } from '../src/align/crop-pad.js';
import { detectFacesWithLandmarks, padWithBorder } from '../src/align/detect.js';
import { FFHQ_RULE, LFW_CROP_RULE, alignQuad, eyeMouthRatio, faceFeatures, ffhqTemplate, toAligned, type Point } from '../src/align/quad.js';
import { sampleBilinear, sampleQuad } from '../src/align/transform.js';
import { imageFromNhwc, resizeImage, writePng, type RgbImage } from '../src/io/image.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { useTestBackend } from './helpers/backend.js';
import { LFW_IMAGES } from './helpers/paths.js';
import { alignDatasetFace } from '../src/align/dataset-face.js';
import { prepareDatasetCache } from '../src/data/dataset-cache.js';
import { LFW_CROP } from '../src/data/crop.js';
import { runCli } from './helpers/cli.js';

/** 68 landmarks with the given eye centres and mouth corners (the other points are irrelevant to the rule). */
function landmarksFor(eyeLeft: Point, eyeRight: Point, mouthLeft: Point, mouthRight: Point): Point[] {
  const pts: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  for (let i = 36; i < 42; i++) pts[i] = { ...eyeLeft };
  for (let i = 42; i < 48; i++) pts[i] = { ...eyeRight };
  pts[36] = { x: eyeLeft.x - 3, y: eyeLeft.y };
  pts[39] = { x: eyeLeft.x + 3, y: eyeLeft.y }; // symmetric pair: the mean stays eyeLeft
  pts[48] = mouthLeft;
  pts[54] = mouthRight;
  return pts;
}

describe('the FFHQ quad', () => {
  it('matches the rule worked by hand for an upright face', () => {
    // e = (40, 0), m = (0, 50): x = e + (m.y, -m.x) = (90, 0) -> unit (1, 0) * max(80, 90) = 90
    const f = faceFeatures(landmarksFor({ x: 100, y: 100 }, { x: 140, y: 100 }, { x: 110, y: 150 }, { x: 130, y: 150 }));
    expect(f.eyeLeft).toEqual({ x: 100, y: 100 });
    const q = alignQuad(f);
    expect(q.size).toBeCloseTo(180, 10);
    expect(q.center.x).toBeCloseTo(120, 10);
    expect(q.center.y).toBeCloseTo(105, 10);
    const want = [
      [30, 15],
      [30, 195],
      [210, 195],
      [210, 15],
    ];
    q.corners.forEach((c, i) => {
      expect(c.x).toBeCloseTo(want[i][0], 10);
      expect(c.y).toBeCloseTo(want[i][1], 10);
    });
  });

  it('LFW_CROP_RULE cuts LFW_CROP out of a deep-funneled LFW photo (its documented eye and mouth points) within 2 px', () => {
    // ../shared/GUIDE.md: eyes near (54,62) and (95,62), mouth near (76,108) in the 150 px photos;
    // the rule was measured from face-api landmarks (scripts/calibrate-lfw-framing.ts), so this is
    // an independent check of its scale and centre.
    const f = faceFeatures(landmarksFor({ x: 54, y: 62 }, { x: 95, y: 62 }, { x: 66, y: 108 }, { x: 86, y: 108 }));
    const q = alignQuad(f, LFW_CROP_RULE);
    const box = { left: LFW_CROP.left, top: LFW_CROP.top, right: LFW_CROP.left + LFW_CROP.size, bottom: LFW_CROP.top + LFW_CROP.size };
    expect(Math.abs(q.size - LFW_CROP.size)).toBeLessThan(2);
    expect(Math.abs(q.corners[0].x - box.left)).toBeLessThan(2);
    expect(Math.abs(q.corners[0].y - box.top)).toBeLessThan(2);
    expect(Math.abs(q.corners[2].x - box.right)).toBeLessThan(2);
    expect(Math.abs(q.corners[2].y - box.bottom)).toBeLessThan(2);
    // The FFHQ rule frames the same face far looser (4 eye distances wide).
    expect(alignQuad(f, FFHQ_RULE).size).toBeGreaterThan(1.4 * LFW_CROP.size);
  });

  it('puts the eyes and mouth of any similarity-transformed frontal face on ffhqTemplate', () => {
    for (const [ratio, angle, scale] of [
      [0.8, 0, 10],
      [10 / 9, 0.4, 33],
      [1.3, -1.1, 7],
      [1.0, 2.5, 120],
    ]) {
      const rot = (p: Point): Point => ({
        x: 500 + scale * (p.x * Math.cos(angle) - p.y * Math.sin(angle)),
        y: 300 + scale * (p.x * Math.sin(angle) + p.y * Math.cos(angle)),
      });
      // Eye distance 1, eye-to-mouth `ratio`, perpendicular.
      const f = faceFeatures(landmarksFor(rot({ x: -0.5, y: 0 }), rot({ x: 0.5, y: 0 }), rot({ x: -0.3, y: ratio }), rot({ x: 0.3, y: ratio })));
      expect(eyeMouthRatio(f)).toBeCloseTo(ratio, 10);
      const q = alignQuad(f);
      const t = ffhqTemplate(ratio);
      for (const [got, want] of [
        [toAligned(q, f.eyeLeft), t.eyeLeft],
        [toAligned(q, f.eyeRight), t.eyeRight],
        [toAligned(q, { x: (f.mouthLeft.x + f.mouthRight.x) / 2, y: (f.mouthLeft.y + f.mouthRight.y) / 2 }), t.mouth],
      ]) {
        expect(got.x).toBeCloseTo(want.x, 9);
        expect(got.y).toBeCloseTo(want.y, 9);
      }
    }
    // The balance point stated in docs/align.md.
    const t = ffhqTemplate(10 / 9);
    expect([t.eyeLeft.x, t.eyeLeft.y, t.eyeRight.x, t.mouth.y].map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.375, 0.4722, 0.625, 0.75]);
  });

  it('refuses landmark lists that are not 68 finite points', () => {
    expect(() => faceFeatures([])).toThrow(/68 landmarks/);
    const bad = landmarksFor({ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 0, y: 1 }, { x: 1, y: 1 });
    bad[3] = { x: NaN, y: 0 };
    expect(() => faceFeatures(bad)).toThrow(/non-finite/);
  });
});

describe('padding and sampling, against numpy/scipy', () => {
  it('rounds half to even and reflects indices as numpy.pad does', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(rint)).toEqual([0, 2, 2, -0, -2, 2, 3]);
    // np.pad(np.arange(3), 5, 'reflect')
    expect(Array.from({ length: 13 }, (_, i) => reflectIndex(i - 5, 3))).toEqual([1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
  });

  it('blurs as scipy.ndimage.gaussian_filter (sigma 0.8, mode reflect)', () => {
    const a = [0, 1, 4, 2, 7, 3, 5, 1, 0, 9, 2, 6];
    const img: RgbImage = { width: 3, height: 4, data: Float32Array.from(a.flatMap((v) => [v, v, v])) };
    const want = [1.157385, 2.320078, 3.301724, 2.766986, 3.251173, 2.972185, 4.490851, 3.180503, 2.428591, 6.265298, 3.999794, 3.865433];
    const got = gaussianBlur(img, 0.8);
    want.forEach((w, i) => expect(got.data[i * 3]).toBeCloseTo(w, 5));
    expect(channelMedians({ width: 6, height: 1, data: Float32Array.from([3, 1, 4, 1, 5, 9].flatMap((v) => [v, 0, 0])) })[0]).toBe(3.5);
  });

  it("pads with FFHQ's reflect + blur + median fade (recorded with numpy/scipy)", () => {
    // img = (arange(20).reshape(4,5) * 7 % 11) / 10; channels (img, img/2, 1-img); pad (3,2,4,1); qsize 50
    const base = Array.from({ length: 20 }, (_, i) => ((i * 7) % 11) / 10);
    const img: RgbImage = { width: 5, height: 4, data: Float32Array.from(base.flatMap((v) => [v, v * 0.5, 1 - v])) };
    const out = padWithFade(img, [3, 2, 4, 1], 50);
    expect([out.width, out.height]).toEqual([12, 7]);
    const row2 = [0.46899, 0.48156, 0.48771, 0.4565, 0.49821, 0.52065, 0.54689, 0.58335, 0.52736, 0.49358, 0.46888, 0.46899];
    row2.forEach((w, x) => expect(out.data[(2 * 12 + x) * 3]).toBeCloseTo(w, 4));
    const at = (x: number, y: number) => Array.from(out.data.subarray((y * 12 + x) * 3, (y * 12 + x) * 3 + 3));
    [0.205798, 0.102899, 0.794202].forEach((w, c) => expect(at(6, 3)[c]).toBeCloseTo(w, 5));
    [0.468993, 0.234497, 0.531007].forEach((w, c) => expect(at(0, 0)[c]).toBeCloseTo(w, 5));
  });

  it('samples a rotated quad exactly on a linear ramp (bilinear is exact for linear images)', () => {
    const w = 60;
    const h = 50;
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(y * w + x) * 3] = 0.01 * x + 0.004 * y;
    const img = { width: w, height: h, data };
    const f = faceFeatures(landmarksFor({ x: 25, y: 22 }, { x: 33, y: 26 }, { x: 24, y: 33 }, { x: 30, y: 36 }));
    const q = alignQuad(f);
    const side = 16;
    const out = sampleQuad(img, q, side);
    for (let j = 0; j < side; j++) {
      for (let i = 0; i < side; i++) {
        const u = (i + 0.5) / side;
        const v = (j + 0.5) / side;
        const p = { x: q.center.x + (2 * u - 1) * q.x.x + (2 * v - 1) * q.y.x, y: q.center.y + (2 * u - 1) * q.x.y + (2 * v - 1) * q.y.y };
        if (p.x < 0 || p.y < 0 || p.x > w - 1 || p.y > h - 1) continue;
        expect(out.data[(j * side + i) * 3]).toBeCloseTo(0.01 * p.x + 0.004 * p.y, 5);
      }
    }
    const px = new Float32Array(3);
    sampleBilinear(img, -5, 100, px, 0); // outside: the nearest edge pixel (0, 49)
    expect(px[0]).toBeCloseTo(0.004 * 49, 6);
  });

  it('shrinks large photos, crops to the quad plus a border, pads only where the quad leaves the photo', async () => {
    const big: RgbImage = { width: 800, height: 600, data: new Float32Array(800 * 600 * 3).fill(0.3) };
    // A face in the middle: qsize 180 -> for a 32 px output, shrink = floor(180/32/2) = 2.
    const q = alignQuad(faceFeatures(landmarksFor({ x: 380, y: 290 }, { x: 420, y: 290 }, { x: 390, y: 340 }, { x: 410, y: 340 })));
    const p = await preparePhoto(big, q, 32);
    expect(p.steps.shrink).toBe(2);
    expect(p.steps.pad).toBeNull();
    expect(p.quad.size).toBeCloseTo(90, 6);
    expect(p.steps.crop).not.toBeNull();
    // The same face at the photo's corner needs padding of at least rint(0.3 qsize) per side.
    const q2 = alignQuad(faceFeatures(landmarksFor({ x: 20, y: 30 }, { x: 60, y: 30 }, { x: 30, y: 80 }, { x: 50, y: 80 })));
    const p2 = await preparePhoto(big, q2, 256);
    expect(p2.steps.shrink).toBe(1);
    expect(Math.min(...p2.steps.pad!)).toBe(rint(0.3 * 180));
    expect(p2.image.width).toBe(p2.steps.crop![2] - p2.steps.crop![0] + p2.steps.pad![0] + p2.steps.pad![2]);
  });
});

// ---------------------------------------------------------------------------------------------
// The whole chain, on photos built from faces the built-in model draws.

const FACE_SIDE = 200;
/**
 * Seeds whose faces face-api finds with a high score on a grey canvas (0.59, 0.88, 0.90, 0.93 for
 * the built-in model since session 16). The last is the rotation test's: its landmarks turn with
 * the photo (at +-20 degrees its quad turns by 20.4 and -22.5), where the landmarks of this
 * model's rough faces are off by up to 6 degrees for other seeds (seed 0: 14.6 and -13.7).
 */
const SEEDS = [0, 5, 7, 9];

/** A grey canvas of `width x height` with `faces` pasted at their top-left corners. */
function photo(width: number, height: number, faces: { image: RgbImage; x: number; y: number }[]): RgbImage {
  const data = new Float32Array(width * height * 3).fill(0.5);
  for (const f of faces) {
    for (let y = 0; y < f.image.height; y++) data.set(f.image.data.subarray(y * f.image.width * 3, (y + 1) * f.image.width * 3), ((f.y + y) * width + f.x) * 3);
  }
  return { width, height, data };
}

/** `image` turned by `degrees` (clockwise on screen) about its centre, bilinear, edges clamped. */
function rotate(image: RgbImage, degrees: number): RgbImage {
  const a = (degrees * Math.PI) / 180;
  const cx = (image.width - 1) / 2;
  const cy = (image.height - 1) / 2;
  const data = new Float32Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      sampleBilinear(image, cx + dx * Math.cos(a) + dy * Math.sin(a), cy - dx * Math.sin(a) + dy * Math.cos(a), data, (y * image.width + x) * 3);
    }
  }
  return { width: image.width, height: image.height, data };
}

/** Eye centres of the best face found in an aligned square, as fractions of its side, with the template for its proportions. */
async function eyesOf(aligned: RgbImage) {
  const faces = await detectFacesWithLandmarks(aligned);
  expect(faces.length).toBeGreaterThan(0);
  const f = faceFeatures(faces[0].landmarks);
  const s = aligned.width;
  const mouth = { x: (f.mouthLeft.x + f.mouthRight.x) / 2 / s, y: (f.mouthLeft.y + f.mouthRight.y) / 2 / s };
  return { left: { x: f.eyeLeft.x / s, y: f.eyeLeft.y / s }, right: { x: f.eyeRight.x / s, y: f.eyeRight.y / s }, mouth, template: ffhqTemplate(eyeMouthRatio(f)) };
}

describe('aligning photos', () => {
  const faces: RgbImage[] = [];
  let dir: string;

  beforeAll(async () => {
    await useTestBackend();
    const model = await loadModel(defaultModelPath());
    const r = model.synthesis.config.resolution;
    const batch = await sampleFaces(model, SEEDS);
    model.dispose();
    for (let k = 0; k < SEEDS.length; k++) faces.push(await resizeImage(imageFromNhwc(batch, k, { width: r, height: r }), FACE_SIDE, FACE_SIDE, 'cubic'));
    dir = mkdtempSync(join(tmpdir(), 'pulse-align-'));
  });

  it('puts the eyes on the FFHQ template positions within 2% of the side', async () => {
    const one = padWithBorder(faces[0], 2 * FACE_SIDE, 0.5); // 1000 x 1000, face in the middle fifth
    const [aligned] = await alignFaces(one, { size: 128 });
    expect(aligned).toBeDefined();
    const eyes = await eyesOf(bytesToImage(aligned.bytes, 128));
    for (const [got, want] of [
      [eyes.left, eyes.template.eyeLeft],
      [eyes.right, eyes.template.eyeRight],
    ]) {
      expect(Math.abs(got.x - want.x)).toBeLessThan(0.02);
      expect(Math.abs(got.y - want.y)).toBeLessThan(0.02);
    }
  });

  // 20 degrees: face-api's SSD and landmark nets are not rotation invariant (docs/align.md: at
  // 30 degrees one of these faces is not found and another's eyes land 3% off the template).
  it('turns a rotated photo upright', async () => {
    const upright = padWithBorder(faces[3], 2 * FACE_SIDE, 0.5);
    const found = await alignFaces(rotate(upright, 20), { size: 128 });
    expect(found.length).toBe(1);
    // The quad follows the face: its x axis turns with the photo, by about 20 degrees more than
    // on the photo as drawn (a generated face may lean a little itself) ...
    const tiltOf = (q: { x: { x: number; y: number } }) => (Math.atan2(q.x.y, q.x.x) * 180) / Math.PI;
    const [level] = await alignFaces(upright, { size: 128 });
    const turnedBy = Math.abs(tiltOf(found[0].quad) - tiltOf(level.quad));
    expect(Math.abs(turnedBy - 20)).toBeLessThan(4);
    // ... and the aligned face is level, eyes on the template, mouth below them.
    const eyes = await eyesOf(bytesToImage(found[0].bytes, 128));
    expect(Math.abs(eyes.left.y - eyes.right.y)).toBeLessThan(0.02);
    expect(Math.abs(eyes.left.x - eyes.template.eyeLeft.x)).toBeLessThan(0.02);
    expect(Math.abs(eyes.right.y - eyes.template.eyeRight.y)).toBeLessThan(0.02);
    expect(eyes.mouth.y).toBeGreaterThan(eyes.left.y + 0.15);
  });

  it('gives two crops for two faces, reports a photo without a face and bad files by name, and goes on', async () => {
    const two = photo(1000, 500, [
      { image: faces[0], x: 150, y: 150 },
      { image: faces[2], x: 650, y: 150 },
    ]);
    const pair = join(dir, 'pair.png');
    await writePng(pair, two);
    // No face: smooth colour bands.
    const blank: RgbImage = { width: 300, height: 200, data: new Float32Array(300 * 200 * 3) };
    for (let i = 0; i < 300 * 200; i++) blank.data.set([(i % 300) / 300, 0.4, ((i / 300) | 0) / 200], i * 3);
    const empty = join(dir, 'empty.png');
    await writePng(empty, blank);
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, 'not a png');
    const tiny = join(dir, 'tiny.png');
    await writePng(tiny, { width: 20, height: 20, data: new Float32Array(20 * 20 * 3).fill(0.5) });
    // A 16-bit RGBA copy of the single-face photo: read as upsample reads it (alpha dropped).
    const rgba16 = join(dir, 'rgba16.png');
    const src = padWithBorder(faces[0], 2 * FACE_SIDE, 0.5);
    const g = new Uint16Array(src.width * src.height * 4).fill(65535);
    for (let i = 0; i < src.width * src.height; i++) for (let c = 0; c < 3; c++) g[i * 4 + c] = Math.round(src.data[i * 3 + c] * 65535);
    await sharp(g, { raw: { width: src.width, height: src.height, channels: 4 } }).toColourspace('rgb16').png().toFile(rgba16);

    const out = join(dir, 'out');
    const r = await runCli(['align', corrupt, empty, tiny, pair, rgba16, '--out', out, '--size', '64']);
    expect(r.code).toBe(1); // two inputs failed
    expect(r.err).toContain(`${empty}: no face found`);
    expect(r.err).toMatch(new RegExp(`error: ${corrupt}.*not an image`));
    expect(r.err).toMatch(new RegExp(`error: ${tiny} is 20x20: too small`));
    expect(r.err).toContain('16-bit');
    expect(r.err).toContain('alpha channel');
    expect(existsSync(join(out, 'pair_face1.png'))).toBe(true);
    expect(existsSync(join(out, 'pair_face2.png'))).toBe(true);
    expect(existsSync(join(out, 'pair_face3.png'))).toBe(false);
    expect(existsSync(join(out, 'rgba16_face1.png'))).toBe(true);
    const meta = await sharp(join(out, 'pair_face1.png')).metadata();
    expect([meta.width, meta.height]).toEqual([64, 64]);
    const report = JSON.parse(readFileSync(join(out, 'pair.json'), 'utf8'));
    expect(report.faces).toHaveLength(2);
    const centres = report.faces.map((f: { box: { x: number; width: number } }) => f.box.x + f.box.width / 2).sort((a: number, b: number) => a - b);
    expect(Math.abs(centres[0] - 250)).toBeLessThan(50);
    expect(Math.abs(centres[1] - 750)).toBeLessThan(50);
    expect(report.faces[0].landmarks).toHaveLength(68);
    expect(report.faces[0].quad).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(out, 'empty.json'), 'utf8')).faces).toEqual([]);
    // Nothing is overwritten without --force.
    const again = await runCli(['align', pair, '--out', out, '--size', '64']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already exists');
  });

  it('upsample --align aligns a large photo first and leaves a tiny input as it is', async () => {
    const big = join(dir, 'big.png');
    await writePng(big, padWithBorder(faces[0], 2 * FACE_SIDE, 0.5));
    const tiny = join(dir, 'tiny8.png');
    await writePng(tiny, { width: 8, height: 8, data: new Float32Array(8 * 8 * 3).fill(0.4) });
    const out = join(dir, 'up');
    const r = await runCli(['upsample', big, tiny, '--out', out, '--align', '--steps', '2', '--seed', '1', '--quiet']);
    expect(r.code).toBe(0);
    expect((await sharp(join(out, 'big_face1.png')).metadata()).width).toBe(64);
    expect((await sharp(join(out, 'big_face1_lr.png')).metadata()).width).toBe(8); // 64 / --align-factor 8
    const report = JSON.parse(readFileSync(join(out, 'big_face1.json'), 'utf8'));
    expect(report.alignment.landmarks).toHaveLength(68);
    expect(existsSync(join(out, 'tiny8.png'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'tiny8.json'), 'utf8')).alignment).toBeUndefined();
  });
});

const HAVE_LFW = existsSync(LFW_IMAGES);
describe.skipIf(!HAVE_LFW)(`the dataset cache with crop 'ffhq' (needs ${LFW_IMAGES}; skipped when absent)`, () => {
  it('stores each photo\'s aligned central face, skips a photo without a face with the reason, and keys apart from other crops', async () => {
    await useTestBackend();
    const dir = mkdtempSync(join(tmpdir(), 'pulse-align-cache-'));
    const blank = join(dir, 'blank.png');
    await writePng(blank, { width: 150, height: 150, data: new Float32Array(150 * 150 * 3).fill(0.3) });
    const files = [join(LFW_IMAGES, 'Aaron_Eckhart_0001.jpg'), join(LFW_IMAGES, 'AJ_Lamas_0001.jpg'), blank];
    const warnings: string[] = [];
    const cache = await prepareDatasetCache(files, { crop: 'ffhq', size: 32, cacheDir: join(dir, 'cache'), warn: (m) => warnings.push(m) });
    expect(cache.count).toBe(2);
    expect(cache.header.skipped).toEqual([{ file: blank, reason: `${blank}: no face found` }]);
    expect(warnings.join('\n')).toContain(`${blank}: no face found`);
    const per = 32 * 32 * 3;
    for (let k = 0; k < 2; k++) {
      const want = await alignDatasetFace(cache.files[k], 32);
      expect(Buffer.from(cache.pixels.subarray(k * per, (k + 1) * per)).equals(Buffer.from(want.data))).toBe(true);
    }
    const boxed = await prepareDatasetCache(files.slice(0, 2), { crop: LFW_CROP, size: 32, cacheDir: join(dir, 'cache') });
    expect(boxed.header.key).not.toBe(cache.header.key);
  });
});
