/**
 * Parsers for command-line flag values, for commander's argParser: integers, numbers and
 * comma lists, each checked, with an error that names the flag, repeats the value and says
 * what would work. Every command uses these (no bare Number() on a flag).
 */

export interface NumberBounds {
  /** Smallest allowed value (inclusive). */
  readonly min?: number;
  /** Largest allowed value (inclusive). */
  readonly max?: number;
  /** Values must be strictly greater than this. */
  readonly above?: number;
}

function describeBounds(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(`>= ${b.min}`);
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.max !== undefined) parts.push(`<= ${b.max}`);
  return parts.join(' and ');
}

function checkBounds(flag: string, text: string, n: number, kind: string, b: NumberBounds): number {
  const ok = (b.min === undefined || n >= b.min) && (b.max === undefined || n <= b.max) && (b.above === undefined || n > b.above);
  if (!ok) throw new Error(`--${flag} "${text}" must be ${kind} ${describeBounds(b)}`);
  return n;
}

/** Parses one integer (e.g. "100", "1e4"); `flag` is the flag's name without dashes. */
export function parseInteger(flag: string, text: string, bounds: NumberBounds = {}): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n)) throw new Error(`--${flag} "${text}" is not an integer`);
  return checkBounds(flag, text, n, 'an integer', bounds);
}

/** Parses one finite number (e.g. "0.4", "2e-3"). */
export function parseNumber(flag: string, text: string, bounds: NumberBounds = {}): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} "${text}" is not a number`);
  return checkBounds(flag, text, n, 'a number', bounds);
}

/** Parses "a,b,c" with `item` for each element; an empty element is an error. */
export function parseList<T>(flag: string, text: string, item: (flag: string, text: string) => T): T[] {
  return text.split(',').map((s) => {
    if (s.trim() === '') throw new Error(`--${flag} "${text}" has an empty element; give a comma-separated list`);
    try {
      return item(flag, s.trim());
    } catch (err) {
      throw new Error(`--${flag} "${text}": ${(err as Error).message.replace(`--${flag} `, 'element ')}`);
    }
  });
}

/** commander argParser for an integer flag. */
export function integerFlag(flag: string, bounds: NumberBounds = {}): (text: string) => number {
  return (text) => parseInteger(flag, text, bounds);
}

/** commander argParser for a number flag. */
export function numberFlag(flag: string, bounds: NumberBounds = {}): (text: string) => number {
  return (text) => parseNumber(flag, text, bounds);
}

/** commander argParser for a comma list of integers. */
export function integerListFlag(flag: string, bounds: NumberBounds = {}): (text: string) => number[] {
  return (text) => parseList(flag, text, (f, t) => parseInteger(f, t, bounds));
}

/**
 * Parses a seeds flag (`pulse benchmark --seeds`): a count N, for N runs with seeds base,
 * base + d, ..., base + (N - 1) d where d = `duplicates` (run seed s makes solutions s .. s + d - 1,
 * so no two solutions share a seed), or an explicit comma list "1,5,9", whose seeds must then be
 * at least `duplicates` apart for the same reason. A single seed is the list's one element: "5,"
 * is not accepted; give the count 1 and the base seed instead.
 */
export function parseSeeds(flag: string, text: string, base: number, duplicates: number): number[] {
  if (!Number.isSafeInteger(base)) throw new Error(`--${flag}: the base seed ${base} is not an integer`);
  if (!Number.isSafeInteger(duplicates) || duplicates < 1) throw new Error(`--${flag}: duplicates ${duplicates} must be an integer >= 1`);
  const t = text.trim();
  if (!t.includes(',')) {
    const n = Number(t);
    if (t === '' || !Number.isSafeInteger(n) || n < 1) throw new Error(`--${flag} "${text}" must be a count >= 1 or a comma-separated list of seeds`);
    return Array.from({ length: n }, (_, i) => base + i * duplicates);
  }
  const seeds = parseList(flag, t, (f, s) => parseInteger(f, s));
  const sorted = [...seeds].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new Error(`--${flag} "${text}" lists seed ${sorted[i]} twice`);
    if (sorted[i] - sorted[i - 1] < duplicates) {
      throw new Error(
        `--${flag} "${text}": seeds ${sorted[i - 1]} and ${sorted[i]} are closer than --duplicates ${duplicates}, so their solutions would share seeds; space them at least ${duplicates} apart`,
      );
    }
  }
  return seeds;
}
