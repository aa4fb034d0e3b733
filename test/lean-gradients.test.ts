/**
 * valueAndGradsLean against tf.valueAndGrads: the same values bit for bit on PULSE's loss
 * through a small random generator (every op kind of the synthesis network and the search),
 * a lower peak of live tensor memory, and the corner cases of the tape walk.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { leanGradientsSupported, valueAndGradsLean, variableGradsLean } from '../src/backend/lean-gradients.js';
import { BicubicDownsampler } from '../src/pulse/bicubic.js';
import { geocross, l2Loss, perImageMse } from '../src/pulse/losses.js';
import { toDlatents } from '../src/pulse/generator-interface.js';
import { Synthesis } from '../src/stylegan/synthesis.js';
import { randomSynthesisStateDict } from '../src/stylegan/random-weights.js';
import { DEFAULT_SYNTHESIS_CONFIG, noiseSide } from '../src/stylegan/config.js';
import { gaussian } from '../src/util/random.js';
import { useTestBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useTestBackend();
});

/** PULSE's loss (L2 + 0.05 GEOCROSS) through a random 128 px generator, 2 solutions. */
function pulseLossSetup() {
  const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 128, fmapBase: 256 };
  const synthesis = Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 3, 0.1), 'random-128', cfg);
  const L = synthesis.numLayers;
  const batch = 2;
  const down = new BicubicDownsampler(8);
  const mean = tf.zeros([512]) as tf.Tensor1D;
  const std = tf.ones([512]) as tf.Tensor1D;
  const ref = tf.tensor4d(gaussian('ref', batch * 16 * 16 * 3).map((v) => 0.5 + 0.2 * v), [batch, 16, 16, 3]);
  const latent = tf.tensor3d(gaussian('lat', batch * L * 512), [batch, L, 512]);
  const noise = Array.from({ length: L }, (_, i) => tf.tensor4d(gaussian(`n${i}`, batch * noiseSide(i) ** 2), [batch, noiseSide(i), noiseSide(i), 1]));
  const trainable = [0, 1, 2, 3, 4];
  const xs = [latent, ...trainable.map((i) => noise[i])];
  const loss = (...v: tf.Tensor[]): tf.Scalar => {
    const [lat, ...tn] = v;
    const noiseIn = noise.map((n, i) => (i < trainable.length ? (tn[i] as tf.Tensor4D) : n));
    const dl = toDlatents(lat as tf.Tensor3D, mean, std);
    const gen = tf.div(tf.add(synthesis.forward(dl, noiseIn), 1), 2) as tf.Tensor4D;
    return tf.add(l2Loss(perImageMse(down.apply(gen), ref), 1e-3), tf.mul(geocross(dl), 0.05));
  };
  const dispose = () => {
    synthesis.dispose();
    down.dispose();
    tf.dispose([mean, std, ref, latent, ...noise]);
  };
  return { xs, loss, dispose };
}

