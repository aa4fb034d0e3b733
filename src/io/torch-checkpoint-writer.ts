/**
 * Writing torch.save files (an OrderedDict state_dict) in the legacy or the zip format, for
 * tests and tools that need checkpoints torch.load can read. Minimal: protocol-2 pickles of the
 * few value kinds a state_dict needs, and the storage types of WritableStorageType.
 */
import { writeFile } from 'node:fs/promises';
import { zipSync, type Zippable } from 'fflate';
import type { HostTensor } from './state-dict.js';
import { LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION } from './torch-storage.js';

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
