/**
 * Compute backend selection.
 *
 * PULSE is dominated by convolutions, so the backend decides everything about speed.
 * Order of preference: the native TensorFlow binding with CUDA, the native binding on
 * CPU, then WebAssembly. The pure-JS `cpu` backend is ~100x slower and is used only
 * when asked for by name: a silent fall back to it would turn minutes into hours.
 *
 * Loading tfjs-node (or anything that imports @tensorflow/tfjs) registers `cpu` too, and
 * tfjs picks the best registered backend by itself whenever none is active. So this module
 * always sets the chosen backend explicitly, checks that it is the one running, and
 * `activeBackend()` throws if something switched tfjs to another backend afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import { registerWasmGradientKernels } from './wasm-kernels.js';

/** What a user may put in PULSE_BACKEND (or `--backend`). */
export type BackendRequest = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Other spellings accepted for a request. */
const ALIASES: Readonly<Record<string, BackendRequest>> = {
  node: 'tensorflow',
  native: 'tensorflow',
  'tfjs-node': 'tensorflow',
  gpu: 'tensorflow-gpu',
  'tfjs-node-gpu': 'tensorflow-gpu',
};

export interface BackendInfo {
  /** tfjs backend name as `tf.getBackend()` reports it: tensorflow, wasm or cpu. */
  readonly name: string;
  /** The npm package that provides it. */
  readonly package: string;
  /** One line for logs and reports, e.g. "tensorflow (@tensorflow/tfjs-node, native CPU)". */
  readonly description: string;
  /** Why earlier choices were skipped (empty when the first choice loaded). */
  readonly skipped: readonly string[];
}

interface Candidate {
  request: Exclude<BackendRequest, 'auto'>;
  backendName: string;
  pkg: string;
  detail: string;
  load: () => Promise<unknown>;
}

// The native packages are optional and untyped here: import them by a non-literal name.
/**
 * TensorFlow's oneDNN kernels reorder float sums; on PULSE's backward pass that moved the
 * first gradient 3.7e-4 (relative) from the official code's, against 1e-6 without them,
 * and cut the margin of the recorded 5-step traces from 10x to 1.05x, for ~20% speed.
 * Correct first: they are off unless the user sets TF_ENABLE_ONEDNN_OPTS (read at load).
 */
function preferExactNativeKernels(): void {
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
  // TensorFlow's C++ start-up chatter (CPU feature notices) is not for PULSE's users.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
}

const TFJS_NODE_GPU: string = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE: string = '@tensorflow/tfjs-node';

const candidates: readonly Candidate[] = [
  {
    request: 'tensorflow-gpu',
    backendName: 'tensorflow',
    pkg: TFJS_NODE_GPU,
    detail: 'native, CUDA',
    load: () => (preferExactNativeKernels(), import(TFJS_NODE_GPU)),
  },
  {
    request: 'tensorflow',
    backendName: 'tensorflow',
    pkg: TFJS_NODE,
    detail: 'native CPU',
    load: () => (preferExactNativeKernels(), import(TFJS_NODE)),
  },
  {
    request: 'wasm',
    backendName: 'wasm',
    pkg: '@tensorflow/tfjs-backend-wasm',
    detail: 'WebAssembly, SIMD, single thread',
    load: () => import('@tensorflow/tfjs-backend-wasm'),
  },
  {
    request: 'cpu',
    backendName: 'cpu',
    pkg: '@tensorflow/tfjs-backend-cpu',
    detail: 'pure JavaScript, slow',
    load: () => import('@tensorflow/tfjs-backend-cpu'),
  },
];

let active: BackendInfo | undefined;
/** Whether `active` is tfjs-node-gpu running on a CUDA device. */
let activeOnGpu = false;
/** Settles when an initBackend() in progress does. */
let pending: Promise<void> | undefined;

/**
 * Parse a PULSE_BACKEND value (case-insensitive; empty or missing means 'auto').
 * Throws, naming the variable and the valid choices, for anything else.
 */
export function parseBackendRequest(raw: string | undefined): BackendRequest {
  const value = (raw ?? '').trim().toLowerCase() || 'auto';
  const request = ALIASES[value] ?? value;
  if (!(BACKEND_REQUESTS as readonly string[]).includes(request)) {
    const aliases = Object.entries(ALIASES)
      .map(([a, r]) => `${a}=${r}`)
      .join(', ');
    throw new Error(
      `PULSE_BACKEND=${JSON.stringify(raw)} is not a known backend; use one of: ${BACKEND_REQUESTS.join(', ')} (aliases: ${aliases}).`,
    );
  }
  return request as BackendRequest;
}

/** The native backend instance's own report of whether TensorFlow found a CUDA device. */
function nativeUsesGpu(): boolean {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: unknown };
  return backend.isUsingGpuDevice === true;
}

type Attempt = { ok: true; detail: string; note?: string } | { ok: false; why: string };

