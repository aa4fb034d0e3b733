/**
 * DiffAugment (src/train/augment.ts) against a plain loop implementation of the paper's
 * transforms, its draws against the paper's ranges, and its gradients (first and second
 * order, as R1 through the augmentation needs) against finite differences.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { type AugmentDraw, applyAugment, drawAugment, parseAugmentPolicy } from '../src/train/augment.js';
import { gaussian } from '../src/util/random.js';

beforeAll(async () => {
  await useTestBackend();
});

/** The transforms written out pixel by pixel (NHWC), in the order applyAugment uses. */
function reference(x: Float32Array, B: number, S: number, d: AugmentDraw): Float32Array {
  const C = 3;
  const at = (b: number, y: number, xx: number, c: number) => ((b * S + y) * S + xx) * C + c;
  let v = Float32Array.from(x);
  for (let b = 0; b < B; b++) {
    if (d.brightness) for (let i = 0; i < S * S * C; i++) v[b * S * S * C + i] += d.brightness[b];
    if (d.saturation) {
      for (let p = 0; p < S * S; p++) {
        const o = (b * S * S + p) * C;
        const m = (v[o] + v[o + 1] + v[o + 2]) / 3;
        for (let c = 0; c < C; c++) v[o + c] = (v[o + c] - m) * d.saturation[b] + m;
      }
    }
    if (d.contrast) {
      let m = 0;
      for (let i = 0; i < S * S * C; i++) m += v[b * S * S * C + i];
      m /= S * S * C;
      for (let i = 0; i < S * S * C; i++) v[b * S * S * C + i] = (v[b * S * S * C + i] - m) * d.contrast[b] + m;
    }
  }
  if (d.shiftY && d.shiftX) {
    const out = new Float32Array(v.length);
    for (let b = 0; b < B; b++)
      for (let y = 0; y < S; y++)
        for (let xx = 0; xx < S; xx++) {
          const sy = y + d.shiftY[b];
          const sx = xx + d.shiftX[b];
          if (sy < 0 || sy >= S || sx < 0 || sx >= S) continue;
          for (let c = 0; c < C; c++) out[at(b, y, xx, c)] = v[at(b, sy, sx, c)];
        }
    v = out;
  }
  if (d.cutY && d.cutX) {
    const size = Math.floor(S * 0.5 + 0.5);
    for (let b = 0; b < B; b++)
      for (let y = 0; y < S; y++)
        for (let xx = 0; xx < S; xx++) {
          const inY = y >= d.cutY[b] - Math.floor(size / 2) && y < d.cutY[b] - Math.floor(size / 2) + size;
          const inX = xx >= d.cutX[b] - Math.floor(size / 2) && xx < d.cutX[b] - Math.floor(size / 2) + size;
          if (inY && inX) for (let c = 0; c < C; c++) v[at(b, y, xx, c)] = 0;
        }
  }
  return v;
}

describe('DiffAugment', () => {
  it('parses policies and names a bad transform', () => {
    expect(parseAugmentPolicy('none')).toEqual([]);
    expect(parseAugmentPolicy('color, cutout')).toEqual(['color', 'cutout']);
    expect(() => parseAugmentPolicy('color,flip')).toThrow(/"flip" is not one of color, translation, cutout/);
  });

  it('draws within the paper\'s ranges, reproducibly', () => {
    const d = drawAugment('s', 500, 64, parseAugmentPolicy('color,translation,cutout'));
    const range = (a: ArrayLike<number>) => [Math.min(...Array.from(a)), Math.max(...Array.from(a))];
    expect(range(d.brightness!)[0]).toBeGreaterThanOrEqual(-0.5);
    expect(range(d.brightness!)[1]).toBeLessThan(0.5);
    expect(range(d.saturation!)[1]).toBeLessThan(2);
    expect(range(d.contrast!)[0]).toBeGreaterThanOrEqual(0.5);
    expect(range(d.shiftY!)).toEqual([-8, 8]); // 64/8, both ends reached in 500 draws
    expect(range(d.cutX!)).toEqual([0, 64]); // even cutout side 32: centres 0..64
    expect(drawAugment('s', 500, 64, parseAugmentPolicy('color,translation,cutout'))).toEqual(d);
    expect(Array.from(drawAugment('t', 500, 64, parseAugmentPolicy('color')).brightness!)).not.toEqual(Array.from(d.brightness!));
  });

  it.each(['color', 'translation', 'cutout', 'color,translation,cutout'])('%s matches the pixel-by-pixel reference', async (policy) => {
    const B = 5;
    const S = 12;
    const x = gaussian('aug-x', B * S * S * 3);
    const d = drawAugment(`draw:${policy}`, B, S, parseAugmentPolicy(policy));
    const got = applyAugment(tf.tensor4d(x, [B, S, S, 3]), d);
    const data = (await got.data()) as Float32Array;
    got.dispose();
    const want = reference(x, B, S, d);
    const worst = Math.max(...Array.from(data, (v, i) => Math.abs(v - want[i])));
    expect(worst).toBeLessThan(1e-5);
    if (policy !== 'color') expect(Array.from(data).filter((v) => v === 0).length).toBeGreaterThan(0);
  });

  it('gradients (and R1-style gradients of gradients) match finite differences', async () => {
    const B = 2;
    const S = 8;
    const d = drawAugment('grad', B, S, parseAugmentPolicy('color,translation,cutout'));
    const w = tf.tensor4d(gaussian('aug-w', B * S * S * 3), [B, S, S, 3]);
    const x0 = gaussian('aug-x0', B * S * S * 3);
    // f(x) = sum(w * aug(x)^2): nonlinear, so its gradient depends on x and R1's second order is exercised.
    const f = (x: tf.Tensor) => tf.sum(tf.mul(w, tf.square(applyAugment(x as tf.Tensor4D, d))));
    const r1 = (x: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(x)));
    for (const [name, fn] of [['first order', f], ['second order', r1]] as const) {
      const g = (await tf.grad(fn)(tf.tensor4d(x0, [B, S, S, 3])).data()) as Float32Array;
      const value = (x: Float32Array) => fn(tf.tensor4d(x, [B, S, S, 3])).dataSync()[0];
      for (const i of [3, 50, 200, 377]) {
        const h = 1e-2;
        const up = Float32Array.from(x0);
        const down = Float32Array.from(x0);
        up[i] += h;
        down[i] -= h;
        const numeric = (value(up) - value(down)) / (2 * h);
        expect(Math.abs(g[i] - numeric), `${name} at ${i}: ${g[i]} vs ${numeric}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
      }
    }
    w.dispose();
  });

  it('rejects images that do not match the draw', () => {
    const d = drawAugment('m', 2, 8, ['color']);
    expect(() => applyAugment(tf.zeros([3, 8, 8, 3]) as tf.Tensor4D, d)).toThrow(/do not match a draw for 2 images of 8x8/);
  });
});
