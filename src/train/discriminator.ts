/**
 * A residual discriminator for `pulse train` (StyleGAN2's "resnet" D without blur filters):
 * fromRGB, then per resolution two 3x3 convs and a 2x average-pool down, with a 1x1 skip
 * path, outputs summed and scaled by 1/sqrt(2); at 4x4 the minibatch-stddev feature, a conv,
 * a dense layer and the logit. Equalised learning rate throughout. Built only from ops whose
 * second derivative tfjs has, so the R1 penalty (a gradient of a gradient) works on every
 * backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { numel } from '../io/state-dict.js';
import { gaussian } from '../util/random.js';
import { type SynthesisConfig, featureMaps, log2Resolution } from '../stylegan/config.js';
import { heScale } from '../stylegan/param-decl.js';
import { validateStateDict, type ParamSpec } from '../stylegan/params.js';
import { type WeightSpec, Weights } from '../stylegan/weights.js';

/** D shares G's width rule (StyleGAN's nf) and resolution. */
export type DiscriminatorConfig = Pick<SynthesisConfig, 'resolution' | 'fmapBase' | 'fmapDecay' | 'fmapMax'> & {
  /** Minibatch-stddev group size (StyleGAN: 4). */
  readonly mbstdGroup: number;
};

export function discriminatorParamSpec(cfg: DiscriminatorConfig): ParamSpec {
  const nf = (stage: number) => featureMaps({ ...cfg, dlatentSize: 512, numChannels: 3 }, stage);
  const top = log2Resolution(cfg.resolution);
  const spec = new Map<string, number[]>();
  spec.set('fromrgb.weight', [nf(top - 1), 3, 1, 1]);
  spec.set('fromrgb.bias', [nf(top - 1)]);
  for (let r = top; r >= 3; r--) {
    const s = 2 ** r;
    const cin = nf(r - 1);
    const cout = nf(r - 2);
    spec.set(`blocks.${s}x${s}.conv0.weight`, [cin, cin, 3, 3]);
    spec.set(`blocks.${s}x${s}.conv0.bias`, [cin]);
    spec.set(`blocks.${s}x${s}.conv1.weight`, [cout, cin, 3, 3]);
    spec.set(`blocks.${s}x${s}.conv1.bias`, [cout]);
    spec.set(`blocks.${s}x${s}.skip.weight`, [cout, cin, 1, 1]);
  }
  const c4 = nf(1);
  spec.set('final.conv.weight', [c4, c4 + 1, 3, 3]);
  spec.set('final.conv.bias', [c4]);
  spec.set('final.dense.weight', [c4, c4 * 16]);
  spec.set('final.dense.bias', [c4]);
  spec.set('final.out.weight', [1, c4]);
  spec.set('final.out.bias', [1]);
  return spec;
}

function weightSpecs(cfg: DiscriminatorConfig): Map<string, WeightSpec> {
  const specs = new Map<string, WeightSpec>();
  for (const [name, shape] of discriminatorParamSpec(cfg)) {
    if (name.endsWith('.bias')) specs.set(name, { layout: 'plain', scale: 1, trainable: true });
    else if (shape.length === 4) specs.set(name, { layout: 'conv', scale: heScale(shape[1] * shape[2] * shape[3], name.endsWith('skip.weight') ? 1 : Math.SQRT2), trainable: true });
    else specs.set(name, { layout: 'linear', scale: heScale(shape[1], name === 'final.out.weight' ? 1 : Math.SQRT2), trainable: true });
  }
  return specs;
}

/** Official-style init: weights N(0, 1) (scaled at run time), biases 0. */
export function randomDiscriminatorStateDict(cfg: DiscriminatorConfig, seed: number | string): StateDict {
  const sd: StateDict = new Map();
  for (const [name, shape] of discriminatorParamSpec(cfg)) {
    sd.set(name, { shape, data: name.endsWith('.bias') ? new Float32Array(numel(shape)) : gaussian(`disc:${seed}:${name}`, numel(shape)) });
  }
  return sd;
}

/** 2x2 average pooling by reshape + mean (rank 5), differentiable twice everywhere. */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.mean(tf.reshape(x, [b * (h / 2), 2, w / 2, 2, c]), [1, 3]), [b, h / 2, w / 2, c]) as tf.Tensor4D;
}

/** StyleGAN's minibatch standard deviation feature, appended as one channel. */
export function minibatchStddev(x: tf.Tensor4D, groupSize: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = Math.min(groupSize, b);
  if (b % g !== 0) throw new Error(`batch ${b} is not a multiple of the minibatch-stddev group ${g}`);
  const y = tf.reshape(x, [g, b / g, h, w, c]);
  const centred = tf.sub(y, tf.mean(y, 0, true));
  const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [b/g, h, w, c]
  const perGroup = tf.mean(std, [1, 2, 3]); // [b/g]
  // sample i = k * (b/g) + j belongs to group j (tile's gradient exists up to rank 4)
  const perSample = tf.reshape(tf.tile(tf.reshape(perGroup, [1, b / g]), [g, 1]), [b, 1, 1, 1]);
  return tf.concat([x, tf.tile(perSample, [1, h, w, 1]) as tf.Tensor4D], 3);
}

export class Discriminator {
  readonly config: DiscriminatorConfig;
  readonly weights: Weights;

  constructor(config: DiscriminatorConfig, sd: StateDict, source = 'discriminator') {
    validateStateDict(sd, discriminatorParamSpec(config), source);
    this.config = config;
    this.weights = new Weights(sd, weightSpecs(config), true, 'disc.');
  }

  /** images [B, R, R, 3] in [-1, 1] -> logits [B]. */
  forward(images: tf.Tensor4D): tf.Tensor1D {
    const w = (n: string) => this.weights.get(n);
    const conv = (x: tf.Tensor4D, name: string, act: boolean) => {
      const y = tf.add(tf.conv2d(x, w(`${name}.weight`) as tf.Tensor4D, 1, 'same'), w(`${name}.bias`)) as tf.Tensor4D;
      return act ? (tf.leakyRelu(y, 0.2) as tf.Tensor4D) : y;
    };
    return tf.tidy(() => {
      const top = log2Resolution(this.config.resolution);
      let x = conv(images, 'fromrgb', true);
      for (let r = top; r >= 3; r--) {
        const p = `blocks.${2 ** r}x${2 ** r}`;
        const skip = tf.conv2d(downsample2x(x), w(`${p}.skip.weight`) as tf.Tensor4D, 1, 'same');
        let y = conv(x, `${p}.conv0`, true);
        y = downsample2x(conv(y, `${p}.conv1`, true));
        x = tf.mul(tf.add(y, skip), Math.SQRT1_2) as tf.Tensor4D;
      }
      x = minibatchStddev(x, this.config.mbstdGroup);
      x = conv(x, 'final.conv', true);
      const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      const h = tf.leakyRelu(tf.add(tf.matMul(flat, w('final.dense.weight') as tf.Tensor2D), w('final.dense.bias')), 0.2) as tf.Tensor2D;
      const out = tf.add(tf.matMul(h, w('final.out.weight') as tf.Tensor2D), w('final.out.bias'));
      return tf.reshape(out, [-1]) as tf.Tensor1D;
    });
  }

  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
  }
}
