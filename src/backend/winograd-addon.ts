/**
 * The Winograd convolutions of native/winograd-op.c: six TensorFlow ops of our own (a filter
 * transform, the convolution and its input gradient, for the 3x3 convolution by F(2x2, 3x3) and
 * for the 2x upscale convolution's four sub-pixel phases by F(2x2, 2x2)), registered in the
 * library the native backend runs, and as tfjs kernels of that backend, so tfjs runs them like its
 * built-in ops (its tensors go in and come out; nothing is copied through JavaScript). A search's
 * layers use them (frozen-ops.ts) on maps from WINOGRAD_MIN_SIDE / WINOGRAD_UPSCALE_MIN_SIDE up:
 * 16 multiplies per 2x2 output tile and channel pair where TensorFlow's direct Conv2D takes 36
 * (docs/performance.md, "Sixth round").
 *
 * Available on the native CPU backend, Linux x86-64, with the addon built
 * (scripts/build-winograd.mjs, run at install) and a CPU with AVX-512 or AVX2 + FMA.
 * PULSE_CONV=tensorflow turns it off (TensorFlow's Conv2D everywhere, as before).
 *
 * The same addon holds the fused epilogue's two ops (native/epilogue-op.c: `nativeEpilogue`,
 * `nativeEpilogueGrad` below; layers.ts uses them in a search), which need no particular CPU;
 * PULSE_EPILOGUE=tensorflow turns them off (docs/performance.md, "Seventh round").
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

interface WinogradAddon {
  /** The instruction set the kernels run with, or null when none registered (see `error`). */
  readonly isa: 'avx512' | 'avx2' | null;
  /** Output channels per packed panel (NR): out channels must be a multiple. */
  readonly tileChannels: number;
  /** Floats per vector: in channels must be a multiple. */
  readonly vectorWidth: number;
  /** OpenMP threads a convolution runs on. */
  readonly threads: number;
  readonly error: string | null;
  /** Whether the fused epilogue's ops (native/epilogue-op.c; any x86-64 CPU) registered, else why not. */
  readonly epilogue: boolean;
  readonly epilogueError: string | null;
}

/** Where the addon is built (an ignored folder), relative to the checkout; a plain string (see release-memory-addon.ts). */
export const WINOGRAD_ADDON = 'native/build/winograd.node';

