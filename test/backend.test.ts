/**
 * Backend selection (src/backend/select.ts). tfjs backends are process-global, so this file's
 * own process is initialised once (wasm) and the other requests run in child processes.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activeBackend, BACKEND_REQUESTS, initBackend, parseBackendRequest } from '../src/backend/select.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ChildResult {
  status: number | null;
  info?: { name: string; package: string; description: string; skipped: string[] };
  kernels?: Record<string, boolean>;
  /** conv2d of a 3x3 of ones with a 2x2 of ones (valid): [4, 4, 4, 4]. */
  conv?: number[];
  /** What the running backend instance reports (tfjs-node's isUsingGpuDevice). */
  onGpu?: boolean;
  stderr: string;
}

/**
 * initBackend(PULSE_BACKEND=value) in a fresh Node process (tsx loads the TypeScript). With
 * `standIn`, @tensorflow/tfjs-node-gpu is replaced by test/helpers/stand-in-tfjs-node-gpu.ts on
 * a machine with a visible GPU, none, or no CUDA libraries; a small convolution then runs on
 * whatever was chosen.
 */
function initInChild(value: string | undefined, standIn?: 'visible' | 'none' | 'no-cuda'): ChildResult {
  const code = `
    import * as tf from '@tensorflow/tfjs-core';
    import { initBackend } from './src/backend/select.ts';
    const importModule = process.env.STAND_IN_GPU
      ? (pkg) => (pkg === '@tensorflow/tfjs-node-gpu' ? import('./test/helpers/stand-in-tfjs-node-gpu.ts') : import(pkg))
      : undefined;
    const info = await initBackend(undefined, { importModule });
    if (tf.getBackend() !== info.name) throw new Error('tfjs runs ' + tf.getBackend() + ', not ' + info.name);
    const kernels = Object.fromEntries(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'UnsortedSegmentSum']
      .map((k) => [k, tf.getKernel(k, info.name) != null]));
    const conv = Array.from(await tf.conv2d(tf.ones([1, 3, 3, 1]), tf.ones([2, 2, 1, 1]), 1, 'valid').data());
    console.log('RESULT ' + JSON.stringify({ info, kernels, conv, onGpu: tf.backend().isUsingGpuDevice === true }));
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' };
  if (value === undefined) delete env.PULSE_BACKEND;
  else env.PULSE_BACKEND = value;
  if (standIn) env.STAND_IN_GPU = standIn;
  else delete env.STAND_IN_GPU;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { status: res.status, stderr: res.stderr, ...(line ? JSON.parse(line.slice(7)) : {}) };
}

/**
 * What the real @tensorflow/tfjs-node-gpu does here: 'absent' (not installed, as on these
 * machines), 'broken' (installed, does not load: no CUDA 11.2 / cuDNN 8.1, or not built),
 * 'no-gpu' (loads, TensorFlow found no CUDA device), 'gpu'. Tests that depend on it follow it.
 */
function realGpuPackage(): 'absent' | 'broken' | 'no-gpu' | 'gpu' {
  const code = `
    try { require.resolve('@tensorflow/tfjs-node-gpu'); } catch { console.log('STATE absent'); process.exit(0); }
    let tf;
    try { tf = require('@tensorflow/tfjs-node-gpu'); } catch { console.log('STATE broken'); process.exit(0); }
    tf.ready().then(() => console.log('STATE ' + (tf.backend().isUsingGpuDevice ? 'gpu' : 'no-gpu')), () => console.log('STATE broken'));
  `;
  const res = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, encoding: 'utf8', timeout: 120_000 });
  const state = /STATE (absent|broken|no-gpu|gpu)/.exec(res.stdout)?.[1];
  return (state ?? 'broken') as ReturnType<typeof realGpuPackage>;
}
const REAL_GPU_PACKAGE = realGpuPackage();

/** Whether @tensorflow/tfjs-node loads here (it needs `npm run build:native` on this machine). */
function nativeAddonLoads(): boolean {
  const res = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], {
    cwd: ROOT,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    stdio: 'ignore',
    timeout: 120_000,
  });
  return res.status === 0;
}

describe('PULSE_BACKEND parsing', () => {
  it('accepts the documented names, any case, with spaces', () => {
    for (const r of BACKEND_REQUESTS) expect(parseBackendRequest(r)).toBe(r);
    expect(parseBackendRequest(' WASM ')).toBe('wasm');
    expect(parseBackendRequest('TensorFlow')).toBe('tensorflow');
  });

  it('treats unset and empty as auto', () => {
    expect(parseBackendRequest(undefined)).toBe('auto');
    expect(parseBackendRequest('')).toBe('auto');
    expect(parseBackendRequest('  ')).toBe('auto');
  });

  it('accepts aliases for the native backends', () => {
    expect(parseBackendRequest('node')).toBe('tensorflow');
    expect(parseBackendRequest('native')).toBe('tensorflow');
    expect(parseBackendRequest('tfjs-node')).toBe('tensorflow');
    expect(parseBackendRequest('gpu')).toBe('tensorflow-gpu');
    expect(parseBackendRequest('tfjs-node-gpu')).toBe('tensorflow-gpu');
  });

  it('rejects an unknown name, naming the variable and the valid choices', async () => {
    expect(() => parseBackendRequest('webgl')).toThrow(/PULSE_BACKEND="webgl"/);
    let message = '';
    try {
      parseBackendRequest('webgl');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const r of BACKEND_REQUESTS) expect(message).toContain(r);
    // initBackend refuses it before touching tfjs.
    await expect(initBackend('cuda-please')).rejects.toThrow(/PULSE_BACKEND="cuda-please" is not a known backend; use one of: auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});

describe('initBackend in this process', () => {
  it("'wasm' gives wasm with the gradient kernels registered, once per process", async () => {
    expect(() => activeBackend()).toThrow(/initBackend\(\) has not been called/);
    const [info, again] = await Promise.all([initBackend('wasm'), initBackend('wasm')]);
    expect(info.name).toBe('wasm');
    expect(info.package).toBe('@tensorflow/tfjs-backend-wasm');
    expect(info.skipped).toEqual([]);
    expect(again).toBe(info);
    expect(tf.getBackend()).toBe('wasm');
    expect(activeBackend()).toBe(info);
    expect(await initBackend('auto')).toBe(info);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    await expect(initBackend('cpu')).rejects.toThrow(/already initialised as wasm .*cannot switch to 'cpu'/);
    await expect(initBackend('tensorflow')).rejects.toThrow(/cannot switch to 'tensorflow'/);
  });

  it('activeBackend() refuses to vouch for a backend that something else switched away from', async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    try {
      expect(() => activeBackend()).toThrow(/tfjs is running backend 'cpu', not wasm/);
    } finally {
      await tf.setBackend('wasm');
    }
    expect(activeBackend().name).toBe('wasm');
  });
});

describe('initBackend in a fresh process', () => {
  it("PULSE_BACKEND=wasm gives wasm with the gradient kernels", () => {
    const r = initInChild('wasm');
    expect(r.status, r.stderr).toBe(0);
    expect(r.info?.name).toBe('wasm');
    expect(Object.values(r.kernels ?? {})).toEqual([true, true, true, true]);
  });

  it("PULSE_BACKEND=cpu gives cpu, only because it was asked for by name", () => {
    const r = initInChild('cpu');
    expect(r.status, r.stderr).toBe(0);
    expect(r.info?.name).toBe('cpu');
    expect(r.info?.description).toMatch(/slow/);
  });

  it('an unknown PULSE_BACKEND fails with the variable and the choices', () => {
    const r = initInChild('metal');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('PULSE_BACKEND="metal" is not a known backend; use one of: auto, tensorflow-gpu, tensorflow, wasm, cpu');
  });

  it(`PULSE_BACKEND=tensorflow-gpu without a usable GPU fails instead of falling back (the real tfjs-node-gpu here: ${REAL_GPU_PACKAGE})`, () => {
    const r = initInChild('tensorflow-gpu');
    if (REAL_GPU_PACKAGE === 'gpu') {
      expect(r.status, r.stderr).toBe(0);
      expect(r.info?.package).toBe('@tensorflow/tfjs-node-gpu');
      expect(r.onGpu).toBe(true);
      return;
    }
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no compute backend could be started for PULSE_BACKEND=tensorflow-gpu: @tensorflow\/tfjs-node-gpu .*CUDA 11.2, cuDNN 8.1/);
    if (REAL_GPU_PACKAGE === 'no-gpu') expect(r.stderr).toMatch(/tfjs-node-gpu loaded but TensorFlow found no CUDA device/);
    else expect(r.stderr).toMatch(/tfjs-node-gpu did not load/);
  });

  it("'auto' (and unset) gives the native tensorflow backend when the addon is built", (ctx) => {
    if (!nativeAddonLoads()) {
      ctx.skip('@tensorflow/tfjs-node does not load here; run `npm run build:native` to test auto -> tensorflow');
      return;
    }
    // A loading tfjs-node-gpu is kept, with or without a GPU (it runs TensorFlow on the CPU
    // then, and tfjs-node beside it would clash); otherwise it is skipped with its reason.
    const gpuLoads = REAL_GPU_PACKAGE === 'gpu' || REAL_GPU_PACKAGE === 'no-gpu';
    for (const value of ['auto', undefined]) {
      const r = initInChild(value);
      expect(r.status, r.stderr).toBe(0);
      expect(r.info?.name).toBe('tensorflow');
      expect(r.conv).toEqual([4, 4, 4, 4]);
      expect(r.info?.package).toBe(gpuLoads ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (REAL_GPU_PACKAGE === 'gpu') expect(r.info?.skipped).toEqual([]);
      else if (REAL_GPU_PACKAGE === 'no-gpu') expect(r.info?.skipped.join('\n')).toMatch(/tfjs-node-gpu loaded but TensorFlow found no CUDA device/);
      else expect(r.info?.skipped.join('\n')).toMatch(/tfjs-node-gpu did not load/);
    }
  });
});

describe('the tfjs-node-gpu path, with a stand-in module (no GPU or CUDA here)', () => {
  it('a visible GPU: auto and tensorflow-gpu choose it, say CUDA, and run on it', () => {
    for (const value of ['auto', 'tensorflow-gpu']) {
      const r = initInChild(value, 'visible');
      expect(r.status, r.stderr).toBe(0);
      expect(r.info).toMatchObject({
        name: 'tensorflow',
        package: '@tensorflow/tfjs-node-gpu',
        description: 'tensorflow (@tensorflow/tfjs-node-gpu, native, CUDA)',
        skipped: [],
      });
      expect(r.onGpu).toBe(true);
      expect(r.conv).toEqual([4, 4, 4, 4]);
    }
  });

  it('no GPU: auto keeps it on the CPU and says why; tensorflow-gpu fails, naming the requirements', () => {
    const auto = initInChild('auto', 'none');
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.info).toMatchObject({
      package: '@tensorflow/tfjs-node-gpu',
      description: 'tensorflow (@tensorflow/tfjs-node-gpu, native CPU: no CUDA device found)',
      skipped: ['@tensorflow/tfjs-node-gpu loaded but TensorFlow found no CUDA device'],
    });
    expect(auto.onGpu).toBe(false);
    expect(auto.conv).toEqual([4, 4, 4, 4]);
    const gpu = initInChild('tensorflow-gpu', 'none');
    expect(gpu.status).not.toBe(0);
    expect(gpu.stderr).toMatch(
      /no compute backend could be started for PULSE_BACKEND=tensorflow-gpu: @tensorflow\/tfjs-node-gpu loaded but TensorFlow found no CUDA device\. It needs .*CUDA 11\.2, cuDNN 8\.1 and a GPU of compute capability 3\.5-8\.6/,
    );
  });

  it('CUDA libraries missing: auto goes on to the next backend, naming the missing library; tensorflow-gpu fails', () => {
    const auto = initInChild('auto', 'no-cuda');
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.info?.package).not.toBe('@tensorflow/tfjs-node-gpu');
    expect(['@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm']).toContain(auto.info?.package);
    expect(auto.info?.skipped[0]).toMatch(/^@tensorflow\/tfjs-node-gpu did not load \(libcudart\.so\.11\.0: cannot open shared object file/);
    expect(auto.conv).toEqual([4, 4, 4, 4]);
    const gpu = initInChild('tensorflow-gpu', 'no-cuda');
    expect(gpu.status).not.toBe(0);
    expect(gpu.stderr).toMatch(/PULSE_BACKEND=tensorflow-gpu: @tensorflow\/tfjs-node-gpu did not load \(libcudart\.so\.11\.0/);
  });
});
