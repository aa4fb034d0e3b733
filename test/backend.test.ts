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
  stderr: string;
}

/** initBackend(PULSE_BACKEND=value) in a fresh Node process (tsx loads the TypeScript). */
function initInChild(value: string | undefined): ChildResult {
  const code = `
    import * as tf from '@tensorflow/tfjs-core';
    import { initBackend } from './src/backend/select.ts';
    const info = await initBackend();
    if (tf.getBackend() !== info.name) throw new Error('tfjs runs ' + tf.getBackend() + ', not ' + info.name);
    const kernels = Object.fromEntries(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'UnsortedSegmentSum']
      .map((k) => [k, tf.getKernel(k, info.name) != null]));
    console.log('RESULT ' + JSON.stringify({ info, kernels }));
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' };
  if (value === undefined) delete env.PULSE_BACKEND;
  else env.PULSE_BACKEND = value;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { status: res.status, stderr: res.stderr, ...(line ? JSON.parse(line.slice(7)) : {}) };
}

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

  it('PULSE_BACKEND=tensorflow-gpu without CUDA fails instead of falling back', () => {
    const r = initInChild('tensorflow-gpu');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no compute backend could be started for PULSE_BACKEND=tensorflow-gpu/);
  });

  it("'auto' (and unset) gives the native tensorflow backend when the addon is built", (ctx) => {
    if (!nativeAddonLoads()) {
      ctx.skip('@tensorflow/tfjs-node does not load here; run `npm run build:native` to test auto -> tensorflow');
      return;
    }
    for (const value of ['auto', undefined]) {
      const r = initInChild(value);
      expect(r.status, r.stderr).toBe(0);
      expect(r.info?.name).toBe('tensorflow');
      expect(r.info?.package).toBe('@tensorflow/tfjs-node');
      // tfjs-node-gpu is not installed here: the first choice is skipped with its reason.
      expect(r.info?.skipped.join('\n')).toMatch(/tfjs-node-gpu/);
    }
  });
});
