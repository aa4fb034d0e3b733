/**
 * The project's model format ("pulse-ts-model", version 1; docs/model-format.md) without any file
 * system: the index's types, its validation, and the tensors of weights.bin as views onto one
 * ArrayBuffer. src/io/model-format.ts reads and writes model directories with node:fs on top of
 * this; the web page (src/web/model-loader.ts) fetches the same two files and calls it too.
 */
import { numel, shapeString, type StateDict } from './state-dict.js';

export const MODEL_FORMAT_NAME = 'pulse-ts-model';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** Every tensor starts at a multiple of this many bytes in weights.bin. */
export const TENSOR_ALIGNMENT = 64;

/** One entry of the tensor index in model.json. */
export interface TensorIndexEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  /** Byte offset of the first element in weights.bin (a multiple of 64 when written here). */
  offset: number;
  /** Bytes of data: 4 * product(shape). */
  byteLength: number;
  /** Lower-case hex SHA-256 of the tensor's byteLength bytes (optional). */
  sha256?: string;
}

/** The content of model.json. */
export interface ModelJson {
  format: typeof MODEL_FORMAT_NAME;
  version: number;
  config: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  weights: { file: string; byteLength: number; byteOrder: 'little'; alignment: number };
  tensors: TensorIndexEntry[];
}

export interface ModelContents {
  config: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  tensors: StateDict;
}

/** Raised for every problem; the message names the file (and tensor) concerned. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Validates model.json's content and returns it typed. */
function validateModelJson(raw: unknown, jsonPath: string): ModelJson {
  const bad = (why: string): never => {
    throw new ModelFormatError(`${jsonPath} is not a valid pulse-ts model index: ${why}`);
  };
  if (!isPlainObject(raw)) bad('not a JSON object');
  const j = raw as Record<string, unknown>;
  if (j.format !== MODEL_FORMAT_NAME) bad(`format is ${JSON.stringify(j.format)}, expected "${MODEL_FORMAT_NAME}"`);
  if (typeof j.version !== 'number' || !Number.isInteger(j.version)) bad('version is missing');
  if ((j.version as number) > MODEL_FORMAT_VERSION || (j.version as number) < 1) {
    bad(`version ${j.version} is not supported (this reader understands version ${MODEL_FORMAT_VERSION})`);
  }
  if (!isPlainObject(j.config)) bad('config is missing or not an object');
  if (j.metadata !== undefined && !isPlainObject(j.metadata)) bad('metadata is not an object');
  const w = j.weights;
  if (!isPlainObject(w)) bad('weights is missing');
  const weights = w as Record<string, unknown>;
  if (typeof weights.file !== 'string' || weights.file.length === 0 || /[\\/]/.test(weights.file) || weights.file.startsWith('.')) {
    bad('weights.file must be a plain file name in the same directory');
  }
  if (!Number.isSafeInteger(weights.byteLength) || (weights.byteLength as number) < 0) bad('weights.byteLength is not a non-negative integer');
  if (weights.byteOrder !== undefined && weights.byteOrder !== 'little') bad(`weights.byteOrder ${JSON.stringify(weights.byteOrder)} is not supported`);
  if (!Array.isArray(j.tensors)) bad('tensors is not an array');
  const names = new Set<string>();
  (j.tensors as unknown[]).forEach((t, i) => {
    if (!isPlainObject(t)) bad(`tensors[${i}] is not an object`);
    const e = t as Record<string, unknown>;
    const label = typeof e.name === 'string' ? `tensor '${e.name}'` : `tensors[${i}]`;
    if (typeof e.name !== 'string' || e.name.length === 0) bad(`${label} has no name`);
    if (names.has(e.name as string)) bad(`${label} occurs twice`);
    names.add(e.name as string);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) bad(`${label} has a bad shape`);
    if (e.dtype !== 'float32') bad(`${label} has dtype ${JSON.stringify(e.dtype)}; only "float32" is supported`);
    if (!Number.isSafeInteger(e.offset) || (e.offset as number) < 0 || (e.offset as number) % 4 !== 0) bad(`${label} has a bad offset ${JSON.stringify(e.offset)} (must be a non-negative multiple of 4)`);
    const expected = numel(e.shape as number[]) * 4;
    if (e.byteLength !== expected) bad(`${label} has byteLength ${JSON.stringify(e.byteLength)} but shape ${shapeString(e.shape as number[])} needs ${expected}`);
    if (e.sha256 !== undefined && (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))) bad(`${label} has a malformed sha256`);
    if ((e.offset as number) + expected > (weights.byteLength as number)) {
      bad(`${label} needs bytes ${e.offset}..${(e.offset as number) + expected} but weights.byteLength is ${weights.byteLength}`);
    }
  });
  return j as unknown as ModelJson;
}

export function parseModelJson(text: string, jsonPath: string): ModelJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  return validateModelJson(raw, jsonPath);
}

/** Hex SHA-256 of some bytes (node:crypto in Node); given to assembleModel to verify tensors. */
export type Sha256Hex = (bytes: Uint8Array) => string;

/**
 * Builds the StateDict of views onto `buf` (the bytes of weights.bin) after checking it against
 * the index; with `sha256`, also checks every tensor that has a recorded hash.
 */
export function assembleModel(j: ModelJson, buf: ArrayBuffer, binPath: string, sha256?: Sha256Hex): ModelContents {
  if (buf.byteLength !== j.weights.byteLength) {
    const what = buf.byteLength < j.weights.byteLength ? 'is truncated' : 'has the wrong size';
    throw new ModelFormatError(`${binPath} ${what}: it has ${buf.byteLength} bytes, model.json says ${j.weights.byteLength}`);
  }
  const tensors: StateDict = new Map();
  for (const e of j.tensors) {
    if (e.offset + e.byteLength > buf.byteLength) {
      throw new ModelFormatError(`${binPath} is too short for tensor '${e.name}': it needs bytes ${e.offset}..${e.offset + e.byteLength}, file has ${buf.byteLength}`);
    }
    const data = new Float32Array(buf, e.offset, e.byteLength / 4);
    if (sha256 && e.sha256 !== undefined) {
      const h = sha256(new Uint8Array(buf, e.offset, e.byteLength));
      if (h !== e.sha256) throw new ModelFormatError(`${binPath}: tensor '${e.name}' fails its sha256 check (data is corrupt)`);
    }
    tensors.set(e.name, { shape: e.shape, data });
  }
  return { config: j.config, ...(j.metadata !== undefined ? { metadata: j.metadata } : {}), tensors };
}
