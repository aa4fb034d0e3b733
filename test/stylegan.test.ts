/**
 * StyleGAN v1 synthesis and mapping networks: the recorded official outputs, state-dict
 * validation, architecture inference, input checks, and the gradient with respect to the
 * dlatents (the quantity PULSE optimises) against central finite differences.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Synthesis } from '../src/stylegan/synthesis.js';
import { Mapping } from '../src/stylegan/mapping.js';
import { fusedUpscaleFilter } from '../src/stylegan/modules/upscale-conv.js';
import { type Layout, tfLayoutTensor, toTfLayout } from '../src/stylegan/weights.js';
import { inferSynthesisConfig, mappingParamSpec, synthesisParamSpec } from '../src/stylegan/params.js';
import { randomMappingStateDict, randomSynthesisStateDict } from '../src/stylegan/random-weights.js';
import { synthesisParams } from '../src/stylegan/synthesis-layers.js';
import { mappingParams } from '../src/stylegan/mapping-layers.js';
import { DEFAULT_MAPPING_CONFIG, DEFAULT_SYNTHESIS_CONFIG, type SynthesisConfig, blockChannels, noiseSide, numLayers } from '../src/stylegan/config.js';
import type { StateDict } from '../src/io/state-dict.js';
import { readNpy } from '../src/io/npy.js';
import { loadTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { maxAbs, maxAbsErrorRatio, nhwcToNchw } from '../src/parity/check.js';
import { gaussian } from '../src/util/random.js';
import { useTestBackend } from './helpers/backend.js';
import { HAVE_SHARED_PARITY, caseDir, needsShared } from './helpers/paths.js';

beforeAll(async () => {
  await useTestBackend();
});

interface CaseJson {
  res: number;
  fmap_base: number;
  batch: number;
  num_layers: number;
}

function readCaseJson(name: string): CaseJson {
  return JSON.parse(readFileSync(join(caseDir(name), 'case.json'), 'utf8')) as CaseJson;
}

/** Runs a network on a recorded case's dlatents and noise; returns NCHW output. */
async function synthOnCase(net: Synthesis, name: string): Promise<{ out: Float32Array; shape: number[] }> {
  const c = readCaseJson(name);
  const dl = readNpy(join(caseDir(name), 'dlatents.npy'));
  const noise = Array.from({ length: c.num_layers }, (_, i) => readNpy(join(caseDir(name), `noise_${String(i).padStart(2, '0')}.npy`)));
  const before = tf.memory().numTensors;
  const out = tf.tidy(() =>
    net.forward(
      tf.tensor3d(dl.data, dl.shape as [number, number, number]),
      noise.map((m, i) => tf.tensor4d(m.data, [c.batch, noiseSide(i), noiseSide(i), 1])),
    ),
  );
  expect(tf.memory().numTensors).toBe(before + 1);
  const shape = out.shape;
  const data = nhwcToNchw((await out.data()) as Float32Array, shape);
  out.dispose();
  return { out: data, shape };
}

