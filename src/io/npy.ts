/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), for float arrays in C order.
 *
 * Layout: the magic "\x93NUMPY", a major and a minor version byte, the header length
 * (uint16 LE for version 1, uint32 LE for versions 2 and 3), then the header — a Python dict
 * literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a final '\n' so that the data starts at a multiple of 64 bytes — then the raw data.
 *
 * Reading accepts '<f4' (float32), '<f8' (float64, converted to float32) and '<f2' (float16,
 * converted), in C order; everything else is an error that names the file. Writing produces
 * version 1.0, '<f4', C order, exactly as numpy.save would.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { numel, shapeString } from './state-dict.js';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Raised for unreadable or unsupported .npy files; the message names the file. */
export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Parses the header dict literal; only the three keys numpy writes are understood. */
function parseHeader(header: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  const bad = (why: string): never => {
    throw new NpyError(`${name} has a malformed .npy header (${why}): ${header.trim()}`);
  };
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) bad("no 'descr'");
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortranM) bad("no 'fortran_order'");
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeM) bad("no 'shape'");
  const dims = shapeM![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = /^\d+L?$/.test(s) ? Number.parseInt(s, 10) : NaN;
      if (!Number.isSafeInteger(v)) bad(`bad dimension '${s}'`);
      return v;
    });
  return { descr: descr!, fortran: fortranM![1] === 'True', shape: dims };
}

/** Decodes a .npy file held in memory. `name` is used in error messages. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(`${name} is not a .npy file (no \\x93NUMPY magic)`);
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${name} is truncated: the .npy header is incomplete`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(`${name} uses .npy format version ${major}.${bytes[7]}, which is not supported`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new NpyError(`${name} is truncated: the .npy header needs ${dataStart} bytes, file has ${bytes.length}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortran, shape } = parseHeader(header, name);
  if (fortran) throw new NpyError(`${name} is stored in Fortran order; only C order is supported (save it with np.ascontiguousarray)`);
  const sizes: Record<string, number> = { '<f4': 4, '<f8': 8, '<f2': 2 };
  const elemSize = sizes[descr];
  if (elemSize === undefined) {
    throw new NpyError(`${name} has dtype '${descr}'; only little-endian float32 '<f4' (or '<f8', '<f2', converted to float32) is supported`);
  }
  const n = numel(shape);
  const need = n * elemSize;
  if (bytes.length - dataStart < need) {
    throw new NpyError(`${name} is truncated: shape ${shapeString(shape)} of '${descr}' needs ${need} data bytes, file has ${bytes.length - dataStart}`);
  }
  // An aligned private copy (note: Buffer#slice would return a view, not a copy).
  const raw = new Uint8Array(need);
  raw.set(bytes.subarray(dataStart, dataStart + need));
  let data: Float32Array;
  if (endianness() !== 'LE') throw new NpyError(`cannot read ${name}: big-endian hosts are not supported`);
  if (descr === '<f4') data = new Float32Array(raw.buffer, 0, n);
  else if (descr === '<f8') data = Float32Array.from(new Float64Array(raw.buffer, 0, n));
  else {
    const h = new Uint16Array(raw.buffer, 0, n);
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = halfToFloat(h[i]!);
  }
  return { shape, data };
}

/** Reads a .npy file as float32 (see the module comment for what is accepted). */
export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new NpyError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNpy(bytes, path);
}

/** Encodes a float32 array as a version 1.0 .npy file ('<f4', C order). */
export function encodeNpy(shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`bad shape ${shapeString(shape)}`);
  }
  const n = numel(shape);
  if (data.length !== n) throw new NpyError(`shape ${shapeString(shape)} needs ${n} values, got ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 65535) throw new NpyError('header too long for .npy version 1.0');
  const out = new Uint8Array(10 + header.length + n * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  out.set(new Uint8Array(f.buffer, f.byteOffset, n * 4), 10 + header.length);
  return out;
}

/** Writes a float32 .npy file (version 1.0, '<f4', C order). */
export function writeNpy(path: string, shape: readonly number[], data: ArrayLike<number>): void {
  writeFileSync(path, encodeNpy(shape, data));
}
