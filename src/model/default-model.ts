/**
 * The built-in model: the small face StyleGAN the project trains itself (models/default),
 * used whenever no --model is named.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

export const DEFAULT_MODEL_NAME = 'default';

export function defaultModelPath(): string {
  const dir = join(repoRoot(), 'models', DEFAULT_MODEL_NAME);
  if (!existsSync(join(dir, 'model.json'))) {
    throw new Error(
      `no --model given and the built-in model ${dir} is missing; pass --model <model dir or synthesis.pt> (see README: published FFHQ weights)`,
    );
  }
  return dir;
}
