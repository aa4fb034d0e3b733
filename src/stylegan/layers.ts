/**
 * The layers of StyleGAN v1's synthesis network as small functions over NHWC tensors.
 * Weights arrive already scaled (equalised learning rate is applied once, at load).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeEpilogue, nativeEpilogueGrad, nativeEpilogueStatus } from '../backend/winograd-addon.js';

/**
 * InstanceNorm2d without affine parameters (PyTorch default eps 1e-5, biased variance).
 * Differentiated through the moments: the closed-form backward was tried and tracks the
 * recorded official runs less closely (the search is sensitive to rounding order).
 */
export function instanceNorm(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor4D;
  });
}

/** PixelNorm over the feature axis: x / sqrt(mean(x^2) + eps). */
export function pixelNorm(x: tf.Tensor2D, eps = 1e-8): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), eps))) as tf.Tensor2D);
}

/**
 * Nearest-neighbour 2x upscale, written with reshape/tile (rank <= 4, whose gradient
 * tfjs implements on every backend).
 */
export function upscale2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const cols = tf.tile(tf.reshape(x, [b * h, w, 1, c]), [1, 1, 2, 1]); // [bh, w, 2, c]
    const rows = tf.tile(tf.reshape(cols, [b * h, 1, 2 * w, c]), [1, 2, 1, 1]); // [bh, 2, 2w, c]
    return tf.reshape(rows, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

export interface EpilogueWeights {
  /** Per-channel noise strength, shape [C]. */
  readonly noiseWeight: tf.Tensor1D;
  /** Style affine, pre-transposed and scaled: [dlatent, 2C]. */
  readonly styleWeight: tf.Tensor2D;
  /** Style bias [2C]. */
  readonly styleBias: tf.Tensor1D;
}

/**
 * Sees the input of each LeakyReLU (layer index, NHWC), e.g. to find values on the kink.
 * Called inside a tidy: copy what you keep.
 */
export type PreActivationProbe = (layer: number, preActivation: tf.Tensor4D) => void;

/** The style affine A(w) as the per-channel factor (1 + scale) and shift, each [B, 1, 1, C]. */
function styleOf(dlatent: tf.Tensor2D, weights: EpilogueWeights, channels: number): { scale1: tf.Tensor4D; shift: tf.Tensor4D } {
  const style = tf.add(tf.matMul(dlatent, weights.styleWeight), weights.styleBias);
  const batch = dlatent.shape[0];
  const scale = tf.reshape(tf.slice(style, [0, 0], [batch, channels]), [batch, 1, 1, channels]);
  const shift = tf.reshape(tf.slice(style, [0, channels], [batch, channels]), [batch, 1, 1, channels]) as tf.Tensor4D;
  return { scale1: tf.add(scale, 1) as tf.Tensor4D, shift };
}

/**
 * LayerEpilogue: add per-pixel noise, LeakyReLU(0.2), instance norm, then the style
 * modulation x * (1 + scale) + shift with (scale, shift) = A(w).
 *
 * One op with a hand-written gradient: the forward runs exactly the ops of
 * `epilogueReference` (same values, bit for bit) but keeps only the LeakyReLU output and the
 * per-channel statistics for the backward pass, where autodiff keeps five full-size tensors and
 * walks a dozen small ops (time and memory: docs/performance.md). The backward is instance
 * norm's closed form, dA = r (dXn - mean(dXn) - Xn mean(dXn Xn)), and agrees with autodiff to
 * float rounding (test/epilogue.test.ts).
 */
export function epilogue(
  x: tf.Tensor4D,
  dlatent: tf.Tensor2D,
  noise: tf.Tensor4D | null,
  weights: EpilogueWeights,
  probe?: { readonly layer: number; readonly see: PreActivationProbe },
  constants: EpilogueConstants = {},
  inputBias?: tf.Tensor1D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const { scale1, shift } = styleOf(dlatent, weights, x.shape[3]);
    // A search (the noise strength frozen) on the native backend takes the native op, unless a
    // probe wants the pre-activation, which that op never makes.
    if (constants.noiseWeight && !probe && nativeEpilogueStatus().available) {
      return nativeFusedEpilogue(x, inputBias ?? null, noise, weights.noiseWeight, scale1, shift, constants.noise ?? false);
    }
    const biased = inputBias ? (tf.add(x, inputBias) as tf.Tensor4D) : x;
    if (noise) return fusedEpilogueWithNoise(biased, noise, weights.noiseWeight, scale1, shift, probe, constants);
    return fusedEpilogue(biased, scale1, shift, probe);
  });
}

