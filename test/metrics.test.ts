/**
 * Image-quality metrics against reference values computed by scikit-image 0.26 (PSNR, SSIM)
 * and BasicSR 1.4.2 (NIQE): the project's own references (test/fixtures/metrics, made by
 * scripts/fixtures/record-metrics.py) and, where present, ../shared/metrics (read in place).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../src/io/image.js';
import { rgbImageToBytes, rgbToY, rgbToYRoundedBasicSR, roundHalfEven } from '../src/metrics/color.js';
import { axisWeights, cubicKernel, matlabImresize, matlabImresizeHwc } from '../src/metrics/matlab-imresize.js';
import { gammaFn, niqe, niqeDetails, pinvSymmetric, upscaleForNiqe } from '../src/metrics/niqe.js';
import {
  fetchNiqeParams,
  loadNiqeParams,
  NIQE_PARAMS_FILE,
  NIQE_PARAMS_SHA256,
  NIQE_PARAMS_URL,
  parseNiqeParamsNpz,
  sha256Hex,
  verifyNiqeParamsHash,
  type NiqeParams,
} from '../src/metrics/niqe-model.js';
import { psnr } from '../src/metrics/psnr.js';
import { ssim, ssimY } from '../src/metrics/ssim.js';
import { FIXTURE_METRICS, HAVE_SHARED_METRICS, SHARED_METRICS, needsShared } from './helpers/paths.js';

// The pristine model: BasicSR's file at the pinned commit, in test/fixtures (its provenance and
// hash in scripts/fixtures/record-metrics.py; the same bytes as ../shared/metrics').
const PARAMS_JSON = join(FIXTURE_METRICS, 'niqe_pris_params.json');
const PARAMS_NPZ = join(FIXTURE_METRICS, 'niqe_pris_params.npz');

interface Pair {
  a: string;
  b: string;
  psnr: number;
  ssim_rgb: number;
  ssim_y: number;
}
interface DebugCase {
  height: number;
  width: number;
  n_blocks: number;
  y_rounded_sum: number;
  y_rounded_min: number;
  y_rounded_max: number;
  nan_block_rows: number;
  mu_distparam: number[];
  block0_features: number[];
}

/**
 * A folder of reference images and values laid out as ../shared/metrics: the project's own
 * (generated faces, values by BasicSR and scikit-image: test/fixtures/metrics) and, where it is
 * beside the checkout, the shared one (LFW faces).
 */
interface MetricSource {
  readonly label: string;
  readonly skip: boolean;
  readonly dir: string;
}
const SOURCES: MetricSource[] = [
  { label: 'test/fixtures/metrics', skip: false, dir: FIXTURE_METRICS },
  { label: `../shared/metrics ${needsShared('metrics')}`, skip: !HAVE_SHARED_METRICS, dir: SHARED_METRICS },
];

function references(src: MetricSource) {
  const cases = join(src.dir, 'niqe_cases');
  const expected = JSON.parse(readFileSync(join(cases, 'expected.json'), 'utf8')) as Record<string, unknown>;
  return {
    cases,
    ssim: JSON.parse(readFileSync(join(src.dir, 'ssim_psnr_cases.json'), 'utf8')) as { pairs: Pair[] },
    expected,
    debug: (JSON.parse(readFileSync(join(cases, 'expected_debug.json'), 'utf8')) as { cases: Record<string, DebugCase> }).cases,
    names: Object.keys(expected).filter((k) => k !== 'settings'),
  };
}

interface Loaded {
  width: number;
  height: number;
  bytes: Uint8Array;
}
const images = new Map<string, Loaded>();
async function load(dir: string, name: string): Promise<Loaded> {
  const path = join(dir, name);
  let im = images.get(path);
  if (im === undefined) {
    const { image } = await readImage(path);
    im = { width: image.width, height: image.height, bytes: rgbImageToBytes(image) };
    images.set(path, im);
  }
  return im;
}

