/** Small file helpers: atomic writes, so a crash never leaves half a result. */
import { existsSync, renameSync, writeFileSync } from 'node:fs';

export function writeFileAtomic(path: string, data: string | Uint8Array, force = false): void {
  if (!force && existsSync(path)) throw new Error(`${path} already exists; pass --force to overwrite`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown, force = false): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 1)}\n`, force);
}
