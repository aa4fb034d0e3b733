/**
 * Gradient kernels for the wasm backend (@tensorflow/tfjs-backend-wasm 4.22).
 *
 * wasm lacks four kernels, so tf.grad throws "Kernel ... not registered" as soon as a conv
 * weight depends on the variable (StyleGAN's modulated convs), a depthwise convolution (blur,
 * separable downsampling) sits on the gradient path, or a gather is differentiated. And its
 * Conv2DBackpropInput (every conv's input gradient, and conv2dTranspose's forward pass) is a
 * direct loop at ~2 GFLOP/s, against ~24 GFLOP/s for its Conv2D. Each kernel here is built
 * from ops wasm runs well:
 *
 * - Conv2DBackpropFilter: per filter tap, dy^T (transposed once; matMul's transposeA is
 *   ~17x slower on wasm) times the input window the tap multiplies.
 * - DepthwiseConv2dNativeBackpropFilter: per tap, window * dy summed over batch and space
 *   with a ones-vector matmul (wasm's Sum over a leading axis transposes the whole tensor).
 * - DepthwiseConv2dNativeBackpropInput and Conv2DBackpropInput: the transposed convolution as
 *   stride-1 forward convolutions of the padded dy with the 180-degree-rotated filter, one
 *   per stride phase, so no work is spent on inserted zeros. Depthwise channel multipliers
 *   > 1 are summed at the end.
 * - UnsortedSegmentSum: scatterND (which adds duplicate indices); ids outside
 *   [0, numSegments) contribute nothing, as in TensorFlow.
 *
 * NHWC (the regular-conv kernels also accept NCHW by transposing), dilations 1, pads
 * 'same' | 'valid' | number | explicit. test/wasm-kernels.test.ts compares each kernel with
 * the `cpu` backend.
 *
 * Memory: a kernel runs its ops inside tf.tidy, so intermediates are freed, and hands its
 * result to the engine as a plain TensorInfo whose data reference it has transferred
 * (backend.incRef, then dispose of the op-level tensor): the engine's output tensor is the
 * only owner, and tf.memory() is unchanged after a gradient computation apart from its outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
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
 * The input zero-padded as the forward convolution pads it, cut or padded to exactly the
 * rows and columns the filter taps reach: [B, (oh-1)*sh + fh, (ow-1)*sw + fw, C].
 */
function padForTaps(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const [, h, w] = x.shape;
  const { top, left } = info.padInfo;
  return padOrCrop(x, top, (oh - 1) * sh + fh - top - h, left, (ow - 1) * sw + fw - left - w);
}

/** Rows n of the flattened [n, C] windows filterTaps hands out (stride 1 uses all padded rows). */
function tapRows(info: tf.backend_util.Conv2DInfo, batch: number): number {
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh } = info;
  return batch * ow * (sh === 1 && sw === 1 ? oh + fh - 1 : oh);
}

/**
 * Walk the filter taps (i, j) of a filter gradient, each with the input window it multiplies,
 * xp[b, y*sh + i, x*sw + j, c] over all output positions (y, x), flattened to [n, C], and a
 * matching view of dy.
 *
 * With stride 1 the input is cut once per filter column j (columns j..j+ow-1, all Hp rows),
 * and the row offset i moves to dy instead: dy padded with i zero rows above and fh-1-i
 * below lines up with that window (slices are slow on wasm, pads are not). With strides,
 * each tap's window is a strided slice and dy is used as it is.
 *
 * `dyFor(rows)` returns the caller's flattened dy, padded by `rows` = [above, below] along
 * its output-row axis when given. `tap(xs, dys)` returns the tap's gradient. Intermediates
 * are freed as the walk goes; the taps come back in (i, j) row-major order.
 */
