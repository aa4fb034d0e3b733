/** Where the project's checkout is, and paths written relative to it (no machine's absolute paths in committed files). */
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

/**
 * `path` relative to the checkout (e.g. "../shared/datasets/lfw", "models/default") for
 * reports and metadata that are committed, when it lies inside the checkout or beside it;
 * otherwise (a temporary folder, another disk) the absolute path.
 */
export function portablePath(path: string, root: string = repoRoot()): string {
  const abs = resolve(path);
  const rel = relative(root, abs).split('\\').join('/');
  if (rel === '') return '.';
  if (isAbsolute(rel) || rel === '../..' || rel.startsWith('../../')) return abs;
  return rel;
}
