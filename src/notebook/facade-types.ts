/**
 * Types for the notebooks' one import, src/notebook/index.ts.
 *
 * tslab compiles each cell with the notebook's folder as its root: a cell cannot import a `.ts`
 * file outside it, not even for its types (tslab type-checks and emits every `.ts` a cell
 * depends on, and refuses an emit path outside its folder). Declaration files are neither
 * checked nor emitted, so the first cell calls `ensureFacadeTypes()`, which writes the facade's
 * declarations (tsc, declarations only, no type check) into `.cache/notebook-types/` (git-ignored)
 * when any `src/**.ts` is newer than the last ones, and the next cell types the facade it
 * `require`s with `typeof import('../.cache/notebook-types/notebook/index')`. About 10 s after
 * a change to src; nothing otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

/** Where the declarations go, relative to the checkout (the notebooks' cells name it too). */
export const FACADE_TYPES_DIR = '.cache/notebook-types';

/** The facade, relative to src/. */
export const FACADE_ENTRY = 'notebook/index.ts';

/** Written after a successful generation; its time is what the sources are compared with. */
const STAMP = '.generated';

/** The newest modification time (ms) of the `.ts` files under `dir`, recursively; 0 when none. */
export function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether the declarations in `typesDir` were generated after the last change under `srcDir`. */
export function facadeTypesCurrent(typesDir: string, srcDir: string): boolean {
  const stamp = join(typesDir, STAMP);
  if (!existsSync(stamp) || !existsSync(join(typesDir, FACADE_ENTRY.replace(/\.ts$/, '.d.ts')))) return false;
  return statSync(stamp).mtimeMs >= newestSourceTime(srcDir);
}

/** The tsc arguments that write the facade's declarations from `root`'s src into `outDir`. */
export function facadeTscArgs(root: string, outDir: string): string[] {
  // The project's own settings (tsconfig.json), minus noEmit; --noCheck: declarations only,
  // since `tsc --noEmit` (npm test) is what checks the types.
  return [
    join(root, 'src', FACADE_ENTRY),
    ...['--declaration', '--emitDeclarationOnly', '--noCheck', '--outDir', outDir, '--rootDir', join(root, 'src')],
    ...['--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck'],
    ...['--esModuleInterop', '--resolveJsonModule', '--types', 'node'],
  ];
}

/**
 * Writes the facade's declarations into `<root>/.cache/notebook-types` unless they are current.
 * Throws with tsc's output when tsc fails.
 */
export function ensureFacadeTypes(root: string = repoRoot()): { dir: string; generated: boolean } {
  const dir = join(root, FACADE_TYPES_DIR);
  if (facadeTypesCurrent(dir, join(root, 'src'))) return { dir, generated: false };
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const tsc = createRequire(import.meta.url).resolve('typescript/lib/tsc.js');
  const run = spawnSync(process.execPath, [tsc, ...facadeTscArgs(root, dir)], { encoding: 'utf8' });
  if (run.status !== 0) {
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() || String(run.error ?? `exit status ${run.status}`);
    throw new Error(`writing the notebooks' types (tsc on src/${FACADE_ENTRY} into ${FACADE_TYPES_DIR}) failed:\n${output}`);
  }
  // The stamp takes the time generation started, so a source saved meanwhile counts as newer.
  const stamp = join(dir, STAMP);
  writeFileSync(stamp, `declarations of src/${FACADE_ENTRY}, for the notebooks' cells\n`);
  utimesSync(stamp, started / 1000, started / 1000);
  return { dir, generated: true };
}