function filterTaps(
  x: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  dyFor: (rows?: [number, number]) => tf.Tensor,
  tap: (xs: tf.Tensor2D, dys: tf.Tensor) => tf.Tensor,
): tf.Tensor[] {
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const [b, , , c] = x.shape;
  const xp = padForTaps(x, info);
  const taps: tf.Tensor[] = new Array(fh * fw);
  if (sh === 1 && sw === 1) {
    const hp = xp.shape[1];
    const dyRows = Array.from({ length: fh }, (_, i) => dyFor([i, fh - 1 - i]));
    for (let j = 0; j < fw; j++) {
      const xs = tf.reshape(tf.slice(xp, [0, 0, j, 0], [b, hp, ow, c]), [tapRows(info, b), c]) as tf.Tensor2D;
      for (let i = 0; i < fh; i++) taps[i * fw + j] = tf.tidy(() => tap(xs, dyRows[i]));
      xs.dispose();
    }
    tf.dispose(dyRows);
  } else {
    const dys = dyFor();
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        taps[i * fw + j] = tf.tidy(() => {
          const xs = tf.stridedSlice(xp, [0, i, j, 0], [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]);
          return tap(tf.reshape(xs, [tapRows(info, b), c]) as tf.Tensor2D, dys);
        });
      }
    }
    dys.dispose();
  }
  xp.dispose();
  return taps;
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
  // Each tap is dy^T . window: [outC, n] x [n, inC]. dy is transposed once to [outC, b, oh, ow]
  // (an explicit transpose: matMul's transposeA is ~17x slower on wasm).
  const dyT = tf.transpose(dy, [3, 0, 1, 2]);
  const taps = filterTaps(
    x,
    info,
    (rows) => tf.reshape(rows ? tf.pad(dyT, [[0, 0], [0, 0], rows, [0, 0]]) : dyT, [outC, -1]),
    (xs, dys) => tf.matMul(dys, xs), // [outC, inC]
  );
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
  // Per tap: window (x) dy elementwise, summed over the n rows with a ones-vector matmul
  // (wasm's Sum over a leading axis transposes the whole tensor first).
  const n = tapRows(info, b);
  const ones = tf.ones([1, n]);
  const taps = filterTaps(
    x,
    info,
    (rows) => tf.reshape(rows ? tf.pad(dy, [[0, 0], rows, [0, 0], [0, 0]]) : dy, [n, c, m]),
    (xs, dys) => {
      const prod = tf.mul(tf.reshape(xs, [n, c, 1]), dys); // [n, c, m]
      return tf.matMul(ones, tf.reshape(prod, [n, c * m])); // [1, c*m]
    },
  );
  return tf.reshape(tf.concat(taps, 0), [fh, fw, c, m]);
});

/**
 * The input gradient of a convolution (regular or depthwise) as stride-1 'valid' forward
 * convolutions, which wasm runs fast (XNNPACK).
 *
 * In padded-input coordinates, row p = q*s + r receives dy row q - t through filter row
 * r + t*s only. So each stride phase (r_h, r_w) is a stride-1 'valid' convolution of dy,
 * padded with taps-1 rows/columns in front, with that phase's sub-filter rotated by 180
 * degrees; the phases are interleaved and the forward padding is cut away. With stride 1
 * there is one phase and the forward padding is folded into dy's padding.
 *
 * `phaseFilter(rh, rw)` returns the rotated sub-filter, ready for `convolve(dyp, filter)`.
 */
function backpropInputByPhases(
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  channels: number,
  phaseFilter: (rh: number, rw: number) => tf.Tensor4D,
  convolve: (dyp: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  const { batchSize: b, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  if (sh === 1 && sw === 1) {
    // Output row y reads dy rows y + top - fh + 1 ... y + top.
    return convolve(padOrCrop(dy, fh - 1 - top, h + top - oh, fw - 1 - left, w + left - ow), phaseFilter(0, 0));
  }
  const qh = Math.ceil((h + top) / sh);
  const qw = Math.ceil((w + left) / sw);
  const rows: tf.Tensor[] = [];
  for (let rh = 0; rh < sh; rh++) {
    const cols: tf.Tensor[] = [];
    for (let rw = 0; rw < sw; rw++) {
      const th = rh < fh ? Math.ceil((fh - rh) / sh) : 0;
      const tw = rw < fw ? Math.ceil((fw - rw) / sw) : 0;
      cols.push(
        tf.tidy(() =>
          th === 0 || tw === 0
            ? tf.zeros([b, qh, qw, channels], dy.dtype)
            : convolve(padOrCrop(dy, th - 1, qh - oh, tw - 1, qw - ow), phaseFilter(rh, rw)), // [b, qh, qw, channels]
        ),
      );
    }
    rows.push(tf.stack(cols, 3)); // [b, qh, qw, sw, channels]
  }
  const interleaved = tf.reshape(tf.stack(rows, 2), [b, qh * sh, qw * sw, channels]);
  return tf.slice(interleaved, [0, top, left, 0], [b, h, w, channels]) as tf.Tensor4D;
}

/** Taps r, r+s, r+2s, ... of a [fh, fw, ...] filter in both spatial axes, rotated by 180 degrees. */
function rotatedPhase(filter: tf.Tensor4D, rh: number, rw: number, sh: number, sw: number): tf.Tensor4D {
  const [fh, fw, c, m] = filter.shape;
  const sub = sh === 1 && sw === 1 ? filter : tf.stridedSlice(filter, [rh, rw, 0, 0], [fh, fw, c, m], [sh, sw, 1, 1]);
  return tf.reverse(sub, [0, 1]) as tf.Tensor4D;
}

/** dx of a depthwise convolution; channel multipliers are summed at the end. */
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
  if (fc !== c || dy.shape[0] !== b || dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== c * m) {
    throw new Error(`${kernel}: dy [${dy.shape}], filter [${filter.shape}] and inputShape [${inputShape}] do not fit together`);
  }
  // One depthwise "channel" per (input channel, multiplier) pair.
  const wf = tf.reshape(filter, [fh, fw, c * m, 1]) as tf.Tensor4D;
  const dx = backpropInputByPhases(
    dy,
    info,
    c * m,
    (rh, rw) => rotatedPhase(wf, rh, rw, info.strideHeight, info.strideWidth),
    (dyp, f) => tf.depthwiseConv2d(dyp, f, 1, 'valid'),
  );
  return m === 1 ? dx : tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4);
});