describe('Synthesis on the recorded official outputs', () => {
  for (const [name, file] of [
    ['f32', 'synthesis.pt'],
    ['f32', 'synthesis_zip.pt'],
    ['p64', 'synthesis.pt'],
    ['p64', 'synthesis_zip.pt'],
    ['p32-l1', 'synthesis.pt'],
    ['p128-tile', 'synthesis.pt'],
  ] as const) {
    const skip = name !== 'f32' && !HAVE_SHARED_PARITY;
    it.skipIf(skip)(`${name}/${file}: synth_out within 1e-4 x max${skip ? ` ${needsShared('parity')}` : ''}`, async () => {
      const c = readCaseJson(name);
      const path = join(caseDir(name), file);
      const net = Synthesis.fromStateDict(await loadTorchCheckpoint(path), path);
      expect(net.config.resolution).toBe(c.res);
      expect(net.numLayers).toBe(c.num_layers);
      expect(blockChannels(net.config)).toEqual(blockChannels({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: c.res, fmapBase: c.fmap_base }));
      const { out, shape } = await synthOnCase(net, name);
      expect(shape).toEqual([c.batch, c.res, c.res, 3]);
      const expected = readNpy(join(caseDir(name), 'synth_out.npy'));
      expect(expected.shape).toEqual([c.batch, 3, c.res, c.res]);
      const err = maxAbsErrorRatio(out, expected.data);
      expect(err).toBeLessThanOrEqual(1e-4);
      net.dispose();
    });
  }

  it('the legacy and zip checkpoints of f32 give identical outputs', async () => {
    const dir = caseDir('f32');
    const a = Synthesis.fromStateDict(await loadTorchCheckpoint(join(dir, 'synthesis.pt')), 'legacy');
    const b = Synthesis.fromStateDict(await loadTorchCheckpoint(join(dir, 'synthesis_zip.pt')), 'zip');
    const [x, y] = [await synthOnCase(a, 'f32'), await synthOnCase(b, 'f32')];
    expect(Buffer.from(x.out.buffer).equals(Buffer.from(y.out.buffer))).toBe(true);
    a.dispose();
    b.dispose();
  });
});

describe('Mapping', () => {
  it.skipIf(!HAVE_SHARED_PARITY)(`p64: mapping(mapping_z) matches mapping_w within 1e-4 x max ${needsShared('parity')}`, async () => {
    const dir = caseDir('p64');
    const mapping = Mapping.fromStateDict(await loadTorchCheckpoint(join(dir, 'mapping.pt')), 'mapping.pt');
    const z = readNpy(join(dir, 'mapping_z.npy'));
    const expected = readNpy(join(dir, 'mapping_w.npy'));
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => mapping.forward(tf.tensor2d(z.data, z.shape as [number, number])));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(w.shape).toEqual(expected.shape);
    expect(maxAbsErrorRatio(await w.data(), expected.data)).toBeLessThanOrEqual(1e-4);
    w.dispose();
    mapping.dispose();
  });

  it('rejects z of the wrong width, naming the shapes', () => {
    const mapping = Mapping.fromStateDict(randomMappingStateDict(1), 'random');
    const z = tf.zeros([2, 256]) as tf.Tensor2D;
    expect(() => mapping.forward(z)).toThrow(/\[2, 256\].*\[B, 512\]/);
    z.dispose();
    mapping.dispose();
  });

  it('a mapping state dict with a wrong tensor fails naming it', () => {
    const sd = randomMappingStateDict(1);
    sd.delete('dense7.bias');
    expect(() => Mapping.fromStateDict(sd, 'm.pt')).toThrow(/m\.pt.*missing tensor 'dense7\.bias'/s);
    expect([...mappingParamSpec().keys()]).toHaveLength(16);
  });
});