/**
 * Whether a synthesis conv leaves its (constant) bias to the epilogue after it, which adds it in
 * the native op's first pass instead of a pass of its own: in a search (frozen weights) where
 * that op runs. The conv (EqualizedConv2d, UpscaleConv) and the epilogue (StyledEpilogue) both
 * ask this, so the bias is added exactly once; `epilogue` adds an `inputBias` on every path.
 */
export function epilogueTakesConvBias(trainable: boolean): boolean {
  return !trainable && nativeEpilogueStatus().available;
}

/**
 * The epilogue of a search as the native ops (backend/winograd-addon.ts, native/epilogue-kernels.c):
 * two passes over the maps forward and two backward where the tfjs ops below take about a dozen
 * kernels each way. The noise strength and the conv bias are constants; the noise map is one unless it is searched
 * (`noiseConstant` false), and then its gradient comes from the same backward pass. The moments
 * are summed in double (tfjs: float), so values differ from `epilogueReference` by float
 * rounding (test/epilogue.test.ts bounds it; the parity cases judge it).
 */
function nativeFusedEpilogue(
  x: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  noise: tf.Tensor4D | null,
  noiseWeight: tf.Tensor1D,
  scale1: tf.Tensor4D,
  shift: tf.Tensor4D,
  noiseConstant: boolean,
): tf.Tensor4D {
  const searchedNoise = noise !== null && !noiseConstant;
  const inputs: tf.Tensor[] = searchedNoise ? [x, noise, scale1, shift] : [x, scale1, shift];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const given = args.slice(0, inputs.length) as tf.Tensor4D[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const [s1, sh] = given.slice(-2);
    const { y, a, stats } = nativeEpilogue(given[0], bias, searchedNoise ? given[1] : noise, noiseWeight, s1, sh);
    save([a, stats, s1]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sstats, ss] = saved as [tf.Tensor4D, tf.Tensor3D, tf.Tensor4D];
        const g = nativeEpilogueGrad(dy as tf.Tensor4D, { a: sa, stats: sstats }, ss, searchedNoise ? noiseWeight : null);
        return searchedNoise ? [g.dz, g.dNoise!, g.dScale1, g.dShift] : [g.dz, g.dScale1, g.dShift];
      },
    };
  });
  return op(...inputs) as tf.Tensor4D;
}

/**
 * Inputs of the epilogue that the caller never differentiates: they enter the fused op as
 * constants, so its backward computes no gradient for them (a customGrad computes every input's
 * gradient whether or not anything reads it). In a PULSE search the noise strength is a frozen
 * weight and the noise maps past the first few are fixed; each such gradient is a full-size
 * product and a reduction per layer. Mark only what is truly constant: a marked input that does
 * lie on the differentiated path gets no gradient through this layer.
 */
export interface EpilogueConstants {
  readonly noiseWeight?: boolean;
  readonly noise?: boolean;
}

const SLOPE = 0.2;
const INSTANCE_NORM_EPS = 1e-5;

/**
 * Forward of the fused epilogue from the pre-activation z: the reference's values bit for bit.
 * The moments are written out because tf.moments adds a full-size cast; squaredDifference
 * rounds exactly as square(sub) does (one product of the same difference).
 */
function normaliseAndStyle(z: tf.Tensor4D, scale1: tf.Tensor4D, shift: tf.Tensor4D) {
  const a = tf.leakyRelu(z, SLOPE);
  const mean = tf.mean(a, [1, 2], true);
  const variance = then(tf.squaredDifference(a, mean), (d) => tf.mean(d, [1, 2], true));
  const r = then(tf.add(variance, INSTANCE_NORM_EPS), (v) => tf.rsqrt(v));
  const y = then(
    then(
      then(tf.sub(a, mean), (c) => tf.mul(c, r)),
      (n) => tf.mul(n, scale1),
    ),
    (t) => tf.add(t, shift),
  ) as tf.Tensor4D;
  return { a, mean, r, y };
}

/**
 * f(t), freeing t at once: a layer's intermediates are full-size, and inside one op they would
 * otherwise all live until its scope ends (at 1024 px, 64 MB each).
 */
function then(t: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const out = f(t);
  if (out !== t) t.dispose();
  return out;
}

/**
 * Backward of normaliseAndStyle from the saved LeakyReLU output a and statistics: the
 * gradients of z, of (1 + scale) and of shift. With n = H W, dXn = dY (1 + scale), so
 * mean(dXn) = (1 + scale) dShift / n and mean(dXn Xn) = (1 + scale) dScale / n: two reductions
 * serve all four.
 */
