/**
 * Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 does not have.
 *
 * Without them tf.grad throws "Kernel ... not registered" on wasm as soon as a convolution
 * weight depends on the variable (StyleGAN's modulated convs), a depthwise convolution
 * (blur, separable downsampling) sits on the gradient path, or a gather is differentiated.
 * Each kernel is built from ops wasm has:
 *
 * - Conv2DBackpropFilter: one matmul per filter tap, dy^T (transposed once) times the
 *   tap's slice of the padded input. (matMul with transposeA is ~17x slower on wasm than
 *   an explicit transpose, so no transposeA anywhere.)
 * - DepthwiseConv2dNativeBackpropFilter: per tap, x-slice * dy summed over batch and space
 *   with a ones-vector matmul (wasm's Sum over leading axes transposes the whole tensor).
 * - DepthwiseConv2dNativeBackpropInput: the transposed convolution as forward depthwise
 *   convolutions of the padded dy with the 180-degree-rotated filter; with strides, one
 *   convolution per stride phase (polyphase), so no work is spent on inserted zeros.
 *   Channel multipliers > 1 are handled by summing the per-(channel, multiplier) results.
 * - UnsortedSegmentSum: scatterND (which adds duplicate indices); out-of-range segment ids
 *   contribute nothing, as in TensorFlow.
 *
 * NHWC only (Conv2DBackpropFilter accepts NCHW by transposing), dilations 1, pads
 * 'same' | 'valid' | number | explicit. Reference: the tests compare each kernel with the
 * `cpu` backend.
 *
 * Memory: a kernel runs its ops inside tf.tidy, so intermediates are freed, and hands its
 * result to the engine as a plain TensorInfo whose data reference it has transferred
 * (backend.incRef, then dispose of the op-level tensor), so tf.memory() is unchanged
 * after a gradient computation apart from its outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
  UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';

const BACKEND = 'wasm';

type Shape4 = [number, number, number, number];
type Tensors = Record<string, tf.Tensor>;

/** A tensor the ops can use for a kernel input; created ones are tracked by the enclosing tidy. */
function asTensor(info: TensorInfo, backend: KernelBackend): tf.Tensor {
  if (info instanceof tf.Tensor && !info.isDisposed) return info;
  // A bare TensorInfo: wrap it, taking a backend reference that the wrapper's disposal returns.
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

/**
 * A kernel function computed with tfjs ops on the active backend. The ops run in a tidy;
 * the result's data is handed to the engine, which wraps the returned TensorInfo in the
 * output tensor: take a backend reference for it, then dispose the op-level tensor so the
 * data is referenced exactly once and numTensors does not grow.
 */
function fromOps(name: string, impl: (inputs: Tensors, attrs: NamedAttrMap) => tf.Tensor): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const be = backend as KernelBackend;
    const result = tf.tidy(name, () => {
      const ts: Tensors = {};
      const info = inputs as NamedTensorInfoMap;
      for (const [key, t] of Object.entries(info)) if (t) ts[key] = asTensor(t, be);
      const out = impl(ts, attrs ?? {});
      // Never hand back (and then dispose) one of the caller's tensors.
      return Object.values(ts).includes(out) ? out.clone() : out;
    });
    be.incRef(result.dataId);
    const out: TensorInfo = { dataId: result.dataId, shape: result.shape.slice(), dtype: result.dtype };
    result.dispose();
    return out;
  };
}

function pair(v: number | [number, number] | undefined, fallback: number): [number, number] {
  if (v == null) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function requireNoDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const [dh, dw] = pair(dilations, 1);
  if (dh !== 1 || dw !== 1) {
    throw new Error(`${kernel} on wasm (pulse kernels): dilations must be 1, got [${dh}, ${dw}]`);
  }
}

function require4D(kernel: string, what: string, t: tf.Tensor): void {
  if (t.rank !== 4) throw new Error(`${kernel} on wasm (pulse kernels): ${what} must be rank 4 (NHWC), got shape [${t.shape}]`);
}

/** Pad (positive amounts) or crop (negative amounts) the H and W axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [b, h, w, c] = y.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    y = tf.slice(y, [0, t0, l0, 0], [b, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]) as tf.Tensor4D;
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * The input zero-padded as the forward convolution pads it, to exactly the rows and
 * columns the filter taps reach, and a function giving the slice [B, outH, outW, C] that
 * filter tap (i, j) multiplies.
 */
