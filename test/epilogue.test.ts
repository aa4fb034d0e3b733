/**
 * The fused LayerEpilogue (one op with a hand-written gradient) against the same layer written
 * as plain ops and differentiated by autodiff: the forward bit for bit, every gradient (the
 * input, the noise map, the noise strength, the dlatent, the style affine) to float rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { nativeEpilogue, nativeEpilogueGrad, nativeEpilogueStatus } from '../src/backend/winograd-addon.js';
import { epilogue, epilogueReference, type EpilogueWeights } from '../src/stylegan/layers.js';
import { gaussian } from '../src/util/random.js';
import { useTestBackend } from './helpers/backend.js';
import { relativeError } from './helpers/relative-error.js';

beforeAll(async () => {
  await useTestBackend();
});

const B = 2;
const S = 8;
const C = 6;
const D = 16;

function tensor(seed: string, shape: number[], scale = 1): tf.Tensor {
  return tf.tensor(gaussian(seed, shape.reduce((a, b) => a * b, 1)).map((v) => v * scale), shape);
}

describe.each([true, false])('fused epilogue (noise %s)', (withNoise) => {
  it('matches the autodiff reference: forward bit for bit, gradients within 2e-6 relative', async () => {
    const x = tensor('x', [B, S, S, C], 2);
    const noise = tensor('noise', [B, S, S, 1]);
    const noiseWeight = tensor('nw', [C], 0.3);
    const dlatent = tensor('w', [B, D]);
    const styleWeight = tensor('A', [D, 2 * C], 0.25);
    const styleBias = tensor('b', [2 * C], 0.1);
    const upstream = tensor('dy', [B, S, S, C]);
    const run = (layer: typeof epilogue) => (xi: tf.Tensor, n: tf.Tensor, nw: tf.Tensor, w: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => {
      const weights: EpilogueWeights = { noiseWeight: nw as tf.Tensor1D, styleWeight: a as tf.Tensor2D, styleBias: b as tf.Tensor1D };
      // A weighted sum, so every output element carries its own upstream gradient.
      return tf.sum(tf.mul(layer(xi as tf.Tensor4D, w as tf.Tensor2D, withNoise ? (n as tf.Tensor4D) : null, weights), upstream)) as tf.Scalar;
    };
    const inputs = [x, noise, noiseWeight, dlatent, styleWeight, styleBias];
    const weightsOf = { noiseWeight: noiseWeight as tf.Tensor1D, styleWeight: styleWeight as tf.Tensor2D, styleBias: styleBias as tf.Tensor1D };
    const fusedOut = epilogue(x as tf.Tensor4D, dlatent as tf.Tensor2D, withNoise ? (noise as tf.Tensor4D) : null, weightsOf);
    const refOut = epilogueReference(x as tf.Tensor4D, dlatent as tf.Tensor2D, withNoise ? (noise as tf.Tensor4D) : null, weightsOf);
    expect(Buffer.from((await fusedOut.data()).buffer).equals(Buffer.from((await refOut.data()).buffer))).toBe(true);

    // Without noise the noise map and strength are not inputs of the layer: differentiate the rest.
    const wrt = withNoise ? [0, 1, 2, 3, 4, 5] : [0, 3, 4, 5];
    const partial = (layer: typeof epilogue) => (...v: tf.Tensor[]) => {
      const all = [...inputs];
      wrt.forEach((k, j) => (all[k] = v[j]));
      return run(layer)(...(all as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
    };
    const fused = tf.grads(partial(epilogue))(wrt.map((k) => inputs[k]));
    const reference = tf.grads(partial(epilogueReference))(wrt.map((k) => inputs[k]));
    const names = ['x', 'noise', 'noise weight', 'dlatent', 'style weight', 'style bias'];
    for (let j = 0; j < wrt.length; j++) {
      const err = await relativeError(fused[j], reference[j]);
      expect(err, `gradient of ${names[wrt[j]]}`).toBeLessThan(2e-6);
      expect(Math.max(...Array.from(await reference[j].abs().data())), `gradient of ${names[wrt[j]]} is not trivially zero`).toBeGreaterThan(1e-3);
    }
    tf.dispose([...inputs, upstream, fusedOut, refOut, ...fused, ...reference]);
  });
});

// A search's epilogue: the noise strength (and the fixed maps) enter as constants, so the
// backward computes no gradient for them; what is still differentiated must not change.
describe.each([
  [{ noiseWeight: true }, [0, 1, 3]],
  [{ noiseWeight: true, noise: true }, [0, 3]],
  [{ noise: true }, [0, 2, 3]],
] as const)('fused epilogue with constants %o', (constants, wrt) => {
  it('gives the same value bit for bit and the same gradients of the rest (tfjs ops)', async () => {
    // The tfjs ops' path; the native op a search takes where it can is tested below.
    process.env.PULSE_EPILOGUE = 'tensorflow';
    onTestFinished(() => void delete process.env.PULSE_EPILOGUE);
    const x = tensor('x', [B, S, S, C], 2);
    const noise = tensor('noise', [B, S, S, 1]);
    const noiseWeight = tensor('nw', [C], 0.3);
    const dlatent = tensor('w', [B, D]);
    const weights: EpilogueWeights = {
      noiseWeight: noiseWeight as tf.Tensor1D,
      styleWeight: tensor('A', [D, 2 * C], 0.25) as tf.Tensor2D,
      styleBias: tensor('b', [2 * C], 0.1) as tf.Tensor1D,
    };
    const upstream = tensor('dy', [B, S, S, C]);
    const inputs = [x, noise, noiseWeight, dlatent];
    const loss = (withConstants: boolean) => (...v: tf.Tensor[]) => {
      const all = [...inputs];
      wrt.forEach((k, j) => (all[k] = v[j]));
      const w = { ...weights, noiseWeight: all[2] as tf.Tensor1D };
      const y = epilogue(all[0] as tf.Tensor4D, all[3] as tf.Tensor2D, all[1] as tf.Tensor4D, w, undefined, withConstants ? constants : {});
      return tf.sum(tf.mul(y, upstream)) as tf.Scalar;
    };
    const plain = epilogue(x as tf.Tensor4D, dlatent as tf.Tensor2D, noise as tf.Tensor4D, weights);
    const lean = epilogue(x as tf.Tensor4D, dlatent as tf.Tensor2D, noise as tf.Tensor4D, weights, undefined, constants);
    expect(Buffer.from((await lean.data()).buffer).equals(Buffer.from((await plain.data()).buffer))).toBe(true);
    const leanGrads = tf.grads(loss(true))(wrt.map((k) => inputs[k]));
    const plainGrads = tf.grads(loss(false))(wrt.map((k) => inputs[k]));
    for (let j = 0; j < wrt.length; j++) {
      expect(Buffer.from((await leanGrads[j].data()).buffer).equals(Buffer.from((await plainGrads[j].data()).buffer)), `gradient of input ${wrt[j]}`).toBe(true);
    }
    tf.dispose([...inputs, weights.styleWeight, weights.styleBias, upstream, plain, lean, ...leanGrads, ...plainGrads]);
  });
});

// A search's epilogue on the native backend: one native op each way (native/epilogue-kernels.c),
// its moments summed in double where tfjs sums in float, so it agrees with the autodiff reference
// to float rounding rather than bit for bit. Shapes: channels that fill no vector (6), and maps
// large enough (2 x 48 x 48 x 40) that the kernels split the pixels among threads.
describe.each([
  ['a searched noise map', 6, 8, false, true],
  ['a fixed noise map', 6, 8, true, true],
  ['no noise', 6, 8, false, false],
  ['a searched noise map, threaded', 40, 48, false, true],
  ['a fixed noise map, threaded', 40, 48, true, true],
] as const)('native fused epilogue, %s', (_name, channels, side, noiseConstant, withNoise) => {
  it('matches the autodiff reference: values within 2e-6, gradients within 2e-5 relative', async (ctx) => {
    const status = nativeEpilogueStatus();
    if (!status.available) ctx.skip(`the native epilogue does not run here: ${status.reason}`);
    const x = tensor('x', [B, side, side, channels], 2);
    const noise = tensor('noise', [B, side, side, 1]);
    const noiseWeight = tensor('nw', [channels], 0.3);
    const dlatent = tensor('w', [B, D]);
    const weights: EpilogueWeights = {
      noiseWeight: noiseWeight as tf.Tensor1D,
      styleWeight: tensor('A', [D, 2 * channels], 0.25) as tf.Tensor2D,
      styleBias: tensor('b', [2 * channels], 0.1) as tf.Tensor1D,
    };
    const upstream = tensor('dy', [B, side, side, channels]);
    // The conv's bias, which the native op adds itself (the reference gets x + bias).
    const bias = tensor('bias', [channels], 0.5) as tf.Tensor1D;
    const constants = { noiseWeight: true, noise: noiseConstant };
    const map = withNoise ? (noise as tf.Tensor4D) : null;
    // x, the dlatent, and the noise map where it is searched.
    const wrt = withNoise && !noiseConstant ? [0, 1, 2] : [0, 2];
    const loss = (layer: 'native' | 'reference') => (...v: tf.Tensor[]) => {
      const all = [x, map, dlatent] as (tf.Tensor | null)[];
      wrt.forEach((k, j) => (all[k] = v[j]));
      const [xi, ni, wi] = all as [tf.Tensor4D, tf.Tensor4D | null, tf.Tensor2D];
      const y = layer === 'native' ? epilogue(xi, wi, ni, weights, undefined, constants, bias) : epilogueReference(tf.add(xi, bias), wi, ni, weights);
      return tf.sum(tf.mul(y, upstream)) as tf.Scalar;
    };
    const native = epilogue(x as tf.Tensor4D, dlatent as tf.Tensor2D, map, weights, undefined, constants, bias);
    const reference = epilogueReference(tf.add(x, bias) as tf.Tensor4D, dlatent as tf.Tensor2D, map, weights);
    expect(await relativeError(native, reference), 'values').toBeLessThan(2e-6);
    // The native path really ran: its value is not the tfjs ops' bit for bit.
    expect(Buffer.from((await native.data()).buffer).equals(Buffer.from((await reference.data()).buffer))).toBe(false);
    const inputs = [x, map, dlatent] as tf.Tensor[];
    const nativeGrads = tf.grads(loss('native'))(wrt.map((k) => inputs[k]));
    const referenceGrads = tf.grads(loss('reference'))(wrt.map((k) => inputs[k]));
    const names = ['x', 'noise', 'dlatent'];
    for (let j = 0; j < wrt.length; j++) {
      expect(await relativeError(nativeGrads[j], referenceGrads[j]), `gradient of ${names[wrt[j]]}`).toBeLessThan(2e-5);
      expect((await tf.max(tf.abs(referenceGrads[j])).data())[0]).toBeGreaterThan(1e-3);
    }
    tf.dispose([x, noise, noiseWeight, dlatent, bias, weights.styleWeight, weights.styleBias, upstream, native, reference, ...nativeGrads, ...referenceGrads]);
  });
});

describe('native fused epilogue, bad input', () => {
  it('says which op and which tensor is wrong', async (ctx) => {
    const status = nativeEpilogueStatus();
    if (!status.available) ctx.skip(`the native epilogue does not run here: ${status.reason}`);
    const x = tf.zeros([2, 4, 4, 8]) as tf.Tensor4D;
    const nw = tf.zeros([8]) as tf.Tensor1D;
    const style = tf.zeros([2, 1, 1, 8]) as tf.Tensor4D;
    expect(() => nativeEpilogue(x, null, null, nw, tf.zeros([2, 1, 1, 6]) as tf.Tensor4D, style)).toThrow(/PulseEpilogue: scale1 must hold one value per image and channel/);
    expect(() => nativeEpilogue(x, null, tf.zeros([2, 4, 4, 2]) as tf.Tensor4D, nw, style, style)).toThrow(/PulseEpilogue: a noise map must be \[2, 4, 4, 1\]/);
    expect(() => nativeEpilogue(tf.zeros([4, 8]) as unknown as tf.Tensor4D, null, null, nw, style, style)).toThrow(/PulseEpilogue: the maps must be \[n, h, w, channels\]/);
    expect(() => nativeEpilogue(x, tf.zeros([6]) as tf.Tensor1D, null, nw, style, style)).toThrow(/PulseEpilogue: bias must have 8 values/);
    const { y, a, stats } = nativeEpilogue(x, null, null, nw, style, style);
    expect(() => nativeEpilogueGrad(y, { a: tf.zeros([2, 4, 4, 4]) as tf.Tensor4D, stats }, style, null)).toThrow(/PulseEpilogueGrad: a must have dy's shape/);
    tf.dispose([x, nw, style, y, a, stats]);
  });
});
