/**
 * Reading PyTorch checkpoints (`torch.save` files) without PyTorch.
 *
 * Two container formats exist:
 *
 * 1. Legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`; the published PULSE
 *    weights): five things back to back in one stream —
 *      pickle(MAGIC = 0x1950a86a20f9469cfc6c), pickle(protocol version 1001),
 *      pickle(sys_info dict: little_endian, type_sizes), pickle(the object),
 *      pickle(list of storage keys), then for every key in that list: an 8-byte little-endian
 *      element count followed by the storage's raw bytes.
 *    Inside the object pickle a tensor storage appears as a persistent id
 *      ('storage', <torch.XStorage class>, key, location, numel, view_metadata)
 *    where view_metadata (torch < 0.4 only) is None or (view_key, offset, size).
 *
 * 2. Zip (torch >= 1.6): a zip archive with one top folder (usually 'archive', but torch uses
 *    the file's stem, e.g. 'synthesis_zip'), holding <top>/data.pkl (the object), <top>/data/<key>
 *    (one entry per storage, normally stored uncompressed and 64-byte aligned), <top>/byteorder,
 *    <top>/version ... The persistent id is ('storage', <torch.XStorage class>, key, location, numel).
 *
 * In both, a tensor is `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, backward_hooks[, metadata])` and a Parameter wraps one in
 * `torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)`.
 *
 * Every tensor is returned as float32 in C order (row-major), whatever its storage type and
 * strides. Integer and bool storages are converted to float32 too (exact for |v| <= 2^24);
 * complex and quantized storages are rejected with an error naming the tensor. The location tag
 * ('cpu', 'cuda:0', ...) is ignored: everything is loaded on the host.
 *
 * The top-level object must be a dict / OrderedDict (a state_dict); nested dicts are flattened
 * with '.' (so {'g': {'a.b': t}} gives 'g.a.b'). Other values (ints, strings, lists, the
 * `_metadata` attribute of a state_dict) are ignored.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { inflateSync, zipSync, type Zippable } from 'fflate';
import { PickleError, standardGlobals, unpickle } from './pickle.js';
import { numel as shapeNumel, shapeString, type HostTensor, type StateDict } from './state-dict.js';

/** The magic number that starts a legacy torch.save stream. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** Raised for every problem; the message names the file. */
export class TorchCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchCheckpointError';
  }
}

/** Internal: a problem found while parsing; `kind` decides the wording of the final message. */
class Problem extends Error {
  constructor(
    readonly kind: 'truncated' | 'corrupt' | 'not-torch' | 'unsupported',
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Storage types

type ElemKind =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'
  | 'unsupported';

/** What a `torch.XStorage` global resolves to. */
class StorageType {
  constructor(
    readonly name: string,
    readonly kind: ElemKind,
    readonly elementSize: number,
  ) {}
}

const STORAGE_TYPES: Record<string, [ElemKind, number]> = {
  FloatStorage: ['float32', 4],
  DoubleStorage: ['float64', 8],
  HalfStorage: ['float16', 2],
  BFloat16Storage: ['bfloat16', 2],
  LongStorage: ['int64', 8],
  IntStorage: ['int32', 4],
  ShortStorage: ['int16', 2],
  CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1],
  BoolStorage: ['bool', 1],
  ComplexFloatStorage: ['unsupported', 8],
  ComplexDoubleStorage: ['unsupported', 16],
  QInt8Storage: ['unsupported', 1],
  QUInt8Storage: ['unsupported', 1],
  QInt32Storage: ['unsupported', 4],
  UntypedStorage: ['uint8', 1],
};

/** torch dtype globals (used by _rebuild_tensor_v3 and some newer pickles). */
const DTYPES: Record<string, string> = {
  float32: 'FloatStorage', float: 'FloatStorage', float64: 'DoubleStorage', double: 'DoubleStorage',
  float16: 'HalfStorage', half: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', long: 'LongStorage', int32: 'IntStorage', int: 'IntStorage',
  int16: 'ShortStorage', short: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
};

class TorchDtype {
  constructor(readonly storageType: StorageType) {}
}

/** A storage referenced by the pickle; `bytes` is filled once its data has been located. */
class StorageRef {
  bytes: Uint8Array | undefined;
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly location: string,
    /** Element count according to the persistent id. */
    readonly numel: number,
  ) {}
}