function tapSlices(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo) {
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const [b, h, w, c] = x.shape;
  const { top, left } = info.padInfo;
  const needH = (oh - 1) * sh + fh;
  const needW = (ow - 1) * sw + fw;
  const xp = padOrCrop(x, top, needH - top - h, left, needW - left - w);
  return (i: number, j: number): tf.Tensor4D =>
    sh === 1 && sw === 1
      ? tf.slice(xp, [0, i, j, 0], [b, oh, ow, c])
      : (tf.stridedSlice(xp, [0, i, j, 0], [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D);
}

/** dW[i,j,c,o] = sum over batch and output positions of x_pad[.., s*y+i, s*x+j, c] * dy[.., y, x, o]. */
const conv2DBackpropFilter = fromOps('Conv2DBackpropFilter', (inputs, attrs) => {
  const kernel = 'Conv2DBackpropFilter';
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  let x = inputs.x as tf.Tensor4D;
  let dy = inputs.dy as tf.Tensor4D;
  require4D(kernel, 'x', x);
  require4D(kernel, 'dy', dy);
  if (dataFormat === 'NCHW') {
    x = tf.transpose(x, [0, 2, 3, 1]);
    dy = tf.transpose(dy, [0, 2, 3, 1]);
  }
  const [fh, fw, inC, outC] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const [b, oh, ow] = [x.shape[0], info.outHeight, info.outWidth];
  if (x.shape[3] !== inC || dy.shape[0] !== b || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== outC) {
    throw new Error(`${kernel}: x [${x.shape}], dy [${dy.shape}] and filterShape [${filterShape}] do not fit together`);
  }
  const n = b * oh * ow;
  const dyT = tf.transpose(tf.reshape(dy, [n, outC])); // [outC, n]: one explicit transpose for all taps
  const slices = tapSlices(x, info);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      // A tidy per tap frees its input slice before the next one is cut.
      taps.push(tf.tidy(() => tf.matMul(dyT, tf.reshape(slices(i, j), [n, inC])))); // [outC, inC]
    }
  }
  return tf.reshape(tf.transpose(tf.stack(taps), [0, 2, 1]), [fh, fw, inC, outC]);
});

/** dW[i,j,c,m] = sum over batch and output positions of x_pad[.., s*y+i, s*x+j, c] * dy[.., y, x, c*M+m]. */
const depthwiseBackpropFilter = fromOps('DepthwiseConv2dNativeBackpropFilter', (inputs, attrs) => {
  const kernel = 'DepthwiseConv2dNativeBackpropFilter';
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const x = inputs.x as tf.Tensor4D;
  const dy = inputs.dy as tf.Tensor4D;
  require4D(kernel, 'x', x);
  require4D(kernel, 'dy', dy);
  requireNoDilation(kernel, dilations);
  const [fh, fw, c, m] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
  const [b, oh, ow] = [x.shape[0], info.outHeight, info.outWidth];
  if (x.shape[3] !== c || dy.shape[0] !== b || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c * m) {
    throw new Error(`${kernel}: x [${x.shape}], dy [${dy.shape}] and filterShape [${filterShape}] do not fit together`);
  }
  const n = b * oh * ow;
  const dy3 = tf.reshape(dy, [n, c, m]);
  const ones = tf.ones([1, n]);
  const slices = tapSlices(x, info);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      taps.push(
        tf.tidy(() => {
          const prod = tf.mul(tf.reshape(slices(i, j), [n, c, 1]), dy3); // [n, c, m]
          return tf.matMul(ones, tf.reshape(prod, [n, c * m])); // [1, c*m]: sum over n
        }),
      );
    }
  }
  return tf.reshape(tf.concat(taps, 0), [fh, fw, c, m]);
});

/**
 * dx of a depthwise convolution: for output rows p = q*s + r of the padded input, only the
 * filter taps r, r+s, r+2s, ... contribute, each from dy row q - t. So each stride phase
 * (r_h, r_w) is a stride-1 'valid' depthwise convolution of dy (padded by taps-1 in front)
 * with that phase's sub-filter rotated by 180 degrees; the phases are interleaved and the
 * forward padding is cut away.
 */
