/**
 * The NIQE pristine model (Mittal et al. 2013) that MATLAB's `niqe` and BasicSR use:
 * `mu_pris_param` (1x36), `cov_pris_param` (36x36) and the 7x7 `gaussian_window` the MSCN
 * normalisation uses (the stored values, not a recomputed Gaussian: recomputing changes rounding).
 *
 * Sources:
 * - `loadNiqeParams(path)`: a `.npz` exactly as BasicSR ships it (a zip of three float64 `.npy`
 *   files, C or Fortran order), or a `.json` with the same three arrays as (nested) lists.
 * - `fetchNiqeParams(destDir)`: downloads BasicSR's `niqe_pris_params.npz` from GitHub at a
 *   pinned commit and checks its sha256 before writing it (atomically) into `destDir`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';

export interface NiqeParams {
  /** Pristine feature means, 36 values. */
  mu: Float64Array;
  /** Pristine feature covariance, 36x36 row-major. */
  cov: Float64Array;
  /** MSCN window, `windowSize` x `windowSize` row-major (7x7). */
  window: Float64Array;
  windowSize: number;
}

/** Number of NIQE features (18 per scale, 2 scales). */
export const NIQE_FEATURES = 36;

export const NIQE_PARAMS_COMMIT = '8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a';
export const NIQE_PARAMS_URL =
  `https://raw.githubusercontent.com/XPixelGroup/BasicSR/${NIQE_PARAMS_COMMIT}/basicsr/metrics/niqe_pris_params.npz`;
export const NIQE_PARAMS_SHA256 = '2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296';
export const NIQE_PARAMS_FILE = 'niqe_pris_params.npz';

/** Checks shapes and finiteness; `windowSize` must be odd. */
export function validateNiqeParams(p: NiqeParams, source = 'NIQE params'): NiqeParams {
  if (p.mu.length !== NIQE_FEATURES) throw new Error(`${source}: mu_pris_param has ${p.mu.length} values, expected ${NIQE_FEATURES}`);
  if (p.cov.length !== NIQE_FEATURES * NIQE_FEATURES) {
    throw new Error(`${source}: cov_pris_param has ${p.cov.length} values, expected ${NIQE_FEATURES}x${NIQE_FEATURES}`);
  }
  if (!Number.isInteger(p.windowSize) || p.windowSize < 1 || p.windowSize % 2 !== 1 || p.window.length !== p.windowSize ** 2) {
    throw new Error(`${source}: gaussian_window must be a square with an odd side (got ${p.window.length} values)`);
  }
  for (const [name, arr] of [['mu_pris_param', p.mu], ['cov_pris_param', p.cov], ['gaussian_window', p.window]] as const) {
    if (!arr.every(Number.isFinite)) throw new Error(`${source}: ${name} holds non-finite values`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// .npy (float64) inside .npz

interface Npy64 {
  shape: number[];
  /** C-order (row-major) values. */
  data: Float64Array;
}

function parseNpyFloat64(bytes: Uint8Array, name: string): Npy64 {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((m, i) => bytes[i] === m)) throw new Error(`${name} is not a .npy file`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`${name}: unsupported .npy version ${major}`);
  }
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`${name}: malformed .npy header`);
  if (descr !== '<f8') throw new Error(`${name}: expected float64 ('<f8') data, got '${descr}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (bytes.length - offset !== n * 8) throw new Error(`${name}: holds ${bytes.length - offset} data bytes, expected ${n * 8}`);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) raw[i] = dv.getFloat64(offset + i * 8, true);
  if (fortran === 'False' || shape.length < 2) return { shape, data: raw };
  if (shape.length !== 2) throw new Error(`${name}: Fortran-order arrays of rank ${shape.length} are not supported`);
  const [rows, cols] = shape;
  const data = new Float64Array(n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = raw[c * rows + r];
  return { shape, data };
}

/** Parses BasicSR's `niqe_pris_params.npz` (bytes). `name` is used in error messages. */
export function parseNiqeParamsNpz(bytes: Uint8Array, name = NIQE_PARAMS_FILE): NiqeParams {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (err) {
    throw new Error(`${name} is not a readable .npz (zip) file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const get = (key: string): Npy64 => {
    const entry = files[`${key}.npy`];
    if (entry === undefined) throw new Error(`${name} has no ${key}.npy`);
    return parseNpyFloat64(entry, `${name}:${key}.npy`);
  };
  const mu = get('mu_pris_param');
  const cov = get('cov_pris_param');
  const win = get('gaussian_window');
  const side = win.shape[0] ?? 0;
  if (win.shape.length !== 2 || win.shape[1] !== side) throw new Error(`${name}: gaussian_window is not square`);
  return validateNiqeParams({ mu: mu.data, cov: cov.data, window: win.data, windowSize: side }, name);
}

function flatten(value: unknown, what: string): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'number') out.push(v);
    else throw new Error(`${what} holds a non-number`);
  };
  walk(value);
  return out;
}

