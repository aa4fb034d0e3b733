/**
 * A parameter as the layer that owns it declares it, once: the official PyTorch name and
 * shape (so checkpoints keep loading), the tfjs layout, the equalised-lr multiplier applied at
 * run time, whether training updates it, and how the official module initialises it. The
 * state-dict spec, the Weights specs and the random initialisers are all read off these.
 */
import type { Layout, WeightSpec } from './weights.js';

/** How the official module fills a fresh tensor. */
export type Initialiser =
  /** N(0, 1) divided by `divisor`, from a seed per tensor (`<network seed>:<name>`), as random-weights.ts draws it. */
  | { readonly kind: 'normal'; readonly divisor: number }
  | { readonly kind: 'constant'; readonly value: number }
  /** The per-channel noise strength: 0 officially; benchmarks and tests may ask for more. */
  | { readonly kind: 'noise-strength' }
  /** Fixed values (a buffer such as the blur kernel). */
  | { readonly kind: 'values'; readonly values: Float32Array };

export interface ParamDecl extends WeightSpec {
  /** Official PyTorch state-dict name, e.g. `blocks.8x8.conv1.weight`. */
  readonly name: string;
  /** PyTorch shape. */
  readonly shape: readonly number[];
  readonly layout: Layout;
  readonly init: Initialiser;
}

/** He constant of an equalised layer: gain / sqrt(fan_in). */
export function heScale(fanIn: number, gain: number): number {
  return gain * fanIn ** -0.5;
}

/** Equalised conv weight [out, in, k, k], N(0, 1), scaled by He(in k k) at run time. */
export function convWeight(name: string, out: number, inp: number, kernel: number, gain: number): ParamDecl {
  return { name, shape: [out, inp, kernel, kernel], layout: 'conv', scale: heScale(inp * kernel * kernel, gain), trainable: true, init: { kind: 'normal', divisor: 1 } };
}

/**
 * Equalised dense weight [out, in]. With an lr multiplier the official init draws
 * N(0, 1/lrMul^2) so that weight * (He * lrMul) still has He variance.
 */
export function linearWeight(name: string, out: number, inp: number, gain: number, lrMul = 1): ParamDecl {
  return { name, shape: [out, inp], layout: 'linear', scale: heScale(inp, gain) * lrMul, trainable: true, init: { kind: 'normal', divisor: lrMul } };
}

/** A per-channel vector (bias, noise strength) kept as is; `scale` is its lr multiplier. */
export function vector(name: string, size: number, init: Initialiser, scale = 1): ParamDecl {
  return { name, shape: [size], layout: 'plain', scale, trainable: true, init };
}

export const ZEROS: Initialiser = { kind: 'constant', value: 0 };

/** Layout, run-time scale and trainability by name, as Weights takes them. */
export function weightSpecsOf(params: readonly ParamDecl[]): Map<string, WeightSpec> {
  return new Map(params.map((p) => [p.name, p]));
}
