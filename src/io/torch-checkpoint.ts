/**
 * Reading PyTorch checkpoints (`torch.save` files) without PyTorch: this module tells the two
 * container formats apart and hands the bytes to their reader —
 *
 * 1. Legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`; the published PULSE
 *    weights): src/io/torch-legacy-reader.ts.
 * 2. Zip (torch >= 1.6): src/io/torch-zip-reader.ts.
 *
 * What both share (storage types, tensor rebuilding, element decoding) is in
 * src/io/torch-storage.ts; the writer, for tests and tools, is src/io/torch-checkpoint-writer.ts.
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
import { readFile } from 'node:fs/promises';
import { parseLegacy } from './torch-legacy-reader.js';
import { parseZip } from './torch-zip-reader.js';
import { HOST_LE, Problem } from './torch-storage.js';
import type { StateDict } from './state-dict.js';

/** Raised for every problem; the message names the file. */
export class TorchCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchCheckpointError';
  }
}

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
