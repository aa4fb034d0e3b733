/**
 * The page's compute backend: webgl (a GPU; here only SwiftShader's software GL), then wasm
 * (SIMD; threads when the page is cross-origin isolated), then the pure-JS cpu backend. Each
 * try is named, with why it was skipped; `nextBackend` is the fall-back after a failure.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../backend/register-gradients.js';
import '@tensorflow/tfjs-backend-webgl';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradientKernels } from '../backend/wasm-kernels.js';

export const WEB_BACKENDS = ['webgl', 'wasm', 'cpu'] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

export interface WebBackendInfo {
  readonly name: WebBackend;
  /** One line for the page, e.g. "wasm (SIMD, 1 thread; page not cross-origin isolated)". */
  readonly description: string;
  /** Why the backends before it were skipped. */
  readonly skipped: readonly string[];
}

let wasmPathSet = false;

/** Where the tfjs wasm binaries are served (scripts/web.ts copies them to `tfjs-wasm/`). */
export function setWasmBinaryUrl(baseUrl: string): void {
  wasm.setWasmPaths(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  wasmPathSet = true;
}

function describe(name: WebBackend): string {
  if (name === 'webgl') {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'unknown GPU';
    return `webgl (${renderer})`;
  }
  if (name === 'wasm') {
    const threads = wasm.getThreadsCount();
    const isolated = globalThis.crossOriginIsolated === true;
    return `wasm (SIMD, ${threads} thread${threads === 1 ? '' : 's'}; page ${isolated ? '' : 'not '}cross-origin isolated)`;
  }
  return 'cpu (pure JavaScript, slow)';
}

async function trySet(name: WebBackend): Promise<string | null> {
  try {
    if (name === 'wasm' && !wasmPathSet) return 'the wasm binaries path was not set';
    // Threads need SharedArrayBuffer (a cross-origin isolated page) and must be asked for before wasm starts.
    if (name === 'wasm' && globalThis.crossOriginIsolated) wasm.setThreadsCount(Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8)));
    const ok = await tf.setBackend(name);
    if (!ok || tf.getBackend() !== name) return `${name} did not initialise`;
    if (name === 'wasm') {
      registerWasmGradientKernels();
    }
    // A tiny op proves the backend computes (webgl can initialise and then fail to compile).
    const probe = tf.tidy(() => tf.sum(tf.mul(tf.ones([4]), 2)));
    const value = (await probe.data())[0];
    probe.dispose();
    if (value !== 8) return `${name} computed 2*[1,1,1,1] summed as ${value}`;
    return null;
  } catch (err) {
    return `${name} failed to start (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

/** The first backend of `order` that starts. Throws, listing every reason, when none does. */
export async function startBackend(order: readonly WebBackend[]): Promise<WebBackendInfo> {
  const skipped: string[] = [];
  for (const name of order) {
    const why = await trySet(name);
    if (why === null) return { name, description: describe(name), skipped };
    skipped.push(why);
  }
  throw new Error(`no compute backend started: ${skipped.join('; ')}`);
}

/** The order to try: the one asked for (URL `backend=`) alone, or all of them. */
export function backendOrder(requested: string | null): WebBackend[] {
  if (requested === null || requested === '' || requested === 'auto') return [...WEB_BACKENDS];
  if (!(WEB_BACKENDS as readonly string[]).includes(requested)) {
    throw new Error(`backend=${requested} is not one of: auto, ${WEB_BACKENDS.join(', ')}`);
  }
  return [requested as WebBackend];
}

/** The backends after `current` in the automatic order (for falling back after a failure). */
export function fallbacksAfter(current: WebBackend): WebBackend[] {
  return WEB_BACKENDS.slice(WEB_BACKENDS.indexOf(current) + 1);
}
