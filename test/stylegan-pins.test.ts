/**
 * Pins the exact bytes of the random initialisers and of the per-tensor weight specs (pure
 * JavaScript, the same on every machine), and the forward pass and gradients of random
 * networks (synthesis both paths, mapping, discriminator) by fingerprints, so that a refactor
 * of how the networks compute is proved to leave the numbers where they were.
 *
 * The forward and gradient bytes depend on the CPU: TensorFlow picks its kernels by the vector
 * units it finds, and the SHA-256 pins first recorded here (before the parameter refactor of
 * issue 11) held on one EPYC and not on the next. So each tensor is pinned by its RMS and its
 * projection on a fixed Gaussian direction, recorded on the code before a change (here: before
 * issue 15's derived-filter convolutions) and compared within FINGERPRINT_RTOL of its RMS plus
 * FINGERPRINT_GROUP_RTOL of the largest RMS in its group (a few gradients, of noise strengths
 * for instance, are sums of large terms that cancel, so their own rounding is relative to the
 * terms, not to them). Calibration: native against wasm, whose kernels sum in other orders,
 * differ by up to a third of these bounds; a real change moves them by far more.
 * The references are in test/fixtures/stylegan-fingerprints.json; PULSE_RECORD_FINGERPRINTS=1
 * rewrites them for the running backend.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StateDict } from '../src/io/state-dict.js';
import { DEFAULT_SYNTHESIS_CONFIG, type SynthesisConfig, noiseSide, numLayers } from '../src/stylegan/config.js';
import { Mapping, mappingWeightSpecs } from '../src/stylegan/mapping.js';
import { randomMappingStateDict, randomSynthesisStateDict } from '../src/stylegan/random-weights.js';
import { Synthesis, synthesisWeightSpecs } from '../src/stylegan/synthesis.js';
import type { WeightSpec } from '../src/stylegan/weights.js';
import { Discriminator, type DiscriminatorConfig, randomDiscriminatorStateDict } from '../src/train/discriminator.js';
import { DEFAULT_MAPPING_CONFIG } from '../src/stylegan/config.js';
import { gaussian } from '../src/util/random.js';
import { useTestBackend } from './helpers/backend.js';

let backend = '';
beforeAll(async () => {
  backend = (await useTestBackend()).name;
});

/** Plain path only (sides < 128). */
const SMALL: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 128, dlatentSize: 16 };
/** Reaches the fused upscale path at 128 px; widths 32..1. */
const FUSED: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 128, fmapBase: 64, dlatentSize: 8 };
const MAPPING = { ...DEFAULT_MAPPING_CONFIG, latentSize: 16, dlatentSize: 16, numLayers: 3 };
const DISC: DiscriminatorConfig = { resolution: 16, fmapBase: 64, fmapDecay: 1, fmapMax: 32, mbstdGroup: 2 };

function hashBytes(parts: readonly (string | Float32Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex').slice(0, 16);
}

function hashStateDict(sd: StateDict): string {
  return hashBytes([...sd].flatMap(([name, t]) => [`${name}[${t.shape.join(',')}]`, t.data]));
}

function hashSpecs(specs: Map<string, WeightSpec>): string {
  return hashBytes([...specs].map(([name, s]) => `${name}:${s.layout}:${s.scale.toPrecision(17)}:${s.trainable}`));
}

/** Per tensor: [RMS, projection on a fixed Gaussian direction / sqrt(n)], in float64. */
type Fingerprint = [number, number][];

async function fingerprintTensors(ts: readonly tf.Tensor[]): Promise<Fingerprint> {
  const out: Fingerprint = [];
  for (const t of ts) {
    const v = await t.data();
    const dir = gaussian(`fingerprint-${v.length}`, v.length);
    let sq = 0;
    let dot = 0;
    for (let i = 0; i < v.length; i++) {
      sq += v[i] * v[i];
      dot += v[i] * dir[i];
    }
    out.push([Math.sqrt(sq / v.length), dot / Math.sqrt(v.length)]);
  }
  return out;
}

/** A fixed projection, so the loss sees every output element with a different weight. */
function projection(shape: readonly number[], seed: string): tf.Tensor {
  return tf.tensor(gaussian(seed, shape.reduce((a, b) => a * b, 1)), [...shape]);
}

/** Forward output and the gradients of <out, projection> w.r.t. the dlatents, every noise map and every variable. */
async function synthesisFingerprints(cfg: SynthesisConfig): Promise<{ inference: Fingerprint; training: Fingerprint }> {
  const sd = randomSynthesisStateDict(cfg, 'pin', 0.1);
  const L = numLayers(cfg.resolution);
  const batch = 2;
  const dl = tf.tensor3d(gaussian('pin-dl', batch * L * cfg.dlatentSize), [batch, L, cfg.dlatentSize]);
  const noise = Array.from({ length: L }, (_, i) => tf.tensor4d(gaussian(`pin-noise-${i}`, batch * noiseSide(i) ** 2), [batch, noiseSide(i), noiseSide(i), 1]));
  const proj = projection([batch, cfg.resolution, cfg.resolution, cfg.numChannels], 'pin-proj');

  const inferenceNet = Synthesis.fromStateDict(sd, 'pin', cfg);
  const out = inferenceNet.forward(dl, noise);
  const inference = await fingerprintTensors([out]);
  out.dispose();
  inferenceNet.dispose();

  const net = Synthesis.fromStateDict(sd, 'pin', cfg, { trainable: true });
  const dlVar = tf.variable(dl, true);
  const noiseVars = noise.map((n) => tf.variable(n, true));
  const vars = [dlVar, ...noiseVars, ...net.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.forward(dlVar, noiseVars), proj)) as tf.Scalar, vars);
  const training = await fingerprintTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), dlVar, ...noiseVars, dl, ...noise, proj]);
  net.dispose();
  return { inference, training };
}

