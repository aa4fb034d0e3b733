/**
 * NIQE (Mittal, Soundararajan, Bovik 2013, "Making a 'Completely Blind' Image Quality
 * Analyzer"), ported from BasicSR 1.4.2 `basicsr/metrics/niqe.py`
 * `calculate_niqe(img, crop_border=0, input_order='HWC', convert_to='y')`, which matches
 * MATLAB's `niqe` closely. Lower is better (more "natural").
 *
 * Pipeline (BasicSR's float32 rounding points are reproduced, see below):
 * 1. Y = MATLAB `rgb2ycbcr` luma of the 8-bit RGB, rounded half to even (`rgbToYRoundedBasicSR`).
 * 2. Crop to whole 96x96 blocks from the top-left.
 * 3. Two scales: the cropped Y, then MATLAB `imresize(Y/255, 0.5)` (bicubic a = -0.5,
 *    antialiased, half-sample symmetric borders) times 255, with 48x48 blocks.
 * 4. MSCN per scale: mu = W * Y, sigma = sqrt(|W * Y^2 - mu^2|), (Y - mu) / (sigma + 1), W the
 *    stored 7x7 window, replicate ('nearest') borders.
 * 5. Per block (blocks in column-major order, as BasicSR) 18 features: the AGGD fit (alpha from
 *    the grid 0.2:0.001:10 by matching the moment ratio, and the mean of beta_l, beta_r) of the
 *    MSCN values, and for each neighbour product (circular shifts (0,1), (1,0), (1,1), (1,-1)
 *    of the block, as `np.roll`) alpha, the AGGD mean, beta_l, beta_r.
 * 6. mu_img = NaN-ignoring mean of the block features; C_img = sample covariance of the blocks
 *    without NaN; NIQE = sqrt(d' pinv((C_pris + C_img) / 2) d), d = mu_pris - mu_img.
 *
 * Float32 emulation: BasicSR runs steps 1-5 on float32 arrays (scipy `convolve` of float32
 * input returns float32; the AGGD sample means are numpy float32 means, i.e. pairwise float32
 * sums; torch's imresize is float32). In flat regions MSCN values are round-off-level and their
 * signs decide which side of the AGGD they count on, so a float64 port differs by up to 0.08
 * on faces. Here every such value is rounded to float32 where BasicSR stores it (convolution
 * sums in float64 in scipy's order, then rounded; numpy's pairwise summation reproduced).
 * What cannot be reproduced bit for bit is torch/MKL's float32 summation order in the resize;
 * the residual is ~1e-3 (BasicSR itself moves by 2.9e-3 between MKL code paths).
 */
import { rgbToYRoundedBasicSR } from './color.js';
import { matlabImresize, matlabImresizeHwc } from './matlab-imresize.js';
import { NIQE_FEATURES, type NiqeParams } from './niqe-model.js';
import { symmetricEigen } from '../util/linalg.js';

export const NIQE_BLOCK = 96;

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Gamma function and the AGGD alpha grid

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** Gamma function (Lanczos, g = 7, n = 9; relative error ~1e-15 for the arguments NIQE uses). */
export function gammaFn(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gammaFn(1 - x));
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return Math.sqrt(2 * Math.PI) * Math.pow(t, z + 0.5) * Math.exp(-t) * a;
}

interface AlphaGrid {
  gam: Float64Array;
  rGam: Float64Array;
  /** sqrt(gamma(1/a) / gamma(3/a)) per grid point. */
  betaScale: Float64Array;
  /** gamma(2/a) / gamma(1/a) per grid point. */
  meanScale: Float64Array;
}

let grid: AlphaGrid | null = null;

