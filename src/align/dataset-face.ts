/**
 * One photo of a face dataset -> its subject's face in the FFHQ alignment, as 8-bit RGB: what the
 * dataset cache stores for `crop: 'ffhq'` (src/data/dataset-cache.ts).
 *
 * The subject is the face nearest the photo's centre (LFW photos are centred on the person they
 * are labelled with; others may stand behind). Detection runs LFW_DETECTION (the grey-bordered
 * 1x-border pass first, since deep-funneled LFW faces fill the frame). A photo without a face throws
 * "<file>: no face found", which the cache records as a skipped file.
 */
import { readImage } from '../io/image.js';
import { alignCentralFace } from './align-face.js';
import { LFW_DETECTION } from './detect.js';

/**
 * Version of the alignment recipe (detection protocol, quad, padding, sampling). It is part of
 * the dataset cache key: bump it whenever a change would alter the aligned pixels.
 */
export const FFHQ_ALIGN_VERSION = 1;

export async function alignDatasetFace(path: string, size: number): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { image } = await readImage(path);
  const face = await alignCentralFace(image, { size, detection: LFW_DETECTION }, path);
  return { width: size, height: size, data: face.bytes };
}
