/**
 * The gradient kernels registered for wasm (src/backend/wasm-kernels.ts) against the
 * reference kernels of the pure-JS `cpu` backend, on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradient functions; the union package does.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmGradientKernels, WASM_FAST_KERNELS, WASM_GRADIENT_KERNELS } from '../src/backend/wasm-kernels.js';

const RTOL = 1e-4;
type Shape = number[];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic values in [-1, 1) (mulberry32), the same on every backend. */
function randomValues(shape: Shape, seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Run fn on a backend and return its outputs as plain arrays (no tensors left behind). */
async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor | tf.Tensor[]): Promise<{ shape: Shape; values: Float32Array }[]> {
  await tf.setBackend(backend);
  const out = fn();
  const list = Array.isArray(out) ? out : [out];
  const result = list.map((t) => ({ shape: t.shape.slice(), values: Float32Array.from(t.dataSync()) }));
  tf.dispose(list);
  return result;
}

/** max |a - b| <= RTOL * max |b| (b is the cpu reference). */
function expectClose(actual: { shape: Shape; values: Float32Array }[], expected: { shape: Shape; values: Float32Array }[], what: string) {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, k) => {
    const e = expected[k];
    expect(a.shape, `${what} [${k}] shape`).toEqual(e.shape);
    let maxErr = 0;
    let scale = 0;
    for (let i = 0; i < e.values.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(a.values[i] - e.values[i]));
      scale = Math.max(scale, Math.abs(e.values[i]));
    }
    expect(Number.isFinite(maxErr), `${what} [${k}] finite`).toBe(true);
    expect(maxErr, `${what} [${k}]: max error ${maxErr} vs max |ref| ${scale}`).toBeLessThanOrEqual(RTOL * Math.max(scale, 1e-30));
  });
}

/** Run a kernel by name on both backends with the same inputs; compare. */
async function compareKernel(kernel: string, inputs: Record<string, { shape: Shape; seed: number; dtype?: 'float32' | 'int32'; values?: number[] }>, attrs: object) {
  const run = () => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) {
      ts[k] = v.values ? tf.tensor(v.values, v.shape, v.dtype ?? 'float32') : tf.tensor(randomValues(v.shape, v.seed), v.shape, v.dtype ?? 'float32');
    }
    const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    tf.dispose(Object.values(ts));
    return out;
  };
  expectClose(await on('wasm', run), await on('cpu', run), kernel);
}

function convOut(xShape: Shape, filterShape: Shape, strides: number | [number, number], pad: Pad, depthwise: boolean): Shape {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    undefined,
    depthwise,
  );
  return info.outShape;
}

interface ConvCase {
  name: string;
  x: Shape;
  filter: Shape;
  strides: number | [number, number];
  pad: Pad;
}

