/**
 * The parameters of a network, held in tfjs layout and addressed by their official
 * PyTorch names.
 *
 * StyleGAN's equalised learning rate multiplies every weight by a constant (He scale x lr
 * multiplier) at run time. For inference the product is taken once, at load; for training
 * the raw values are tf.Variables and the product is taken inside the forward pass, so the
 * optimiser sees the raw parameters exactly as the official code's optimiser does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';

/** How a PyTorch tensor maps to tfjs layout. */
export type Layout =
  | 'conv' // [out, in, kh, kw] <-> [kh, kw, in, out]
  | 'linear' // [out, in] <-> [in, out]
  | 'const' // [1, C, 4, 4] <-> [1, 4, 4, C]
  | 'plain'; // unchanged (biases, noise strengths, buffers)

export interface WeightSpec {
  readonly layout: Layout;
  /** Run-time multiplier (equalised lr); 1 for none. */
  readonly scale: number;
  /** Buffers (e.g. the blur kernel) are never trained. */
  readonly trainable: boolean;
}

export function toTfLayout(data: Float32Array, shape: readonly number[], layout: Layout): { data: Float32Array; shape: number[] } {
  switch (layout) {
    case 'conv': {
      const [o, i, kh, kw] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
      return { data: out, shape: [kh, kw, i, o] };
    }
    case 'linear': {
      const [o, i] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = data[a * i + b];
      return { data: out, shape: [i, o] };
    }
    case 'const': {
      const [n, c, h, w] = shape;
      const out = new Float32Array(data.length);
      for (let ch = 0; ch < c; ch++) for (let k = 0; k < h * w; k++) out[k * c + ch] = data[ch * h * w + k];
      return { data: out, shape: [n, h, w, c] };
    }
    case 'plain':
      return { data, shape: [...shape] };
  }
}

export function toTorchLayout(data: Float32Array, shape: readonly number[], layout: Layout): { data: Float32Array; shape: number[] } {
  switch (layout) {
    case 'conv': {
      const [kh, kw, i, o] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((a * i + b) * kh + y) * kw + x] = data[((y * kw + x) * i + b) * o + a];
      return { data: out, shape: [o, i, kh, kw] };
    }
    case 'linear': {
      const [i, o] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = data[b * o + a];
      return { data: out, shape: [o, i] };
    }
    case 'const': {
      const [n, h, w, c] = shape;
      const out = new Float32Array(data.length);
      for (let ch = 0; ch < c; ch++) for (let k = 0; k < h * w; k++) out[ch * h * w + k] = data[k * c + ch];
      return { data: out, shape: [n, c, h, w] };
    }
    case 'plain':
      return { data, shape: [...shape] };
  }
}

/** The axis order taking a PyTorch tensor to tfjs layout (toTfLayout's, as a transpose). */
const TF_PERMUTATION: Record<Layout, number[] | null> = {
  conv: [2, 3, 1, 0],
  linear: [1, 0],
  const: [0, 2, 3, 1],
  plain: null,
};

/**
 * A PyTorch-layout array as a tensor in tfjs layout, the same values as toTfLayout's. The axes
 * move inside TensorFlow, so no second host copy of the array is made: a model's weights are
 * read into host memory once, and that copy is garbage as soon as the tensors exist (a host
 * copy per weight made load-time memory 1.6x the weights, and V8 frees such arrays late).
 */
export function tfLayoutTensor(data: Float32Array, shape: readonly number[], layout: Layout): tf.Tensor {
  const perm = TF_PERMUTATION[layout];
  if (!perm) return tf.tensor(data, [...shape]);
  return tf.tidy(() => tf.transpose(tf.tensor(data, [...shape]), perm));
}

/** tfjs variable names are process-global; each Weights instance gets its own suffix. */
let instances = 0;

export class Weights {
  private readonly specs: Map<string, WeightSpec>;
  /** Effective (scaled) tensors for inference, raw variables for training. */
  private readonly values: Map<string, tf.Tensor>;
  /** Inference weights a layer no longer reads once it derived its own filters (release()). */
  private readonly released = new Set<string>();
  readonly trainable: boolean;

  constructor(sd: StateDict, specs: Map<string, WeightSpec>, trainable: boolean, prefix = '') {
    this.specs = specs;
    this.trainable = trainable;
    this.values = new Map();
    const instance = ++instances;
    for (const [name, spec] of specs) {
      const t = sd.get(name);
      if (!t) throw new Error(`missing tensor '${name}'`);
      const raw = tfLayoutTensor(t.data, t.shape, spec.layout);
      if (trainable && spec.trainable) {
        this.values.set(name, tf.variable(raw, true, `${prefix}${name}#${instance}`));
        raw.dispose();
      } else {
        this.values.set(name, spec.scale === 1 ? raw : tf.tidy(() => tf.mul(raw, spec.scale)));
        if (spec.scale !== 1) raw.dispose();
      }
    }
  }

  /** The weight as the network uses it (scaled), in tfjs layout. */
  get(name: string): tf.Tensor {
    const v = this.values.get(name);
    const spec = this.specs.get(name);
    if (this.released.has(name)) throw new Error(releasedMessage([name]));
    if (!v || !spec) throw new Error(`no weight '${name}'`);
    if (this.trainable && spec.trainable && spec.scale !== 1) return tf.mul(v, spec.scale);
    return v;
  }

  /** The trainable variables (training mode only), in name order. */
  variables(): tf.Variable[] {
    if (!this.trainable) return [];
    return [...this.specs].filter(([, s]) => s.trainable).map(([n]) => this.values.get(n) as tf.Variable);
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  /**
   * Frees inference weights that no layer reads any more (a search's layers derive their filters
   * from them at load, SynthesisLayer.prepare): at 64 px about 54 MB of raw filters a search held
   * beside what replaced them. Reading one afterwards throws and names it.
   */
  release(names: readonly string[]): void {
    if (this.trainable) throw new Error('Weights.release: trainable weights are read by every step; only inference weights are released');
    for (const name of names) {
      const v = this.values.get(name);
      if (!v) continue;
      v.dispose();
      this.values.delete(name);
      this.released.add(name);
    }
  }

  /** Back to an official-format state dict (raw, unscaled values, PyTorch layout). */
  async toStateDict(): Promise<StateDict> {
    if (this.released.size) throw new Error(releasedMessage([...this.released]));
    const sd: StateDict = new Map();
    for (const [name, spec] of this.specs) {
      const v = this.values.get(name)!;
      const raw = this.trainable && spec.trainable ? v : spec.scale === 1 ? v : tf.div(v, spec.scale);
      const data = (await raw.data()) as Float32Array;
      if (raw !== v) raw.dispose();
      const t = toTorchLayout(Float32Array.from(data), v.shape, spec.layout);
      sd.set(name, t);
    }
    return sd;
  }

  /** Copies values from another Weights of the same specs (for EMA snapshots). */
  assignFrom(other: Weights): void {
    for (const name of this.specs.keys()) {
      const mine = this.values.get(name)!;
      if (mine instanceof tf.Variable) mine.assign(other.values.get(name)!);
    }
  }

  dispose(): void {
    tf.dispose([...this.values.values()]);
    this.values.clear();
  }
}

function releasedMessage(names: readonly string[]): string {
  const shown = names.slice(0, 3).join("', '") + (names.length > 3 ? `' and ${names.length - 3} more` : "'");
  return (
    `weight '${shown} released: this network was built for inference, and its layers derived their ` +
    'filters from it at load (Weights.release); build it with trainable weights to read or export every weight'
  );
}
