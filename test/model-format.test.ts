import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MODEL_FORMAT_NAME,
  readModelDir,
  readModelDirSync,
  readModelIndex,
  writeModelDir,
  type ModelJson,
} from '../src/io/model-format.js';
import type { StateDict } from '../src/io/state-dict.js';
import { loadTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { FIXTURE_CASE } from './helpers/paths.js';

const CASE = FIXTURE_CASE;

let tmp: string;
let counter = 0;
const freshDir = (): string => join(tmp, `m${counter++}`);
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pulse-model-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function sample(): StateDict {
  return new Map([
    ['synthesis.blocks.4x4.const', { shape: [1, 4, 4, 4], data: Float32Array.from({ length: 64 }, (_, i) => i / 7) }],
    ['mapping.dense0.bias', { shape: [3], data: Float32Array.from([1, 2, 3]) }],
    ['scalar', { shape: [], data: Float32Array.from([-5]) }],
    ['empty', { shape: [0], data: new Float32Array(0) }],
    // a view onto part of a larger buffer must be written correctly
    ['gaussian_fit.mean', { shape: [5], data: new Float32Array(Float32Array.from([9, 8, 7, 6, 5, 4, 3]).buffer, 8, 5) }],
  ]);
}

function expectSame(a: StateDict, b: StateDict): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) {
    expect(b.get(k)!.shape, k).toEqual([...t.shape]);
    const u = b.get(k)!.data;
    expect(Buffer.from(u.buffer, u.byteOffset, u.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(true);
  }
}

describe('model format', () => {
  it('round-trips config, metadata and tensors; one 64-byte-aligned buffer', async () => {
    const dir = freshDir();
    const tensors = sample();
    const config = { resolution: 64, fmapBase: 512, nested: { a: [1, 2] } };
    await writeModelDir(dir, { config, metadata: { source: 'test' }, tensors });
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);

    const m = await readModelDir(dir, { verify: true });
    expect(m.config).toEqual(config);
    expect(m.metadata).toEqual({ source: 'test' });
    expectSame(tensors, m.tensors);
    const buffers = new Set([...m.tensors.values()].map((t) => t.data.buffer));
    expect(buffers.size).toBe(1);
    for (const t of m.tensors.values()) expect(t.data.byteOffset % 64).toBe(0);

    const s = readModelDirSync(dir);
    expectSame(tensors, s.tensors);

    const j = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
    expect(j.format).toBe(MODEL_FORMAT_NAME);
    expect(j.version).toBe(1);
    expect(j.weights.byteLength).toBe((await readFile(join(dir, 'weights.bin'))).length);
    const mean = j.tensors.find((t) => t.name === 'gaussian_fit.mean')!;
    expect(mean).toMatchObject({ shape: [5], dtype: 'float32', byteLength: 20 });
    const bin = await readFile(join(dir, 'weights.bin'));
    expect(createHash('sha256').update(bin.subarray(mean.offset, mean.offset + 20)).digest('hex')).toBe(mean.sha256);
  });

  it('omits metadata when not given and checksums when asked', async () => {
    const dir = freshDir();
    await writeModelDir(dir, { config: {}, tensors: sample() }, { checksums: false });
    const j = await readModelIndex(dir);
    expect('metadata' in j).toBe(false);
    expect(j.tensors.every((t) => t.sha256 === undefined)).toBe(true);
    expect((await readModelDir(dir)).metadata).toBeUndefined();
  });

  it('refuses to overwrite without force, overwrites with force, leaves no temp files', async () => {
    const dir = freshDir();
    await writeModelDir(dir, { config: { v: 1 }, tensors: sample() });
    await expect(writeModelDir(dir, { config: { v: 2 }, tensors: new Map() })).rejects.toThrow(/model\.json already exists; pass force/);
    expect((await readModelDir(dir)).config).toEqual({ v: 1 });
    const small: StateDict = new Map([['x', { shape: [2], data: Float32Array.from([1, 2]) }]]);
    await writeModelDir(dir, { config: { v: 2 }, tensors: small }, { force: true });
    const m = await readModelDir(dir);
    expect(m.config).toEqual({ v: 2 });
    expectSame(small, m.tensors);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('rejects bad input to the writer without writing anything', async () => {
    const dir = freshDir();
    const bad: StateDict = new Map([['x', { shape: [2, 2], data: new Float32Array(3) }]]);
    await expect(writeModelDir(dir, { config: {}, tensors: bad })).rejects.toThrow(/tensor 'x' has shape \[2, 2\] \(4 values\) but 3/);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports a missing, corrupt or inconsistent model clearly', async () => {
    const dir = freshDir();
    await expect(readModelDir(dir)).rejects.toThrow(/is not a pulse-ts model directory: .*model\.json does not exist/);
    await writeModelDir(dir, { config: {}, tensors: sample() });
    const jsonPath = join(dir, 'model.json');
    const good = await readFile(jsonPath, 'utf8');
    const j = JSON.parse(good) as ModelJson;

    const expectJsonError = async (mutate: (m: ModelJson) => void, re: RegExp): Promise<void> => {
      const copy = JSON.parse(good) as ModelJson;
      mutate(copy);
      await writeFile(jsonPath, JSON.stringify(copy));
      await expect(readModelDir(dir)).rejects.toThrow(re);
    };
    await writeFile(jsonPath, good.slice(0, 100));
    await expect(readModelDir(dir)).rejects.toThrow(/model\.json is not valid JSON/);
    await expectJsonError((m) => ((m as { format: string }).format = 'other'), /model\.json is not a valid pulse-ts model index: format is "other"/);
    await expectJsonError((m) => (m.version = 2), /version 2 is not supported/);
    await expectJsonError((m) => (m.tensors[1]!.offset = j.weights.byteLength), /tensor 'mapping\.dense0\.bias' needs bytes \d+\.\.\d+ but weights\.byteLength is/);
    await expectJsonError((m) => (m.tensors[1]!.offset = 2), /tensor 'mapping\.dense0\.bias' has a bad offset 2/);
    await expectJsonError((m) => (m.tensors[0]!.shape = [1, 4, 4, 5]), /tensor 'synthesis\.blocks\.4x4\.const' has byteLength 256 but shape \[1, 4, 4, 5\] needs 320/);
    await expectJsonError((m) => ((m.tensors[0] as { dtype: string }).dtype = 'float16'), /has dtype "float16"/);
    await expectJsonError((m) => (m.tensors[2]!.name = m.tensors[0]!.name), /occurs twice/);
    await expectJsonError((m) => (m.weights.file = '../etc/passwd'), /plain file name/);
  });

  it('detects a truncated weights.bin and a checksum mismatch', async () => {
    const dir = freshDir();
    await writeModelDir(dir, { config: {}, tensors: sample() });
    const jsonPath = join(dir, 'model.json');
    const j = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson;
    j.tensors[1]!.sha256 = '0'.repeat(64);
    await writeFile(jsonPath, JSON.stringify(j));
    await readModelDir(dir); // not verified by default
    await expect(readModelDir(dir, { verify: true })).rejects.toThrow(/weights\.bin: tensor 'mapping\.dense0\.bias' fails its sha256 check/);
    await truncate(join(dir, 'weights.bin'), 100);
    await expect(readModelDir(dir)).rejects.toThrow(/weights\.bin is truncated: it has 100 bytes, model\.json says \d+/);
  });

  it('stores a converted torch checkpoint losslessly', async () => {
    const sd = await loadTorchCheckpoint(join(CASE, 'synthesis.pt'));
    const prefixed: StateDict = new Map([...sd].map(([k, v]) => [`synthesis.${k}`, v]));
    const dir = freshDir();
    await writeModelDir(dir, { config: { resolution: 32 }, tensors: prefixed });
    expectSame(prefixed, (await readModelDir(dir)).tensors);
  });
});
