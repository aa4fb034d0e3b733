/**
 * A frozen, pretrained face network as a feature extractor for training (the vision-aided
 * discriminator, vision-discriminator.ts): face-api's age and gender network, whose backbone is
 * a "TinyXception" (an entry convolution, two reduction blocks, two residual blocks of
 * depthwise-separable convolutions, an exit reduction block and one more separable convolution,
 * 112 px in, 7 x 7 x 512 out). Its weights ship in the @vladmandic/face-api package
 * (`age_gender_model`), trained by its authors to tell age and gender.
 *
 * face-api runs the network for inference only and in its own graph; this is the same forward
 * pass written with the project's tfjs ops, so gradients flow from the features back to the
 * pixels (the generator learns through it) while the weights stay constants. `ageGender` keeps
 * the network's own heads so test/face-features.test.ts can check the pass against face-api's.
 *
 * Why this network: the project's measures use face-api's detector (detection rate), landmark
 * net (alignment) and recognition net (the descriptor of the Frechet distance and diversity), so
 * training against any of those would train against the ruler. The age and gender net is the one
 * face network the measures do not use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faceApiModelDir } from '../eval/face-analysis.js';

/** The side face-api resizes every input to before this network. */
export const AGE_GENDER_INPUT_SIDE = 112;
/** face-api's per-channel means (0-255 scale), subtracted before dividing by 255. */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** The weights' name in face-api's model folder. */
export const AGE_GENDER_MODEL = 'age_gender_model';

interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: tf.io.WeightsManifestEntry[];
}

/** A tfjs weights manifest and its binary files -> named tensors (dequantised as tfjs does). */
function readWeightsManifest(dir: string, model: string): tf.NamedTensorMap {
  const manifestFile = join(dir, `${model}-weights_manifest.json`);
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(readFileSync(manifestFile, 'utf8')) as ManifestGroup[];
  } catch (err) {
    throw new Error(`cannot read ${manifestFile} (${(err as Error).message}); it ships with @vladmandic/face-api: run npm ci`);
  }
  const out: tf.NamedTensorMap = {};
  for (const group of groups) {
    const parts = group.paths.map((p) => readFileSync(join(dir, p)));
    const bytes = Buffer.concat(parts);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    Object.assign(out, tf.io.decodeWeights(buffer, group.weights));
  }
  return out;
}

export interface AgeGender {
  /** Years, [B]. */
  readonly age: tf.Tensor1D;
  /** Softmax over (male, female), [B, 2]: face-api's order. */
  readonly gender: tf.Tensor2D;
}

export class AgeGenderFeatures {
  /** Channels of the pooled feature vector. */
  readonly channels = 512;
  private readonly w: tf.NamedTensorMap;

  private constructor(weights: tf.NamedTensorMap) {
    this.w = weights;
  }

  /** Loads the weights from face-api's model folder (default: the installed package's). */
  static load(dir = faceApiModelDir()): AgeGenderFeatures {
    const weights = readWeightsManifest(dir, AGE_GENDER_MODEL);
    for (const name of ['entry_flow/conv_in/filters', 'exit_flow/separable_conv/pointwise_filter', 'fc/age/weights', 'fc/gender/weights']) {
      if (!weights[name]) throw new Error(`${join(dir, AGE_GENDER_MODEL)}: no tensor ${name}; expected face-api's TinyXception age and gender weights`);
    }
    return new AgeGenderFeatures(weights);
  }

  private t<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const x = this.w[name];
    if (!x) throw new Error(`${AGE_GENDER_MODEL}: missing tensor ${name}`);
    return x as tf.Tensor<R>;
  }

  private conv(x: tf.Tensor4D, name: string, stride: 1 | 2): tf.Tensor4D {
    return tf.add(tf.conv2d(x, this.t<tf.Rank.R4>(`${name}/filters`), stride, 'same'), this.t(`${name}/bias`));
  }

  private separable(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return tf.add(tf.separableConv2d(x, this.t<tf.Rank.R4>(`${name}/depthwise_filter`), this.t<tf.Rank.R4>(`${name}/pointwise_filter`), 1, 'same'), this.t(`${name}/bias`));
  }

  /** Two separable convs, a 3x3 stride-2 max pool, plus a strided 1x1 "expansion" of the input. */
  private reduction(x: tf.Tensor4D, name: string, activateInput: boolean): tf.Tensor4D {
    let y = activateInput ? tf.relu(x) : x;
    y = this.separable(y, `${name}/separable_conv0`);
    y = this.separable(tf.relu(y), `${name}/separable_conv1`);
    y = tf.maxPool(y, 3, 2, 'same');
    return tf.add(y, this.conv(x, `${name}/expansion_conv`, 2));
  }

  private residual(x: tf.Tensor4D, name: string): tf.Tensor4D {
    let y = x;
    for (let i = 0; i < 3; i++) y = this.separable(tf.relu(y), `${name}/separable_conv${i}`);
    return tf.add(y, x);
  }

  /** The backbone on face-api's input: [B, 112, 112, 3] in 0-255 -> [B, 7, 7, 512]. */
  private backbone(pixels255: tf.Tensor4D): tf.Tensor4D {
    const mean = tf.tensor1d([...MEAN_RGB]);
    const x = tf.div(tf.sub(pixels255, mean), 255) as tf.Tensor4D;
    let y = tf.relu(this.conv(x, 'entry_flow/conv_in', 2));
    y = this.reduction(y, 'entry_flow/reduction_block_0', false);
    y = this.reduction(y, 'entry_flow/reduction_block_1', true);
    y = this.residual(y, 'middle_flow/main_block_0');
    y = this.residual(y, 'middle_flow/main_block_1');
    y = this.reduction(y, 'exit_flow/reduction_block', true);
    return tf.relu(this.separable(y, 'exit_flow/separable_conv'));
  }

  /** face-api's input: any-size square images in 0-255, resized bilinearly to 112 px as its NetInput does. */
  private resize(pixels255: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = pixels255.shape;
    if (h !== w) throw new Error(`face features take square images; got ${h}x${w}`);
    return h === AGE_GENDER_INPUT_SIDE ? pixels255 : tf.image.resizeBilinear(pixels255, [AGE_GENDER_INPUT_SIDE, AGE_GENDER_INPUT_SIDE], false, false);
  }

  /** Pooled features [B, 512] (the vector face-api's age and gender heads read), from images in 0-255. */
  pooled255(pixels255: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const f = this.backbone(this.resize(pixels255));
      return tf.reshape(tf.mean(f, [1, 2]), [f.shape[0], -1]) as tf.Tensor2D;
    });
  }

  /** Pooled features [B, 512] of generator-range images (NHWC in [-1, 1]); differentiable in the images. */
  features(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.pooled255(tf.mul(tf.add(images, 1), 127.5) as tf.Tensor4D));
  }

  /** The network's own predictions, for checking the pass against face-api's. */
  ageGender(pixels255: tf.Tensor4D): AgeGender {
    return tf.tidy(() => {
      const p = this.pooled255(pixels255);
      const age = tf.reshape(tf.add(tf.matMul(p, this.t<tf.Rank.R2>('fc/age/weights')), this.t('fc/age/bias')), [-1]) as tf.Tensor1D;
      const gender = tf.softmax(tf.add(tf.matMul(p, this.t<tf.Rank.R2>('fc/gender/weights')), this.t('fc/gender/bias'))) as tf.Tensor2D;
      return { age, gender };
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.w));
  }
}