/**
 * dx of a regular convolution (what conv2dTranspose runs forward). wasm has this kernel, but
 * a direct loop at ~2 GFLOP/s, against ~24 GFLOP/s for its Conv2D: this one is built from
 * Conv2D with the rotated filter, its in/out channels swapped.
 */
const conv2DBackpropInput = fromOps('Conv2DBackpropInput', (inputs, attrs) => {
  const kernel = 'Conv2DBackpropInput';
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  let dy = inputs.dy as tf.Tensor4D;
  const filter = inputs.filter as tf.Tensor4D;
  require4D(kernel, 'dy', dy);
  require4D(kernel, 'filter', filter);
  const nchw = dataFormat === 'NCHW';
  const xShape: Shape4 = nchw ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : inputShape;
  if (nchw) dy = tf.transpose(dy, [0, 2, 3, 1]);
  const [, , inC, outC] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  if (xShape[3] !== inC || dy.shape[0] !== xShape[0] || dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== outC) {
    throw new Error(`${kernel}: dy [${dy.shape}], filter [${filter.shape}] and inputShape [${inputShape}] do not fit together`);
  }
  const dx = backpropInputByPhases(
    dy,
    info,
    inC,
    (rh, rw) => tf.transpose(rotatedPhase(filter, rh, rw, info.strideHeight, info.strideWidth), [0, 1, 3, 2]),
    (dyp, f) => tf.conv2d(dyp, f, 1, 'valid'),
  );
  return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
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
 * Replacements for kernels wasm has but runs slowly (see conv2DBackpropInput); registered
 * over the built-in ones unless asked not to.
 */
export const WASM_FAST_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropInput, backendName: BACKEND, kernelFunc: conv2DBackpropInput },
];

export interface WasmKernelOptions {
  /** Replace wasm's built-in Conv2DBackpropInput (~2 GFLOP/s) with one built on its Conv2D. Default true. */
  readonly replaceSlowKernels?: boolean;
}

/** The built-in kernels WASM_FAST_KERNELS displaced, to put back on request. */
const displaced = new Map<string, KernelConfig>();

function setKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, BACKEND) != null) tf.unregisterKernel(config.kernelName, BACKEND);
  tf.registerKernel(config);
}

/**
 * Register the missing gradient kernels for the 'wasm' backend (a kernel wasm already has
 * is left alone) and, by default, the faster Conv2DBackpropInput. Idempotent. Returns the
 * names of the kernels it changed.
 */
export function registerWasmGradientKernels(options: WasmKernelOptions = {}): string[] {
  const changed: string[] = [];
  for (const config of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(config.kernelName, BACKEND) != null) continue;
    tf.registerKernel(config);
    changed.push(config.kernelName);
  }
  const replace = options.replaceSlowKernels ?? true;
  for (const config of WASM_FAST_KERNELS) {
    const current = tf.getKernel(config.kernelName, BACKEND);
    const ours = current?.kernelFunc === config.kernelFunc;
    if (replace && !ours) {
      if (current) displaced.set(config.kernelName, current);
      setKernel(config);
      changed.push(config.kernelName);
    } else if (!replace && ours) {
      const builtin = displaced.get(config.kernelName);
      if (builtin) setKernel(builtin);
      else tf.unregisterKernel(config.kernelName, BACKEND);
      changed.push(config.kernelName);
    }
  }
  return changed;
}
