/**
 * An experiment config: a researcher's grid of images x seeds x PULSE hyperparameters, as JSON
 * (format in experiments/README.md). `parseExperimentConfig` checks every field and names the
 * one that is wrong and what would work; relative paths are resolved against `baseDir` (the
 * folder `pulse` runs in, like every other path the CLI takes).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkFactor } from '../pulse/bicubic.js';
import { DEFAULT_PULSE_OPTIONS, type PulseOptions, parseBadNoiseLayers, resolveOptions } from '../pulse/options.js';
import { SPLITS, type Split } from '../data/face-folder.js';

/** PULSE hyperparameters an experiment may set (the seed comes from `seeds`). */
export type OptionField = Exclude<keyof PulseOptions, 'seed'>;
export type OptionValues = Partial<Omit<PulseOptions, 'seed'>>;

/** The fields that `base` and `grid` accept, in the order PulseOptions lists them. */
export const OPTION_FIELDS = Object.keys(DEFAULT_PULSE_OPTIONS) as OptionField[];

export type CropName = 'lfw' | 'center';
export const CROP_NAMES: readonly CropName[] = ['lfw', 'center'];

export interface LfwSplitInput {
  /** Absolute path of the dataset folder (manifest.csv + images/). */
  readonly dir: string;
  readonly split: Split;
  /** The first `count` faces of the split, by file name. */
  readonly count: number;
  readonly crop: CropName;
}

export interface FileInput {
  /** The path as written in the config (the image's id in results). */
  readonly given: string;
  /** Absolute path. */
  readonly path: string;
}

export interface ExperimentInputs {
  readonly lfwSplit?: LfwSplitInput;
  readonly files?: readonly FileInput[];
  /** HR -> LR downscaling factor (power of two). */
  readonly factor: number;
}

/** A checked config with paths resolved. */
export interface ExperimentConfig {
  readonly name: string;
  readonly description?: string;
  /** Absolute model path, or null for the built-in model. */
  readonly model: string | null;
  readonly inputs: ExperimentInputs;
  readonly seeds: readonly number[];
  /** Options every run shares (normalised: badNoiseLayers as numbers). */
  readonly base: OptionValues;
  /** Grid axes, keys sorted, values normalised. */
  readonly grid: Readonly<Record<string, readonly unknown[]>>;
  /** The grid's keys, sorted (the axis order of the cartesian product). */
  readonly gridKeys: readonly OptionField[];
  /** Absolute results folder. */
  readonly out: string;
  readonly saveImages: boolean;
  /** Where the config came from (for messages). */
  readonly source: string;
}

const TOP_KEYS = ['name', 'description', 'model', 'inputs', 'seeds', 'base', 'grid', 'out', 'saveImages'] as const;
const INPUT_KEYS = ['lfwSplit', 'files', 'factor'] as const;
const LFW_KEYS = ['dir', 'split', 'count', 'crop'] as const;

