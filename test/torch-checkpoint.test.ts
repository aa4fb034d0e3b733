import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';
import { PickleError, pyAttributes, unpickle } from '../src/io/pickle.js';
import type { StateDict } from '../src/io/state-dict.js';
import { loadTorchCheckpoint, parseTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { type StorageSpec, encodeTorchCheckpoint, saveTorchCheckpoint } from '../src/io/torch-checkpoint-writer.js';
import { readZipDirectory } from '../src/io/torch-zip-reader.js';
import { FIXTURE_CASE, SHARED, needsShared } from './helpers/paths.js';

const PARITY = join(SHARED, 'parity');
const P64 = join(PARITY, 'cases/p64');
const haveShared = existsSync(join(P64, 'mapping.pt'));
/** Checkpoints written by torch itself, in both formats: the project's own fixture case. */
const SYNTH = FIXTURE_CASE;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pulse-ckpt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function expectSameStateDict(a: StateDict, b: StateDict): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    expect(u.shape, k).toEqual(t.shape);
    expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(true);
  }
}

describe('pickle VM', () => {
  it('decodes OrderedDict as an ordered Map and keeps BUILD attributes aside', () => {
    // OrderedDict([('b', 1), ('a', (2.5, None, True))]) with a _metadata attribute, protocol 2
    const p = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.from('ccollections\nOrderedDict\n', 'latin1'),
      Buffer.from([0x29, 0x52, 0x71, 0x00, 0x28]), // EMPTY_TUPLE REDUCE BINPUT 0 MARK
      Buffer.from([0x8c, 0x01]), Buffer.from('b'), Buffer.from([0x4b, 0x01]),
      Buffer.from([0x8c, 0x01]), Buffer.from('a'),
      Buffer.from([0x47]), Buffer.from(new Float64Array([2.5]).buffer).reverse(), // BINFLOAT (big-endian)
      Buffer.from([0x4e, 0x88, 0x87, 0x75]), // NONE NEWTRUE TUPLE3 SETITEMS
      Buffer.from([0x7d, 0x8c, 0x09]), Buffer.from('_metadata'), Buffer.from([0x7d, 0x73, 0x62, 0x2e]), // {"_metadata": {}} BUILD STOP
    ]);
    const { value, end } = unpickle(p);
    expect(end).toBe(p.length);
    expect(value).toBeInstanceOf(Map);
    const m = value as Map<unknown, unknown>;
    expect([...m.keys()]).toEqual(['b', 'a']);
    expect(m.get('b')).toBe(1);
    expect(m.get('a')).toEqual([2.5, null, true]);
    expect(pyAttributes(m)?.has('_metadata')).toBe(true);
  });

  it('names the opcode and offset of unknown opcodes, unknown globals and truncation', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff]))).toThrow(/opcode 0xff at byte 2/);
    const g = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n', 'latin1'), Buffer.from([0x2e])]);
    expect(() => unpickle(g)).toThrow(/unsupported global os\.system .*GLOBAL at byte 2/);
    try {
      unpickle(Uint8Array.from([0x80, 0x02, 0x58, 0x10, 0x00, 0x00, 0x00, 0x61]));
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(PickleError);
      expect((e as PickleError).truncated).toBe(true);
      expect((e as Error).message).toMatch(/BINUNICODE at byte 2/);
    }
  });

  it('decodes LONG1 big integers, memo references and STACK_GLOBAL', () => {
    // LONG1 magic number, then a list [x, x] sharing a memoised string via MEMOIZE/BINGET
    const magic = unpickle(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(magic.value).toBe(0x1950a86a20f9469cfc6cn);
    const neg = unpickle(Uint8Array.from([0x80, 0x02, 0x8a, 0x01, 0xff, 0x2e]));
    expect(neg.value).toBe(-1);
    const shared = unpickle(Uint8Array.from([0x80, 0x04, 0x5d, 0x94, 0x28, 0x8c, 0x01, 0x78, 0x94, 0x68, 0x01, 0x65, 0x2e]));
    expect(shared.value).toEqual(['x', 'x']);
    const sg = Buffer.concat([
      Buffer.from([0x80, 0x04, 0x8c, 0x0b]), Buffer.from('collections'),
      Buffer.from([0x8c, 0x0b]), Buffer.from('OrderedDict'),
      Buffer.from([0x93, 0x29, 0x81, 0x2e]), // STACK_GLOBAL EMPTY_TUPLE NEWOBJ STOP
    ]);
    expect(unpickle(sg).value).toBeInstanceOf(Map);
  });
});