/** A view into a root storage (legacy view_metadata). */
class StorageView {
  constructor(
    readonly root: StorageRef,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

/** A tensor as pickled: materialised to float32 once the storages are read. */
class TensorRef {
  constructor(
    readonly storage: StorageRef | StorageView,
    readonly storageOffset: number,
    readonly size: number[],
    readonly stride: number[],
    /** Set by _rebuild_tensor_v3, which may reinterpret the storage's bytes as another dtype. */
    readonly dtype?: StorageType,
  ) {}
}

function storageTypeFor(name: string): StorageType {
  const t = STORAGE_TYPES[name];
  if (!t) throw new Problem('unsupported', `unknown storage type torch.${name}`);
  return new StorageType(name, t[0], t[1]);
}

const storageTypeCache = new Map<string, StorageType>();
function cachedStorageType(name: string): StorageType {
  let t = storageTypeCache.get(name);
  if (!t) storageTypeCache.set(name, (t = storageTypeFor(name)));
  return t;
}

function toInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') throw new Problem('corrupt', `${what} ${v} is too large`);
  throw new Problem('corrupt', `${what} is not an integer (${String(v)})`);
}

function toIntList(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Problem('corrupt', `${what} is not a tuple`);
  return v.map((x, i) => toInt(x, `${what}[${i}]`));
}

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, dtype?: StorageType): TensorRef {
  if (!(storage instanceof StorageRef) && !(storage instanceof StorageView)) {
    throw new Problem('corrupt', 'tensor rebuilt from something that is not a storage');
  }
  const sz = toIntList(size, 'tensor size');
  const st = toIntList(stride, 'tensor stride');
  if (sz.length !== st.length) throw new Problem('corrupt', `tensor size ${shapeString(sz)} and stride ${shapeString(st)} differ in length`);
  return new TensorRef(storage, toInt(offset, 'storage offset'), sz, st, dtype);
}

/** `findClass` for torch pickles: the rebuild functions, storage types, dtypes, OrderedDict. */
function torchGlobals(module: string, name: string): unknown {
  if (module === 'torch._utils') {
    switch (name) {
      case '_rebuild_tensor':
        // (storage, storage_offset, size, stride): torch < 1.0
        return (s: unknown, o: unknown, size: unknown, stride: unknown) => rebuildTensor(s, o, size, stride);
      case '_rebuild_tensor_v2':
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        return (s: unknown, o: unknown, size: unknown, stride: unknown) => rebuildTensor(s, o, size, stride);
      case '_rebuild_tensor_v3':
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
        return (s: unknown, o: unknown, size: unknown, stride: unknown, _rg: unknown, _bh: unknown, dtype: unknown) =>
          rebuildTensor(s, o, size, stride, dtype instanceof TorchDtype ? dtype.storageType : undefined);
      case '_rebuild_parameter':
      case '_rebuild_parameter_with_state':
        // (data, requires_grad, backward_hooks[, state]): a Parameter is just its tensor here
        return (data: unknown) => data;
      default:
        return undefined;
    }
  }
  if (module === 'torch._tensor' && name === '_rebuild_from_type_v2') {
    // (func, type, args, state): tensor subclasses; we keep the plain tensor
    return (func: unknown, _type: unknown, args: unknown) => {
      if (typeof func !== 'function' || !Array.isArray(args)) throw new Problem('corrupt', 'bad _rebuild_from_type_v2 call');
      return (func as (...a: unknown[]) => unknown)(...args);
    };
  }
  if (module === 'torch') {
    if (name in STORAGE_TYPES) return cachedStorageType(name);
    const dt = DTYPES[name];
    if (dt) return new TorchDtype(cachedStorageType(dt));
    if (name === 'Size') return (dims: unknown) => dims;
    return undefined;
  }
  if (module === 'torch.nn.parameter' && name === 'Parameter') return (data: unknown) => data;
  return standardGlobals(module, name);
}

/**
 * `persistent_load` shared by both formats. `legacy` accepts the 6-tuple with view_metadata.
 * Storages are deduplicated by key.
 */