async function mappingFingerprint(): Promise<Fingerprint> {
  const net = Mapping.fromStateDict(randomMappingStateDict('pin', MAPPING), 'pin', MAPPING, { trainable: true });
  const z = tf.variable(tf.tensor2d(gaussian('pin-z', 3 * MAPPING.latentSize), [3, MAPPING.latentSize]), true);
  const proj = projection([3, MAPPING.dlatentSize], 'pin-proj');
  const vars = [z, ...net.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.forward(z), proj)) as tf.Scalar, vars);
  const prints = await fingerprintTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), z, proj]);
  net.dispose();
  return prints;
}

async function discriminatorFingerprint(): Promise<Fingerprint> {
  const d = new Discriminator(DISC, randomDiscriminatorStateDict(DISC, 'pin'));
  const images = tf.variable(tf.tensor4d(gaussian('pin-img', 4 * 16 * 16 * 3), [4, 16, 16, 3]), true);
  const vars = [images, ...d.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(d.forward(images), tf.tensor1d([1, -2, 3, -4]))) as tf.Scalar, vars);
  const prints = await fingerprintTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), images]);
  d.dispose();
  return prints;
}

describe('random initialisers and weight specs: pinned bytes', () => {
  it('randomSynthesisStateDict', () => {
    expect(hashStateDict(randomSynthesisStateDict(SMALL, 7))).toBe('be06446bfb91af17');
    expect(hashStateDict(randomSynthesisStateDict(FUSED, 'x', 0.25))).toBe('f340b5766bff2ab9');
    expect(hashStateDict(randomSynthesisStateDict({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64, fmapBase: 256 }, 7, 0.1))).toBe('64f388f164336276');
  });

  it('randomMappingStateDict', () => {
    expect(hashStateDict(randomMappingStateDict(7, MAPPING))).toBe('8709c4af143a3030');
    expect(hashStateDict(randomMappingStateDict(7))).toBe('99d0a0160fc0e73e');
  });

  it('randomDiscriminatorStateDict', () => {
    expect(hashStateDict(randomDiscriminatorStateDict(DISC, 7))).toBe('8d259fa332c21d3f');
  });

  it('synthesis and mapping weight specs (layout, He scale, trainability)', () => {
    expect(hashSpecs(synthesisWeightSpecs(SMALL))).toBe('20c7045f50dd633b');
    expect(hashSpecs(synthesisWeightSpecs(FUSED))).toBe('e8f88300daca318a');
    expect(hashSpecs(synthesisWeightSpecs(DEFAULT_SYNTHESIS_CONFIG))).toBe('c0a638701e700cd7');
    expect(hashSpecs(mappingWeightSpecs(DEFAULT_MAPPING_CONFIG))).toBe('99fa12e9adddd7c5');
  });
});

/** Per backend: [small inference, small training, fused inference, fused training, mapping, discriminator]. */
const FINGERPRINTS = new URL('./fixtures/stylegan-fingerprints.json', import.meta.url);
/** Relative to each tensor's RMS. */
const FINGERPRINT_RTOL = 1e-5;
/** Relative to the largest RMS among the tensors of its group (one network's value and gradients). */
const FINGERPRINT_GROUP_RTOL = 1e-5;

describe('forward and gradients of random networks: pinned fingerprints', () => {
  it('synthesis (plain and fused upscale paths), mapping and discriminator', async () => {
    const small = await synthesisFingerprints(SMALL);
    const fused = await synthesisFingerprints(FUSED);
    const got: Record<string, Fingerprint> = {
      'small.inference': small.inference,
      'small.training': small.training,
      'fused.inference': fused.inference,
      'fused.training': fused.training,
      mapping: await mappingFingerprint(),
      discriminator: await discriminatorFingerprint(),
    };
    const recorded = JSON.parse(readFileSync(FINGERPRINTS, 'utf8')) as Record<string, Record<string, Fingerprint>>;
    if (process.env.PULSE_RECORD_FINGERPRINTS === '1') {
      recorded[backend] = got;
      writeFileSync(FINGERPRINTS, `${JSON.stringify(recorded, null, 1)}\n`);
    }
    const want = recorded[backend];
    if (!want) throw new Error(`test/fixtures/stylegan-fingerprints.json has no references for the ${backend} backend: record them on the code before a change with PULSE_RECORD_FINGERPRINTS=1`);
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const [group, prints] of Object.entries(want)) {
      expect(got[group].length, group).toBe(prints.length);
      const groupScale = Math.max(...prints.map(([rms]) => rms));
      prints.forEach(([rms, proj], i) => {
        const [gotRms, gotProj] = got[group][i];
        const bound = FINGERPRINT_RTOL * rms + FINGERPRINT_GROUP_RTOL * groupScale;
        const where = `${group} tensor ${i}: rms ${gotRms} against ${rms}, projection ${gotProj} against ${proj} (bound ${bound})`;
        expect(Math.abs(gotRms - rms), where).toBeLessThanOrEqual(bound);
        expect(Math.abs(gotProj - proj), where).toBeLessThanOrEqual(bound);
      });
    }
  }, 120_000);
});