const depthwiseCases: ConvCase[] = [
  { name: '3x3 blur, stride 1, same, 64 channels', x: [1, 32, 32, 64], filter: [3, 3, 64, 1], strides: 1, pad: 'same' },
  { name: 'separable bicubic (4k x 1, stride (k,1), valid), k=4', x: [1, 64, 20, 3], filter: [16, 1, 3, 1], strides: [4, 1], pad: 'valid' },
  { name: 'separable bicubic (1 x 4k, stride (1,k), valid), k=8', x: [1, 9, 128, 3], filter: [1, 32, 3, 1], strides: [1, 8], pad: 'valid' },
  { name: 'multiplier 2, stride 2, same, batch 2', x: [2, 11, 10, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { name: 'multiplier 3, strides (3,2), numeric pad 1', x: [1, 13, 12, 2], filter: [4, 5, 2, 3], strides: [3, 2], pad: 1 },
  { name: 'explicit pads, strides (2,1)', x: [1, 9, 8, 2], filter: [3, 3, 2, 1], strides: [2, 1], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
  { name: '1x1 filter, stride 2 (phases without taps)', x: [1, 9, 8, 2], filter: [1, 1, 2, 1], strides: 2, pad: 'valid' },
  { name: '2x2 filter, stride 3, same', x: [1, 10, 11, 4], filter: [2, 2, 4, 1], strides: 3, pad: 'same' },
  { name: '5x5, stride 1, valid, batch 3', x: [3, 9, 7, 5], filter: [5, 5, 5, 1], strides: 1, pad: 'valid' },
];

const conv2dCases: ConvCase[] = [
  { name: '3x3, stride 1, same, 8 -> 16', x: [1, 16, 16, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'same' },
  { name: '3x4, stride 2, valid, batch 2', x: [2, 13, 11, 5], filter: [3, 4, 5, 7], strides: 2, pad: 'valid' },
  { name: 'explicit pads, strides (2,1)', x: [1, 9, 8, 4], filter: [3, 3, 4, 6], strides: [2, 1], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { name: '5x5, strides (1,2), numeric pad 2', x: [1, 10, 10, 3], filter: [5, 5, 3, 4], strides: [1, 2], pad: 2 },
  { name: '1x1, stride 1, batch 2', x: [2, 6, 5, 16], filter: [1, 1, 16, 8], strides: 1, pad: 'valid' },
  { name: '4x4, stride 2, same (conv2dTranspose shapes)', x: [1, 16, 16, 8], filter: [4, 4, 8, 16], strides: 2, pad: 'same' },
];

beforeAll(async () => {
  registerWasmGradientKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

describe('registerWasmGradientKernels', () => {
  it('registers the four missing kernels and the fast Conv2DBackpropInput for wasm, idempotently', () => {
    const names = WASM_GRADIENT_KERNELS.map((k) => k.kernelName).sort();
    expect(names).toEqual(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']);
    for (const name of names) expect(tf.getKernel(name, 'wasm')?.kernelFunc, name).toBe(WASM_GRADIENT_KERNELS.find((k) => k.kernelName === name)?.kernelFunc);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(WASM_FAST_KERNELS[0]?.kernelFunc);
    expect(registerWasmGradientKernels()).toEqual([]);
    expect(registerWasmGradientKernels()).toEqual([]);
    // The cpu backend keeps its own kernels.
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).not.toBe(WASM_GRADIENT_KERNELS[0]?.kernelFunc);
  });

  it('can put wasm\'s built-in Conv2DBackpropInput back, and replace it again', async () => {
    const ours = WASM_FAST_KERNELS[0]?.kernelFunc;
    expect(registerWasmGradientKernels({ replaceSlowKernels: false })).toEqual(['Conv2DBackpropInput']);
    const builtin = tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc;
    expect(builtin).toBeDefined();
    expect(builtin).not.toBe(ours);
    // The built-in still runs after being put back.
    const out = await on('wasm', () => tf.conv2dTranspose(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 1, 2]) as tf.Tensor4D, [1, 4, 4, 1], 1, 'same'));
    expect(out[0]?.values[5]).toBeCloseTo(18, 5);
    expect(registerWasmGradientKernels()).toEqual(['Conv2DBackpropInput']);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(ours);
  });
});

describe('DepthwiseConv2dNativeBackpropInput / BackpropFilter vs cpu', () => {
  for (const c of depthwiseCases) {
    it(c.name, async () => {
      const dyShape = convOut(c.x, c.filter, c.strides, c.pad, true);
      await compareKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: { shape: dyShape, seed: 3 }, filter: { shape: c.filter, seed: 2 } },
        { strides: c.strides, pad: c.pad, dilations: 1, inputShape: c.x },
      );
      await compareKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: { shape: c.x, seed: 1 }, dy: { shape: dyShape, seed: 3 } },
        { strides: c.strides, pad: c.pad, dilations: 1, filterShape: c.filter },
      );
    });
  }

  it('rejects dilations > 1 with a clear error', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 8, 8, 2]);
    const filter = tf.zeros([3, 3, 2, 1]);
    expect(() =>
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, {
        strides: 1,
        pad: 'same',
        dilations: 2,
        inputShape: [1, 8, 8, 2],
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/dilations must be 1/);
    tf.dispose([dy, filter]);
  });
});

describe('Conv2DBackpropFilter vs cpu', () => {
  for (const c of conv2dCases) {
    it(c.name, async () => {
      const dyShape = convOut(c.x, c.filter, c.strides, c.pad, false);
      await compareKernel(
        'Conv2DBackpropFilter',
        { x: { shape: c.x, seed: 1 }, dy: { shape: dyShape, seed: 3 } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
      );
    });
  }
  it('NCHW', async () => {
    const [b, oh, ow, o] = convOut([2, 10, 9, 3], [3, 3, 3, 5], 2, 'same', false);
    await compareKernel(
      'Conv2DBackpropFilter',
      { x: { shape: [2, 3, 10, 9], seed: 1 }, dy: { shape: [b, o, oh, ow], seed: 3 } },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 5] },
    );
  });
});