describe('fused upscale + conv (blocks with output side >= 128)', () => {
  it('equals torch conv_transpose2d(x, pad(w.permute(1, 0, 2, 3)) summed over 4 shifts, stride 2, padding 1)', async () => {
    const [inC, outC, h] = [3, 2, 4];
    const w = gaussian('fused-w', outC * inC * 9); // PyTorch [out, in, 3, 3], already scaled
    const x = gaussian('fused-x', h * h * inC); // NHWC [1, h, h, in]
    // The official 4x4 kernel, [in, out, 4, 4]: P = pad(w^T, 1); k = P[1:,1:] + P[:-1,1:] + P[1:,:-1] + P[:-1,:-1].
    const P = (i: number, o: number, a: number, b: number) => (a >= 1 && a <= 3 && b >= 1 && b <= 3 ? w[((o * inC + i) * 3 + a - 1) * 3 + b - 1] : 0);
    const k = (i: number, o: number, a: number, b: number) => P(i, o, a + 1, b + 1) + P(i, o, a, b + 1) + P(i, o, a + 1, b) + P(i, o, a, b);
    // torch conv_transpose2d: out[o, y, x] += in[i, iy, ix] * k[i, o, ky, kx] at y = 2 iy - 1 + ky.
    const side = 2 * h;
    const ref = new Float64Array(side * side * outC);
    for (let i = 0; i < inC; i++)
      for (let iy = 0; iy < h; iy++)
        for (let ix = 0; ix < h; ix++)
          for (let o = 0; o < outC; o++)
            for (let ky = 0; ky < 4; ky++)
              for (let kx = 0; kx < 4; kx++) {
                const y = 2 * iy - 1 + ky;
                const xx = 2 * ix - 1 + kx;
                if (y < 0 || y >= side || xx < 0 || xx >= side) continue;
                ref[(y * side + xx) * outC + o] += x[(iy * h + ix) * inC + i] * k(i, o, ky, kx);
              }
    const filter = toTfLayout(Float32Array.from(w), [outC, inC, 3, 3], 'conv');
    const kernel = fusedUpscaleFilter(tf.tensor4d(filter.data, [3, 3, inC, outC]));
    expect(kernel.shape).toEqual([4, 4, outC, inC]);
    const out = tf.tidy(() => tf.conv2dTranspose(tf.tensor4d(x, [1, h, h, inC]), kernel, [1, side, side, outC], 2, 'same'));
    expect(maxAbsErrorRatio(await out.data(), ref)).toBeLessThan(1e-6);
    tf.dispose([kernel, out]);
  });
});

const TINY: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 8, fmapBase: 32 };

describe('weights in tfjs layout', () => {
  it('tfLayoutTensor (axes moved inside TensorFlow) gives toTfLayout\'s values and shape for every layout', async () => {
    const cases: [Layout, number[]][] = [['conv', [5, 4, 3, 3]], ['linear', [6, 7]], ['const', [1, 8, 4, 4]], ['plain', [9]]];
    for (const [layout, shape] of cases) {
      const data = gaussian(`layout-${layout}`, shape.reduce((a, b) => a * b, 1));
      const ref = toTfLayout(data, shape, layout);
      const t = tfLayoutTensor(data, shape, layout);
      expect(t.shape).toEqual(ref.shape);
      expect(await t.data()).toEqual(ref.data);
      t.dispose();
    }
  });
});

describe('parameters declared by the layers', () => {
  it('every name is declared once, and only the blur buffers are left out of training', () => {
    const cfg: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 256, fmapBase: 256 };
    const params = synthesisParams(cfg);
    expect(new Set(params.map((p) => p.name)).size).toBe(params.length);
    expect(params.filter((p) => !p.trainable).map((p) => p.name)).toEqual(
      [8, 16, 32, 64, 128, 256].map((s) => `blocks.${s}x${s}.conv0_up.intermediate.kernel`),
    );
    const net = Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 1), 'random', cfg, { trainable: true });
    expect(net.weights.variables()).toHaveLength(params.length - 6);
    net.dispose();
    const mapping = mappingParams(DEFAULT_MAPPING_CONFIG);
    expect(new Set(mapping.map((p) => p.name)).size).toBe(mapping.length);
  });
});

