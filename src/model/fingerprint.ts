/**
 * A short hash of the files that define a model's weights (and of a Gaussian fit given beside
 * it), so results made with one model or fit are never taken for results of another that
 * later sits at the same path.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function filesOf(path: string): string[] {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`model path ${p} does not exist`);
  if (statSync(p).isDirectory()) {
    const candidates = existsSync(join(p, 'model.json'))
      ? ['model.json', 'weights.bin']
      : ['synthesis.pt', 'mapping.pt', 'gaussian_fit.pt'];
    return candidates.map((f) => join(p, f)).filter((f) => existsSync(f));
  }
  return [p, join(dirname(p), 'gaussian_fit.pt')].filter((f) => existsSync(f));
}

/** 16 hex digits of sha256 over the model's files (names and bytes). */
export function modelFingerprint(path: string): string {
  const h = createHash('sha256');
  for (const f of filesOf(path)) {
    h.update(f.slice(f.lastIndexOf('/') + 1));
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

/** 16 hex digits of sha256 over one file's bytes (e.g. a `--gaussian-fit` file; not its name). */
export function fileFingerprint(path: string, what = 'file'): string {
  const p = resolve(path);
  if (!existsSync(p) || !statSync(p).isFile()) throw new Error(`${what} ${p} does not exist or is not a file`);
  return createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
}