function normaliseAndStyleGrad(dy: tf.Tensor4D, a: tf.Tensor4D, mean: tf.Tensor, r: tf.Tensor, scale1: tf.Tensor4D) {
  const n = a.shape[1] * a.shape[2];
  const xn = then(tf.sub(a, mean), (c) => tf.mul(c, r));
  const dScale1 = then(tf.mul(dy, xn), (p) => tf.sum(p, [1, 2], true));
  const dShift = tf.sum(dy, [1, 2], true);
  const centred = tf.sub(dy, tf.div(dShift, n));
  const along = then(xn, (t) => tf.mul(t, tf.div(dScale1, n)));
  const da = then(then(centred, (c) => tf.sub(c, along)), (t) => tf.mul(t, tf.mul(scale1, r)));
  along.dispose();
  // LeakyReLU has a positive slope on both sides, so z > 0 exactly where a > 0.
  const positive = tf.greater(a, 0);
  const dz = then(tf.mul(da, SLOPE), (scaled) => tf.where(positive, da, scaled)) as tf.Tensor4D;
  tf.dispose([positive, da]);
  return { dz, dScale1, dShift };
}

function fusedEpilogue(x: tf.Tensor4D, scale1: tf.Tensor4D, shift: tf.Tensor4D, probe?: { readonly layer: number; readonly see: PreActivationProbe }): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, s1, sh] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    probe?.see(probe.layer, z as tf.Tensor4D);
    const { a, mean, r, y } = normaliseAndStyle(z as tf.Tensor4D, s1 as tf.Tensor4D, sh as tf.Tensor4D);
    save([a, mean, r, s1]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sm, sr, ss] = saved;
        const g = normaliseAndStyleGrad(dy as tf.Tensor4D, sa as tf.Tensor4D, sm, sr, ss as tf.Tensor4D);
        return [g.dz, g.dScale1, g.dShift];
      },
    };
  });
  return op(x, scale1, shift) as tf.Tensor4D;
}

function fusedEpilogueWithNoise(
  x: tf.Tensor4D,
  noise: tf.Tensor4D,
  noiseWeight: tf.Tensor1D,
  scale1: tf.Tensor4D,
  shift: tf.Tensor4D,
  probe: { readonly layer: number; readonly see: PreActivationProbe } | undefined,
  constants: EpilogueConstants,
): tf.Tensor4D {
  // The op's inputs: x, then the noise map and strength unless constant, then the style.
  const inputs: tf.Tensor[] = [x];
  if (!constants.noise) inputs.push(noise);
  if (!constants.noiseWeight) inputs.push(noiseWeight);
  inputs.push(scale1, shift);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const given = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    let k = 1;
    const n = constants.noise ? noise : given[k++];
    const nw = constants.noiseWeight ? noiseWeight : given[k++];
    const [s1, sh] = [given[k], given[k + 1]];
    const z = then(tf.mul(n, nw), (m) => tf.add(given[0], m)) as tf.Tensor4D;
    probe?.see(probe.layer, z);
    const { a, mean, r, y } = normaliseAndStyle(z, s1 as tf.Tensor4D, sh as tf.Tensor4D);
    z.dispose();
    // The constants are the caller's and outlive the backward pass: only inputs are saved.
    save([a, mean, r, s1, ...(constants.noise ? [] : [n]), ...(constants.noiseWeight ? [] : [nw])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sm, sr, ss, ...rest] = saved;
        const sn = constants.noise ? noise : rest.shift()!;
        const snw = constants.noiseWeight ? noiseWeight : rest.shift()!;
        const g = normaliseAndStyleGrad(dy as tf.Tensor4D, sa as tf.Tensor4D, sm, sr, ss as tf.Tensor4D);
        const grads: tf.Tensor[] = [g.dz];
        if (!constants.noise) grads.push(then(tf.mul(g.dz, snw), (t) => tf.sum(t, 3, true)));
        if (!constants.noiseWeight) grads.push(then(tf.mul(g.dz, sn), (t) => tf.sum(t, [0, 1, 2])));
        grads.push(g.dScale1, g.dShift);
        return grads;
      },
    };
  });
  return op(...inputs) as tf.Tensor4D;
}

/**
 * The epilogue as plain tfjs ops, differentiated by autodiff: the reference the fused op is
 * tested against.
 */
export function epilogueReference(
  x: tf.Tensor4D,
  dlatent: tf.Tensor2D,
  noise: tf.Tensor4D | null,
  weights: EpilogueWeights,
  probe?: { readonly layer: number; readonly see: PreActivationProbe },
): tf.Tensor4D {
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (noise) y = tf.add(y, tf.mul(noise, weights.noiseWeight));
    probe?.see(probe.layer, y);
    y = tf.leakyRelu(y, SLOPE);
    y = instanceNorm(y);
    const { scale1, shift } = styleOf(dlatent, weights, x.shape[3]);
    return tf.add(tf.mul(y, scale1), shift) as tf.Tensor4D;
  });
}
