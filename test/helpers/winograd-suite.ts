/**
 * The Winograd ops (native/winograd-op.c through src/backend/winograd-addon.ts) against
 * TensorFlow's Conv2D: the 3x3 convolution (F(2x2, 3x3)) and the 2x upscale convolution (four
 * sub-pixel phases by F(2x2, 2x2)), each with its input gradient, within float rounding at odd and
 * even sides, tiny and wide shapes, batches; clear errors for wrong inputs; and a whole
 * synthesis network giving the same image and latent gradient with them as without
 * (PULSE_CONV=tensorflow). Runs where the ops do (the native backend with the addon built on an
 * AVX-512 or AVX2 CPU); elsewhere reported skipped with the reason. test/winograd.test.ts runs it
 * with the kernels the CPU picks, test/winograd-avx2.test.ts with the AVX2 ones
 * (PULSE_WINOGRAD_ISA=avx2; each test file is its own process, and the addon reads it at load).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  WINOGRAD_MIN_SIDE,
  WINOGRAD_UPSCALE_MIN_SIDE,
  winogradConv,
  winogradConvInputGradient,
  winogradFilter,
  winogradStatus,
  winogradSupports,
  winogradUpscaleConv,
  winogradUpscaleConvInputGradient,
  winogradUpscaleFilter,
  winogradUpscaleSupports,
} from '../../src/backend/winograd-addon.js';
import { conv2dWinogradFrozen, subPixelConv, subPixelFilters, upscaleConvWinogradFrozen } from '../../src/stylegan/frozen-ops.js';
import { upscaleConvAsTransposed } from '../../src/stylegan/modules/upscale-conv.js';
import { upscale2x } from '../../src/stylegan/layers.js';
import { Synthesis } from '../../src/stylegan/synthesis.js';
import { randomSynthesisStateDict } from '../../src/stylegan/random-weights.js';
import { DEFAULT_SYNTHESIS_CONFIG } from '../../src/stylegan/config.js';
import { gaussian } from '../../src/util/random.js';
import { useTestBackend } from './backend.js';
import { relativeError } from './relative-error.js';

function tensor4(seed: string, shape: [number, number, number, number], scale = 1): tf.Tensor4D {
  return tf.tensor4d(gaussian(seed, shape.reduce((a, b) => a * b, 1)).map((v) => v * scale), shape);
}

/**
 * Bound on max|a - b| / max|b| against Conv2D: the transforms add in another order than the
 * direct sum (measured 2e-7 to 1.3e-6 on these shapes; the parity cases judge whole searches).
 */
const ROUNDING = 5e-6;

/** The gradient tfjs computes through `ours` (a frozen op) is the one through `reference`, within ROUNDING. */
async function expectSameGradient(
  x: tf.Tensor4D,
  ours: (t: tf.Tensor4D) => tf.Tensor4D,
  reference: (t: tf.Tensor4D) => tf.Tensor4D,
): Promise<void> {
  const gradientOf = (f: (t: tf.Tensor4D) => tf.Tensor4D) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(f(t as tf.Tensor4D))))(x);
  const [a, b] = [gradientOf(ours), gradientOf(reference)];
  expect(await relativeError(a, b)).toBeLessThan(ROUNDING);
  tf.dispose([a, b]);
}