describe('Conv2DBackpropInput (the fast replacement) vs cpu', () => {
  for (const c of conv2dCases) {
    it(c.name, async () => {
      const dyShape = convOut(c.x, c.filter, c.strides, c.pad, false);
      await compareKernel(
        'Conv2DBackpropInput',
        { dy: { shape: dyShape, seed: 3 }, filter: { shape: c.filter, seed: 2 } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
      );
    });
  }
  it('NCHW', async () => {
    const x = [2, 10, 9, 3];
    const filter = [3, 3, 3, 5];
    const [b, oh, ow, o] = convOut(x, filter, 2, 'same', false);
    await compareKernel(
      'Conv2DBackpropInput',
      { dy: { shape: [b, o, oh, ow], seed: 3 }, filter: { shape: filter, seed: 2 } },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 10, 9] },
    );
  });
});

describe('UnsortedSegmentSum vs cpu', () => {
  it('sums rows by segment, drops out-of-range ids', async () => {
    await compareKernel(
      'UnsortedSegmentSum',
      { x: { shape: [7, 5], seed: 4 }, segmentIds: { shape: [7], seed: 0, dtype: 'int32', values: [2, 0, 2, 3, 0, 0, 1] } },
      { numSegments: 5 },
    );
    // tfjs's cpu kernel ignores ids outside [0, numSegments) as well.
    await compareKernel(
      'UnsortedSegmentSum',
      { x: { shape: [4, 3], seed: 5 }, segmentIds: { shape: [4], seed: 0, dtype: 'int32', values: [1, 7, -1, 1] } },
      { numSegments: 3 },
    );
  });
  it('handles int32 data', async () => {
    await compareKernel(
      'UnsortedSegmentSum',
      { x: { shape: [5, 2], seed: 0, dtype: 'int32', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, segmentIds: { shape: [5], seed: 0, dtype: 'int32', values: [1, 1, 0, 2, 1] } },
      { numSegments: 3 },
    );
  });
  it('handles multi-dimensional segment ids (TensorFlow semantics; tfjs cpu only supports 1-D)', async () => {
    await tf.setBackend('wasm');
    const xv = randomValues([2, 3, 4], 6);
    const ids = [0, 1, 1, 3, 0, 2];
    const x = tf.tensor(xv, [2, 3, 4]);
    const segmentIds = tf.tensor2d(ids, [2, 3], 'int32');
    const out = tf.engine().runKernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments: 4 }) as tf.Tensor;
    tf.dispose([x, segmentIds]);
    const expected = new Float32Array(4 * 4);
    ids.forEach((id, i) => {
      for (let k = 0; k < 4; k++) expected[id * 4 + k] += xv[i * 4 + k];
    });
    expect(out.shape).toEqual([4, 4]);
    expectClose([{ shape: out.shape, values: Float32Array.from(out.dataSync()) }], [{ shape: [4, 4], values: expected }], 'UnsortedSegmentSum 2-D ids');
    out.dispose();
  });
});

