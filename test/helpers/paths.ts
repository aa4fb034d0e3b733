/** Where the shared, read-only reference data lives (never copied into the project). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHARED = join(REPO_ROOT, '..', 'shared');
export const PARITY_CASES = join(SHARED, 'parity', 'cases');
export const LFW_IMAGES = join(SHARED, 'datasets', 'lfw', 'images');
export function caseDir(name: string): string {
  return join(PARITY_CASES, name);
}