/** Node's executeSingleOutput on the native backend: runs a TensorFlow op by name. */
interface NativeBackend {
  executeSingleOutput(name: string, attrs: unknown[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

/** The addon's TensorFlow ops, and the names of their inputs (one filter, or x and the transformed filter u). */
const OPS: Readonly<Record<string, readonly string[]>> = {
  PulseWinogradFilter: ['filter'],
  PulseWinogradConv: ['x', 'u'],
  PulseWinogradConvInputGradient: ['x', 'u'],
  PulseWinogradUpscaleFilter: ['filter'],
  PulseWinogradUpscaleConv: ['x', 'u'],
  PulseWinogradUpscaleConvInputGradient: ['x', 'u'],
};

/**
 * Registers each op as a tfjs kernel of the native backend, as tfjs-node registers its own, so
 * that they run through the engine: tf.profile and the step profile (src/speed/profile.ts) see
 * them by name, tidy and the tensor counts track their outputs.
 */
function registerKernels(ops: Readonly<Record<string, readonly string[]>>, outputs: Readonly<Record<string, number>> = {}): void {
  for (const [name, inputs] of Object.entries(ops)) {
    if (tf.getKernel(name, 'tensorflow')) continue;
    const count = outputs[name] ?? 1;
    tf.registerKernel({
      kernelName: name,
      backendName: 'tensorflow',
      kernelFunc: ({ inputs: given, backend }) => {
        const native = backend as unknown as NativeBackend;
        const args = inputs.map((i) => given[i] as tf.Tensor);
        return count === 1 ? native.executeSingleOutput(name, [], args) : native.executeMultipleOutputs(name, [], args, count);
      },
    });
  }
}

/** The fused epilogue's ops (native/epilogue-op.c), their inputs and output counts. */
const EPILOGUE_OPS: Readonly<Record<string, readonly string[]>> = {
  PulseEpilogue: ['x', 'bias', 'noise', 'noiseWeight', 'scale1', 'shift'],
  PulseEpilogueGrad: ['dy', 'a', 'stats', 'scale1', 'noiseWeight'],
};
const EPILOGUE_OUTPUTS = { PulseEpilogue: 3, PulseEpilogueGrad: 4 };

let loaded: WinogradAddon | string | undefined;

/** Loads the addon once; the addon, or why it is not used. */
function load(): WinogradAddon | string {
  if (loaded !== undefined) return loaded;
  const path = join(repoRoot(), WINOGRAD_ADDON);
  if (!existsSync(path)) loaded = `${WINOGRAD_ADDON} is not built (npm run build:native builds it; it needs a C compiler with OpenMP)`;
  else {
    try {
      // libgomp reads this once, when the addon loads it: threads that sleep between calls
      // leave the cores to TensorFlow's own pool for the ops in between.
      process.env.OMP_WAIT_POLICY ??= 'passive';
      const addon = createRequire(import.meta.url)(path) as WinogradAddon;
      if (addon.isa) registerKernels(OPS);
      if (addon.epilogue) registerKernels(EPILOGUE_OPS, EPILOGUE_OUTPUTS);
      loaded = addon;
    } catch (err) {
      loaded = `${WINOGRAD_ADDON} did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
  }
  return loaded;
}

/** Whether the Winograd ops run here (native backend, addon built and registered), or why not. */
export function winogradStatus(): { readonly available: true; readonly isa: string } | { readonly available: false; readonly reason: string } {
  // The backend first: in a browser there is no `process` to read.
  if (tf.getBackend() !== 'tensorflow') return { available: false, reason: `the ${tf.getBackend()} backend runs tfjs's own ops only` };
  if (process.env.PULSE_CONV === 'tensorflow') return { available: false, reason: 'PULSE_CONV=tensorflow' };
  const addon = load();
  if (typeof addon === 'string') return { available: false, reason: addon };
  return addon.isa ? { available: true, isa: addon.isa } : { available: false, reason: `${WINOGRAD_ADDON}: ${addon.error}` };
}

/**
 * Whether the fused epilogue's native ops run here (native backend, addon built), or why not.
 * PULSE_EPILOGUE=tensorflow turns them off (tfjs's ops, src/stylegan/layers.ts).
 */
export function nativeEpilogueStatus(): { readonly available: true } | { readonly available: false; readonly reason: string } {
  if (tf.getBackend() !== 'tensorflow') return { available: false, reason: `the ${tf.getBackend()} backend runs tfjs's own ops only` };
  if (process.env.PULSE_EPILOGUE === 'tensorflow') return { available: false, reason: 'PULSE_EPILOGUE=tensorflow' };
  const addon = load();
  if (typeof addon === 'string') return { available: false, reason: addon };
  return addon.epilogue ? { available: true } : { available: false, reason: `${WINOGRAD_ADDON}: ${addon.epilogueError}` };
}

/**
 * The smallest map side at which a search takes the Winograd ops. Winograd reads a larger filter
 * (16/9 of the 3x3 filter; 36/16 of the four 2x2 sub-pixel filters) for fewer multiplies per
 * output, so on the smallest maps, where reading a layer's weights from memory costs more than
 * its multiplies, TensorFlow's direct convolution is faster: at 4 px one solution's 3x3 conv and
 * its gradient took 1.1 ms direct against 2.4 by Winograd. From 8 px up Winograd is as fast for
 * one solution and faster for a batch (at 8 px, four solutions: 6.4 against 11.9 ms for the 3x3,
 * 16.3 against 23.7 for the upscale; inside a 64 px step of four, 30-60 ms less in the
 * convolutions than with the earlier 16 and 32 px thresholds; docs/performance.md "Eighth round").
 */
export const WINOGRAD_MIN_SIDE = 8;
export const WINOGRAD_UPSCALE_MIN_SIDE = 8;

/**
 * Whether a search may run the convolution by `filterShape` [kh, kw, in, out] ('same', stride 1)
 * on maps of `side` pixels, and its input gradient, through the Winograd ops: 3x3, side at
 * least WINOGRAD_MIN_SIDE, both channel counts multiples of the kernels' panel width (32 with
 * AVX-512, 16 with AVX2; the synthesis network's are 16-512).
 */
export function winogradSupports(filterShape: readonly number[], pad: 'same' | 'valid', side: number): boolean {
  if (side < WINOGRAD_MIN_SIDE || !winogradStatus().available) return false;
  const addon = load() as WinogradAddon;
  const [kh, kw, inC, outC] = filterShape;
  return pad === 'same' && kh === 3 && kw === 3 && inC % addon.tileChannels === 0 && outC % addon.tileChannels === 0;
}

function run(name: keyof typeof OPS, inputs: Record<string, tf.Tensor>): tf.Tensor {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, {}) as tf.Tensor;
}

/** What the fused epilogue's forward keeps for its backward. */
export interface NativeEpilogueSaved {
  /** The LeakyReLU output [n, h, w, c]. */
  readonly a: tf.Tensor4D;
  /** [2, n, c]: each map's per-channel mean and 1 / sqrt(variance + 1e-5) of a. */
  readonly stats: tf.Tensor3D;
}

const EMPTY = (): tf.Tensor1D => tf.tensor1d([], 'float32');

/**
 * The epilogue (noise, LeakyReLU(0.2), instance norm, style) in one native op: y, and what the
 * backward reads. `bias` [c] is the preceding convolution's (added first, as a constant), or
 * null; `noise` [n, h, w, 1] with its per-channel strength, or null for none; `scale1` and
 * `shift` [n, 1, 1, c]. The maths: native/epilogue-kernels.c.
 */
export function nativeEpilogue(
  x: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  noise: tf.Tensor4D | null,
  noiseWeight: tf.Tensor1D,
  scale1: tf.Tensor4D,
  shift: tf.Tensor4D,
): { readonly y: tf.Tensor4D } & NativeEpilogueSaved {
  const none = bias && noise ? null : EMPTY();
  const inputs = { x, bias: bias ?? none!, noise: noise ?? none!, noiseWeight, scale1, shift };
  const [y, a, stats] = tf.engine().runKernel('PulseEpilogue', inputs, {}) as tf.Tensor[];
  none?.dispose();
  return { y: y as tf.Tensor4D, a: a as tf.Tensor4D, stats: stats as tf.Tensor3D };
}

/**
 * Its gradients from dy: dz (the pre-activation's: x's, and the noise map's once multiplied by the
 * strength), dScale1 and dShift (scale1's shape), and the noise map's [n, h, w, 1] when
 * `noiseWeight` is given (a searched map), else null.
 */
export function nativeEpilogueGrad(
  dy: tf.Tensor4D,
  saved: NativeEpilogueSaved,
  scale1: tf.Tensor4D,
  noiseWeight: tf.Tensor1D | null,
): { dz: tf.Tensor4D; dScale1: tf.Tensor4D; dShift: tf.Tensor4D; dNoise: tf.Tensor4D | null } {
  const none = noiseWeight ? null : EMPTY();
  const [dz, dScale1, dShift, dNoise] = tf.engine().runKernel(
    'PulseEpilogueGrad',
    { dy, a: saved.a, stats: saved.stats, scale1, noiseWeight: noiseWeight ?? none! },
    {},
  ) as tf.Tensor[];
  none?.dispose();
  if (!noiseWeight) dNoise.dispose();
  return { dz: dz as tf.Tensor4D, dScale1: dScale1 as tf.Tensor4D, dShift: dShift as tf.Tensor4D, dNoise: noiseWeight ? (dNoise as tf.Tensor4D) : null };
}

/** The filter [3, 3, in, out] in the Winograd domain, packed for the kernels (an opaque tensor for winogradConv). */
export function winogradFilter(filter: tf.Tensor4D): tf.Tensor {
  return run('PulseWinogradFilter', { filter });
}

/** The 'same' stride-1 3x3 convolution of x [n, h, w, in] by the filter `u` was made from. */
export function winogradConv(x: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  return run('PulseWinogradConv', { x, u }) as tf.Tensor4D;
}

/** That convolution's gradient with respect to x, from dy [n, h, w, out] and the same `u`. */
export function winogradConvInputGradient(dy: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  return run('PulseWinogradConvInputGradient', { x: dy, u }) as tf.Tensor4D;
}

/**
 * Whether a search may run the 2x upscale convolution from `inChannels` to `outChannels` (four
 * sub-pixel phases of 2x2 filters, frozen-ops.ts) of maps of `side` pixels (the input's), and its
 * input gradient, through the Winograd ops.
 */
export function winogradUpscaleSupports(inChannels: number, outChannels: number, side: number): boolean {
  if (side < WINOGRAD_UPSCALE_MIN_SIDE || !winogradStatus().available) return false;
  const nr = (load() as WinogradAddon).tileChannels;
  return inChannels % nr === 0 && outChannels % nr === 0;
}

/** The four sub-pixel phase filters [2, 2, in, out] (subPixelFilters' order) in the Winograd domain of F(2x2, 2x2). */
export function winogradUpscaleFilter(phases: readonly tf.Tensor4D[]): tf.Tensor {
  const stacked = tf.stack(phases as tf.Tensor4D[]);
  const u = run('PulseWinogradUpscaleFilter', { filter: stacked });
  stacked.dispose();
  return u;
}

/** The 2x upscale convolution x [n, h, w, in] -> [n, 2h, 2w, out] by the phases `u` was made from. */
export function winogradUpscaleConv(x: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  return run('PulseWinogradUpscaleConv', { x, u }) as tf.Tensor4D;
}

/** Its gradient with respect to x, from dy [n, 2h, 2w, out] and the same `u`. */
export function winogradUpscaleConvInputGradient(dy: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  return run('PulseWinogradUpscaleConvInputGradient', { x: dy, u }) as tf.Tensor4D;
}