describe('gradients through the project ops, wasm vs cpu', () => {
  /** d/d(inputs) of sum(op(inputs) * r) for a fixed random r, on both backends. */
  async function compareGrads(name: string, shapes: Shape[], op: (...xs: tf.Tensor[]) => tf.Tensor) {
    const run = () => {
      const xs = shapes.map((s, i) => tf.tensor(randomValues(s, 10 + i), s));
      const grads = tf.grads((...args: tf.Tensor[]) => {
        const y = op(...args);
        return tf.sum(tf.mul(y, tf.tensor(randomValues(y.shape, 99), y.shape)));
      })(xs);
      tf.dispose(xs);
      return grads;
    };
    expectClose(await on('wasm', run), await on('cpu', run), name);
  }

  it('depthwise 3x3 blur, stride 1, same, 64 channels', async () => {
    await compareGrads('blur', [[1, 24, 24, 64], [3, 3, 64, 1]], (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'));
  });
  it('separable bicubic downsample by k=4 on 3 channels (4k x 1 then 1 x 4k, valid)', async () => {
    await compareGrads('bicubic', [[1, 64, 64, 3], [16, 1, 3, 1], [1, 16, 3, 1]], (x, fv, fh) =>
      tf.depthwiseConv2d(tf.depthwiseConv2d(x as tf.Tensor4D, fv as tf.Tensor4D, [4, 1], 'valid'), fh as tf.Tensor4D, [1, 4], 'valid'),
    );
  });
  it('conv2d 3x3, same', async () => {
    await compareGrads('conv2d', [[2, 12, 12, 8], [3, 3, 8, 16]], (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'));
  });
  it('conv2dTranspose 4x4, stride 2, same', async () => {
    await compareGrads('conv2dTranspose', [[1, 8, 8, 16], [4, 4, 8, 16]], (x, f) =>
      tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [1, 16, 16, 8], 2, 'same'),
    );
  });
  it('gather (UnsortedSegmentSum in its gradient)', async () => {
    await compareGrads('gather', [[6, 4]], (x) => tf.gather(x, tf.tensor1d([5, 1, 1, 0, 5, 3], 'int32')));
  });
});

describe('memory', () => {
  it('a gradient step through these kernels leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as tf.KernelBackend;
    const x = tf.variable(tf.tensor(randomValues([1, 16, 16, 4], 1), [1, 16, 16, 4]));
    const fDepth = tf.variable(tf.tensor(randomValues([3, 3, 4, 2], 2), [3, 3, 4, 2]));
    const fConv = tf.variable(tf.tensor(randomValues([3, 3, 8, 5], 3), [3, 3, 8, 5]));
    const table = tf.variable(tf.tensor(randomValues([6, 5], 4), [6, 5]));
    const ids = tf.tensor1d([0, 3, 3, 5], 'int32');
    const step = () =>
      tf.variableGrads(() => {
        const h = tf.depthwiseConv2d(x as tf.Tensor4D, fDepth as tf.Tensor4D, 2, 'same'); // [1, 8, 8, 8]
        const y = tf.conv2d(h, fConv as tf.Tensor4D, 1, 'same'); // [1, 8, 8, 5]
        const e = tf.gather(table, ids); // [4, 5]
        return tf.add(tf.sum(tf.square(y)), tf.sum(e));
      });
    // Warm up once (lazily created constants), then measure.
    const warm = step();
    tf.dispose([warm.value, ...Object.values(warm.grads)]);
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    const { value, grads } = step();
    expect(Object.keys(grads).length).toBe(4);
    expect(tf.memory().numTensors).toBe(tensorsBefore + 1 + 4);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    tf.dispose([x, fDepth, fConv, table, ids]);
  });

  it('each kernel called directly returns one fresh tensor and frees its intermediates', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as tf.KernelBackend;
    const x = tf.tensor(randomValues([1, 9, 9, 3], 1), [1, 9, 9, 3]);
    const dyD = tf.tensor(randomValues([1, 5, 5, 6], 2), [1, 5, 5, 6]);
    const dyC = tf.tensor(randomValues([1, 5, 5, 4], 3), [1, 5, 5, 4]);
    const filter = tf.tensor(randomValues([3, 3, 3, 2], 4), [3, 3, 3, 2]);
    const convFilter = tf.tensor(randomValues([3, 3, 3, 4], 5), [3, 3, 3, 4]);
    const ids = tf.tensor1d([0, 2, 2, 1, 0, 1, 1, 0, 2], 'int32');
    const calls: [string, tf.NamedTensorMap, object][] = [
      ['DepthwiseConv2dNativeBackpropInput', { dy: dyD, filter }, { strides: 2, pad: 'same', dilations: 1, inputShape: [1, 9, 9, 3] }],
      ['DepthwiseConv2dNativeBackpropFilter', { x, dy: dyD }, { strides: 2, pad: 'same', dilations: 1, filterShape: [3, 3, 3, 2] }],
      ['Conv2DBackpropFilter', { x, dy: dyC }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] }],
      ['Conv2DBackpropInput', { dy: dyC, filter: convFilter }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 9, 9, 3] }],
      ['UnsortedSegmentSum', { x: tf.reshape(x, [9, 27]), segmentIds: ids }, { numSegments: 3 }],
    ];
    for (const [kernel, inputs, attrs] of calls) {
      const tensorsBefore = tf.memory().numTensors;
      const buffersBefore = backend.numDataIds();
      const out = tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
      expect(tf.memory().numTensors, kernel).toBe(tensorsBefore + 1);
      expect(backend.numDataIds(), kernel).toBe(buffersBefore + 1);
      const inputsAlive = Object.values(inputs).every((t) => !t.isDisposed && t.dataSync().length === t.size);
      expect(inputsAlive, `${kernel} leaves its inputs intact`).toBe(true);
      out.dispose();
      expect(tf.memory().numTensors, kernel).toBe(tensorsBefore);
      expect(backend.numDataIds(), kernel).toBe(buffersBefore);
    }
    tf.dispose([x, dyD, dyC, filter, convFilter, ids, ...calls.flatMap(([, inputs]) => Object.values(inputs))]);
  });
});
