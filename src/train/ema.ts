/** Exponential moving average of weights (the generator that is sampled and shipped). */
import * as tf from '@tensorflow/tfjs-core';

/** beta = 0.5^(batch / halfLife), the half-life ramped up to rampup * imagesSeen (StyleGAN2-ADA). */
export function emaBeta(batch: number, halfLifeImages: number, rampup: number, imagesSeen: number): number {
  const halfLife = rampup > 0 ? Math.min(halfLifeImages, Math.max(imagesSeen * rampup, 1)) : halfLifeImages;
  return 0.5 ** (batch / halfLife);
}

/** ema <- param + beta * (ema - param), in place. */
export function updateEma(ema: readonly tf.Variable[], params: readonly tf.Variable[], beta: number): void {
  if (ema.length !== params.length) throw new Error(`EMA has ${ema.length} variables, the model ${params.length}`);
  tf.tidy(() => {
    ema.forEach((e, i) => e.assign(tf.add(params[i], tf.mul(tf.sub(e, params[i]), beta))));
  });
}
