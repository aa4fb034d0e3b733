/**
 * CelebA-HQ (Karras et al. 2018): the 1024 px faces the PULSE paper measures on (16x16 -> 1024,
 * 64x). The project reads a copy in place and never stores one: `PULSE_CELEBAHQ` names a folder
 * (its images, or images/ with a manifest.csv as ../shared/datasets/celebahq has), else
 * `../shared/datasets/celebahq` beside the checkout is used when present. Non-commercial
 * research use only (the set's manifest names each file's source and licence).
 *
 * How its faces meet a model (`celebahqCrop`): a 1024 px model takes them as they are, the paper's
 * protocol (CelebA-HQ's own alignment, close to FFHQ's); a model at another size takes each face
 * aligned to its training convention at its resolution, as `pulse bench-data --model` does.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RealFaceConvention } from '../eval/evaluate-model.js';
import { repoRoot } from '../util/repo-root.js';
import { type BenchCrop, cropForConvention } from './bench-data.js';
import { IMAGE_EXTENSIONS } from '../data/face-folder.js';

type Env = Readonly<Record<string, string | undefined>>;

/** CelebA-HQ's side; the paper's HR size. */
export const CELEBAHQ_SIZE = 1024;

function holdsImages(dir: string): boolean {
  const images = existsSync(join(dir, 'images')) ? join(dir, 'images') : dir;
  if (!existsSync(images) || !statSync(images).isDirectory()) return false;
  return readdirSync(images).some((n) => IMAGE_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e)));
}

/**
 * The CelebA-HQ folder: PULSE_CELEBAHQ (an error naming it when it holds no images), else
 * ../shared/datasets/celebahq beside the checkout, else null.
 */
export function celebahqDir(env: Env = process.env, root: string = repoRoot()): string | null {
  const given = (env.PULSE_CELEBAHQ ?? '').trim();
  if (given !== '') {
    const dir = resolve(given);
    if (!holdsImages(dir)) throw new Error(`PULSE_CELEBAHQ=${dir} holds no images (itself or in images/); name a folder of CelebA-HQ faces, or unset it`);
    return dir;
  }
  const shared = join(root, '..', 'shared', 'datasets', 'celebahq');
  return holdsImages(shared) ? shared : null;
}

/** The crop for CelebA-HQ faces and a model: `center` (the set as it is) at 1024 px, else the model's convention. */
export function celebahqCrop(resolution: number, convention: RealFaceConvention): BenchCrop {
  return resolution === CELEBAHQ_SIZE ? 'center' : cropForConvention(convention, 'folder');
}
