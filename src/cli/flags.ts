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
