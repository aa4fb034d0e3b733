import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  centerCropSquare,
  imageFromNhwc,
  montage,
  montageLabelMetrics,
  readImage,
  resizeImage,
  toBytesLikeTorchvision,
  writePng,
  type RgbImage,
} from '../src/io/image.js';
import { FIXTURE_FACES, HAVE_LFW, LFW_IMAGES, needsShared } from './helpers/paths.js';

const LFW_PHOTO = join(LFW_IMAGES, 'Aaron_Eckhart_0001.jpg');
const GENERATED_FACE = join(FIXTURE_FACES, 'generated-7000.png');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pulse-image-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function randomImage(width: number, height: number, seed = 1): RgbImage {
  let s = seed;
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648;
  }
  return { width, height, data };
}

/** 8-bit raw samples -> PNG file via sharp. */
async function rawToFile(path: string, bytes: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4, space?: string) {
  let p = sharp(bytes, { raw: { width, height, channels } });
  if (space) p = p.toColourspace(space);
  await p.toFile(path);
}

describe('readImage / writePng', () => {
  it('round-trips RGB through PNG with torchvision truncation', async () => {
    const img = randomImage(7, 5);
    // include exact edges, out-of-range and a value whose double product would floor differently
    img.data[0] = 0;
    img.data[1] = 1;
    img.data[2] = 1.5;
    img.data[3] = -0.2;
    img.data[4] = Math.fround(3 / 255);
    const path = join(dir, 'roundtrip.png');
    await writePng(path, img);
    const meta = await sharp(path).metadata();
    expect([meta.format, meta.channels, meta.depth, meta.hasAlpha]).toEqual(['png', 3, 'uchar', false]);
    const { image, notices } = await readImage(path);
    expect(notices).toEqual([]);
    expect([image.width, image.height]).toEqual([7, 5]);
    const bytes = toBytesLikeTorchvision(img.data);
    for (let i = 0; i < bytes.length; i++) {
      const x = Math.min(1, Math.max(0, img.data[i]));
      expect(bytes[i]).toBe(Math.floor(Math.fround(x * 255)));
      expect(image.data[i]).toBeCloseTo(bytes[i] / 255, 7);
      expect(Math.abs(image.data[i] - x)).toBeLessThanOrEqual(1 / 255 + 1e-7);
    }
    expect(Array.from(bytes.subarray(0, 5))).toEqual([0, 255, 255, 0, 3]);
    // no temp files left behind
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('drops alpha from RGBA, keeping colour, with a notice naming the file', async () => {
    const path = join(dir, 'rgba.png');
    const px = new Uint8Array([10, 20, 30, 0, 200, 100, 50, 128, 1, 2, 3, 255, 255, 255, 255, 7]);
    await rawToFile(path, px, 2, 2, 4);
    const { image, notices } = await readImage(path);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(path);
    expect(notices[0]).toContain('alpha channel; it was dropped (PULSE works on RGB)');
    expect(Array.from(image.data, (v) => Math.round(v * 255))).toEqual([10, 20, 30, 200, 100, 50, 1, 2, 3, 255, 255, 255]);
  });

  it('replicates greyscale to RGB with a notice', async () => {
    const path = join(dir, 'grey.png');
    await rawToFile(path, new Uint8Array([0, 60, 120, 250]), 2, 2, 1, 'b-w');
    expect((await sharp(path).metadata()).channels).toBe(1);
    const { image, notices } = await readImage(path);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(path);
    expect(notices[0]).toMatch(/greyscale/);
    expect(Array.from(image.data, (v) => Math.round(v * 255))).toEqual([0, 0, 0, 60, 60, 60, 120, 120, 120, 250, 250, 250]);
  });

  it('reads grey+alpha with both notices', async () => {
    const path = join(dir, 'la.png');
    await rawToFile(path, new Uint8Array([10, 0, 90, 255]), 2, 1, 2, 'b-w');
    const { image, notices } = await readImage(path);
    expect(notices).toHaveLength(2);
    expect(notices.join('\n')).toMatch(/alpha/);
    expect(notices.join('\n')).toMatch(/greyscale/);
    expect(Array.from(image.data, (v) => Math.round(v * 255))).toEqual([10, 10, 10, 90, 90, 90]);
  });

  it('reads 16-bit PNG at full precision with a notice', async () => {
    const path = join(dir, 'rgb16.png');
    const u16 = new Uint16Array([0, 1, 257, 1000, 32768, 65535, 12345, 54321, 65534, 2, 3, 4]);
    await rawToFile(path, u16, 2, 2, 3, 'rgb16');
    const meta = await sharp(path).metadata();
    expect(meta.depth).toBe('ushort');
    const { image, notices } = await readImage(path);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(path);
    expect(notices[0]).toMatch(/16-bit/);
    for (let i = 0; i < u16.length; i++) expect(image.data[i]).toBeCloseTo(u16[i] / 65535, 7);
    // 1/65535 differs from 0: precision beyond 8 bits is kept
    expect(image.data[1]).toBeGreaterThan(0);
  });

  it('reads 16-bit greyscale PNG', async () => {
    // sharp writes TIFF as 8-bit only, so 16-bit TIFF (same libvips ushort path) is not generated here
    const path = join(dir, 'grey16.png');
    await rawToFile(path, new Uint16Array([3, 40000]), 2, 1, 1, 'grey16');
    const { image, notices } = await readImage(path);
    expect(notices).toHaveLength(2);
    expect(Array.from(image.data)).toEqual(Array.from([3, 3, 3, 40000, 40000, 40000], (v) => Math.fround(v / 65535)));
  });

  it('reads JPEG', async () => {
    const path = join(dir, 'flat.jpg');
    await sharp({ create: { width: 16, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } } })
      .jpeg({ quality: 95 })
      .toFile(path);
    const { image, notices } = await readImage(path);
    expect(notices).toEqual([]);
    expect([image.width, image.height]).toEqual([16, 8]);
    expect(image.data[0] * 255).toBeCloseTo(200, -1);
    expect(image.data[1] * 255).toBeCloseTo(100, -1);
    expect(image.data[2] * 255).toBeCloseTo(50, -1);
  });

  it('converts CMYK to sRGB with a notice', async () => {
    const path = join(dir, 'cmyk.jpg');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 50, b: 20 } } })
      .toColourspace('cmyk')
      .jpeg()
      .toFile(path);
    const { image, notices } = await readImage(path);
    expect(notices.join('\n')).toMatch(/cmyk colour space; it was converted to sRGB/);
    expect(image.data.length).toBe(8 * 8 * 3);
    expect(image.data[0]).toBeGreaterThan(image.data[2]); // still reddish
  });

  it('applies EXIF orientation', async () => {
    const path = join(dir, 'rotated.jpg');
    await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(path);
    expect((await sharp(path).metadata()).orientation).toBe(6);
    const { image } = await readImage(path);
    expect([image.width, image.height]).toEqual([4, 8]);
  });

  it('reads the first frame of a GIF and WebP', async () => {
    const gif = join(dir, 'a.gif');
    await sharp({ create: { width: 5, height: 3, channels: 3, background: { r: 255, g: 0, b: 0 } } }).gif().toFile(gif);
    const webp = join(dir, 'a.webp');
    await sharp({ create: { width: 5, height: 3, channels: 3, background: { r: 0, g: 0, b: 255 } } }).webp({ lossless: true }).toFile(webp);
    const g = await readImage(gif);
    const w = await readImage(webp);
    expect([g.image.width, g.image.height, w.image.width, w.image.height]).toEqual([5, 3, 5, 3]);
    expect(Array.from(g.image.data.subarray(0, 3))).toEqual([1, 0, 0]);
    expect(Array.from(w.image.data.subarray(0, 3))).toEqual([0, 0, 1]);
  });

  /** Values in [0, 1], spanning more than half of it (a real picture, not a flat or mis-scaled one). */
  const expectInUnitRangeWithContrast = (data: Float32Array) => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max - min).toBeGreaterThan(0.5);
  };

  it('reads a face the built-in model made (test/fixtures), in [0, 1] with contrast', async () => {
    const { image, notices } = await readImage(GENERATED_FACE);
    expect([image.width, image.height]).toEqual([64, 64]);
    expect(notices).toEqual([]);
    expectInUnitRangeWithContrast(image.data);
  });

  it.skipIf(!HAVE_LFW)(`reads a real LFW photo (JPEG) ${needsShared('datasets/lfw')}`, async () => {
    const { image, notices } = await readImage(LFW_PHOTO);
    expect([image.width, image.height]).toEqual([150, 150]);
    expect(notices).toEqual([]);
    expectInUnitRangeWithContrast(image.data);
  });

  it('rejects random bytes named .png, naming the file', async () => {
    const path = join(dir, 'garbage.png');
    const bytes = new Uint8Array(512);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 19) % 256;
    writeFileSync(path, bytes);
    await expect(readImage(path)).rejects.toThrow(`${path} is not an image sharp can read: `);
  });

  it('rejects a missing file, naming it', async () => {
    const path = join(dir, 'does-not-exist.png');
    await expect(readImage(path)).rejects.toThrow(`${path} is not an image sharp can read: no such file`);
  });

  it('rejects a truncated PNG and a truncated JPEG', async () => {
    const noise = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
    const png = await noise.clone().png().toBuffer();
    const jpg = await noise.clone().jpeg().toBuffer();
    const pngPath = join(dir, 'truncated.png');
    const jpgPath = join(dir, 'truncated.jpg');
    writeFileSync(pngPath, png.subarray(0, Math.floor(png.length / 2)));
    writeFileSync(jpgPath, jpg.subarray(0, Math.floor(jpg.length / 2)));
    await expect(readImage(pngPath)).rejects.toThrow(pngPath);
    await expect(readImage(jpgPath)).rejects.toThrow(jpgPath);
  });

  it('refuses to overwrite without force, overwrites with force', async () => {
    const path = join(dir, 'once.png');
    const a = randomImage(3, 3, 5);
    const b = randomImage(3, 3, 9);
    await writePng(path, a);
    await expect(writePng(path, b)).rejects.toThrow(`${path} already exists`);
    expect(Array.from((await readImage(path)).image.data)).toEqual(Array.from(toBytesLikeTorchvision(a.data), (v) => Math.fround(v / 255)));
    await writePng(path, b, { force: true });
    expect(Array.from((await readImage(path)).image.data)).toEqual(Array.from(toBytesLikeTorchvision(b.data), (v) => Math.fround(v / 255)));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects malformed images and unwritable paths', async () => {
    await expect(writePng(join(dir, 'bad.png'), { width: 2, height: 2, data: new Float32Array(5) })).rejects.toThrow(/2x2x3/);
    const path = join(dir, 'no-such-dir', 'x.png');
    await expect(writePng(path, randomImage(2, 2))).rejects.toThrow(path);
    expect(existsSync(path)).toBe(false);
  });
});

