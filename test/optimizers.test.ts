/**
 * The four optimisers against PyTorch's own updates, recorded by
 * scripts/fixtures/record-optimizers.py (torch.optim.Adam, SGD, SGD with momentum 0.9, Adamax,
 * built as the official PULSE code builds them) into test/fixtures/optimizers/torch-optim.json;
 * and against plain double-precision re-implementations of those update rules (no weight
 * decay, no dampening, no Nesterov), over 5 steps with a varying learning rate and gradients.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPTIMIZER_NAMES, type OptimizerName, createOptimizer } from '../src/pulse/optimizers.js';
import { useTestBackend } from './helpers/backend.js';
import { FIXTURES } from './helpers/paths.js';
import { values } from './helpers/values.js';

beforeAll(async () => {
  await useTestBackend();
});

const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

/** A float64 torch.optim step for one parameter; `state` persists across steps. */
type RefStep = (p: Float64Array, g: Float64Array, lr: number, t: number, state: Map<string, Float64Array>) => void;

const reference: Record<OptimizerName, RefStep> = {
  // torch.optim.Adam (single tensor): m, v from zeros; step_size = lr / bc1;
  // denom = sqrt(v) / sqrt(bc2) + eps; p -= step_size * m / denom.
  adam: (p, g, lr, t, s) => {
    const m = s.get('m') ?? new Float64Array(p.length);
    const v = s.get('v') ?? new Float64Array(p.length);
    const bc1 = 1 - B1 ** t;
    const bc2 = 1 - B2 ** t;
    for (let i = 0; i < p.length; i++) {
      m[i] = B1 * m[i] + (1 - B1) * g[i];
      v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS;
      p[i] -= (lr / bc1) * (m[i] / denom);
    }
    s.set('m', m).set('v', v);
  },
  // torch.optim.Adamax: m as Adam; u = max(beta2 * u, |g| + eps) from zeros; p -= lr / bc1 * m / u.
  adamax: (p, g, lr, t, s) => {
    const m = s.get('m') ?? new Float64Array(p.length);
    const u = s.get('u') ?? new Float64Array(p.length);
    const clr = lr / (1 - B1 ** t);
    for (let i = 0; i < p.length; i++) {
      m[i] = B1 * m[i] + (1 - B1) * g[i];
      u[i] = Math.max(B2 * u[i], Math.abs(g[i]) + EPS);
      p[i] -= clr * (m[i] / u[i]);
    }
    s.set('m', m).set('u', u);
  },
  sgd: (p, g, lr) => {
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  },
  // momentum 0.9: the first buffer is g itself; then buf = 0.9 buf + g (no dampening).
  sgdm: (p, g, lr, _t, s) => {
    let buf = s.get('buf');
    if (!buf) {
      buf = Float64Array.from(g);
    } else {
      for (let i = 0; i < p.length; i++) buf[i] = 0.9 * buf[i] + g[i];
    }
    for (let i = 0; i < p.length; i++) p[i] -= lr * buf[i];
    s.set('buf', buf);
  },
};


const SHAPES: number[][] = [[2, 3, 8], [1, 4, 4, 1], [5]];
const LRS = [0.04, 0.4, 0.25, 0.1, 0.004];

/**
 * Gradients vary per step and include exact zeros, tiny and large entries, and sign
 * changes, so that Adam's bias corrections and Adamax's max(...) both matter.
 */
function gradient(count: number, param: number, step: number): Float32Array {
  const g = values(count, 1000 * param + step + 7, -2, 2);
  g[0] = 0;
  if (count > 1) g[1] = step % 2 === 0 ? 1e-6 : -3;
  if (count > 2) g[2] = step < 2 ? 5 : 1e-4;
  return g;
}

interface TorchRecord {
  torch: string;
  shapes: number[][];
  lrs: number[];
  init: number[][];
  /** grads[step][param] */
  grads: number[][][];
  optimizers: Record<string, { settings: Record<string, unknown>; params_after_step: number[][][] }>;
}

/**
 * Both sides compute in float32 from the same float32 inputs; the operations differ only in
 * order and fusion (tfjs computes 1/bias corrections in float64 JS, as PyTorch does in Python),
 * so the parameters agree to a few float32 ulps: 2e-6 of max(|value|, 1) after 5 steps.
 */
const TORCH_TOLERANCE = 2e-6;

describe('optimizers vs PyTorch (recorded torch.optim updates)', () => {
  const record = JSON.parse(readFileSync(join(FIXTURES, 'optimizers', 'torch-optim.json'), 'utf8')) as TorchRecord;

  it('the recording covers every optimiser with the settings of the official code', () => {
    expect(Object.keys(record.optimizers).sort()).toEqual([...OPTIMIZER_NAMES].sort());
    expect(record.optimizers.adam.settings).toMatchObject({ betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 });
    expect(record.optimizers.adamax.settings).toMatchObject({ betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 });
    expect(record.optimizers.sgd.settings).toMatchObject({ momentum: 0, dampening: 0, nesterov: false });
    expect(record.optimizers.sgdm.settings).toMatchObject({ momentum: 0.9, dampening: 0, nesterov: false });
  });

  for (const name of OPTIMIZER_NAMES) {
    it(`${name}: ${record.lrs.length} steps with varying lr and gradients, within ${TORCH_TOLERANCE.toExponential(0)} of torch ${record.torch}`, async () => {
      const opt = createOptimizer(name);
      let params: tf.Tensor[] = record.shapes.map((s, k) => tf.tensor(record.init[k], s));
      let worst = 0;
      for (let t = 0; t < record.lrs.length; t++) {
        const grads = record.shapes.map((s, k) => tf.tensor(record.grads[t][k], s));
        const next = opt.step(params, grads, record.lrs[t]);
        tf.dispose([...params, ...grads]);
        params = next;
        const want = record.optimizers[name].params_after_step[t];
        for (let k = 0; k < params.length; k++) {
          const got = await params[k].data();
          expect(got.length).toBe(want[k].length);
          for (let i = 0; i < got.length; i++) {
            const err = Math.abs(got[i] - want[k][i]) / Math.max(Math.abs(want[k][i]), 1);
            worst = Math.max(worst, err);
            expect(err, `${name} step ${t + 1} param ${k}[${i}]: ${got[i]} vs torch ${want[k][i]}`).toBeLessThanOrEqual(TORCH_TOLERANCE);
          }
        }
      }
      // The steps are real: the last parameters are far from the first (by more than the tolerance).
      const moved = Math.max(...Array.from(await params[0].data()).map((v, i) => Math.abs(v - record.init[0][i])));
      expect(moved).toBeGreaterThan(1e-3);
      console.log(`${name} vs torch.optim: worst relative error ${worst.toExponential(2)} over ${record.lrs.length} steps`);
      tf.dispose(params);
      opt.dispose();
    });
  }
});