/** Defines the suite, expecting the kernels of `isa` (or whichever the CPU has, when undefined). */
export async function defineWinogradSuite(isa?: 'avx2'): Promise<void> {
  await useTestBackend();
  const status = winogradStatus();
  const why = status.available ? '' : `(skipped: the Winograd ops do not run here: ${status.reason})`;

  if (isa) {
    it.runIf(status.available)(`runs the ${isa} kernels when asked ${why}`, () => {
      expect(status.available && status.isa).toBe(isa);
    });
  }

  describe.skipIf(!status.available)(`Winograd convolutions ${why}`, () => {
    beforeAll(() => {
      expect(status.available).toBe(true);
    });

    // [n, h, w, in, out]: odd and even sides (partial tiles), 1x1 and 4x4 maps, more than one
    // 256-channel block of the product, and sizes past one tile chunk (the workspace bound).
    const SHAPES: [number, number, number, number, number][] = [
      [2, 9, 7, 32, 64],
      [1, 4, 4, 64, 32],
      [1, 1, 1, 32, 32],
      [1, 2, 5, 32, 32],
      [1, 33, 30, 96, 64],
      [1, 16, 16, 512, 32],
      [1, 300, 301, 32, 32],
    ];

    for (const [n, h, w, c, k] of SHAPES) {
      it(`x [${n}, ${h}, ${w}, ${c}] by [3, 3, ${c}, ${k}]: y and dx as Conv2D's within ${ROUNDING}`, async () => {
        const g = tensor4('g', [3, 3, c, k], 1 / Math.sqrt(9 * c));
        const x = tensor4('x', [n, h, w, c]);
        const dy = tensor4('dy', [n, h, w, k]);
        const u = winogradFilter(g);
        const y = winogradConv(x, u);
        const dx = winogradConvInputGradient(dy, u);
        expect(y.shape).toEqual([n, h, w, k]);
        expect(dx.shape).toEqual([n, h, w, c]);
        expect(await relativeError(y, tf.conv2d(x, g, 1, 'same'))).toBeLessThan(ROUNDING);
        expect(await relativeError(dx, tf.conv2dTranspose(dy, g, [n, h, w, c], 1, 'same'))).toBeLessThan(ROUNDING);
        tf.dispose([g, x, dy, u, y, dx]);
      });
    }

    it('as a frozen op: the gradient tfjs computes through it is the input gradient', async () => {
      const g = tensor4('g', [3, 3, 32, 64], 0.05);
      const x = tensor4('x', [1, 6, 6, 32]);
      const u = winogradFilter(g);
      await expectSameGradient(x, (t) => conv2dWinogradFrozen(t, u), (t) => tf.conv2d(t, g, 1, 'same'));
      tf.dispose([g, x, u]);
    });

    it(`says which convolutions it takes: 3x3, same padding, maps from ${WINOGRAD_MIN_SIDE} px, channels in multiples of the panel width`, () => {
      expect(winogradSupports([3, 3, 512, 512], 'same', 32)).toBe(true);
      expect(winogradSupports([3, 3, 512, 512], 'same', WINOGRAD_MIN_SIDE / 2)).toBe(false);
      expect(winogradSupports([3, 3, 512, 512], 'valid', 32)).toBe(false);
      expect(winogradSupports([1, 1, 512, 3], 'same', 32)).toBe(false);
      expect(winogradSupports([3, 3, 3, 32], 'same', 32)).toBe(false);
      expect(winogradSupports([3, 3, 32, 8], 'same', 32)).toBe(false);
      expect(winogradUpscaleSupports(512, 256, 32)).toBe(true);
      expect(winogradUpscaleSupports(512, 256, WINOGRAD_UPSCALE_MIN_SIDE / 2)).toBe(false);
      expect(winogradUpscaleSupports(512, 8, 32)).toBe(false);
    });

    // The 2x upscale convolution as four sub-pixel phases, against TensorFlow's sub-pixel Conv2Ds
    // (forward) and the strided Conv2D by the fused 4x4 filter (input gradient), as frozen-ops.ts runs them.
    const UPSCALE_SHAPES: [number, number, number, number, number][] = [
      [1, 4, 4, 32, 32],
      [2, 5, 3, 32, 64],
      [1, 8, 8, 64, 32],
      [1, 32, 32, 512, 256],
      [1, 150, 149, 32, 32],
    ];
    for (const [n, h, w, c, k] of UPSCALE_SHAPES) {
      it(`2x upscale conv of x [${n}, ${h}, ${w}, ${c}] to ${k} channels: y and dx as TensorFlow's within ${ROUNDING}`, async () => {
        const g = tensor4('g', [3, 3, c, k], 1 / Math.sqrt(9 * c));
        const fused = upscaleConvAsTransposed(g);
        const phases = subPixelFilters(fused);
        const x = tensor4('x', [n, h, w, c]);
        const dy = tensor4('dy', [n, 2 * h, 2 * w, k]);
        const u = winogradUpscaleFilter(phases);
        const y = winogradUpscaleConv(x, u);
        const dx = winogradUpscaleConvInputGradient(dy, u);
        expect(y.shape).toEqual([n, 2 * h, 2 * w, k]);
        expect(dx.shape).toEqual([n, h, w, c]);
        expect(await relativeError(y, subPixelConv(x, phases))).toBeLessThan(ROUNDING);
        expect(await relativeError(dx, tf.conv2d(dy, fused, 2, 'same'))).toBeLessThan(ROUNDING);
        tf.dispose([g, fused, ...phases, x, dy, u, y, dx]);
      });
    }

    it('the upscale as a frozen op: the gradient tfjs computes through it is the input gradient', async () => {
      const g = tensor4('g', [3, 3, 32, 32], 0.05);
      const fused = upscaleConvAsTransposed(g);
      const phases = subPixelFilters(fused);
      const u = winogradUpscaleFilter(phases);
      const x = tensor4('x', [1, 6, 6, 32]);
      await expectSameGradient(x, (t) => upscaleConvWinogradFrozen(t, u), (t) => tf.conv2d(upscale2x(t), g, 1, 'same'));
      tf.dispose([g, fused, ...phases, u, x]);
    });

    it('wrong inputs: an error naming the op and what it needs', () => {
      const g = tensor4('g', [3, 3, 32, 32]);
      const u = winogradFilter(g);
      expect(() => winogradFilter(tensor4('g5', [5, 5, 32, 32]))).toThrow(/PulseWinogradFilter: filter must be \[3, 3, in, out\]/);
      expect(() => winogradFilter(tensor4('g7', [3, 3, 32, 7]))).toThrow(/PulseWinogradFilter: .*out channels 7/);
      expect(() => winogradConv(tensor4('x', [1, 4, 4, 64]), u)).toThrow(/PulseWinogradConv: x has 64 channels where the filter needs 32/);
      expect(() => winogradConv(tensor4('x', [1, 4, 4, 32]), g)).toThrow(/PulseWinogradConv: .*from PulseWinogradFilter/);
      const up = winogradUpscaleFilter([0, 1, 2, 3].map((i) => tensor4(`p${i}`, [2, 2, 32, 32])));
      expect(() => winogradUpscaleConvInputGradient(tensor4('dy', [1, 5, 6, 32]), up)).toThrow(/even sides/);
      expect(() => winogradUpscaleConv(tensor4('x', [1, 4, 4, 32]), u)).toThrow(/PulseWinogradUpscaleConv: .*PulseWinogradUpscaleFilter/);
      tf.dispose([g, u, up]);
    });
  });

  describe.skipIf(!status.available)(`a synthesis network with the Winograd ops and without ${why}`, () => {
    const saved = process.env.PULSE_CONV;
    afterEach(() => {
      if (saved === undefined) delete process.env.PULSE_CONV;
      else process.env.PULSE_CONV = saved;
    });

    it('64 px, fmap_base 8192 (widths 512 to 256): the same image and latent gradient within float rounding', async () => {
      const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64 };
      const sd = randomSynthesisStateDict(cfg, 'winograd', 0.1);
      const build = (conv: string) => {
        process.env.PULSE_CONV = conv;
        return Synthesis.fromStateDict(sd, 'random weights', cfg);
      };
      const [withOps, without] = [build('winograd'), build('tensorflow')];
      const w = tf.tensor3d(gaussian('w', withOps.numLayers * 512), [1, withOps.numLayers, 512]);
      const noise = Array.from({ length: withOps.numLayers }, (_, i) => {
        const side = 4 * 2 ** Math.floor(i / 2);
        return tensor4(`noise${i}`, [1, side, side, 1]);
      });
      const run = (s: Synthesis) => tf.valueAndGrad((d: tf.Tensor) => tf.mean(tf.square(s.forward(d as tf.Tensor3D, noise))))(w);
      const a = run(withOps);
      const b = run(without);
      // The loss, and the gradient back through 11 convolutions and instance norms, where rounding
      // compounds: measured 1.7e-4 (TensorFlow's frozen against its trainable path: 1.2e-5). Against
      // the official code's recorded gradients both paths are 3.5e-5 off at p64-x4
      // (test/parity-steps.test.ts, whose bound is 2e-3): Winograd's rounding is not what separates
      // this project from the official code.
      expect(Math.abs((await a.value.data())[0] - (await b.value.data())[0]) / (await b.value.data())[0]).toBeLessThan(1e-5);
      expect(await relativeError(a.grad, b.grad)).toBeLessThan(5e-4);
      tf.dispose([w, ...noise, a.value, a.grad, b.value, b.grad]);
      withOps.dispose();
      without.dispose();
    });
  });
}