describe('helpers', () => {
  it('imageFromNhwc slices one image out of a batch', () => {
    const w = 3;
    const h = 2;
    const batch = new Float32Array(4 * h * w * 3).map((_, i) => i);
    const img = imageFromNhwc(batch, 2, { width: w, height: h });
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(img.data[0]).toBe(2 * h * w * 3);
    expect(img.data.length).toBe(h * w * 3);
    img.data[0] = -1;
    expect(batch[2 * h * w * 3]).toBe(2 * h * w * 3); // a copy, not a view
    expect(() => imageFromNhwc(batch, 4, { width: w, height: h })).toThrow(/out of range/);
    expect(() => imageFromNhwc(batch.subarray(1), 0, { width: w, height: h })).toThrow(/whole number/);
  });

  it('centerCropSquare', () => {
    const img: RgbImage = { width: 5, height: 2, data: new Float32Array(5 * 2 * 3).map((_, i) => i) };
    const sq = centerCropSquare(img);
    expect([sq.width, sq.height]).toEqual([2, 2]);
    // left offset floor(3/2) = 1
    expect(Array.from(sq.data)).toEqual([3, 4, 5, 6, 7, 8, 18, 19, 20, 21, 22, 23]);
    const tall = centerCropSquare({ width: 2, height: 4, data: new Float32Array(24).map((_, i) => i) });
    expect(Array.from(tall.data)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  });

  it('resizeImage gives the requested size for each kernel', async () => {
    const img = randomImage(16, 12);
    for (const kernel of ['nearest', 'cubic', 'lanczos3'] as const) {
      const up = await resizeImage(img, 64, 48, kernel);
      expect([up.width, up.height, up.data.length]).toEqual([64, 48, 64 * 48 * 3]);
      const down = await resizeImage(img, 4, 3, kernel);
      expect([down.width, down.height, down.data.length]).toEqual([4, 3, 4 * 3 * 3]);
      for (const v of down.data) expect(v >= 0 && v <= 1).toBe(true);
    }
    // nearest 4x upscale replicates pixels (to 16-bit precision)
    const up = await resizeImage(img, 64, 48, 'nearest');
    expect(up.data[0]).toBeCloseTo(img.data[0], 4);
    expect(up.data[3 * 3 + 1]).toBeCloseTo(img.data[1], 4);
    expect(up.data[(64 * 4 + 4) * 3 + 2]).toBeCloseTo(img.data[(16 + 1) * 3 + 2], 4);
    // a constant image stays constant under cubic
    const flat: RgbImage = { width: 8, height: 8, data: new Float32Array(8 * 8 * 3).fill(0.25) };
    for (const v of (await resizeImage(flat, 32, 20, 'cubic')).data) expect(v).toBeCloseTo(0.25, 4);
  });

  it('montage lays tiles out horizontally with gaps (no labels)', async () => {
    const lr = randomImage(4, 4, 3);
    const hr = randomImage(32, 32, 4);
    const wide = randomImage(16, 8, 5);
    const m = await montage([lr, hr, wide], { height: 32, gap: 2 });
    expect([m.width, m.height]).toEqual([32 + 2 + 32 + 2 + 64, 32]);
    expect(m.data.length).toBe(m.width * m.height * 3);
    // nearest: the low-res tile is blocks of 8x8
    expect(m.data[(7 * m.width + 7) * 3]).toBe(lr.data[0]);
    expect(m.data[(8 * m.width + 8) * 3]).toBe(lr.data[(4 + 1) * 3]);
    // gap is white
    expect(Array.from(m.data.subarray((5 * m.width + 32) * 3, (5 * m.width + 34) * 3))).toEqual([1, 1, 1, 1, 1, 1]);
    // the high-res tile is copied exactly
    expect(m.data[(3 * m.width + 34 + 5) * 3 + 1]).toBe(hr.data[(3 * 32 + 5) * 3 + 1]);
    const dflt = await montage([lr, hr], { height: 16 });
    expect([dflt.width, dflt.height]).toEqual([16 + 4 + 16, 16]);
  });

  it('montage draws labels in a band below (or degrades to no band)', async () => {
    const tiles = [randomImage(8, 8, 1), randomImage(64, 64, 2), randomImage(64, 64, 3)];
    const m = await montage(tiles, { height: 64, gap: 4, labels: ['input 8x8', 'bicubic', 'PULSE & <ours>'] });
    expect(m.width).toBe(64 * 3 + 4 * 2);
    const band = montageLabelMetrics(64).bandHeight;
    expect([64, 64 + band]).toContain(m.height);
    expect(m.data.length).toBe(m.width * m.height * 3);
    if (m.height > 64) {
      const bandData = m.data.subarray(64 * m.width * 3);
      expect(bandData.some((v) => v < 0.5)).toBe(true); // some ink
      expect(bandData.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    // tiles are untouched by the label overlay
    expect(m.data[(10 * m.width + 68 + 10) * 3]).toBe(tiles[1].data[(10 * 64 + 10) * 3]);
  });
});
