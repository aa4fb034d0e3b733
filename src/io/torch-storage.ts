/**
 * What the two torch.save readers (src/io/torch-legacy-reader.ts, src/io/torch-zip-reader.ts)
 * share: the storage types and the tensor references a torch pickle builds, the pickle globals
 * and `persistent_load` that build them, running a pickle with torch's globals, and turning a
 * pickled tensor into a contiguous float32 HostTensor (any storage type, any strides). The
 * legacy magic number and protocol version are here too: the writer needs them as well.
 *
 * In both formats, a tensor is `torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 * stride, requires_grad, backward_hooks[, metadata])` and a Parameter wraps one in
 * `torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)`.
 */
import { endianness } from 'node:os';
import { PickleError, standardGlobals, unpickle } from './pickle.js';
import { numel as shapeNumel, shapeString, type HostTensor, type StateDict } from './state-dict.js';

/** The magic number that starts a legacy torch.save stream. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
export const LEGACY_PROTOCOL_VERSION = 1001;

/**
 * A problem found while parsing; `kind` decides the wording of the final message, which
 * parseTorchCheckpoint (src/io/torch-checkpoint.ts) turns into a TorchCheckpointError naming the file.
 */
export class Problem extends Error {
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
export class StorageRef {
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

export const HOST_LE = endianness() === 'LE';

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

export function buildStateDict(obj: unknown): StateDict {
  const sd: StateDict = new Map();
  for (const [name, ref] of collectTensors(obj)) sd.set(name, materialise(name, ref));
  return sd;
}

// ---------------------------------------------------------------------------------------------
// Running a torch pickle

/**
 * Unpickles one pickle at `offset` with torch's globals (and, given `storages`, collects the
 * storages it references there); pickle errors become Problems that name `what`.
 */
export function runPickle(data: Uint8Array, offset: number, what: string, storages?: Map<string, StorageRef>): { value: unknown; end: number } {
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