/** `np.arange(0.2, 10.001, 0.001)` exactly (numpy fills start + i * ((start + step) - start)). */
function alphaGrid(): AlphaGrid {
  if (grid !== null) return grid;
  const start = 0.2;
  const step = 0.001;
  const length = Math.ceil((10.001 - start) / step);
  const delta = start + step - start;
  const gam = new Float64Array(length);
  const rGam = new Float64Array(length);
  const betaScale = new Float64Array(length);
  const meanScale = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const a = i === 0 ? start : i === 1 ? start + step : start + i * delta;
    gam[i] = a;
    const r = 1 / a;
    const g1 = gammaFn(r);
    const g2 = gammaFn(r * 2);
    const g3 = gammaFn(r * 3);
    rGam[i] = (g2 * g2) / (g1 * g3);
    betaScale[i] = Math.sqrt(gammaFn(1 / a) / gammaFn(3 / a));
    meanScale[i] = gammaFn(2 / a) / gammaFn(1 / a);
  }
  grid = { gam, rGam, betaScale, meanScale };
  return grid;
}

// ---------------------------------------------------------------------------------------------
// numpy float32 reductions

/** numpy's pairwise summation of float32 values `a[start .. start+n)` (float32 accumulators). */
function pairwiseSum32(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = -0;
    for (let i = 0; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      const p = start + i;
      r0 = f32(r0 + a[p]);
      r1 = f32(r1 + a[p + 1]);
      r2 = f32(r2 + a[p + 2]);
      r3 = f32(r3 + a[p + 3]);
      r4 = f32(r4 + a[p + 4]);
      r5 = f32(r5 + a[p + 5]);
      r6 = f32(r6 + a[p + 6]);
      r7 = f32(r7 + a[p + 7]);
    }
    let res = f32(f32(f32(r0 + r1) + f32(r2 + r3)) + f32(f32(r4 + r5) + f32(r6 + r7)));
    for (; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwiseSum32(a, start, n2) + pairwiseSum32(a, start + n2, n - n2));
}

/** `np.mean` of the first `n` float32 values of `a` (NaN when n = 0). */
function mean32(a: Float64Array, n: number): number {
  if (n === 0) return NaN;
  return f32(pairwiseSum32(a, 0, n) / n);
}

// ---------------------------------------------------------------------------------------------
// AGGD fit (BasicSR estimate_aggd_param), float32 statistics as numpy computes them

interface Aggd {
  index: number;
  alpha: number;
  betaL: number;
  betaR: number;
}

/** Scratch buffers for `estimateAggd` (sized for the largest block). */
class Scratch {
  neg: Float64Array;
  pos: Float64Array;
  abs: Float64Array;
  sq: Float64Array;
  constructor(n: number) {
    this.neg = new Float64Array(n);
    this.pos = new Float64Array(n);
    this.abs = new Float64Array(n);
    this.sq = new Float64Array(n);
  }
}

function estimateAggd(block: Float64Array, n: number, s: Scratch): Aggd {
  let nn = 0;
  let np = 0;
  for (let i = 0; i < n; i++) {
    const x = block[i];
    const sq = f32(x * x);
    if (x < 0) s.neg[nn++] = sq;
    else if (x > 0) s.pos[np++] = sq;
    s.abs[i] = Math.abs(x);
    s.sq[i] = sq;
  }
  const leftStd = f32(Math.sqrt(mean32(s.neg, nn)));
  const rightStd = f32(Math.sqrt(mean32(s.pos, np)));
  const g = f32(leftStd / rightStd);
  const mAbs = mean32(s.abs, n);
  const rhat = f32(f32(mAbs * mAbs) / mean32(s.sq, n));
  const g3 = f32(Math.pow(g, 3));
  const gp1 = f32(g * g);
  const den = f32(f32(gp1 + 1) * f32(gp1 + 1));
  const rhatnorm = f32(f32(f32(rhat * f32(g3 + 1)) * f32(g + 1)) / den);

  const { gam, rGam, betaScale } = alphaGrid();
  let index = 0;
  if (!Number.isNaN(rhatnorm)) {
    let best = Infinity;
    for (let i = 0; i < rGam.length; i++) {
      const d = rGam[i] - rhatnorm;
      const e = d * d;
      if (e < best) {
        best = e;
        index = i;
      }
    }
  }
  return { index, alpha: gam[index], betaL: leftStd * betaScale[index], betaR: rightStd * betaScale[index] };
}

