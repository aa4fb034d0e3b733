import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/io/npy.js';
import { FIXTURE_CASE } from './helpers/paths.js';

const CASE = FIXTURE_CASE;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pulse-npy-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Builds a .npy file by hand with any header / payload. */
function npyBytes(header: string, payload: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let h = header;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  out.set(payload, pre + h.length);
  return out;
}

describe('npy', () => {
  it('round-trips float32 arrays of several ranks', async () => {
    for (const shape of [[], [1], [5], [2, 3], [1, 2, 3, 4], [0, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
      const p = join(tmp, `a${shape.join('x')}.npy`);
      writeNpy(p, shape, data);
      const bytes = await readFile(p);
      expect((10 + new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)) % 64).toBe(0);
      const back = readNpy(p);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('writes the header numpy writes', () => {
    const bytes = encodeNpy([512], new Float32Array(512));
    const header = new TextDecoder('latin1').decode(bytes.subarray(10, 128));
    expect(header).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (512,), }" + ' '.repeat(117 - 59) + '\n');
    expect(bytes.length).toBe(128 + 2048);
  });

  it('reads files written by numpy, byte for byte re-encodable', async () => {
    const p = join(CASE, 'gfit_mean.npy');
    const a = readNpy(p);
    expect(a.shape).toEqual([512]);
    expect(Buffer.from(encodeNpy(a.shape, a.data)).equals(await readFile(p))).toBe(true);
    const lat = readNpy(join(CASE, 'latent_init.npy'));
    expect(lat.shape.length).toBe(3);
    expect(lat.data.length).toBe(lat.shape.reduce((x, y) => x * y, 1));
  });

  it('converts <f8 and <f2, reads version 2.0 headers', () => {
    const f8 = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(Float64Array.from([0.1, -2, 3]).buffer));
    expect(Array.from(parseNpy(f8, 'x.npy').data)).toEqual(Array.from(Float32Array.from([0.1, -2, 3])));
    const f2 = npyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer));
    expect(Array.from(parseNpy(f2, 'x.npy').data)).toEqual([1, -2]);
    const v2 = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", new Uint8Array(Float32Array.from([5, 6]).buffer), 2);
    expect(parseNpy(v2, 'x.npy')).toEqual({ shape: [1, 2], data: Float32Array.from([5, 6]) });
  });

  it('gives clear errors naming the file', async () => {
    const i4 = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8));
    expect(() => parseNpy(i4, 'ints.npy')).toThrow(/ints\.npy has dtype '<i4'/);
    const be = npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8));
    expect(() => parseNpy(be, 'be.npy')).toThrow(/be\.npy has dtype '>f4'/);
    const fo = npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16));
    expect(() => parseNpy(fo, 'f.npy')).toThrow(/f\.npy is stored in Fortran order/);
    const short = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(8));
    expect(() => parseNpy(short, 's.npy')).toThrow(/s\.npy is truncated: shape \[4\] of '<f4' needs 16 data bytes, file has 8/);
    expect(() => parseNpy(new Uint8Array(20), 'z.npy')).toThrow(/z\.npy is not a \.npy file/);
    const p = join(tmp, 'garbage.npy');
    await writeFile(p, 'hello world, not numpy');
    expect(() => readNpy(p)).toThrow(/garbage\.npy is not a \.npy file/);
    expect(() => readNpy(join(tmp, 'missing.npy'))).toThrow(/cannot read .*missing\.npy/);
    expect(() => writeNpy(join(tmp, 'bad.npy'), [2, 2], new Float32Array(3))).toThrow(/needs 4 values, got 3/);
  });
});