describe('published / recorded checkpoints', () => {
  it('loads synthesis.pt (legacy) and synthesis_zip.pt (zip) identically', async () => {
    const legacy = await loadTorchCheckpoint(join(SYNTH, 'synthesis.pt'));
    const zip = await loadTorchCheckpoint(join(SYNTH, 'synthesis_zip.pt'));
    expect(legacy.size).toBeGreaterThan(40);
    expectSameStateDict(legacy, zip);

    const c = legacy.get('blocks.4x4.const')!;
    expect(c.shape.length).toBe(4);
    expect([c.shape[0], c.shape[2], c.shape[3]]).toEqual([1, 4, 4]);
    const C = legacy.get('torgb.weight')!.shape[1]!;
    expect(legacy.get('torgb.weight')!.shape).toEqual([3, C, 1, 1]);
    expect(legacy.get('torgb.bias')!.shape).toEqual([3]);
    const k = legacy.get('blocks.8x8.conv0_up.intermediate.kernel')!;
    expect(k.shape).toEqual([1, 1, 3, 3]);
    // The blur kernel buffer is [1,2,1]x[1,2,1] normalised: a known value.
    expect(Array.from(k.data)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));
    expect(legacy.get('blocks.4x4.epi1.style_mod.lin.weight')!.shape).toEqual([2 * c.shape[1]!, 512]);
    for (const [name, t] of legacy) {
      expect(t.data.length, name).toBe(t.shape.reduce((a, b) => a * b, 1));
      expect(t.data.every(Number.isFinite), name).toBe(true);
    }
  });

  it.skipIf(!haveShared)(`loads mapping.pt: dense0..7 weights [512,512] and biases [512] ${needsShared('parity')}`, async () => {
    const m = await loadTorchCheckpoint(join(P64, 'mapping.pt'));
    expect(m.size).toBe(16);
    for (let i = 0; i < 8; i++) {
      expect(m.get(`dense${i}.weight`)!.shape).toEqual([512, 512]);
      expect(m.get(`dense${i}.bias`)!.shape).toEqual([512]);
    }
  });

  it.skipIf(!haveShared)(`loads mapping_fit.pt equal to the recorded .npy files, and the official cuda-tagged Gaussian fit ${needsShared('parity')}`, async () => {
    const fit = await loadTorchCheckpoint(join(P64, 'mapping_fit.pt'));
    expect([...fit.keys()]).toEqual(['mean', 'std']);
    for (const key of ['mean', 'std'] as const) {
      const npy = readNpy(join(P64, `mapping_fit_${key}.npy`));
      const t = fit.get(key)!;
      expect(t.data.length).toBe(512);
      expect(npy.data.length).toBe(512);
      expect(Array.from(t.data)).toEqual(Array.from(npy.data));
    }
    const official = await loadTorchCheckpoint(join(PARITY, 'official_gaussian_fit.pt'));
    expect([...official.keys()]).toEqual(['mean', 'std']);
    expect(official.get('mean')!.shape).toEqual([512]);
    expect(official.get('std')!.shape).toEqual([512]);
    expect(official.get('std')!.data.every((v) => v > 0)).toBe(true);
    // gfit_{mean,std}.npy of every case record the same official fit.
    expect(Array.from(official.get('mean')!.data)).toEqual(Array.from(readNpy(join(P64, 'gfit_mean.npy')).data));
    expect(Array.from(official.get('std')!.data)).toEqual(Array.from(readNpy(join(P64, 'gfit_std.npy')).data));
  });

  it('reports a truncated legacy file, naming the file and the storage', async () => {
    const full = await readFile(join(SYNTH, 'synthesis.pt'));
    for (const n of [full.length - 1, Math.floor(full.length / 2), 20000, 5000, 100, 3]) {
      const p = join(tmp, `synthesis-trunc-${n}.pt`);
      await writeFile(p, full.subarray(0, n));
      const err = await loadTorchCheckpoint(p).then(() => null, (e: Error) => e);
      expect(err, `cut at ${n}`).toBeInstanceOf(Error);
      expect(err!.message).toContain(p);
      expect(err!.message).toMatch(/is truncated/);
      if (n > 20000) expect(err!.message).toMatch(/storage \d+ of \d+ .* needs \d+ bytes/);
    }
  });

  it('reports a truncated zip file and a zip with a missing data entry', async () => {
    const full = await readFile(join(SYNTH, 'synthesis_zip.pt'));
    const cut = join(tmp, 'synthesis_zip-trunc.pt');
    await writeFile(cut, full.subarray(0, full.length - 500));
    await expect(loadTorchCheckpoint(cut)).rejects.toThrow(new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is truncated`));

    const files = unzipSync(full);
    const names = Object.keys(files);
    const victim = names.find((n) => n.endsWith('/data/3'))!;
    expect(victim).toBeDefined();
    const rest: Zippable = {};
    for (const n of names) if (n !== victim) rest[n] = [files[n]!, { level: 0 }];
    const p = join(tmp, 'synthesis_zip-missing.pt');
    await writeFile(p, zipSync(rest));
    await expect(loadTorchCheckpoint(p)).rejects.toThrow(/synthesis_zip-missing\.pt is corrupt: the archive has no entry synthesis_zip\/data\/3/);

    // The same archive re-zipped with deflate still loads, and matches.
    const deflated: Zippable = {};
    for (const n of names) deflated[n] = [files[n]!, { level: 1 }];
    const dp = join(tmp, 'synthesis_zip-deflate.pt');
    await writeFile(dp, zipSync(deflated));
    expect([...readZipDirectory(await readFile(dp)).values()].some((e) => e.method === 8)).toBe(true);
    expectSameStateDict(await loadTorchCheckpoint(join(SYNTH, 'synthesis.pt')), await loadTorchCheckpoint(dp));
  });
});

describe('error handling', () => {
  it('rejects random bytes, empty files, plain pickles and missing files with the path in the message', async () => {
    const rnd = join(tmp, 'random.pt');
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    bytes[0] = 0x13;
    await writeFile(rnd, bytes);
    await expect(loadTorchCheckpoint(rnd)).rejects.toThrow(/random\.pt is not a PyTorch checkpoint/);
    bytes[0] = 0x80; // looks like a pickle PROTO opcode, then garbage
    await writeFile(rnd, bytes);
    await expect(loadTorchCheckpoint(rnd)).rejects.toThrow(/random\.pt (is not a PyTorch checkpoint|is truncated|is corrupt)/);

    const empty = join(tmp, 'empty.pt');
    await writeFile(empty, new Uint8Array(0));
    await expect(loadTorchCheckpoint(empty)).rejects.toThrow(/empty\.pt is not a PyTorch checkpoint: the file is empty/);

    const plain = join(tmp, 'plain.pkl');
    await writeFile(plain, Uint8Array.from([0x80, 0x02, 0x7d, 0x2e])); // pickle of {}
    await expect(loadTorchCheckpoint(plain)).rejects.toThrow(/plain\.pkl is not a PyTorch checkpoint: .*magic number/);

    const zipNoPkl = join(tmp, 'nopkl.pt');
    await writeFile(zipNoPkl, zipSync({ 'a/readme.txt': new TextEncoder().encode('hi') }));
    await expect(loadTorchCheckpoint(zipNoPkl)).rejects.toThrow(/nopkl\.pt is not a PyTorch checkpoint: .*data\.pkl/);

    await expect(loadTorchCheckpoint(join(tmp, 'nope.pt'))).rejects.toThrow(/cannot read .*nope\.pt/);

    // A pickled nn.Module (a class we cannot know) instead of a state_dict.
    const sdBytes = Buffer.from(encodeTorchCheckpoint(new Map([['w', { shape: [1], data: Float32Array.from([1]) }]]), { format: 'legacy' }));
    const at = sdBytes.indexOf('collections\nOrderedDict\n');
    const moduleBytes = Buffer.concat([sdBytes.subarray(0, at), Buffer.from('__main__\nNet\n'), sdBytes.subarray(at + 24)]);
    const modPath = join(tmp, 'module.pt');
    await writeFile(modPath, moduleBytes);
    await expect(loadTorchCheckpoint(modPath)).rejects.toThrow(/module\.pt cannot be loaded: main object: unsupported global __main__\.Net \(opcode GLOBAL at byte \d+\)/);
  });
});

describe('writer / reader round trips', () => {
  const sd: StateDict = new Map([
    ['a.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0.25, -0, 1e-3]) }],
    ['a.bias', { shape: [3], data: Float32Array.from([7, 8, 9]) }],
    ['scalar', { shape: [], data: Float32Array.from([42]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);

  for (const format of ['legacy', 'zip'] as const) {
    it(`round-trips float32 tensors (${format})`, async () => {
      const p = join(tmp, `rt-${format}.pt`);
      await saveTorchCheckpoint(p, sd, { format, location: 'cuda:0' });
      expectSameStateDict(sd, await loadTorchCheckpoint(p));
    });

    it(`converts double/half/bfloat16/int storages to float32 (${format})`, () => {
      const vals = [0.5, -2, 1.5, 384, -0.125, 3]; // exactly representable in every type
      for (const storageType of ['DoubleStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'IntStorage'] as const) {
        const expected = storageType === 'LongStorage' || storageType === 'IntStorage' ? vals.map((v) => Math.round(v) + 0) : vals;
        const bytes = encodeTorchCheckpoint(new Map([['x', { shape: [2, 3], data: Float32Array.from(vals) }]]), { format, storageType });
        const got = parseTorchCheckpoint(bytes, 'mem.pt');
        expect(Array.from(got.get('x')!.data), storageType).toEqual(expected);
      }
      const half = [65504, -65504, 2 ** -24, 2 ** -14, 1 / 3, Infinity];
      const got = parseTorchCheckpoint(encodeTorchCheckpoint(new Map([['h', { shape: [6], data: Float32Array.from(half) }]]), { format, storageType: 'HalfStorage' }), 'mem.pt');
      expect(Array.from(got.get('h')!.data)).toEqual([65504, -65504, 2 ** -24, 2 ** -14, 0.333251953125, Infinity]);
    });

    it(`materialises non-contiguous and shared-storage tensors (${format})`, () => {
      const storage: StorageSpec = { type: 'FloatStorage', data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };
      const bytes = encodeTorchCheckpoint(
        new Map([
          // transpose of a [2,3] matrix stored at offset 1: rows [1,2,3],[4,5,6]
          ['t', { storage, shape: [3, 2], stride: [1, 3], storageOffset: 1 }],
          // every second element, from the end (negative strides do not occur in torch but are handled)
          ['s', { storage, shape: [5], stride: [2] }],
          // a broadcast (stride 0) view
          ['b', { storage, shape: [2, 3], stride: [0, 1], storageOffset: 7 }],
          ['whole', { storage, shape: [10] }],
        ]),
        { format },
      );
      const got = parseTorchCheckpoint(bytes, 'mem.pt');
      expect(Array.from(got.get('t')!.data)).toEqual([1, 4, 2, 5, 3, 6]);
      expect(Array.from(got.get('s')!.data)).toEqual([0, 2, 4, 6, 8]);
      expect(Array.from(got.get('b')!.data)).toEqual([7, 8, 9, 7, 8, 9]);
      expect(Array.from(got.get('whole')!.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it(`rejects a tensor that reads past its storage, naming it (${format})`, () => {
      const storage: StorageSpec = { type: 'FloatStorage', data: [0, 1, 2] };
      const bytes = encodeTorchCheckpoint(new Map([['bad.view', { storage, shape: [4] }]]), { format });
      expect(() => parseTorchCheckpoint(bytes, 'mem.pt')).toThrow(/mem\.pt is corrupt: tensor 'bad\.view' \[4\]/);
    });
  }

  it('uses any top folder name in zip archives and handles deflated entries', () => {
    const bytes = encodeTorchCheckpoint(sd, { format: 'zip', folder: 'my_model', compress: true });
    expect([...readZipDirectory(bytes).keys()]).toContain('my_model/data.pkl');
    expectSameStateDict(sd, parseTorchCheckpoint(bytes, 'mem.pt'));
  });
});
