/**
 * The project's own model format ("pulse-ts-model", version 1): a directory with
 *
 *   model.json   format, version, the architecture `config`, optional `metadata`, and an index
 *                of tensors {name, shape, dtype: 'float32', offset, byteLength, sha256?}
 *   weights.bin  the tensors' raw little-endian float32 data, C order, each one starting at a
 *                multiple of 64 bytes (zero padding in between)
 *
 * Loading is a single read of weights.bin into one ArrayBuffer plus Float32Array views onto it.
 * The full specification is docs/model-format.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { readFileSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { numel, shapeString } from './state-dict.js';
import {
  MODEL_FORMAT_NAME,
  MODEL_FORMAT_VERSION,
  MODEL_JSON,
  TENSOR_ALIGNMENT,
  WEIGHTS_BIN,
  ModelFormatError,
  assembleModel,
  isPlainObject,
  parseModelJson,
  type ModelContents,
  type ModelJson,
  type TensorIndexEntry,
} from './model-contents.js';

export * from './model-contents.js';

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface WriteModelOptions {
  /** Replace an existing model in `dir` (default false: refuse). */
  force?: boolean;
  /** Record a SHA-256 per tensor (default true). */
  checksums?: boolean;
}

export interface ReadModelOptions {
  /** Check every tensor's SHA-256 where the index has one (default false: fast path). */
  verify?: boolean;
}

function align(n: number): number {
  return Math.ceil(n / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
}

function requireLittleEndian(): void {
  if (endianness() !== 'LE') throw new ModelFormatError('big-endian hosts are not supported');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a model directory. Refuses to replace an existing model.json unless `force`.
 * Both files are first written under temporary names (and fsynced), then renamed into place —
 * weights.bin first, model.json last; when replacing, the old model.json is removed before the
 * new weights.bin takes its place. A crash therefore leaves either the old model, the new one,
 * or a directory without model.json (which readModelDir reports as "no model"), never a
 * model.json that describes the wrong weights.
 */
export async function writeModelDir(dir: string, model: ModelContents, options: WriteModelOptions = {}): Promise<void> {
  requireLittleEndian();
  const { config, metadata, tensors } = model;
  if (!isPlainObject(config)) throw new ModelFormatError(`cannot write model to ${dir}: config must be an object`);
  if (metadata !== undefined && !isPlainObject(metadata)) throw new ModelFormatError(`cannot write model to ${dir}: metadata must be an object`);
  const jsonPath = join(dir, MODEL_JSON);
  const binPath = join(dir, WEIGHTS_BIN);
  if (!options.force && (await exists(jsonPath))) {
    throw new ModelFormatError(`${jsonPath} already exists; pass force to overwrite it`);
  }
  const checksums = options.checksums ?? true;

  // Lay out and validate the tensors.
  const index: TensorIndexEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (typeof name !== 'string' || name.length === 0) throw new ModelFormatError(`cannot write model to ${dir}: empty tensor name`);
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new ModelFormatError(`cannot write model to ${dir}: tensor '${name}' has bad shape ${shapeString(t.shape)}`);
    }
    const n = numel(t.shape);
    if (!(t.data instanceof Float32Array) || t.data.length !== n) {
      throw new ModelFormatError(
        `cannot write model to ${dir}: tensor '${name}' has shape ${shapeString(t.shape)} (${n} values) but ${t.data?.length} float32 values`,
      );
    }
    offset = align(offset);
    const entry: TensorIndexEntry = { name, shape: [...t.shape], dtype: 'float32', offset, byteLength: n * 4 };
    if (checksums) {
      entry.sha256 = createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, n * 4)).digest('hex');
    }
    index.push(entry);
    offset += n * 4;
  }
  const totalBytes = align(offset);
  const json: ModelJson = {
    format: MODEL_FORMAT_NAME,
    version: MODEL_FORMAT_VERSION,
    config,
    ...(metadata !== undefined ? { metadata } : {}),
    weights: { file: WEIGHTS_BIN, byteLength: totalBytes, byteOrder: 'little', alignment: TENSOR_ALIGNMENT },
    tensors: index,
  };
  let jsonText: string;
  try {
    jsonText = JSON.stringify(json, null, 1) + '\n';
  } catch (e) {
    throw new ModelFormatError(`cannot write model to ${dir}: config/metadata are not JSON-serialisable: ${(e as Error).message}`);
  }

  await mkdir(dir, { recursive: true });
  const tag = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const binTmp = binPath + tag;
  const jsonTmp = jsonPath + tag;
  try {
    // weights.bin: tensors at their offsets, zero padding between (a fresh file reads as zeros).
    const fh = await open(binTmp, 'wx');
    try {
      const pad = new Uint8Array(TENSOR_ALIGNMENT);
      let pos = 0;
      const tensorList = [...tensors.values()];
      for (let i = 0; i < index.length; i++) {
        const e = index[i]!;
        if (e.offset > pos) {
          await fh.write(pad, 0, e.offset - pos, pos);
          pos = e.offset;
        }
        const d = tensorList[i]!.data;
        const bytes = new Uint8Array(d.buffer, d.byteOffset, e.byteLength);
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 28), pos + done);
          done += bytesWritten;
        }
        pos += e.byteLength;
      }
      if (totalBytes > pos) await fh.write(pad, 0, totalBytes - pos, pos);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const jh = await open(jsonTmp, 'wx');
    try {
      await jh.writeFile(jsonText);
      await jh.sync();
    } finally {
      await jh.close();
    }
    if (options.force) await unlink(jsonPath).catch(() => undefined);
    await rename(binTmp, binPath);
    await rename(jsonTmp, jsonPath);
    // Make the renames durable where the platform allows fsync on a directory.
    try {
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      /* not supported (e.g. Windows) */
    }
  } catch (e) {
    await unlink(binTmp).catch(() => undefined);
    await unlink(jsonTmp).catch(() => undefined);
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(`cannot write model to ${dir}: ${(e as Error).message}`);
  }
}

