/**
 * Every measurement of one benchmark output, on its 8-bit form (what the PNG holds): NIQE, PSNR,
 * SSIM, LR consistency and identity (the fields of `BenchOutput`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type RgbImage, toBytesLikeTorchvision } from '../io/image.js';
import type { NiqeParams } from '../metrics/niqe-model.js';
import { niqe, upscaleForNiqe } from '../metrics/niqe.js';
import { psnr } from '../metrics/psnr.js';
import { rgbToY } from '../metrics/color.js';
import { ssim, ssimY } from '../metrics/ssim.js';
import type { BicubicDownsampler } from '../pulse/bicubic.js';
import type { BenchmarkConfig } from './benchmark-config.js';
import type { LoadedFace } from './face-cache.js';
import { type IdentityResult, compareIdentity, describe } from './identity.js';
import type { BenchOutput } from './result-line.js';

/** What measuring needs of a run's context. */
export interface MeasureContext {
  readonly config: BenchmarkConfig;
  /** null: NIQE is not measured (config.niqe.missing says why). */
  readonly niqeParams: NiqeParams | null;
  readonly down: BicubicDownsampler;
}

const sig = (x: number): number => Number(x.toPrecision(6));

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** Every measurement of one output, on its 8-bit form (what the PNG holds). */
export async function measureOutput(
  image: RgbImage,
  face: LoadedFace,
  ctx: MeasureContext,
): Promise<Omit<BenchOutput, 'image' | 'seed'>> {
  const { config } = ctx;
  const { width, height } = image;
  const bytes = toBytesLikeTorchvision(image.data);
  const asFloat: RgbImage = { width, height, data: Float32Array.from(bytes, (b) => b / 255) };
  // NIQE under the small-image protocol, for every method alike (HR included).
  const up = upscaleForNiqe({ width, height, data: bytes }, config.niqe.minSide);
  let niqeValue: number | null = null;
  let niqeError: string | undefined;
  if (ctx.niqeParams === null) {
    niqeError = `NIQE not measured: ${config.niqe.missing ?? 'no NIQE model'}`;
  } else {
    try {
      niqeValue = niqe(up.data, up.width, up.height, ctx.niqeParams);
    } catch (err) {
      niqeError = err instanceof Error ? err.message : String(err);
    }
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  const yA = rgbToY(bytes, width, height);
  const yB = rgbToY(face.hrBytes, width, height);
  const lrOut = tf.tidy(() => ctx.down.apply(tf.tensor4d(asFloat.data, [1, height, width, 3])));
  const lrData = (await lrOut.data()) as Float32Array;
  lrOut.dispose();
  const lrMse = mse(lrData, face.lr.data);
  let identity: IdentityResult | null = null;
  let descriptor: number[] | null = null;
  if (config.identity) {
    face.hrDescriptor ??= describe([face.hr]).then((d) => d[0]);
    const hrD = await face.hrDescriptor;
    const srD = bytes.every((b, i) => b === face.hrBytes[i]) ? hrD : (await describe([asFloat]))[0];
    identity = compareIdentity(srD, hrD, config.sameThreshold);
    descriptor = srD ? Array.from(srD, sig) : null;
  }
  return {
    niqe: niqeValue,
    ...(niqeError ? { niqeError } : {}),
    niqeUpscale: up.factor,
    psnr: finite(psnr(bytes, face.hrBytes)),
    psnrY: finite(psnr(yA, yB)),
    ssim: ssim(bytes, face.hrBytes, width, height, 3),
    ssimY: ssimY(bytes, face.hrBytes, width, height),
    lrMse,
    success: lrMse <= config.eps,
    identity,
    descriptor,
  };
}