const depthwiseBackpropInput = fromOps('DepthwiseConv2dNativeBackpropInput', (inputs, attrs) => {
  const kernel = 'DepthwiseConv2dNativeBackpropInput';
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const dy = inputs.dy as tf.Tensor4D;
  const filter = inputs.filter as tf.Tensor4D;
  require4D(kernel, 'dy', dy);
  require4D(kernel, 'filter', filter);
  requireNoDilation(kernel, dilations);
  const [b, h, w, c] = inputShape;
  const [fh, fw, fc, m] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (fc !== c || dy.shape[0] !== b || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c * m) {
    throw new Error(`${kernel}: dy [${dy.shape}], filter [${filter.shape}] and inputShape [${inputShape}] do not fit together`);
  }
  const cm = c * m;
  // One depthwise "channel" per (input channel, multiplier) pair; summed over m at the end.
  const wf = tf.reshape(filter, [fh, fw, cm, 1]);
  let dx: tf.Tensor4D;
  if (sh === 1 && sw === 1) {
    // Fold the forward padding into the padding of dy: output row h reads dy rows h+top-fh+1 ...
    const dyp = padOrCrop(dy, fh - 1 - top, h + top - oh, fw - 1 - left, w + left - ow);
    dx = tf.depthwiseConv2d(dyp, tf.reverse(wf, [0, 1]) as tf.Tensor4D, 1, 'valid');
  } else {
    const qh = Math.ceil((h + top) / sh);
    const qw = Math.ceil((w + left) / sw);
    const rows: tf.Tensor[] = [];
    for (let rh = 0; rh < sh; rh++) {
      const cols: tf.Tensor[] = [];
      for (let rw = 0; rw < sw; rw++) {
        const th = rh < fh ? Math.ceil((fh - rh) / sh) : 0;
        const tw = rw < fw ? Math.ceil((fw - rw) / sw) : 0;
        cols.push(
          tf.tidy(() => {
            if (th === 0 || tw === 0) return tf.zeros([b, qh, qw, cm], dy.dtype);
            const sub = tf.stridedSlice(wf, [rh, rw, 0, 0], [fh, fw, cm, 1], [sh, sw, 1, 1]) as tf.Tensor4D; // [th, tw, cm, 1]
            const dyp = padOrCrop(dy, th - 1, qh - oh, tw - 1, qw - ow);
            return tf.depthwiseConv2d(dyp, tf.reverse(sub, [0, 1]) as tf.Tensor4D, 1, 'valid'); // [b, qh, qw, cm]
          }),
        );
      }
      rows.push(tf.stack(cols, 3)); // [b, qh, qw, sw, cm]
    }
    const interleaved = tf.reshape(tf.stack(rows, 2), [b, qh * sh, qw * sw, cm]);
    dx = tf.slice(interleaved, [0, top, left, 0], [b, h, w, cm]) as tf.Tensor4D;
  }
  return m === 1 ? dx : tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4);
});

/** out[k, ...] = sum of x[i, ...] over the i with segmentIds[i] == k (ids outside [0, numSegments) are dropped). */
const unsortedSegmentSum = fromOps('UnsortedSegmentSum', (inputs, attrs) => {
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const x = inputs.x;
  const ids = inputs.segmentIds;
  const lead = ids.shape;
  if (x.shape.slice(0, lead.length).some((d, i) => d !== lead[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${lead}] must be a prefix of x shape [${x.shape}]`);
  }
  const rest = x.shape.slice(lead.length);
  const k = ids.size;
  if (k === 0) return tf.zeros([numSegments, ...rest], x.dtype);
  const flatIds = tf.reshape(tf.cast(ids, 'int32'), [k]);
  const valid = tf.logicalAnd(tf.greaterEqual(flatIds, 0), tf.less(flatIds, numSegments));
  const safeIds = tf.where(valid, flatIds, tf.zerosLike(flatIds));
  const mask = tf.reshape(tf.cast(valid, x.dtype), [k, ...rest.map(() => 1)]);
  const updates = tf.mul(tf.reshape(x, [k, ...rest]), mask);
  return tf.scatterND(tf.reshape(safeIds, [k, 1]), updates, [numSegments, ...rest]);
});

export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: BACKEND, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: BACKEND, kernelFunc: depthwiseBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: BACKEND, kernelFunc: depthwiseBackpropInput },
  { kernelName: tf.UnsortedSegmentSum, backendName: BACKEND, kernelFunc: unsortedSegmentSum },
];

/**
 * Register the kernels above for the 'wasm' backend. Idempotent; a kernel wasm already
 * has (its own, or ours from an earlier call) is left as it is. Returns the names registered now.
 */
export function registerWasmGradientKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(config.kernelName, BACKEND) != null) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