describe('optimizers vs the update rules written out in float64', () => {
  for (const name of OPTIMIZER_NAMES) {
    it(`${name}: 5 steps with varying lr and gradients, within 1e-5 relative`, async () => {
      const opt = createOptimizer(name);
      const init = SHAPES.map((s, k) => values(s.reduce((a, b) => a * b, 1), 31 + k));
      let params: tf.Tensor[] = SHAPES.map((s, k) => tf.tensor(init[k], s));
      const ref = init.map((p) => Float64Array.from(p));
      const states = SHAPES.map(() => new Map<string, Float64Array>());
      for (let t = 1; t <= 5; t++) {
        const gData = SHAPES.map((_, k) => gradient(init[k].length, k, t));
        const grads = SHAPES.map((s, k) => tf.tensor(gData[k], s));
        const next = opt.step(params, grads, LRS[t - 1]);
        expect(next.map((p) => p.shape)).toEqual(SHAPES);
        tf.dispose([...params, ...grads]);
        params = next;
        ref.forEach((p, k) => reference[name](p, Float64Array.from(gData[k]), LRS[t - 1], t, states[k]));
        for (let k = 0; k < SHAPES.length; k++) {
          const got = await params[k].data();
          for (let i = 0; i < got.length; i++) {
            const want = ref[k][i];
            expect(Math.abs(got[i] - want), `${name} step ${t} param ${k}[${i}]: ${got[i]} vs ${want}`).toBeLessThanOrEqual(
              1e-5 * Math.max(Math.abs(want), 1),
            );
          }
        }
      }
      // The updates are real (parameters moved by a learning-rate-sized amount).
      const moved = Math.max(...Array.from(await params[0].data()).map((v, i) => Math.abs(v - init[0][i])));
      expect(moved).toBeGreaterThan(1e-3);
      tf.dispose(params);
      opt.dispose();
    });
  }

  it('adam: first step moves every entry with a non-negligible gradient by ~lr (bias-corrected)', async () => {
    const opt = createOptimizer('adam');
    const p = tf.tensor1d([0, 0, 0]);
    const g = tf.tensor1d([0.5, -2, 1e-3]);
    const [q] = opt.step([p], [g], 0.1);
    const v = await q.data();
    // m/bc1 = g, sqrt(v/bc2) = |g| -> step = lr * g / (|g| + eps)
    expect(v[0]).toBeCloseTo(-0.1, 6);
    expect(v[1]).toBeCloseTo(0.1, 6);
    expect(v[2]).toBeCloseTo(-0.1 * (1e-3 / (1e-3 + 1e-8)), 6);
    tf.dispose([p, g, q]);
    opt.dispose();
  });

  it('step returns new tensors and leaves the given parameters intact', async () => {
    const opt = createOptimizer('sgd');
    const p = tf.tensor1d([1, 2]);
    const g = tf.tensor1d([1, 1]);
    const [q] = opt.step([p], [g], 0.5);
    expect(q).not.toBe(p);
    expect(p.isDisposed).toBe(false);
    expect(Array.from(await p.data())).toEqual([1, 2]);
    expect(Array.from(await q.data())).toEqual([0.5, 1.5]);
    tf.dispose([p, g, q]);
    opt.dispose();
  });
});

describe('createOptimizer', () => {
  it('rejects an unknown name, listing the known ones', () => {
    expect(() => createOptimizer('rmsprop' as OptimizerName)).toThrow(/unknown optimizer "rmsprop".*adam, sgd, sgdm, adamax/);
  });

  for (const name of OPTIMIZER_NAMES) {
    it(`${name}: no tensors leak; dispose frees the slot tensors`, () => {
      const before = tf.memory().numTensors;
      const opt = createOptimizer(name);
      let params: tf.Tensor[] = [tf.ones([3, 4]), tf.zeros([2])];
      for (let t = 0; t < 4; t++) {
        const grads = [tf.fill([3, 4], 0.1 * (t + 1)), tf.fill([2], -0.2)];
        const next = opt.step(params, grads, 0.1);
        tf.dispose([...params, ...grads]);
        params = next;
      }
      // Only the parameters and the optimiser's slots are alive now.
      const slots = tf.memory().numTensors - before - params.length;
      const perParam = name === 'adam' || name === 'adamax' ? 2 : name === 'sgdm' ? 1 : 0;
      expect(slots).toBe(perParam * params.length);
      tf.dispose(params);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