/** Parses the JSON form: `{mu_pris_param, cov_pris_param, gaussian_window}` as (nested) lists. */
export function parseNiqeParamsJson(text: string, name = 'NIQE params JSON'): NiqeParams {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const key of ['mu_pris_param', 'cov_pris_param', 'gaussian_window']) {
    if (!(key in obj)) throw new Error(`${name} has no ${key}`);
  }
  const window = flatten(obj.gaussian_window, `${name}: gaussian_window`);
  const side = Math.round(Math.sqrt(window.length));
  return validateNiqeParams(
    {
      mu: Float64Array.from(flatten(obj.mu_pris_param, `${name}: mu_pris_param`)),
      cov: Float64Array.from(flatten(obj.cov_pris_param, `${name}: cov_pris_param`)),
      window: Float64Array.from(window),
      windowSize: side,
    },
    name,
  );
}

/** Loads the pristine model from a `.npz` (BasicSR's file) or `.json` path. */
export function loadNiqeParams(path: string): NiqeParams {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read NIQE params ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (path.toLowerCase().endsWith('.json')) return parseNiqeParamsJson(bytes.toString('utf8'), path);
  return parseNiqeParamsNpz(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

// ---------------------------------------------------------------------------------------------
// Download

/** Lower-case hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Throws unless `bytes` has the sha256 of BasicSR's `niqe_pris_params.npz` (or `expected`). */
export function verifyNiqeParamsHash(bytes: Uint8Array, expected = NIQE_PARAMS_SHA256, source = NIQE_PARAMS_FILE): void {
  const got = sha256Hex(bytes);
  if (got !== expected) {
    throw new Error(`${source} has sha256 ${got}, expected ${expected} (BasicSR ${NIQE_PARAMS_COMMIT.slice(0, 7)}); not using it`);
  }
}

export interface FetchNiqeParamsOptions {
  /** The fetch implementation (default: the global `fetch`); injectable for tests. */
  fetch?: (url: string) => Promise<{ ok: boolean; status: number; statusText?: string; arrayBuffer(): Promise<ArrayBuffer> }>;
  /** URL to download (default `NIQE_PARAMS_URL`). */
  url?: string;
}

/**
 * Makes `destDir/niqe_pris_params.npz` hold BasicSR's pristine NIQE model and returns its path.
 * A file already there with the right sha256 is kept without any download. Otherwise the file
 * is downloaded from `NIQE_PARAMS_URL` (BasicSR at commit 8d56e3a), its sha256 is checked
 * against `NIQE_PARAMS_SHA256`, and only then written (atomically). Without network access it
 * throws an Error saying where to get the file by hand.
 */
export async function fetchNiqeParams(destDir: string, options: FetchNiqeParamsOptions = {}): Promise<string> {
  const dest = join(destDir, NIQE_PARAMS_FILE);
  const url = options.url ?? NIQE_PARAMS_URL;
  try {
    const existing = await fsp.readFile(dest);
    if (sha256Hex(existing) === NIQE_PARAMS_SHA256) return dest;
  } catch {
    // not there (or unreadable): download
  }
  const fetchImpl = options.fetch ?? (globalThis.fetch as FetchNiqeParamsOptions['fetch']);
  const manual =
    `download ${url} by hand (sha256 ${NIQE_PARAMS_SHA256}) to ${dest}, ` +
    'or pass the path of a local copy (.npz or .json) to loadNiqeParams';
  if (fetchImpl === undefined) throw new Error(`cannot download the NIQE params: no fetch() in this runtime; ${manual}`);
  let bytes: Uint8Array;
  try {
    const res = await fetchImpl(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot download the NIQE params from ${url} (${why}; is there network access?); ${manual}`, { cause: err });
  }
  verifyNiqeParamsHash(bytes, NIQE_PARAMS_SHA256, url);
  parseNiqeParamsNpz(bytes, url); // must also parse
  await fsp.mkdir(destDir, { recursive: true });
  const tmp = join(destDir, `.${NIQE_PARAMS_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, bytes, { flag: 'wx' });
    await fsp.rename(tmp, dest);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return dest;
}
