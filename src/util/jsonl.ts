/** JSON Lines files read whole: one value per non-blank line, an error naming file and line otherwise. */
import { readFileSync } from 'node:fs';

/** The values of `path`'s non-blank lines with their 1-based line numbers. */
export function readJsonLines<T>(path: string): { line: number; value: T }[] {
  const out: { line: number; value: T }[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      try {
        out.push({ line: i + 1, value: JSON.parse(text) as T });
      } catch (err) {
        throw new Error(`${path}:${i + 1} is not a JSON line (${(err as Error).message})`);
      }
    });
  return out;
}
