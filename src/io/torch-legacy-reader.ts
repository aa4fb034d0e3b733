/**
 * The legacy torch.save reader (torch < 1.6, or `_use_new_zipfile_serialization=False`; the
 * published PULSE weights). Five things back to back in one stream —
 *   pickle(MAGIC = 0x1950a86a20f9469cfc6c), pickle(protocol version 1001),
 *   pickle(sys_info dict: little_endian, type_sizes), pickle(the object),
 *   pickle(list of storage keys), then for every key in that list: an 8-byte little-endian
 *   element count followed by the storage's raw bytes.
 * Inside the object pickle a tensor storage appears as a persistent id
 *   ('storage', <torch.XStorage class>, key, location, numel, view_metadata)
 * where view_metadata (torch < 0.4 only) is None or (view_key, offset, size).
 */
import { PickleError, unpickle } from './pickle.js';
import type { StateDict } from './state-dict.js';
import { LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION, Problem, type StorageRef, buildStateDict, runPickle } from './torch-storage.js';

/** The state_dict of a legacy stream; throws a Problem (see torch-storage.ts) on bad input. */
export function parseLegacy(data: Uint8Array): StateDict {
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