/** BasicSR compute_feature: 18 features of one MSCN block (row-major, bh x bw). */
function blockFeatures(block: Float64Array, bh: number, bw: number, s: Scratch, prod: Float64Array, out: number[]): void {
  const n = bh * bw;
  const base = estimateAggd(block, n, s);
  out.push(base.alpha, (base.betaL + base.betaR) / 2);
  const shifts: [number, number][] = [
    [0, 1],
    [1, 0],
    [1, 1],
    [1, -1],
  ];
  const { meanScale } = alphaGrid();
  for (const [dy, dx] of shifts) {
    // np.roll(block, (dy, dx), axis=(0, 1)): rolled[i, j] = block[i - dy, j - dx] (wrapping).
    for (let i = 0; i < bh; i++) {
      const si = (i - dy + bh) % bh;
      for (let j = 0; j < bw; j++) {
        const sj = (j - dx + bw) % bw;
        prod[i * bw + j] = f32(block[i * bw + j] * block[si * bw + sj]);
      }
    }
    const p = estimateAggd(prod, n, s);
    out.push(p.alpha, (p.betaR - p.betaL) * meanScale[p.index], p.betaL, p.betaR);
  }
}

// ---------------------------------------------------------------------------------------------
// MSCN

/**
 * scipy.ndimage.convolve(img, window, mode='nearest') of a float32 image, returned rounded to
 * float32 as scipy stores it (float64 sums over the flipped window in raveled order).
 */
function convolveNearest32(img: Float64Array, width: number, height: number, window: Float64Array, k: number): Float64Array {
  const r = (k - 1) / 2;
  const flipped = new Float64Array(k * k);
  for (let i = 0; i < k * k; i++) flipped[i] = window[k * k - 1 - i];
  const out = new Float64Array(width * height);
  const colIdx = new Int32Array(width + 2 * r);
  for (let i = 0; i < colIdx.length; i++) colIdx[i] = Math.min(width - 1, Math.max(0, i - r));
  const rowOff = new Int32Array(k);
  for (let y = 0; y < height; y++) {
    for (let ky = 0; ky < k; ky++) rowOff[ky] = Math.min(height - 1, Math.max(0, y + ky - r)) * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let ky = 0; ky < k; ky++) {
        const ro = rowOff[ky];
        const wo = ky * k;
        for (let kx = 0; kx < k; kx++) s += img[ro + colIdx[x + kx]] * flipped[wo + kx];
      }
      out[y * width + x] = f32(s);
    }
  }
  return out;
}

/** MSCN coefficients (Eq. 1), float32 values as BasicSR computes them. */
function mscn32(img: Float64Array, width: number, height: number, params: NiqeParams): Float64Array {
  const n = width * height;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) sq[i] = f32(img[i] * img[i]);
  const mu = convolveNearest32(img, width, height, params.window, params.windowSize);
  const mu2 = convolveNearest32(sq, width, height, params.window, params.windowSize);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = mu[i];
    const sigma = f32(Math.sqrt(Math.abs(f32(mu2[i] - f32(m * m)))));
    out[i] = f32(f32(img[i] - m) / f32(sigma + 1));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Linear algebra (float64)


/**
 * Moore-Penrose pseudo-inverse of a symmetric matrix (row-major n x n), with numpy's default
 * `pinv` cutoff: singular values (|eigenvalues|) <= 1e-15 x the largest are treated as zero.
 */