function noModel(dir: string, jsonPath: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw new ModelFormatError(`${dir} is not a pulse-ts model directory: ${jsonPath} does not exist`);
  throw new ModelFormatError(`cannot read ${jsonPath}: ${(e as Error).message}`);
}

/**
 * Reads a model directory. The tensors are Float32Array views onto one ArrayBuffer holding
 * weights.bin. Throws a ModelFormatError naming the file (and tensor) on any inconsistency.
 */
export async function readModelDir(dir: string, options: ReadModelOptions = {}): Promise<ModelContents> {
  requireLittleEndian();
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (e) {
    noModel(dir, jsonPath, e);
  }
  const j = parseModelJson(text!, jsonPath);
  const binPath = join(dir, j.weights.file);
  let buf: ArrayBuffer;
  try {
    const fh = await open(binPath, 'r');
    try {
      const size = (await fh.stat()).size;
      buf = new ArrayBuffer(size);
      const u8 = new Uint8Array(buf);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await fh.read(u8, done, Math.min(size - done, 1 << 30), done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done !== size) throw new Error(`short read (${done} of ${size} bytes)`);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new ModelFormatError(`cannot read ${binPath}: ${(e as Error).message}`);
  }
  return assembleModel(j, buf!, binPath, options.verify ? sha256Hex : undefined);
}

/** Synchronous readModelDir. */
export function readModelDirSync(dir: string, options: ReadModelOptions = {}): ModelContents {
  requireLittleEndian();
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = readFileSync(jsonPath, 'utf8');
  } catch (e) {
    noModel(dir, jsonPath, e);
  }
  const j = parseModelJson(text!, jsonPath);
  const binPath = join(dir, j.weights.file);
  let buf: ArrayBuffer;
  try {
    const fd = openSync(binPath, 'r');
    try {
      const size = fstatSync(fd).size;
      buf = new ArrayBuffer(size);
      const u8 = new Uint8Array(buf);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, u8, done, Math.min(size - done, 1 << 30), done);
        if (n === 0) break;
        done += n;
      }
      if (done !== size) throw new Error(`short read (${done} of ${size} bytes)`);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new ModelFormatError(`cannot read ${binPath}: ${(e as Error).message}`);
  }
  return assembleModel(j, buf!, binPath, options.verify ? sha256Hex : undefined);
}

/** Reads and validates only model.json (config, metadata and the tensor index). */
export async function readModelIndex(dir: string): Promise<ModelJson> {
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (e) {
    noModel(dir, jsonPath, e);
  }
  return parseModelJson(text!, jsonPath);
}
