/**
 * Where test data lives. The project's own fixtures (test/fixtures) are always there; the
 * shared, read-only reference data (../shared, never copied into the project) is beside a
 * checkout on the project's machines but not in a user's clone: tests that need it are
 * skipped there, with `NEEDS_SHARED` in their titles, never counted as passed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHARED = join(REPO_ROOT, '..', 'shared');
export const PARITY_CASES = join(SHARED, 'parity', 'cases');
export const LFW_DIR = join(SHARED, 'datasets', 'lfw');
export const LFW_IMAGES = join(LFW_DIR, 'images');
export const SHARED_METRICS = join(SHARED, 'metrics');
/** 107 CelebA-HQ faces at 1024 px (manifest.csv + images/; research use, never copied). */
export const CELEBAHQ_DIR = join(SHARED, 'datasets', 'celebahq');

export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** The project's own small parity case (scripts/parity/make-fixture-case.sh). */
export const FIXTURE_CASE = join(FIXTURES, 'parity', 'f32');
/** Faces models/default generates (scripts/fixtures/make-faces.ts), 64 px. */
export const FIXTURE_FACES = join(FIXTURES, 'faces');
/** NIQE/PSNR/SSIM references in the layout of ../shared/metrics (scripts/fixtures/record-metrics.py). */
export const FIXTURE_METRICS = join(FIXTURES, 'metrics');

export const HAVE_SHARED_PARITY = existsSync(join(PARITY_CASES, 'p64', 'case.json'));
export const HAVE_LFW = existsSync(join(LFW_DIR, 'manifest.csv'));
export const HAVE_CELEBAHQ = existsSync(join(CELEBAHQ_DIR, 'images'));
export const HAVE_SHARED_METRICS = existsSync(join(SHARED_METRICS, 'niqe_pris_params.json'));

/** Title suffix of a test skipped when ../shared lacks `what` (vitest reports it as skipped). */
export function needsShared(what: string): string {
  return `[needs ../shared/${what}; skipped without it]`;
}

/** The shared parity cases' names (none without ../shared). */
export function sharedCaseNames(): string[] {
  if (!existsSync(PARITY_CASES)) return [];
  return readdirSync(PARITY_CASES)
    .filter((d) => existsSync(join(PARITY_CASES, d, 'case.json')))
    .sort();
}

export function caseDir(name: string): string {
  return name === 'f32' ? FIXTURE_CASE : join(PARITY_CASES, name);
}
