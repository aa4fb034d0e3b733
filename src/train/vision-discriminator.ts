/**
 * A vision-aided discriminator (Kumari, Zhang, Shechtman, Zhu, "Ensembling Off-the-shelf Models
 * for GAN Training", CVPR 2022): a frozen pretrained network's features of an image, read by a
 * small trainable head that tells real from generated. It sits beside the ordinary discriminator;
 * G is trained against both. With little data it helps most: the head cannot memorise pixels the
 * frozen features do not see, and the features already separate what people tell apart.
 *
 * Here the frozen network is face-api's age and gender net (face-features.ts) and the head is the
 * paper's "MLP" head for a pooled feature vector (its CLIP head): dense 512 -> 256, LeakyReLU 0.2,
 * dense 256 -> 1. Differences from the paper's code, and why:
 * - equalised learning rate (as every layer of this project's D) instead of spectral norm;
 * - its loss is the paper's `sigmoid_s`: binary cross-entropy with the real label smoothed to 0.8,
 *   for D's reals and for G's fakes alike, and 0 for D's fakes;
 * - no R1 on the head (the paper's code regularises only the ordinary D).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { EqualizedDense } from '../stylegan/modules/equalized-dense.js';
import { type ParamDecl, weightSpecsOf } from '../stylegan/param-decl.js';
import { type ParamSpec, paramSpecOf, validateStateDict } from '../stylegan/params.js';
import { initialStateDict } from '../stylegan/random-weights.js';
import { Weights } from '../stylegan/weights.js';

/** The frozen networks a vision-aided discriminator can stand on ('none': no vision-aided D). */
export const VISION_BACKBONES = ['none', 'age-gender'] as const;
export type VisionBackbone = (typeof VISION_BACKBONES)[number];

/** The paper's smoothed real label (`sigmoid_s`: alpha 0.8). */
export const VISION_REAL_LABEL = 0.8;
/** Width of the head's hidden layer (the paper's MLP head: 256). */
export const VISION_HIDDEN = 256;

interface HeadLayers {
  readonly hidden: EqualizedDense;
  readonly out: EqualizedDense;
}

function headLayers(inFeatures: number): HeadLayers {
  return {
    hidden: new EqualizedDense('vision.hidden', inFeatures, VISION_HIDDEN, { gain: Math.SQRT2, leakyRelu: true }),
    out: new EqualizedDense('vision.out', VISION_HIDDEN, 1, { gain: 1, leakyRelu: false }),
  };
}

function headParams(inFeatures: number): ParamDecl[] {
  const l = headLayers(inFeatures);
  return [...l.hidden.params, ...l.out.params];
}

export function visionHeadParamSpec(inFeatures: number): ParamSpec {
  return paramSpecOf(headParams(inFeatures));
}

/** Official-style init, as the ordinary D: weights N(0, 1) scaled at run time, biases 0. */
export function randomVisionHeadStateDict(inFeatures: number, seed: number | string): StateDict {
  return initialStateDict(headParams(inFeatures), `vision:${seed}`);
}

/** The trainable head: pooled frozen features [B, F] -> logits [B]. */
export class VisionHead {
  readonly inFeatures: number;
  readonly weights: Weights;
  private readonly layers: HeadLayers;

  constructor(inFeatures: number, sd: StateDict, source = 'vision-aided discriminator head') {
    validateStateDict(sd, visionHeadParamSpec(inFeatures), source);
    this.inFeatures = inFeatures;
    this.layers = headLayers(inFeatures);
    this.weights = new Weights(sd, weightSpecsOf(headParams(inFeatures)), true, 'vision.');
  }

  forward(features: tf.Tensor2D): tf.Tensor1D {
    if (features.shape[1] !== this.inFeatures) throw new Error(`vision head takes ${this.inFeatures} features; got ${features.shape[1]}`);
    return tf.tidy(() => tf.reshape(this.layers.out.forward(this.layers.hidden.forward(features, this.weights), this.weights), [-1]) as tf.Tensor1D);
  }

  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
  }
}

/** Mean binary cross-entropy of logits against one target label: softplus(x) - target * x. */
function bceWithLogits(logits: tf.Tensor1D, target: number): tf.Scalar {
  return tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, target)));
}

/** The head's loss: reals toward the smoothed label 0.8, fakes toward 0. */
export function visionDiscriminatorLoss(fakeLogits: tf.Tensor1D, realLogits: tf.Tensor1D): tf.Scalar {
  return tf.add(bceWithLogits(fakeLogits, 0), bceWithLogits(realLogits, VISION_REAL_LABEL));
}

/** G's loss against the head: fakes toward the smoothed real label. */
export function visionGeneratorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
  return bceWithLogits(fakeLogits, VISION_REAL_LABEL);
}