let params: NiqeParams;
let tmp: string;
beforeAll(() => {
  params = loadNiqeParams(PARAMS_JSON);
  tmp = mkdtempSync(join(tmpdir(), 'pulse-metrics-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Deterministic pseudo-random bytes. */
function noiseBytes(n: number, seed = 7): Uint8Array {
  let s = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('color', () => {
  it('rgbToY is MATLAB rgb2ycbcr luma (16..235)', () => {
    const y = rgbToY(new Uint8Array([0, 0, 0, 255, 255, 255, 255, 0, 0]), 3, 1);
    expect(y[0]).toBe(16);
    expect(y[1]).toBeCloseTo(235, 12);
    expect(y[2]).toBeCloseTo(16 + 65.481, 12);
  });

  it('roundHalfEven rounds ties to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  for (const src of SOURCES) it.skipIf(src.skip)(`rgbToYRoundedBasicSR gives BasicSR's rounded Y on every case (sum, min, max): ${src.label}`, async () => {
    const { cases, names: niqeNames, debug: niqeDebug } = references(src);
    for (const name of niqeNames) {
      const im = await load(cases, name);
      const y = rgbToYRoundedBasicSR(im.bytes, im.width, im.height);
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let fractional = 0;
      for (const v of y) {
        if (!Number.isInteger(v)) fractional++;
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const d = niqeDebug[name];
      expect([fractional, sum, min, max], name).toEqual([0, d.y_rounded_sum, d.y_rounded_min, d.y_rounded_max]);
    }
  });
});

describe('psnr', () => {
  for (const src of SOURCES) it.skipIf(src.skip)(`matches scikit-image peak_signal_noise_ratio (1e-4): ${src.label}`, async () => {
    const { cases, ssim: ssimCases } = references(src);
    let maxErr = 0;
    for (const p of ssimCases.pairs) {
      const a = await load(cases, p.a);
      const b = await load(cases, p.b);
      const err = Math.abs(psnr(a.bytes, b.bytes) - p.psnr);
      maxErr = Math.max(maxErr, err);
      expect(err, `${p.a} vs ${p.b}`).toBeLessThanOrEqual(1e-4);
    }
    console.log(`psnr: max |error| vs scikit-image ${maxErr.toExponential(2)}`);
  });

  it('handles identical inputs, float input, and bad arguments', () => {
    const a = noiseBytes(300);
    expect(psnr(a, a)).toBe(Infinity);
    const f = Float64Array.from(a, (v) => v / 255);
    const g = Float64Array.from(f, (v, i) => (i === 0 ? v + 0.01 : v));
    expect(psnr(f, g, 1)).toBeCloseTo(10 * Math.log10(300 / 1e-4), 9);
    expect(() => psnr(a, a.subarray(1))).toThrow(/length/);
  });
});

describe('ssim', () => {
  for (const src of SOURCES) it.skipIf(src.skip)(`matches scikit-image structural_similarity on RGB and on float Y (1e-4): ${src.label}`, async () => {
    const { cases, ssim: ssimCases } = references(src);
    let maxRgb = 0;
    let maxY = 0;
    for (const p of ssimCases.pairs) {
      const a = await load(cases, p.a);
      const b = await load(cases, p.b);
      const rgb = ssim(a.bytes, b.bytes, a.width, a.height, 3);
      const y = ssimY(a.bytes, b.bytes, a.width, a.height);
      maxRgb = Math.max(maxRgb, Math.abs(rgb - p.ssim_rgb));
      maxY = Math.max(maxY, Math.abs(y - p.ssim_y));
      expect(Math.abs(rgb - p.ssim_rgb), `${p.a} vs ${p.b} RGB`).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(y - p.ssim_y), `${p.a} vs ${p.b} Y`).toBeLessThanOrEqual(1e-4);
    }
    console.log(`ssim: max |error| vs scikit-image RGB ${maxRgb.toExponential(2)}, Y ${maxY.toExponential(2)}`);
  });

  it('is 1 for identical images, symmetric, and rejects images smaller than the window', () => {
    const a = noiseBytes(20 * 16 * 3, 1);
    const b = noiseBytes(20 * 16 * 3, 2);
    expect(ssim(a, a, 20, 16, 3)).toBeCloseTo(1, 12);
    expect(ssim(a, b, 20, 16, 3)).toBeCloseTo(ssim(b, a, 20, 16, 3), 14);
    expect(() => ssim(a.subarray(0, 10 * 10 * 3), a.subarray(0, 10 * 10 * 3), 10, 10, 3)).toThrow(/window/);
    expect(() => ssim(a, b, 20, 16, 1)).toThrow(/values/);
  });
});

describe('matlab imresize', () => {
  it('uses the dyadic antialiased bicubic weights at scale 0.5', () => {
    expect(cubicKernel(0)).toBe(1);
    expect(cubicKernel(1)).toBe(0);
    expect(cubicKernel(2)).toBe(0);
    const w = axisWeights(16, 8, 0.5, true);
    expect(w.taps).toBe(8);
    const expected = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875];
    expect(Array.from(w.weights.subarray(3 * 8, 4 * 8))).toEqual(expected);
    // output 0 (1-based u = 1.5) reads inputs -2..5 (1-based), mirrored half-sample: 2,1,0,0,1,2,3,4
    expect(Array.from(w.indices.subarray(0, 8))).toEqual([2, 1, 0, 0, 1, 2, 3, 4]);
    // last output (u = 15.5) reads 12..19 (1-based), mirrored at the far end: the first one's mirror image
    expect(Array.from(w.indices.subarray(7 * 8, 8 * 8))).toEqual([11, 12, 13, 14, 15, 15, 14, 13]);
  });

  it('keeps constants, reproduces linear ramps inside the image, and sizes outputs with ceil', () => {
    const flat = matlabImresize({ width: 9, height: 7, data: new Float64Array(63).fill(3.25) }, 0.5);
    expect([flat.width, flat.height]).toEqual([5, 4]);
    for (const v of flat.data) expect(v).toBeCloseTo(3.25, 12);
    const ramp = new Float64Array(20 * 3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 20; x++) ramp[y * 20 + x] = x;
    const up = matlabImresize({ width: 20, height: 3, data: ramp }, 2);
    expect([up.width, up.height]).toEqual([40, 6]);
    for (let k = 4; k < 36; k++) expect(up.data[k]).toBeCloseTo((k + 1) / 2 + 0.25 - 1, 12); // u - 1, 0-based
    const rgb = matlabImresizeHwc(new Uint8Array(4 * 4 * 3).fill(200), 4, 4, 3, 2);
    expect([rgb.width, rgb.height, rgb.data.length]).toEqual([8, 8, 8 * 8 * 3]);
  });
});

describe('niqe model', () => {
  it('loads the same float64 numbers from the .npz and the .json', () => {
    const npz = loadNiqeParams(PARAMS_NPZ);
    expect(npz.windowSize).toBe(7);
    expect(npz.mu.length).toBe(36);
    expect(Array.from(npz.mu)).toEqual(Array.from(params.mu));
    expect(Array.from(npz.cov)).toEqual(Array.from(params.cov));
    expect(Array.from(npz.window)).toEqual(Array.from(params.window));
  });

  it('checks the sha256 of the local copy and rejects altered bytes', () => {
    const bytes = new Uint8Array(readFileSync(PARAMS_NPZ));
    expect(sha256Hex(bytes)).toBe(NIQE_PARAMS_SHA256);
    expect(() => verifyNiqeParamsHash(bytes)).not.toThrow();
    const bad = bytes.slice();
    bad[bad.length - 30] ^= 1;
    expect(() => verifyNiqeParamsHash(bad)).toThrow(/sha256/);
    expect(() => parseNiqeParamsNpz(new Uint8Array([1, 2, 3]), 'junk.npz')).toThrow(/junk\.npz/);
  });

  it('fetchNiqeParams downloads from the pinned BasicSR URL, verifies, and fails clearly offline', async () => {
    expect(NIQE_PARAMS_URL).toBe(
      'https://raw.githubusercontent.com/XPixelGroup/BasicSR/8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a/basicsr/metrics/niqe_pris_params.npz',
    );
    const bytes = new Uint8Array(readFileSync(PARAMS_NPZ));
    const urls: string[] = [];
    const serve = (body: Uint8Array) => async (url: string) => {
      urls.push(url);
      return { ok: true, status: 200, arrayBuffer: async () => body.slice().buffer };
    };

    const offline = join(tmp, 'offline');
    const noNet = async (): Promise<never> => {
      throw new TypeError('fetch failed');
    };
    await expect(fetchNiqeParams(offline, { fetch: noNet })).rejects.toThrow(/cannot download the NIQE params.*by hand/s);
    expect(existsSync(join(offline, NIQE_PARAMS_FILE))).toBe(false);

    const tampered = bytes.slice();
    tampered[100] ^= 0xff;
    await expect(fetchNiqeParams(offline, { fetch: serve(tampered) })).rejects.toThrow(/sha256/);
    expect(existsSync(join(offline, NIQE_PARAMS_FILE))).toBe(false);

    const good = join(tmp, 'good');
    const path = await fetchNiqeParams(good, { fetch: serve(bytes) });
    expect(path).toBe(join(good, NIQE_PARAMS_FILE));
    expect(urls.at(-1)).toBe(NIQE_PARAMS_URL);
    expect(Array.from(loadNiqeParams(path).mu)).toEqual(Array.from(params.mu));
    // A verified file already there is used without any download.
    const before = urls.length;
    await fetchNiqeParams(good, { fetch: noNet });
    expect(urls.length).toBe(before);
    // A corrupt file there is replaced.
    writeFileSync(path, 'corrupt');
    await fetchNiqeParams(good, { fetch: serve(bytes) });
    expect(sha256Hex(new Uint8Array(readFileSync(path)))).toBe(NIQE_PARAMS_SHA256);
  });
});

describe('niqe', () => {
  it('gamma and pinv helpers', () => {
    expect(gammaFn(5)).toBeCloseTo(24, 12);
    expect(gammaFn(0.5)).toBeCloseTo(Math.sqrt(Math.PI), 14);
    // rank-1 symmetric matrix v v': pinv = v v' / |v|^4
    const v = [1, 2, -2];
    const a = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) a[i * 3 + j] = v[i] * v[j];
    const p = pinvSymmetric(a, 3);
    for (let i = 0; i < 9; i++) expect(p[i]).toBeCloseTo(a[i] / 81, 14);
    // well-conditioned SPD: A pinv(A) = I
    const n = 6;
    const m = new Float64Array(n * n);
    const r = noiseBytes(n * n, 3);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? n : 0;
        for (let k = 0; k < n; k++) s += ((r[i * n + k] - 128) / 128) * ((r[j * n + k] - 128) / 128);
        m[i * n + j] = s;
      }
    }
    const inv = pinvSymmetric(m, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += m[i * n + k] * inv[k * n + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });

  for (const src of SOURCES) it.skipIf(src.skip)(`matches BasicSR calculate_niqe on every reference face (|error| <= 1e-2): ${src.label}`, async () => {
    const { cases, names: niqeNames, expected: niqeExpected, debug: niqeDebug } = references(src);
    expect(niqeNames.length).toBeGreaterThanOrEqual(12);
    let maxErr = 0;
    let maxMs = 0;
    for (const name of niqeNames) {
      const im = await load(cases, name);
      const t0 = performance.now();
      const d = niqeDetails(im.bytes, im.width, im.height, params);
      maxMs = Math.max(maxMs, performance.now() - t0);
      const expected = niqeExpected[name] as number;
      const dbg = niqeDebug[name];
      expect(d.nBlocks, name).toBe(dbg.n_blocks);
      expect(d.nanBlockRows, name).toBe(dbg.nan_block_rows);
      // A flipped alpha grid choice in one block moves a feature by 0.001 (a mean by 0.001/16).
      dbg.mu_distparam.forEach((v, i) => expect(Math.abs(d.muDistparam[i] - v), `${name} mu[${i}]`).toBeLessThan(2e-3));
      dbg.block0_features.forEach((v, i) => expect(Math.abs(d.block0Features[i] - v), `${name} f0[${i}]`).toBeLessThan(5e-3));
      const err = Math.abs(d.value - expected);
      maxErr = Math.max(maxErr, err);
      expect(err, name).toBeLessThanOrEqual(1e-2);
    }
    console.log(`niqe: max |error| vs BasicSR ${maxErr.toExponential(2)} over ${niqeNames.length} images; slowest ${maxMs.toFixed(0)} ms`);
  });

  it('refuses images with fewer than two 96x96 blocks and constant images, never returning NaN', () => {
    const small = (w: number, h: number) => () => niqe(noiseBytes(w * h * 3), w, h, params);
    expect(small(150, 150)).toThrow(/at least two 96x96 blocks.*150x150.*192x96 or 96x192/s);
    expect(small(191, 95)).toThrow(/at least two 96x96 blocks/);
    expect(small(64, 64)).toThrow(/upscaleForNiqe/);
    expect(Number.isFinite(small(192, 96)())).toBe(true);
    expect(Number.isFinite(small(96, 192)())).toBe(true);
    expect(() => niqe(new Uint8Array(192 * 192 * 3).fill(128), 192, 192, params)).toThrow(/constant image/);
  });

  it('upscaleForNiqe: smallest power-of-2 MATLAB bicubic upscale to a side >= 192', async () => {
    const tiny = { width: 64, height: 48, data: noiseBytes(64 * 48 * 3, 5) };
    const up = upscaleForNiqe(tiny);
    expect([up.factor, up.width, up.height]).toEqual([4, 256, 192]);
    expect(Number.isFinite(niqe(up.data, up.width, up.height, params))).toBe(true);
    const same = upscaleForNiqe({ width: 200, height: 192, data: noiseBytes(200 * 192 * 3) });
    expect([same.factor, same.width, same.height]).toEqual([1, 200, 192]);
    const flat = upscaleForNiqe({ width: 10, height: 10, data: new Uint8Array(300).fill(77) });
    expect([flat.factor, flat.width]).toEqual([32, 320]);
    expect(flat.data.every((v) => v === 77)).toBe(true);
    // A face (256 px), downscaled 4x by MATLAB imresize and brought back by the protocol.
    const face = await load(join(FIXTURE_METRICS, 'niqe_cases'), 'generated-7000_up4.png');
    expect([face.width, face.height]).toEqual([256, 256]);
    const down = matlabImresizeHwc(face.bytes, face.width, face.height, 3, 0.25);
    const small = { width: down.width, height: down.height, data: Uint8Array.from(down.data, (v) => Math.round(Math.min(255, Math.max(0, v)))) };
    const back = upscaleForNiqe(small);
    expect([back.factor, back.width, back.height]).toEqual([4, 256, 256]);
    const score = niqe(back.data, back.width, back.height, params);
    expect(Number.isFinite(score)).toBe(true);
  });
});