export function pinvSymmetric(matrix: Float64Array, n: number, rcond = 1e-15): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  let maxAbs = 0;
  for (const x of values) maxAbs = Math.max(maxAbs, Math.abs(x));
  const cutoff = rcond * maxAbs;
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) inv[i] = Math.abs(values[i]) > cutoff ? 1 / values[i] : 0;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k] * inv[k] * vectors[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// NIQE

export interface NiqeDetails {
  value: number;
  /** Number of blocks per scale. */
  nBlocks: number;
  /** Blocks whose feature row had a NaN (left out of the covariance). */
  nanBlockRows: number;
  /** NaN-ignoring mean of the 36 block features (18 at scale 1, then 18 at scale 2). */
  muDistparam: Float64Array;
  /** The 36 features of the first (top-left) block. */
  block0Features: Float64Array;
}

function tooSmall(width: number, height: number): Error {
  return new Error(
    `NIQE needs at least two ${NIQE_BLOCK}x${NIQE_BLOCK} blocks, but the image is ${width}x${height}: ` +
      `it must be at least ${2 * NIQE_BLOCK}x${NIQE_BLOCK} or ${NIQE_BLOCK}x${2 * NIQE_BLOCK} (width x height). ` +
      'Upscale small images with upscaleForNiqe (the same protocol for every method compared; see docs/metrics.md).',
  );
}

/**
 * NIQE with intermediate values, from a Y image (row-major, width x height, 0..255 scale, as
 * BasicSR `niqe()` receives it: already rounded for `calculate_niqe` parity). Throws when the
 * image has fewer than two 96x96 blocks, is constant, or has too few blocks with defined
 * features to estimate a covariance.
 */
export function niqeDetailsFromY(y: Float64Array, width: number, height: number, params: NiqeParams): NiqeDetails {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`niqe: invalid size ${width}x${height}`);
  }
  if (y.length !== width * height) throw new Error(`niqe: ${width}x${height} Y image holds ${y.length} values`);
  const nbh = Math.floor(height / NIQE_BLOCK);
  const nbw = Math.floor(width / NIQE_BLOCK);
  const nBlocks = nbh * nbw;
  if (nBlocks < 2) throw tooSmall(width, height);
  const h = nbh * NIQE_BLOCK;
  const w = nbw * NIQE_BLOCK;
  // Crop (top-left) to float32 values.
  let img: Float64Array = new Float64Array(h * w);
  let min = Infinity;
  let max = -Infinity;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const v = f32(y[r * width + c]);
      if (!Number.isFinite(v)) throw new Error('niqe: the Y image holds non-finite values');
      img[r * w + c] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === max) {
    throw new Error(
      `NIQE is undefined for a constant image (every pixel of the cropped ${w}x${h} Y is ${min}): ` +
        'its normalised coefficients are all zero and the feature fits have no data',
    );
  }

  const feats: number[][] = Array.from({ length: nBlocks }, () => []);
  const scratch = new Scratch(NIQE_BLOCK * NIQE_BLOCK);
  const block = new Float64Array(NIQE_BLOCK * NIQE_BLOCK);
  const prod = new Float64Array(NIQE_BLOCK * NIQE_BLOCK);
  let cw = w;
  let ch = h;
  for (const scale of [1, 2]) {
    const mscn = mscn32(img, cw, ch, params);
    const bh = NIQE_BLOCK / scale;
    const bw = NIQE_BLOCK / scale;
    let b = 0;
    for (let bx = 0; bx < nbw; bx++) {
      for (let by = 0; by < nbh; by++) {
        for (let i = 0; i < bh; i++) {
          const src = (by * bh + i) * cw + bx * bw;
          for (let j = 0; j < bw; j++) block[i * bw + j] = mscn[src + j];
        }
        blockFeatures(block, bh, bw, scratch, prod, feats[b++]);
      }
    }
    if (scale === 1) {
      // img = imresize(img / 255., scale=0.5, antialiasing=True) * 255. (all float32)
      const scaled = new Float64Array(img.length);
      for (let i = 0; i < img.length; i++) scaled[i] = f32(img[i] / 255);
      const half = matlabImresize({ width: cw, height: ch, data: scaled }, 0.5, { antialiasing: true, float32: true });
      img = half.data;
      for (let i = 0; i < img.length; i++) img[i] = f32(img[i] * 255);
      cw = half.width;
      ch = half.height;
    }
  }
  // Blocks were visited column-major; block 0 is the top-left one either way.
  const m = NIQE_FEATURES;
  const mu = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let s = 0;
    let c = 0;
    for (const row of feats) {
      if (!Number.isNaN(row[j])) {
        s += row[j];
        c++;
      }
    }
    mu[j] = s / c; // NaN when every block is NaN here (numpy nanmean)
  }
  const clean = feats.filter((row) => row.every((v) => !Number.isNaN(v)));
  const nanBlockRows = feats.length - clean.length;
  if (clean.length < 2 || mu.some(Number.isNaN)) {
    throw new Error(
      `NIQE is undefined for this ${width}x${height} image: only ${clean.length} of its ${nBlocks} blocks have ` +
        'defined features (flat blocks give none; at least two are needed for the covariance)',
    );
  }
  // Sample covariance (np.cov, ddof 1) of the clean rows.
  const nc = clean.length;
  const cm = new Float64Array(m);
  for (const row of clean) for (let j = 0; j < m; j++) cm[j] += row[j];
  for (let j = 0; j < m; j++) cm[j] /= nc;
  const cov = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (const row of clean) s += (row[i] - cm[i]) * (row[j] - cm[j]);
      cov[i * m + j] = s / (nc - 1);
      cov[j * m + i] = cov[i * m + j];
    }
  }
  const avg = new Float64Array(m * m);
  for (let i = 0; i < m * m; i++) avg[i] = (params.cov[i] + cov[i]) / 2;
  const inv = pinvSymmetric(avg, m);
  const d = new Float64Array(m);
  for (let j = 0; j < m; j++) d[j] = params.mu[j] - mu[j];
  let q = 0;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += d[j] * inv[j * m + i];
    q += s * d[i];
  }
  return {
    value: Math.sqrt(q),
    nBlocks,
    nanBlockRows,
    muDistparam: mu,
    block0Features: Float64Array.from(feats[0]),
  };
}

