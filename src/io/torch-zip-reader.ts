/**
 * The zip torch.save reader (torch >= 1.6): a zip archive with one top folder (usually
 * 'archive', but torch uses the file's stem, e.g. 'synthesis_zip'), holding <top>/data.pkl (the
 * object), <top>/data/<key> (one entry per storage, normally stored uncompressed and 64-byte
 * aligned), <top>/byteorder, <top>/version ... The persistent id is ('storage',
 * <torch.XStorage class>, key, location, numel). Zip64 and deflated entries are read too.
 */
import { inflateSync } from 'fflate';
import type { StateDict } from './state-dict.js';
import { Problem, type StorageRef, buildStateDict, runPickle } from './torch-storage.js';

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

/** The state_dict of a zip checkpoint; throws a Problem (see torch-storage.ts) on bad input. */
export function parseZip(data: Uint8Array): StateDict {
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