function makePersistentLoad(storages: Map<string, StorageRef>): (pid: unknown) => unknown {
  const views = new Map<string, StorageView>();
  return (pid: unknown) => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new Problem('unsupported', `unsupported persistent id ${JSON.stringify(Array.isArray(pid) ? pid[0] : pid)}`);
    }
    const [, type, rawKey, location, rawNumel, viewMeta] = pid as unknown[];
    if (!(type instanceof StorageType)) throw new Problem('corrupt', 'persistent id without a storage type');
    const key = String(rawKey);
    const n = toInt(rawNumel, `element count of storage ${key}`);
    let root = storages.get(key);
    if (!root) {
      root = new StorageRef(key, type, String(location), n);
      storages.set(key, root);
    }
    if (viewMeta !== undefined && viewMeta !== null) {
      // torch < 0.4: (view_key, offset, view_size) into the root storage
      if (!Array.isArray(viewMeta) || viewMeta.length !== 3) throw new Problem('corrupt', 'bad storage view metadata');
      const vkey = String(viewMeta[0]);
      let v = views.get(vkey);
      if (!v) {
        v = new StorageView(root, toInt(viewMeta[1], 'view offset'), toInt(viewMeta[2], 'view size'));
        views.set(vkey, v);
      }
      return v;
    }
    return root;
  };
}

// ---------------------------------------------------------------------------------------------
// Element decoding

const HOST_LE = endianness() === 'LE';

const halfToFloatTable = (() => {
  // 65536-entry table: float16 bits -> float32 value.
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24;
    else if (exp === 31) v = frac ? NaN : Infinity;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    t[h] = sign * v;
  }
  return t;
})();

/**
 * Decodes `count` elements starting at element `start` of a storage's bytes into float32.
 */
function decodeElements(bytes: Uint8Array, kind: ElemKind, elemSize: number, start: number, count: number): Float32Array {
  const byteStart = start * elemSize;
  const byteLen = count * elemSize;
  const src = bytes.subarray(byteStart, byteStart + byteLen);
  // An aligned copy of the bytes, so typed-array views are legal.
  const aligned = (): ArrayBuffer => {
    const b = new Uint8Array(byteLen);
    b.set(src);
    return b.buffer;
  };
  const out = new Float32Array(count);
  switch (kind) {
    case 'float32': {
      if (src.byteOffset % 4 === 0) out.set(new Float32Array(src.buffer, src.byteOffset, count));
      else out.set(new Float32Array(aligned()));
      return out;
    }
    case 'float64': {
      const f = src.byteOffset % 8 === 0 ? new Float64Array(src.buffer, src.byteOffset, count) : new Float64Array(aligned());
      out.set(f);
      return out;
    }
    case 'float16': {
      const h = src.byteOffset % 2 === 0 ? new Uint16Array(src.buffer, src.byteOffset, count) : new Uint16Array(aligned());
      for (let i = 0; i < count; i++) out[i] = halfToFloatTable[h[i]!]!;
      return out;
    }
    case 'bfloat16': {
      const h = src.byteOffset % 2 === 0 ? new Uint16Array(src.buffer, src.byteOffset, count) : new Uint16Array(aligned());
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = h[i]! << 16;
      return out;
    }
    case 'int64': {
      const v = src.byteOffset % 8 === 0 ? new BigInt64Array(src.buffer, src.byteOffset, count) : new BigInt64Array(aligned());
      for (let i = 0; i < count; i++) out[i] = Number(v[i]!);
      return out;
    }
    case 'int32':
      out.set(src.byteOffset % 4 === 0 ? new Int32Array(src.buffer, src.byteOffset, count) : new Int32Array(aligned()));
      return out;
    case 'int16':
      out.set(src.byteOffset % 2 === 0 ? new Int16Array(src.buffer, src.byteOffset, count) : new Int16Array(aligned()));
      return out;
    case 'int8':
      out.set(new Int8Array(src.buffer, src.byteOffset, count));
      return out;
    case 'uint8':
      out.set(src);
      return out;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = src[i] ? 1 : 0;
      return out;
    default:
      throw new Error(`cannot decode ${kind}`);
  }
}