/**
 * NIQE of an 8-bit RGB image (HWC bytes, width x height), as BasicSR 1.4.2
 * `calculate_niqe(img, crop_border=0, input_order='HWC', convert_to='y')` with the pristine
 * model `params` (see `loadNiqeParams`). Lower is better. Throws (never returns NaN) for an
 * image with fewer than two 96x96 blocks (smaller than 192x96 / 96x192; see `upscaleForNiqe`)
 * or a constant image.
 */
export function niqe(rgbBytes: Uint8Array, width: number, height: number, params: NiqeParams): number {
  return niqeDetails(rgbBytes, width, height, params).value;
}

/** `niqe` with its intermediate values (for debugging against BasicSR). */
export function niqeDetails(rgbBytes: Uint8Array, width: number, height: number, params: NiqeParams): NiqeDetails {
  if (!(rgbBytes instanceof Uint8Array)) throw new Error('niqe: rgbBytes must be a Uint8Array of 8-bit RGB values');
  const y = rgbToYRoundedBasicSR(rgbBytes, width, height);
  return niqeDetailsFromY(y, width, height, params);
}

// ---------------------------------------------------------------------------------------------
// Protocol for small images

export interface ByteImage {
  width: number;
  height: number;
  /** 8-bit RGB, HWC. */
  data: Uint8Array;
}

/**
 * The project's NIQE protocol for small images: upscale by the smallest power of two `k`
 * (1, 2, 4, ...) with `min(width, height) * k >= minSide`, using MATLAB `imresize` bicubic
 * (a = -0.5; no antialiasing applies when enlarging), then round to bytes (half away from
 * zero, clamped to 0..255, as MATLAB returns uint8). With the default minSide = 192 every
 * result holds at least 2x2 blocks of 96x96. An image already large enough is returned as a
 * copy with factor 1. Apply it to every method being compared, never to some only: the
 * interpolation itself changes NIQE, so scores are only comparable under the same protocol.
 */
export function upscaleForNiqe(image: ByteImage, minSide = 192): ByteImage & { factor: number } {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`upscaleForNiqe: invalid size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) throw new Error(`upscaleForNiqe: ${width}x${height} RGB image holds ${data.length} values`);
  if (!Number.isInteger(minSide) || minSide < 1) throw new Error(`upscaleForNiqe: invalid minSide ${minSide}`);
  let factor = 1;
  while (Math.min(width, height) * factor < minSide) factor *= 2;
  if (factor === 1) return { width, height, data: data.slice(), factor };
  const up = matlabImresizeHwc(data, width, height, 3, factor);
  const out = new Uint8Array(up.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = up.data[i];
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return { width: up.width, height: up.height, data: out, factor };
}