describe('state dict validation', () => {
  it('a missing tensor is named, with its expected shape; nothing is allocated', () => {
    const sd = randomSynthesisStateDict(TINY, 1);
    sd.delete('blocks.8x8.conv1.bias');
    const before = tf.memory().numTensors;
    expect(() => Synthesis.fromStateDict(sd, 'g.pt')).toThrow(/g\.pt does not match.*missing tensor 'blocks\.8x8\.conv1\.bias' \(expected shape \[8\]\)/s);
    expect(() => Synthesis.fromStateDict(sd, 'g.pt', TINY)).toThrow(/missing tensor 'blocks\.8x8\.conv1\.bias'/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an extra tensor is named with its shape', () => {
    const sd = randomSynthesisStateDict(TINY, 1);
    sd.set('blocks.8x8.extra.weight', { shape: [2, 3], data: new Float32Array(6) });
    expect(() => Synthesis.fromStateDict(sd, 'g.pt')).toThrow(/unexpected tensor 'blocks\.8x8\.extra\.weight' \(shape \[2, 3\]\)/);
  });

  it('a mis-shaped tensor is named with both shapes', () => {
    const sd = randomSynthesisStateDict(TINY, 1);
    sd.set('blocks.8x8.epi2.style_mod.lin.bias', { shape: [15], data: new Float32Array(15) });
    expect(() => Synthesis.fromStateDict(sd, 'g.pt')).toThrow(
      /tensor 'blocks\.8x8\.epi2\.style_mod\.lin\.bias' has shape \[15\], expected \[16\]/,
    );
    const sd2 = randomSynthesisStateDict(TINY, 1);
    sd2.set('torgb.bias', { shape: [1, 3], data: new Float32Array(3) });
    expect(() => Synthesis.fromStateDict(sd2, 'g.pt', TINY)).toThrow(/tensor 'torgb\.bias' has shape \[1, 3\], expected \[3\]/);
  });

  it('lists several problems in one error', () => {
    const sd = randomSynthesisStateDict(TINY, 1);
    sd.delete('blocks.4x4.conv.bias');
    sd.set('bogus', { shape: [1], data: new Float32Array(1) });
    let message = '';
    try {
      Synthesis.fromStateDict(sd, 'g.pt', TINY);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/missing tensor 'blocks\.4x4\.conv\.bias'/);
    expect(message).toMatch(/unexpected tensor 'bogus'/);
  });

  it('something that is not a synthesis network is refused by name', () => {
    expect(() => Synthesis.fromStateDict(randomMappingStateDict(1), 'mapping.pt')).toThrow(/mapping\.pt is not a StyleGAN synthesis network/);
  });
});

describe('inferSynthesisConfig', () => {
  for (const cfg of [
    { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 256 },
    { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64, fmapBase: 8192 },
    { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 128, fmapBase: 1024 },
    { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 8, fmapBase: 32 },
  ]) {
    it(`reads back res ${cfg.resolution}, fmapBase ${cfg.fmapBase}`, () => {
      const got = inferSynthesisConfig(randomSynthesisStateDict(cfg, 3), 'x');
      expect(got.resolution).toBe(cfg.resolution);
      expect(got.dlatentSize).toBe(512);
      expect(got.numChannels).toBe(3);
      expect(blockChannels(got)).toEqual(blockChannels(cfg));
      // The inferred config describes exactly the same tensors.
      expect([...synthesisParamSpec(got)]).toEqual([...synthesisParamSpec(cfg)]);
    });
  }

  it('recovers fmapBase exactly where a width below fmapMax pins it', () => {
    expect(inferSynthesisConfig(randomSynthesisStateDict({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 256 }, 1), 'x').fmapBase).toBe(256);
    expect(inferSynthesisConfig(randomSynthesisStateDict({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 128, fmapBase: 1024 }, 1), 'x').fmapBase).toBe(1024);
    expect(inferSynthesisConfig(randomSynthesisStateDict({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64, fmapBase: 8192 }, 1), 'x').fmapBase).toBe(8192);
    // 32 px at fmapBase 16384 is 512 wide everywhere: every fmapBase >= 8192 gives the same
    // tensors, and the smallest one is reported.
    const wide = inferSynthesisConfig(randomSynthesisStateDict({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 16384 }, 1), 'x');
    expect(blockChannels(wide)).toEqual([512, 512, 512, 512]);
    expect(wide.fmapBase).toBe(8192);
  });

  it('reads a non-default dlatent size and the recorded cases', async () => {
    const cfg = { ...TINY, dlatentSize: 8 };
    expect(inferSynthesisConfig(randomSynthesisStateDict(cfg, 1), 'x').dlatentSize).toBe(8);
    for (const name of ['f32', ...(HAVE_SHARED_PARITY ? ['p64', 'p32-l1', 'p128-tile'] : [])]) {
      const c = readCaseJson(name);
      const got = inferSynthesisConfig(await loadTorchCheckpoint(join(caseDir(name), 'synthesis.pt')), name);
      expect(got.resolution).toBe(c.res);
      expect(blockChannels(got)).toEqual(blockChannels({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: c.res, fmapBase: c.fmap_base }));
    }
  });
});

describe('Synthesis.forward input checks and memory', () => {
  it('a wrong dlatent shape throws, naming both shapes', () => {
    const net = Synthesis.fromStateDict(randomSynthesisStateDict(TINY, 1), 'tiny');
    const noise = Array.from({ length: 4 }, () => null);
    const wrongLayers = tf.zeros([1, 5, 512]) as tf.Tensor3D;
    const wrongWidth = tf.zeros([1, 4, 256]) as tf.Tensor3D;
    expect(() => net.forward(wrongLayers, noise)).toThrow(/\[1, 5, 512\].*8 px generator needs \[B, 4, 512\]/);
    expect(() => net.forward(wrongWidth, noise)).toThrow(/\[1, 4, 256\].*\[B, 4, 512\]/);
    tf.dispose([wrongLayers, wrongWidth]);
    net.dispose();
  });

  it('a wrong number of noise maps throws, naming both counts', () => {
    const net = Synthesis.fromStateDict(randomSynthesisStateDict(TINY, 1), 'tiny');
    const dl = tf.zeros([1, 4, 512]) as tf.Tensor3D;
    expect(() => net.forward(dl, [null, null, null])).toThrow(/got 3 noise maps; this generator has 4 noise inputs/);
    expect(() => net.forward(dl, [null, null, null, null, null])).toThrow(/got 5 noise maps/);
    dl.dispose();
    net.dispose();
  });

  it('leaves tf.memory().numTensors unchanged after a forward inside tidy, and dispose frees the weights', () => {
    const before = tf.memory().numTensors;
    const net = Synthesis.fromStateDict(randomSynthesisStateDict(TINY, 1, 0.1), 'tiny');
    const afterBuild = tf.memory().numTensors;
    tf.tidy(() => {
      const dl = tf.randomNormal([2, 4, 512]) as tf.Tensor3D;
      const noise = Array.from({ length: 4 }, (_, i) => tf.randomNormal([2, noiseSide(i), noiseSide(i), 1]) as tf.Tensor4D);
      const out = net.forward(dl, noise);
      expect(out.shape).toEqual([2, 8, 8, 3]);
    });
    expect(tf.memory().numTensors).toBe(afterBuild);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('null noise equals zero noise', async () => {
    const net = Synthesis.fromStateDict(randomSynthesisStateDict(TINY, 2, 0.5), 'tiny');
    const dl = tf.tensor3d(gaussian('dl', 4 * 512), [1, 4, 512]);
    const a = net.forward(dl, [null, null, null, null]);
    const zeros = Array.from({ length: 4 }, (_, i) => tf.zeros([1, noiseSide(i), noiseSide(i), 1]) as tf.Tensor4D);
    const b = net.forward(dl, zeros);
    expect(maxAbsErrorRatio(await a.data(), await b.data())).toBeLessThan(1e-6);
    tf.dispose([dl, a, b, ...zeros]);
    net.dispose();
  });
});

describe('Synthesis gradient w.r.t. dlatents vs central finite differences', () => {
  /**
   * A small random generator. `smooth` raises every convolution bias to 10 so that no
   * pre-activation comes near LeakyReLU's kink: the network is then smooth and float32
   * central differences converge (with the official init the many kinks and near-constant
   * channels make finite differences at 128 px too rough to compare at 1e-2).
   */
  function tinyNet(cfg: SynthesisConfig, smooth: boolean): Synthesis {
    const sd: StateDict = randomSynthesisStateDict(cfg, 'grad', 1);
    if (smooth) for (const [name, t] of sd) if (/(^blocks\.4x4\.bias|\.conv\.bias|\.conv0_up\.bias|\.conv1\.bias)$/.test(name)) t.data.fill(10);
    return Synthesis.fromStateDict(sd, 'tiny', cfg);
  }

  async function check(cfg: SynthesisConfig, smooth: boolean, h: number, wrt: 'dlatents' | 'noise0'): Promise<void> {
    const net = tinyNet(cfg, smooth);
    const layers = numLayers(cfg.resolution);
    const d = cfg.dlatentSize;
    const res = cfg.resolution;
    const noiseData = Array.from({ length: layers }, (_, i) => gaussian(`noise:${i}`, noiseSide(i) ** 2));
    const noise = noiseData.map((m, i) => tf.tensor4d(m, [1, noiseSide(i), noiseSide(i), 1]));
    const dlData = gaussian('dl', layers * d);
    const w = gaussian('w', res * res * 3);
    const wt = tf.tensor4d(w, [1, res, res, 3]);

    // f(dl, noise0) = sum(G(dl, noise) * w), the sum on the host in float64.
    const f = async (dl: Float32Array, n0: Float32Array): Promise<number> => {
      const out = tf.tidy(() => net.forward(tf.tensor3d(dl, [1, layers, d]), [tf.tensor4d(n0, [1, 4, 4, 1]), ...noise.slice(1)]));
      const o = await out.data();
      out.dispose();
      let s = 0;
      for (let i = 0; i < o.length; i++) s += o[i] * w[i];
      return s;
    };
    const dlT = tf.tensor3d(dlData, [1, layers, d]);
    const g =
      wrt === 'dlatents'
        ? tf.grad((x: tf.Tensor) => tf.sum(tf.mul(net.forward(x as tf.Tensor3D, noise), wt)))(dlT)
        : tf.grad((n0: tf.Tensor) => tf.sum(tf.mul(net.forward(dlT, [n0 as tf.Tensor4D, ...noise.slice(1)]), wt)))(noise[0]);
    const grad = await g.data();
    g.dispose();

    const base = wrt === 'dlatents' ? dlData : noiseData[0];
    const fd = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const v = Float32Array.from(base);
      v[i] = base[i] + h;
      const up = wrt === 'dlatents' ? await f(v, noiseData[0]) : await f(dlData, v);
      v[i] = base[i] - h;
      const dn = wrt === 'dlatents' ? await f(v, noiseData[0]) : await f(dlData, v);
      // the perturbation actually applied, in float32
      const step = Math.fround(base[i] + h) - Math.fround(base[i] - h);
      fd[i] = (up - dn) / step;
    }
    const scale = maxAbs(fd);
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < fd.length; i++) {
      expect(Math.abs(grad[i] - fd[i]), `${wrt}[${i}] (layer ${Math.floor(i / d)}): grad ${grad[i]} vs fd ${fd[i]}`).toBeLessThanOrEqual(1e-2 * scale);
    }
    tf.dispose([...noise, wt, dlT]);
    net.dispose();
  }

  it('plain path (res 8, fmapBase 32, dlatent 8), smooth weights', async () => {
    await check({ ...TINY, dlatentSize: 8 }, true, 1e-2, 'dlatents');
  });

  it('plain path (res 8, fmapBase 32, dlatent 8), official init with its LeakyReLU kinks', async () => {
    await check({ ...TINY, dlatentSize: 8 }, false, 3e-4, 'dlatents');
  });

  it('fused upscale path (res 128, fmapBase 128, dlatent 4: widths 64..2), smooth weights', async () => {
    // All 12 layers: blocks 8..64 px take the plain path, the 128 px block the fused one.
    await check({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 128, fmapBase: 128, dlatentSize: 4 }, true, 1e-2, 'dlatents');
  });

  it('gradient w.r.t. the first noise map (trainable in PULSE), plain path', async () => {
    await check({ ...TINY, dlatentSize: 8 }, true, 1e-2, 'noise0');
  });
});

describe('an inference network releases the raw filters its layers no longer read', () => {
  const cfg: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 256, fmapMax: 64 };
  /** One dlatent and one noise map per layer, from fixed seeds. */
  const seededInputs = (layers: number) => ({
    w: tf.tensor3d(gaussian('w', layers * 512), [1, layers, 512]),
    noise: Array.from({ length: layers }, (_, i) => {
      const side = noiseSide(i);
      return tf.tensor4d(gaussian(`n${i}`, side * side), [1, side, side, 1]);
    }),
  });

  it('the upscale convs (always: their fused and sub-pixel filters replace them), and reading one names it', async () => {
    const sd = randomSynthesisStateDict(cfg, 'release', 0.1);
    const net = Synthesis.fromStateDict(sd, 'random', cfg);
    const trainable = Synthesis.fromStateDict(sd, 'random', cfg, { trainable: true });
    expect(() => net.weights.get('blocks.8x8.conv0_up.weight')).toThrow(/weight 'blocks\.8x8\.conv0_up\.weight' released: .*build it with trainable weights/);
    // What is kept still reads: biases, toRGB, the 3x3 convs on TensorFlow's path.
    expect(net.weights.get('blocks.8x8.conv0_up.bias').shape).toEqual([net.weights.get('blocks.8x8.conv0_up.bias').shape[0]]);
    await expect(net.toStateDict()).rejects.toThrow(/released: this network was built for inference/);
    // The image is the one the trainable network (which releases nothing) draws.
    const { w, noise } = seededInputs(net.numLayers);
    const [a, b] = [net.forward(w, noise), trainable.forward(w, noise)];
    expect(maxAbsErrorRatio(await a.data(), await b.data())).toBeLessThan(1e-5);
    expect((await trainable.toStateDict()).size).toBe(sd.size);
    tf.dispose([w, ...noise, a, b]);
    net.dispose();
    trainable.dispose();
  });

  it("adds every conv's bias exactly once, where the epilogue takes it over (a search on the native backend) and where not", async () => {
    // Random weights have zero biases: give every bias a value, so a bias added twice or never shows.
    const sd = randomSynthesisStateDict(cfg, 'biases', 0.1);
    for (const [name, t] of sd) if (name.endsWith('.bias')) sd.set(name, { shape: t.shape, data: Float32Array.from(gaussian(name, t.data.length), (v) => 0.5 * v) });
    const net = Synthesis.fromStateDict(sd, 'random', cfg);
    const trainable = Synthesis.fromStateDict(sd, 'random', cfg, { trainable: true });
    const { w, noise } = seededInputs(net.numLayers);
    const [a, b] = [net.forward(w, noise), trainable.forward(w, noise)];
    expect(maxAbsErrorRatio(await a.data(), await b.data())).toBeLessThan(1e-5);
    // With the biases zeroed the image differs: they matter here.
    const zeroed = new Map([...sd].map(([k, t]) => [k, k.endsWith('conv1.bias') || k.endsWith('conv0_up.bias') ? { shape: t.shape, data: new Float32Array(t.data.length) } : t]));
    const plain = Synthesis.fromStateDict(zeroed, 'random', cfg);
    const c = plain.forward(w, noise);
    expect(maxAbsErrorRatio(await c.data(), await b.data())).toBeGreaterThan(1e-2);
    tf.dispose([w, ...noise, a, b, c]);
    [net, trainable, plain].forEach((n) => n.dispose());
  });
});