/** Reads and checks a config file. */
export function loadExperimentConfig(path: string, options: { baseDir?: string } = {}): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read experiment config ${path}: ${code === 'ENOENT' ? 'no such file' : String(err)}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`experiment config ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseExperimentConfig(raw, { source: path, baseDir: options.baseDir });
}

/** Checks a parsed config; every error names the field and what would work. */
export function parseExperimentConfig(raw: unknown, options: { source?: string; baseDir?: string } = {}): ExperimentConfig {
  const source = options.source ?? 'experiment config';
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const fail = (field: string, problem: string): never => {
    throw new Error(`${source}: ${field}: ${problem}`);
  };
  if (!isObject(raw)) fail('(top level)', `expected a JSON object { name, inputs, seeds, base, grid, ... }, got ${describe(raw)}`);
  const cfg = raw as Record<string, unknown>;
  checkKeys(cfg, TOP_KEYS, '', fail);

  // name
  const name = cfg.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    fail('name', `${describe(name)} must be a folder-safe name (letters, digits, '.', '_', '-'), e.g. "quick-ablation"`);
  }
  const description = cfg.description;
  if (description !== undefined && typeof description !== 'string') fail('description', `${describe(description)} must be a string`);

  // model
  const model = cfg.model;
  if (model !== undefined && (typeof model !== 'string' || model.trim() === '')) {
    fail('model', `${describe(model)} must be a path to a model directory or synthesis .pt (or leave it out for the built-in model)`);
  }

  // inputs
  if (!isObject(cfg.inputs)) fail('inputs', `${describe(cfg.inputs)} must be an object { lfwSplit | files, factor }`);
  const inputs = cfg.inputs as Record<string, unknown>;
  checkKeys(inputs, INPUT_KEYS, 'inputs.', fail);
  if (inputs.factor === undefined) fail('inputs.factor', 'is missing; give the HR -> LR downscaling factor, a power of two such as 8');
  if (typeof inputs.factor !== 'number') fail('inputs.factor', `${describe(inputs.factor)} must be a number, a power of two such as 8`);
  try {
    checkFactor(inputs.factor as number);
  } catch (err) {
    fail('inputs.factor', message(err));
  }
  if (inputs.lfwSplit === undefined && inputs.files === undefined) {
    fail('inputs', 'needs lfwSplit { dir, split, count, crop } or files [paths], or both');
  }
  let lfwSplit: LfwSplitInput | undefined;
  if (inputs.lfwSplit !== undefined) {
    const l = inputs.lfwSplit;
    if (!isObject(l)) fail('inputs.lfwSplit', `${describe(l)} must be an object { dir, split, count, crop }`);
    const lo = l as Record<string, unknown>;
    checkKeys(lo, LFW_KEYS, 'inputs.lfwSplit.', fail);
    if (typeof lo.dir !== 'string' || lo.dir === '') fail('inputs.lfwSplit.dir', `${describe(lo.dir)} must be the dataset folder, e.g. "../shared/datasets/lfw"`);
    if (!SPLITS.includes(lo.split as Split)) fail('inputs.lfwSplit.split', `${describe(lo.split)} must be one of: ${SPLITS.join(', ')}`);
    if (!Number.isInteger(lo.count) || (lo.count as number) < 1) fail('inputs.lfwSplit.count', `${describe(lo.count)} must be a positive integer`);
    const crop = lo.crop ?? 'lfw';
    if (!CROP_NAMES.includes(crop as CropName)) fail('inputs.lfwSplit.crop', `${describe(crop)} must be one of: ${CROP_NAMES.join(', ')}`);
    lfwSplit = { dir: resolve(baseDir, lo.dir as string), split: lo.split as Split, count: lo.count as number, crop: crop as CropName };
  }
  let files: FileInput[] | undefined;
  if (inputs.files !== undefined) {
    const f = inputs.files;
    if (!Array.isArray(f) || f.length === 0) fail('inputs.files', `${describe(f)} must be a non-empty array of image paths`);
    const seen = new Set<string>();
    files = (f as unknown[]).map((p, i) => {
      if (typeof p !== 'string' || p === '') fail(`inputs.files[${i}]`, `${describe(p)} must be an image path`);
      if (seen.has(p as string)) fail(`inputs.files[${i}]`, `${JSON.stringify(p)} is listed twice`);
      seen.add(p as string);
      return { given: p as string, path: resolve(baseDir, p as string) };
    });
  }

  // seeds
  const seeds = cfg.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0) fail('seeds', `${describe(seeds)} must be a non-empty array of integers, e.g. [1, 2]`);
  const seedSet = new Set<number>();
  (seeds as unknown[]).forEach((s, i) => {
    if (!Number.isSafeInteger(s)) fail(`seeds[${i}]`, `${describe(s)} must be an integer`);
    if (seedSet.has(s as number)) fail(`seeds[${i}]`, `${s} is listed twice`);
    seedSet.add(s as number);
  });

  // base
  const rawBase = cfg.base ?? {};
  if (!isObject(rawBase)) fail('base', `${describe(rawBase)} must be an object of PULSE options, e.g. { "steps": 100 }`);
  const base: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rawBase as Record<string, unknown>)) {
    const field = checkField(key, `base.${key}`, fail);
    base[field] = normaliseValue(field, value, `base.${key}`, fail);
  }
  try {
    resolveOptions({ ...(base as OptionValues), seed: 0 });
  } catch (err) {
    fail('base', message(err));
  }

  // grid
  const rawGrid = cfg.grid ?? {};
  if (!isObject(rawGrid)) fail('grid', `${describe(rawGrid)} must be an object { field: [values...] }, e.g. { "steps": [50, 100] }`);
  const grid: Record<string, unknown[]> = {};
  for (const [key, values] of Object.entries(rawGrid as Record<string, unknown>)) {
    const field = checkField(key, `grid.${key}`, fail);
    if (key in base) fail(`grid.${key}`, `is also set in base; keep each option in one place (base for fixed values, grid for varied ones)`);
    if (!Array.isArray(values) || values.length === 0) {
      fail(`grid.${key}`, `${describe(values)} must be a non-empty array of values, e.g. [${JSON.stringify(DEFAULT_PULSE_OPTIONS[field])}]`);
    }
    const seen = new Set<string>();
    grid[field] = (values as unknown[]).map((v, i) => {
      const where = `grid.${key}[${i}]`;
      const norm = normaliseValue(field, v, where, fail);
      try {
        resolveOptions({ ...(base as OptionValues), [field]: norm, seed: 0 });
      } catch (err) {
        fail(where, message(err));
      }
      const k = canonicalJson(norm);
      if (seen.has(k)) fail(where, `${JSON.stringify(v)} is listed twice`);
      seen.add(k);
      return norm;
    });
  }
  const gridKeys = (Object.keys(grid) as OptionField[]).sort();
  const sortedGrid: Record<string, unknown[]> = {};
  for (const k of gridKeys) sortedGrid[k] = grid[k];

  // out, saveImages
  const out = cfg.out;
  if (out !== undefined && (typeof out !== 'string' || out === '')) fail('out', `${describe(out)} must be a folder path (default experiments/results/<name>)`);
  const saveImages = cfg.saveImages ?? false;
  if (typeof saveImages !== 'boolean') fail('saveImages', `${describe(saveImages)} must be true or false`);

  return {
    name: name as string,
    ...(description !== undefined ? { description: description as string } : {}),
    model: model === undefined ? null : resolve(baseDir, model as string),
    inputs: { ...(lfwSplit ? { lfwSplit } : {}), ...(files ? { files } : {}), factor: inputs.factor as number },
    seeds: seeds as number[],
    base: base as OptionValues,
    grid: sortedGrid,
    gridKeys,
    out: out === undefined ? join(baseDir, 'experiments', 'results', name as string) : resolve(baseDir, out as string),
    saveImages: saveImages as boolean,
    source,
  };
}

// ---------------------------------------------------------------------------------------------

/** JSON with object keys sorted at every level (so key order never changes a hash). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

type Fail = (field: string, problem: string) => never;

function checkField(key: string, where: string, fail: Fail): OptionField {
  if (key === 'seed') fail(where, 'seeds are not an option here; list them in the top-level "seeds" array');
  if (!(OPTION_FIELDS as string[]).includes(key)) {
    const hint = closest(key, OPTION_FIELDS);
    fail(where, `"${key}" is not a PULSE option${hint ? ` (did you mean "${hint}"?)` : ''}; options: ${OPTION_FIELDS.join(', ')}`);
  }
  return key as OptionField;
}

/** Type-checks one option value against its default's type; badNoiseLayers also takes "3.17". */
function normaliseValue(field: OptionField, value: unknown, where: string, fail: Fail): unknown {
  const def = DEFAULT_PULSE_OPTIONS[field];
  const example = JSON.stringify(def);
  if (Array.isArray(def)) {
    if (typeof value === 'string') {
      try {
        return parseBadNoiseLayers(value);
      } catch (err) {
        fail(where, message(err));
      }
    }
    if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0)) {
      fail(where, `${describe(value)} must be an array of layer indices (integers >= 0), e.g. ${example}`);
    }
    return [...(value as number[])];
  }
  if (typeof def === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, `${describe(value)} must be a number, e.g. ${example}`);
    return value;
  }
  if (typeof def === 'string') {
    if (typeof value !== 'string') fail(where, `${describe(value)} must be a string, e.g. ${example}`);
    return value;
  }
  if (typeof def === 'boolean') {
    if (typeof value !== 'boolean') fail(where, `${describe(value)} must be true or false`);
    return value;
  }
  return value;
}

function checkKeys(obj: Record<string, unknown>, known: readonly string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const hint = closest(key, known);
      fail(`${prefix}${key}`, `is not a known field${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${known.join(', ')}`);
    }
  }
}

/** The known name within edit distance 3 of `word` (case-insensitive), if any. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