/** Turns a pickled tensor into a contiguous float32 HostTensor. */
function materialise(name: string, t: TensorRef): HostTensor {
  const root = t.storage instanceof StorageView ? t.storage.root : t.storage;
  const viewOffset = t.storage instanceof StorageView ? t.storage.offset : 0;
  const storageNumel = t.storage instanceof StorageView ? t.storage.numel : t.storage.numel;
  const stType = root.type;
  const type = t.dtype ?? stType;
  if (type.kind === 'unsupported') {
    throw new Problem('unsupported', `tensor '${name}' has unsupported storage type torch.${type.name}`);
  }
  const bytes = root.bytes;
  if (!bytes) throw new Problem('corrupt', `storage ${root.key} of tensor '${name}' has no data`);
  const shape = t.size;
  const n = shapeNumel(shape);
  for (const d of shape) if (d < 0) throw new Problem('corrupt', `tensor '${name}' has a negative size ${shapeString(shape)}`);
  if (n === 0) return { shape, data: new Float32Array(0) };

  // The storage measured in elements of the tensor's dtype (differs only for _rebuild_tensor_v3).
  const availableElems = Math.floor(bytes.length / type.elementSize);
  const viewElems = type === stType ? storageNumel : Math.floor((storageNumel * stType.elementSize) / type.elementSize);
  const base = viewOffset + t.storageOffset;
  let minIdx = base;
  let maxIdx = base;
  for (let d = 0; d < shape.length; d++) {
    const span = (shape[d]! - 1) * t.stride[d]!;
    if (span < 0) minIdx += span;
    else maxIdx += span;
  }
  if (minIdx < viewOffset || maxIdx - viewOffset >= viewElems || maxIdx >= availableElems) {
    throw new Problem(
      'corrupt',
      `tensor '${name}' ${shapeString(shape)} (offset ${t.storageOffset}, stride ${shapeString(t.stride)}) ` +
        `reads element ${maxIdx} of storage ${root.key}, which has ${Math.min(viewElems, availableElems)} elements`,
    );
  }

  // Contiguous (C order), ignoring strides of dimensions of size 1?
  let contiguous = true;
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && t.stride[d] !== expect) {
      contiguous = false;
      break;
    }
    expect *= shape[d]!;
  }
  if (contiguous) {
    return { shape, data: decodeElements(bytes, type.kind, type.elementSize, base, n) };
  }
  // General strides: decode the span the tensor touches, then gather in C order.
  const span = decodeElements(bytes, type.kind, type.elementSize, minIdx, maxIdx - minIdx + 1);
  const out = new Float32Array(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = base - minIdx;
  for (let i = 0; i < n; i++) {
    out[i] = span[src]!;
    // increment the multi-index (last dimension fastest)
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += t.stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= t.stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { shape, data: out };
}

/** Collects (name, tensor) pairs from the unpickled object; nested dicts joined with '.'. */
function collectTensors(obj: unknown): Array<[string, TensorRef]> {
  if (obj instanceof TensorRef) {
    throw new Problem('unsupported', 'it holds a single tensor, not a dict of tensors (a state_dict)');
  }
  if (!(obj instanceof Map)) {
    const what = obj === null ? 'None' : Array.isArray(obj) ? 'a list/tuple' : typeof obj === 'object' ? (obj as object).constructor?.name ?? 'an object' : typeof obj;
    throw new Problem('unsupported', `its top-level object is ${what}, not a dict of tensors (a state_dict)`);
  }
  const out: Array<[string, TensorRef]> = [];
  const seen = new Set<string>();
  const walk = (m: Map<unknown, unknown>, prefix: string, depth: number): void => {
    if (depth > 64) throw new Problem('unsupported', 'dicts nested more than 64 deep');
    for (const [k, v] of m) {
      if (typeof k !== 'string' && typeof k !== 'number') continue;
      const name = prefix + String(k);
      if (v instanceof TensorRef) {
        if (seen.has(name)) throw new Problem('corrupt', `tensor name '${name}' occurs twice after flattening nested dicts`);
        seen.add(name);
        out.push([name, v]);
      } else if (v instanceof Map) {
        walk(v, name + '.', depth + 1);
      }
    }
  };
  walk(obj, '', 0);
  return out;
}

function buildStateDict(obj: unknown): StateDict {
  const sd: StateDict = new Map();
  for (const [name, ref] of collectTensors(obj)) sd.set(name, materialise(name, ref));
  return sd;
}

// ---------------------------------------------------------------------------------------------
// Legacy format

function runPickle(data: Uint8Array, offset: number, what: string, storages?: Map<string, StorageRef>): { value: unknown; end: number } {
  try {
    return unpickle(data, {
      offset,
      findClass: torchGlobals,
      persistentLoad: storages ? makePersistentLoad(storages) : undefined,
    });
  } catch (e) {
    if (e instanceof Problem) throw e;
    if (e instanceof PickleError) {
      if (e.code === 'unsupported') {
        throw new Problem('unsupported', `${what}: ${e.message}; only state_dicts (dicts of tensors) can be loaded`);
      }
      throw new Problem(e.code === 'truncated' ? 'truncated' : 'corrupt', `${what}: ${e.message}`);
    }
    throw e;
  }
}

function parseLegacy(data: Uint8Array): StateDict {
  let pos = 0;
  let magic: unknown;
  try {
    ({ value: magic, end: pos } = unpickle(data, { offset: 0 }));
  } catch (e) {
    if (e instanceof PickleError && e.truncated) throw new Problem('truncated', `it ends inside the magic number pickle`);
    throw new Problem('not-torch', `it starts like a pickle but not like a torch.save file (${(e as Error).message})`);
  }
  if (magic !== LEGACY_MAGIC) {
    throw new Problem('not-torch', `its first pickle is not the torch.save magic number 0x${LEGACY_MAGIC.toString(16)}`);
  }
  const proto = runPickle(data, pos, 'protocol version');
  pos = proto.end;
  if (proto.value !== LEGACY_PROTOCOL_VERSION) {
    throw new Problem('unsupported', `unsupported legacy protocol version ${String(proto.value)} (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  const sysInfo = runPickle(data, pos, 'sys_info');
  pos = sysInfo.end;
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw new Problem('unsupported', 'it was written on a big-endian machine, which is not supported');
  }
  const storages = new Map<string, StorageRef>();
  const main = runPickle(data, pos, 'main object', storages);
  pos = main.end;
  const keysPickle = runPickle(data, pos, 'storage key list');
  pos = keysPickle.end;
  if (!Array.isArray(keysPickle.value)) throw new Problem('corrupt', 'the storage key list is not a list');
  const keys = keysPickle.value.map(String);

  // Storages follow in the order of the key list: <u64 element count><bytes>.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  keys.forEach((key, i) => {
    const st = storages.get(key);
    if (!st) throw new Problem('corrupt', `storage ${i} (key ${key}) in the key list is not used by any tensor`);
    if (pos + 8 > data.length) {
      throw new Problem('truncated', `storage ${i} of ${keys.length} (key ${key}) starts at byte ${pos}, but the file ends at byte ${data.length}`);
    }
    const count = view.getBigUint64(pos, true);
    pos += 8;
    if (count !== BigInt(st.numel)) {
      throw new Problem('corrupt', `storage ${i} (key ${key}) has ${count} elements in the file but ${st.numel} in the pickle`);
    }
    const nbytes = st.numel * st.type.elementSize;
    if (pos + nbytes > data.length) {
      throw new Problem(
        'truncated',
        `storage ${i} of ${keys.length} (key ${key}) needs ${nbytes} bytes at byte ${pos}, file ends after ${data.length - pos}`,
      );
    }
    st.bytes = data.subarray(pos, pos + nbytes);
    pos += nbytes;
  });
  for (const [key, st] of storages) {
    if (!st.bytes) throw new Problem('corrupt', `storage ${key} is used by a tensor but missing from the storage key list`);
  }
  return buildStateDict(main.value);
}

// ---------------------------------------------------------------------------------------------
// Zip format

/** One entry of a zip archive's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local file header. */
  headerOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function u64At(view: DataView, pos: number, what: string): number {
  const v = view.getBigUint64(pos, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Problem('corrupt', `${what} ${v} is too large`);
  return Number(v);
}

/**
 * Reads a zip archive's central directory (with ZIP64 support). Throws if the archive is
 * truncated (no end-of-central-directory record) or malformed.
 */
export function readZipDirectory(data: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.length;
  let eocd = -1;
  for (let p = len - 22; p >= Math.max(0, len - 22 - 65535); p--) {
    if (view.getUint32(p, true) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    throw new Problem('truncated', 'no zip end-of-central-directory record (the archive is incomplete)');
  }
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  const loc = eocd - 20;
  if (loc >= 0 && view.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z64 = u64At(view, loc + 8, 'zip64 record offset');
    if (z64 + 56 > len || view.getUint32(z64, true) !== SIG_ZIP64_EOCD) {
      throw new Problem('corrupt', 'bad zip64 end-of-central-directory record');
    }
    count = u64At(view, z64 + 32, 'zip entry count');
    cdSize = u64At(view, z64 + 40, 'central directory size');
    cdOffset = u64At(view, z64 + 48, 'central directory offset');
  }
  if (cdOffset + cdSize > len) throw new Problem('truncated', `the zip central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies beyond the end of the file`);

  const utf8 = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > len || view.getUint32(p, true) !== SIG_CENTRAL) throw new Problem('corrupt', `bad zip central directory entry ${i}`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let headerOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > len) throw new Problem('corrupt', `bad zip central directory entry ${i}`);
    const name = utf8.decode(data.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: the 64-bit values of the fields that are 0xffffffff, in order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const sz = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = u64At(view, q, 'entry size'); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = u64At(view, q, 'entry size'); q += 8; }
        if (headerOffset === 0xffffffff) { headerOffset = u64At(view, q, 'entry offset'); q += 8; }
      }
      e += 4 + sz;
    }
    entries.set(name, { name, method, compressedSize, size, headerOffset });
    p = eEnd + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of one zip entry (a view into `data` when stored uncompressed). */
export function readZipEntry(data: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const h = entry.headerOffset;
  if (h + 30 > data.length || view.getUint32(h, true) !== SIG_LOCAL) {
    throw new Problem('corrupt', `zip entry ${entry.name} has no local header at byte ${h}`);
  }
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > data.length) {
    throw new Problem('truncated', `zip entry ${entry.name} needs bytes ${start}..${end}, file ends at byte ${data.length}`);
  }
  const raw = data.subarray(start, end);
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize) throw new Problem('corrupt', `stored zip entry ${entry.name} has inconsistent sizes`);
    return raw;
  }
  if (entry.method === 8) {
    try {
      const out = inflateSync(raw, { out: new Uint8Array(entry.size) });
      if (out.length !== entry.size) throw new Error(`inflated to ${out.length} bytes, expected ${entry.size}`);
      return out;
    } catch (e) {
      throw new Problem('corrupt', `zip entry ${entry.name} does not inflate: ${(e as Error).message}`);
    }
  }
  throw new Problem('unsupported', `zip entry ${entry.name} uses compression method ${entry.method} (only stored and deflate are supported)`);
}

function parseZip(data: Uint8Array): StateDict {
  const entries = readZipDirectory(data);
  // The pickle is <top>/data.pkl; pick the shallowest one.
  let pkl: ZipEntry | undefined;
  for (const e of entries.values()) {
    if (e.name === 'data.pkl' || e.name.endsWith('/data.pkl')) {
      if (!pkl || e.name.split('/').length < pkl.name.split('/').length) pkl = e;
    }
  }
  if (!pkl) {
    const names = [...entries.keys()].slice(0, 5).join(', ');
    throw new Problem('not-torch', `it is a zip archive without a data.pkl entry (entries: ${names}${entries.size > 5 ? ', ...' : ''})`);
  }
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byteorder = entries.get(prefix + 'byteorder');
  if (byteorder) {
    const bo = new TextDecoder().decode(readZipEntry(data, byteorder)).trim();
    if (bo !== 'little') throw new Problem('unsupported', `it was written with byteorder '${bo}'; only 'little' is supported`);
  }
  const storages = new Map<string, StorageRef>();
  const main = runPickle(readZipEntry(data, pkl), 0, pkl.name, storages);
  for (const [key, st] of storages) {
    const name = `${prefix}data/${key}`;
    const entry = entries.get(name);
    if (!entry) throw new Problem('corrupt', `the archive has no entry ${name} for storage ${key}`);
    const bytes = readZipEntry(data, entry);
    const need = st.numel * st.type.elementSize;
    if (bytes.length < need) {
      throw new Problem('corrupt', `entry ${name} has ${bytes.length} bytes but storage ${key} needs ${need}`);
    }
    st.bytes = bytes;
  }
  return buildStateDict(main.value);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Parses a torch.save file already in memory. `name` is used in error messages (the file path).
 * The returned tensors own their data (copies), so `data` may be released afterwards.
 */
export function parseTorchCheckpoint(data: Uint8Array, name: string): StateDict {
  if (!HOST_LE) throw new TorchCheckpointError(`cannot load ${name}: big-endian hosts are not supported`);
  try {
    if (data.length === 0) throw new Problem('not-torch', 'the file is empty');
    if (data.length >= 4 && data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04) {
      return parseZip(data);
    }
    if (data[0] === 0x80) return parseLegacy(data);
    if (data.length >= 262 && new TextDecoder('latin1').decode(data.subarray(257, 262)) === 'ustar') {
      throw new Problem('unsupported', 'it is in the tar format of torch < 0.4, which is not supported');
    }
    const head = Array.from(data.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Problem('not-torch', `it is neither a zip archive nor a legacy torch.save stream (first bytes: ${head})`);
  } catch (e) {
    if (e instanceof Problem) {
      const what = {
        truncated: 'is truncated',
        corrupt: 'is corrupt',
        'not-torch': 'is not a PyTorch checkpoint',
        unsupported: 'cannot be loaded',
      }[e.kind];
      throw new TorchCheckpointError(`${name} ${what}: ${e.message}`);
    }
    throw new TorchCheckpointError(`${name} could not be loaded: ${(e as Error).message}`);
  }
}

/**
 * Loads a PyTorch checkpoint (legacy or zip format) holding a state_dict (or nested dicts of
 * tensors) into a StateDict of contiguous float32 tensors. Throws a TorchCheckpointError whose
 * message names `path` when the file cannot be read or is not a complete torch checkpoint;
 * never returns a partial result.
 */
export async function loadTorchCheckpoint(path: string): Promise<StateDict> {
  let data: Uint8Array;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new TorchCheckpointError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseTorchCheckpoint(data, path);
}

// ---------------------------------------------------------------------------------------------
// Writing (minimal; used by tests and tools to produce checkpoints torch.load can read)

/** Storage types the writer can produce. */
export type WritableStorageType = 'FloatStorage' | 'DoubleStorage' | 'HalfStorage' | 'BFloat16Storage' | 'LongStorage' | 'IntStorage';

/** A storage to write; share one object between tensors to make them share storage. */
export interface StorageSpec {
  type: WritableStorageType;
  data: ArrayLike<number>;
}

/** A tensor to write with explicit layout (for views / non-contiguous tensors). */
export interface TensorSpec {
  storage: StorageSpec;
  shape: readonly number[];
  /** Defaults to the C-contiguous strides of `shape`. */
  stride?: readonly number[];
  storageOffset?: number;
}

export interface TorchWriteOptions {
  format: 'legacy' | 'zip';
  /** Storage type for plain HostTensors (default FloatStorage). */
  storageType?: WritableStorageType;
  /** zip only: top folder name (default 'archive'). */
  folder?: string;
  /** zip only: deflate the entries (torch itself stores them uncompressed). */
  compress?: boolean;
  /** Location tag recorded for every storage (default 'cpu'). */
  location?: string;
}

/** A tiny protocol-2 pickler for the few value kinds a state_dict needs. */
class Pickler {
  private chunks: number[] = [];
  private out: Uint8Array[] = [];
  private flush(): void {
    if (this.chunks.length) {
      this.out.push(Uint8Array.from(this.chunks));
      this.chunks = [];
    }
  }
  op(...b: number[]): this {
    for (const x of b) this.chunks.push(x);
    return this;
  }
  raw(b: Uint8Array): this {
    this.flush();
    this.out.push(b);
    return this;
  }
  proto(): this {
    return this.op(0x80, 2);
  }
  int(v: number): this {
    if (Number.isInteger(v) && v >= 0 && v < 256) return this.op(0x4b, v);
    if (Number.isInteger(v) && v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return this.op(0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
    return this.long(BigInt(v));
  }
  long(v: bigint): this {
    const bytes: number[] = [];
    let x = v;
    // minimal two's complement little-endian
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const signBit = (bytes[bytes.length - 1]! & 0x80) !== 0;
      if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    const n = b.length;
    this.op(0x58, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
    return this.raw(b);
  }
  global(module: string, name: string): this {
    this.op(0x63);
    return this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  intTuple(v: readonly number[]): this {
    this.mark();
    for (const x of v) this.int(x);
    return this.tuple();
  }
  stop(): Uint8Array {
    this.op(0x2e);
    this.flush();
    const total = this.out.reduce((a, b) => a + b.length, 0);
    const res = new Uint8Array(total);
    let p = 0;
    for (const b of this.out) {
      res.set(b, p);
      p += b.length;
    }
    return res;
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

function floatToHalfBits(f: number): number {
  const f32 = new Float32Array([f]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function encodeStorage(s: StorageSpec): Uint8Array {
  const n = s.data.length;
  switch (s.type) {
    case 'FloatStorage':
      return new Uint8Array(Float32Array.from(s.data).buffer);
    case 'DoubleStorage':
      return new Uint8Array(Float64Array.from(s.data).buffer);
    case 'HalfStorage': {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = floatToHalfBits(s.data[i]!);
      return new Uint8Array(h.buffer);
    }
    case 'BFloat16Storage': {
      const f = Float32Array.from(s.data);
      const bits = new Uint32Array(f.buffer);
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const x = bits[i]!;
        h[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even
      }
      return new Uint8Array(h.buffer);
    }
    case 'LongStorage': {
      const v = new BigInt64Array(n);
      for (let i = 0; i < n; i++) v[i] = BigInt(Math.round(s.data[i]!));
      return new Uint8Array(v.buffer);
    }
    case 'IntStorage':
      return new Uint8Array(Int32Array.from(s.data, (v) => Math.round(v)).buffer);
  }
}

const ELEMENT_SIZE: Record<WritableStorageType, number> = {
  FloatStorage: 4, DoubleStorage: 8, HalfStorage: 2, BFloat16Storage: 2, LongStorage: 8, IntStorage: 4,
};

/**
 * Encodes tensors as a torch.save file (an OrderedDict state_dict) in the legacy or zip format.
 * Plain HostTensors are written contiguously with `options.storageType`; TensorSpecs give full
 * control of storage, offset and strides. Values are exactly what `torch.load` would return.
 */
export function encodeTorchCheckpoint(tensors: ReadonlyMap<string, HostTensor | TensorSpec>, options: TorchWriteOptions): Uint8Array {
  const location = options.location ?? 'cpu';
  const storageKeys = new Map<StorageSpec, string>();
  const storageList: StorageSpec[] = [];
  const legacy = options.format === 'legacy';
  const p = new Pickler().proto();
  p.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
  p.mark();
  for (const [name, t] of tensors) {
    const spec: TensorSpec =
      'storage' in t ? t : { storage: { type: options.storageType ?? 'FloatStorage', data: t.data }, shape: t.shape };
    let key = storageKeys.get(spec.storage);
    if (key === undefined) {
      key = String(legacy ? 140000000000000 + storageList.length * 4096 : storageList.length);
      storageKeys.set(spec.storage, key);
      storageList.push(spec.storage);
    }
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark(); // args
    p.mark().str('storage').global('torch', spec.storage.type).str(key).str(location).int(spec.storage.data.length);
    if (legacy) p.none();
    p.tuple().op(0x51); // BINPERSID
    p.int(spec.storageOffset ?? 0);
    p.intTuple(spec.shape);
    p.intTuple(spec.stride ?? contiguousStrides(spec.shape));
    p.bool(false);
    p.global('collections', 'OrderedDict').op(0x29, 0x52);
    p.tuple().op(0x52); // REDUCE
  }
  p.op(0x75); // SETITEMS
  const mainPickle = p.stop();

  if (legacy) {
    const parts: Uint8Array[] = [];
    parts.push(new Pickler().proto().long(LEGACY_MAGIC).stop());
    parts.push(new Pickler().proto().int(LEGACY_PROTOCOL_VERSION).stop());
    const si = new Pickler().proto().op(0x7d).mark();
    si.str('protocol_version').int(LEGACY_PROTOCOL_VERSION).str('little_endian').bool(true).str('type_sizes');
    si.op(0x7d).mark().str('short').int(2).str('int').int(4).str('long').int(8).op(0x75);
    si.op(0x75);
    parts.push(si.stop());
    parts.push(mainPickle);
    const kp = new Pickler().proto().op(0x5d).mark();
    for (const s of storageList) kp.str(storageKeys.get(s)!);
    kp.op(0x65); // APPENDS
    parts.push(kp.stop());
    for (const s of storageList) {
      const head = new Uint8Array(8);
      new DataView(head.buffer).setBigUint64(0, BigInt(s.data.length), true);
      parts.push(head, encodeStorage(s));
    }
    const total = parts.reduce((a, b) => a + b.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const b of parts) {
      out.set(b, pos);
      pos += b.length;
    }
    return out;
  }

  const folder = options.folder ?? 'archive';
  const level = options.compress ? 6 : 0;
  const files: Zippable = {
    [`${folder}/data.pkl`]: [mainPickle, { level }],
    [`${folder}/byteorder`]: [new TextEncoder().encode('little'), { level: 0 }],
  };
  storageList.forEach((s, i) => {
    const bytes = encodeStorage(s);
    if (bytes.length !== s.data.length * ELEMENT_SIZE[s.type]) throw new Error('internal: storage size');
    files[`${folder}/data/${i}`] = [bytes, { level }];
  });
  files[`${folder}/version`] = [new TextEncoder().encode('3\n'), { level: 0 }];
  return zipSync(files, { level: 0 });
}

/** Writes `encodeTorchCheckpoint(tensors, options)` to `path`. */
export async function saveTorchCheckpoint(path: string, tensors: ReadonlyMap<string, HostTensor | TensorSpec>, options: TorchWriteOptions): Promise<void> {
  await writeFile(path, encodeTorchCheckpoint(tensors, options));
}