async function tryCandidate(c: Candidate, wanted: BackendRequest): Promise<Attempt> {
  try {
    await c.load();
  } catch (err) {
    return { ok: false, why: `${c.pkg} did not load (${firstLine(err)})` };
  }
  try {
    const ok = await tf.setBackend(c.backendName);
    // Only ask getBackend() after a successful setBackend: with no backend active it would
    // initialise the best registered one itself (possibly cpu).
    if (!ok || tf.getBackend() !== c.backendName) {
      return { ok: false, why: `${c.pkg} loaded but backend '${c.backendName}' did not initialise` };
    }
  } catch (err) {
    return { ok: false, why: `backend '${c.backendName}' failed to initialise (${firstLine(err)})` };
  }
  if (c.request === 'tensorflow-gpu' && !nativeUsesGpu()) {
    // tfjs-node-gpu without a usable CUDA/cuDNN runs TensorFlow on the CPU. That is as fast
    // as tfjs-node, and loading tfjs-node beside it would clash (both register 'tensorflow'),
    // so 'auto' keeps it and says so; an explicit 'tensorflow-gpu' request fails.
    const why = `${c.pkg} loaded but TensorFlow found no CUDA device`;
    if (wanted === 'tensorflow-gpu') return { ok: false, why };
    return { ok: true, detail: 'native CPU: no CUDA device found', note: why };
  }
  return { ok: true, detail: c.detail };
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}

function satisfies(info: BackendInfo, wanted: BackendRequest): boolean {
  if (wanted === 'auto') return true;
  const c = candidates.find((x) => x.request === wanted);
  return c !== undefined && c.pkg === info.package && (wanted !== 'tensorflow-gpu' || activeOnGpu);
}

async function select(wanted: BackendRequest): Promise<BackendInfo & { onGpu: boolean }> {
  const order = wanted === 'auto' ? candidates.filter((c) => c.request !== 'cpu') : candidates.filter((c) => c.request === wanted);
  const skipped: string[] = [];
  for (const c of order) {
    const attempt = await tryCandidate(c, wanted);
    if (!attempt.ok) {
      skipped.push(attempt.why);
      continue;
    }
    if (attempt.note) skipped.push(attempt.note);
    if (c.backendName === 'wasm') registerWasmGradientKernels();
    return {
      name: c.backendName,
      package: c.pkg,
      description: `${c.backendName} (${c.pkg}, ${attempt.detail})`,
      skipped,
      onGpu: c.request === 'tensorflow-gpu' && !attempt.note,
    };
  }
  const hint =
    wanted === 'auto' || wanted === 'tensorflow'
      ? ' Run `npm run build:native` to build the native backend, or set PULSE_BACKEND=wasm.'
      : wanted === 'tensorflow-gpu'
        ? ' It needs @tensorflow/tfjs-node-gpu with CUDA 11.2 and cuDNN 8.1; or set PULSE_BACKEND=auto.'
        : '';
  throw new Error(`no compute backend could be started for PULSE_BACKEND=${wanted}: ${skipped.join('; ')}.${hint}`);
}

/**
 * Initialise the compute backend once per process and return what runs.
 * `request` defaults to the PULSE_BACKEND environment variable, then 'auto'.
 * The pure-JS `cpu` backend is only ever chosen when requested by name.
 */
export async function initBackend(request: string | undefined = process.env.PULSE_BACKEND): Promise<BackendInfo> {
  const wanted = parseBackendRequest(request);
  if (active) {
    if (satisfies(active, wanted)) return activeBackend();
    throw new Error(`backend already initialised as ${active.description}; cannot switch to '${wanted}' in the same process`);
  }
  if (pending) {
    // Another call is selecting: wait for it, then apply the rules above (or retry if it failed).
    await pending;
    return initBackend(request);
  }
  const selection = select(wanted);
  pending = selection.then(
    () => undefined,
    () => undefined,
  );
  try {
    const { onGpu, ...info } = await selection;
    active = info;
    activeOnGpu = onGpu;
    return active;
  } finally {
    pending = undefined;
  }
}

/**
 * The backend initBackend() chose. Throws if it has not run yet, or if tfjs is no longer
 * running that backend (something called tf.setBackend elsewhere), so that no code goes on
 * believing it runs on one backend while tfjs uses another.
 */
export function activeBackend(): BackendInfo {
  if (!active) throw new Error('initBackend() has not been called');
  const now = tf.getBackend();
  if (now !== active.name) {
    throw new Error(`tfjs is running backend '${now}', not ${active.description} chosen by initBackend(); something switched it`);
  }
  return active;
}

/**
 * Rewords the wasm backend's bare traps ("memory access out of bounds", "Aborted()") as what
 * they almost always mean: the 4 GiB WebAssembly heap is full. Other errors pass unchanged.
 */
export function explainBackendError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const onWasm = active?.name === 'wasm';
  if (onWasm && /memory access out of bounds|Aborted\(\)|Out of memory|Cannot enlarge memory/i.test(e.message)) {
    return new Error(
      `the wasm backend ran out of memory (its heap is capped near 4 GiB; wasm said: ${e.message.split('\n')[0]}). ` +
        'Use the native backend (npm run build:native), fewer --duplicates, or a smaller resolution.',
      { cause: e },
    );
  }
  return e;
}
