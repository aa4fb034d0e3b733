/**
 * A face dataset's photos in the FFHQ alignment at a given side, from the dataset cache (built
 * on first use: about a third of a second per photo here, then instant). This is what
 * `pulse train --crop ffhq` trains on, and what evaluation should compare against, e.g. the
 * aligned LFW dev faces: `await alignedFaces('../shared/datasets/lfw', 'dev', 64)`.
 *
 * Photos where no face is found are left out; `cache.header.skipped` lists them with the reason.
 */
import { resolve } from 'node:path';
import { prepareDatasetCache, type DatasetCache, type DatasetCacheOptions } from './dataset-cache.js';
import { listFaces, type Split } from './face-folder.js';

export async function alignedFaces(
  dataDir: string,
  split: Split | 'all',
  size: number,
  options: Pick<DatasetCacheOptions, 'cacheDir' | 'onProgress' | 'warn' | 'rebuild'> = {},
): Promise<DatasetCache & { built: boolean }> {
  const faces = await listFaces(resolve(dataDir), { split });
  return prepareDatasetCache(faces, { ...options, crop: 'ffhq', size });
}
