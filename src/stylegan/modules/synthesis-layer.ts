/**
 * What every layer of the synthesis network after the constant input is: the parameters it
 * owns and a step x -> y. The network's forward is the fold of its layers (synthesis.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { PreActivationProbe } from '../layers.js';
import type { ParamDecl } from '../param-decl.js';
import type { Weights } from '../weights.js';

/** The per-call inputs some layers read: one style and one noise map per epilogue. */
export interface SynthesisInputs {
  readonly styles: readonly tf.Tensor2D[];
  readonly noise: readonly (tf.Tensor4D | null)[];
  readonly probe?: PreActivationProbe;
  /** Layers whose noise map is a constant of the caller's differentiation (Synthesis.forward). */
  readonly constantNoise?: ReadonlySet<number>;
}

export interface SynthesisLayer {
  /** The parameters this layer owns, in official state-dict order. */
  readonly params: readonly ParamDecl[];
  forward(x: tf.Tensor4D, weights: Weights, inputs: SynthesisInputs): tf.Tensor4D;
  /**
   * Inference only: precompute what depends on the weights alone (kept until dispose). Returns
   * the names of its weights the forward no longer reads (what it derived replaces them): the
   * network releases those (Weights.release), so a search does not hold both.
   */
  prepare?(weights: Weights): readonly string[] | void;
  dispose?(): void;
}
