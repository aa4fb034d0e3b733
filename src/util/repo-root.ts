/** Where the project's checkout is, and paths written relative to it (no machine's absolute paths in committed files). */
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

/**
 * `path` relative to the checkout (e.g. "../shared/datasets/lfw", "models/default") for
 * reports and metadata that are committed; absolute only when it shares no root with it.
 */
export function portablePath(path: string, root: string = repoRoot()): string {
  const abs = resolve(path);
  const rel = relative(root, abs);
  return rel === '' ? '.' : isAbsolute(rel) ? abs : rel.split('\\').join('/');
}