describe('valueAndGradsLean', () => {
  it('drives the engine of the pinned tfjs-core', () => {
    expect(leanGradientsSupported()).toBe(true);
  });

  it('gives the same value and gradients as tf.valueAndGrads, bit for bit, with a lower memory peak', async () => {
    const { xs, loss, dispose } = pulseLossSetup();
    try {
      let standard!: { value: tf.Scalar; grads: tf.Tensor[] };
      let lean!: { value: tf.Scalar; grads: tf.Tensor[] };
      // tf.profile reuses one result object: read each peak before the next profile.
      const standardPeak = (
        await tf.profile(() => {
          standard = tf.valueAndGrads(loss)(xs);
          return [];
        })
      ).peakBytes;
      const leanPeak = (
        await tf.profile(() => {
          lean = valueAndGradsLean(loss, xs);
          return [];
        })
      ).peakBytes;
      expect(await lean.value.data()).toEqual(await standard.value.data());
      expect(lean.grads.length).toBe(xs.length);
      for (let i = 0; i < xs.length; i++) {
        expect(lean.grads[i].shape).toEqual(xs[i].shape);
        expect(Buffer.from((await lean.grads[i].data()).buffer).equals(Buffer.from((await standard.grads[i].data()).buffer))).toBe(true);
      }
      // The peak of live tensors falls well below tfjs's own (measured here: 46.7 against 80.8 MB).
      expect(leanPeak).toBeLessThan(0.75 * standardPeak);
      tf.dispose([standard.value, lean.value, ...standard.grads, ...lean.grads]);
    } finally {
      dispose();
    }
  });

  it('leaves no tensor behind but its results, and frees the tape', () => {
    const { xs, loss, dispose } = pulseLossSetup();
    try {
      // The first call makes what the loss's modules keep (the downsampler's band matrices).
      const warm = valueAndGradsLean(loss, xs);
      tf.dispose([warm.value, ...warm.grads]);
      const before = tf.memory().numTensors;
      const { value, grads } = valueAndGradsLean(loss, xs);
      expect(tf.memory().numTensors).toBe(before + 1 + xs.length);
      tf.dispose([value, ...grads]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      dispose();
    }
  });

  it('accumulates a tensor used twice, passes a gradient through unchanged ops, and takes variables', async () => {
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const z = tf.tensor1d([0.5, 0.5, 0.5]);
    // d/dx sum(x*x + reshape(x) * z) = 2x + z
    const { value, grads } = valueAndGradsLean((v) => tf.sum(tf.add(tf.mul(v, v), tf.mul(tf.reshape(tf.clone(v), [3]), z))), [x]);
    expect(Array.from(await grads[0].data())).toEqual([2.5, -3.5, 6.5]);
    expect((await value.data())[0]).toBeCloseTo(1 + 4 + 9 + 0.5 * 2, 6);
    tf.dispose([value, ...grads, x, z]);
  });

  it('names what is wrong: a non-scalar value, an x the value does not depend on', () => {
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([3, 4]);
    expect(() => valueAndGradsLean((v) => tf.mul(v, 2) as unknown as tf.Scalar, [a])).toThrow(/must return a scalar/);
    expect(() => valueAndGradsLean(() => tf.sum(b), [a])).toThrow(/does not depend on any of xs/);
    expect(() => valueAndGradsLean((v) => tf.sum(v), [a, b])).toThrow(/one of xs has no gradient/);
    tf.dispose([a, b]);
  });

  it('inside another gradient (second order) defers to tf.valueAndGrads', async () => {
    const x = tf.scalar(3);
    // d/dx of (d/dx x^3) = 6x, with the inner derivative taken by valueAndGradsLean.
    const outer = tf.grad((v: tf.Tensor) => valueAndGradsLean((u) => tf.mul(tf.mul(u, u), u) as tf.Scalar, [v]).grads[0] as tf.Scalar);
    const g = outer(x);
    expect((await g.data())[0]).toBeCloseTo(18, 4);
    tf.dispose([x, g]);
  });
});

describe('variableGradsLean', () => {
  it('matches tf.variableGrads by name, bit for bit, and leaves out a variable the value does not use', async () => {
    const a = tf.variable(tensor2('a', [3, 4]), true, 'lean-test-a');
    const b = tf.variable(tensor2('b', [4, 2]), true, 'lean-test-b');
    const unused = tf.variable(tf.zeros([2]), true, 'lean-test-unused');
    const f = () => tf.sum(tf.square(tf.leakyRelu(tf.matMul(a, b), 0.2))) as tf.Scalar;
    const standard = tf.variableGrads(f, [a, b, unused]);
    const lean = variableGradsLean(f, [a, b, unused]);
    expect(Object.keys(lean.grads).sort()).toEqual(Object.keys(standard.grads).sort());
    expect(Object.keys(lean.grads).sort()).toEqual(['lean-test-a', 'lean-test-b']);
    for (const k of Object.keys(standard.grads)) expect(await lean.grads[k].data()).toEqual(await standard.grads[k].data());
    expect(await lean.value.data()).toEqual(await standard.value.data());
    tf.dispose([a, b, unused, standard.value, lean.value, ...Object.values(standard.grads), ...Object.values(lean.grads)]);
  });
});

function tensor2(seed: string, shape: [number, number]): tf.Tensor2D {
  return tf.tensor2d(gaussian(seed, shape[0] * shape[1]), shape);
}
