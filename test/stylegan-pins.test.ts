/**
 * Pins the exact bytes of the random initialisers, of the per-tensor weight specs, and of
 * the forward pass and gradients of random networks (synthesis both paths, mapping,
 * discriminator), so that refactoring how the networks declare their parameters is proved
 * bit-identical. The hashes were recorded before that refactor; a change here means the
 * numbers changed, not just the code.
 *
 * Forward and gradient bytes depend on the backend's kernels, so they are pinned per backend
 * (run with PULSE_TEST_BACKEND=wasm to check wasm); initialisers and specs are backend-free.
 */
import { createHash } from 'node:crypto';
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

async function hashTensors(ts: readonly tf.Tensor[]): Promise<string> {
  const parts: (string | Float32Array)[] = [];
  for (const t of ts) parts.push(`[${t.shape.join(',')}]`, (await t.data()) as Float32Array);
  return hashBytes(parts);
}

/** A fixed projection, so the loss sees every output element with a different weight. */
function projection(shape: readonly number[], seed: string): tf.Tensor {
  return tf.tensor(gaussian(seed, shape.reduce((a, b) => a * b, 1)), [...shape]);
}

/** Forward output and the gradients of <out, projection> w.r.t. the dlatents, every noise map and every variable. */
async function synthesisHashes(cfg: SynthesisConfig): Promise<{ inference: string; training: string }> {
  const sd = randomSynthesisStateDict(cfg, 'pin', 0.1);
  const L = numLayers(cfg.resolution);
  const batch = 2;
  const dl = tf.tensor3d(gaussian('pin-dl', batch * L * cfg.dlatentSize), [batch, L, cfg.dlatentSize]);
  const noise = Array.from({ length: L }, (_, i) => tf.tensor4d(gaussian(`pin-noise-${i}`, batch * noiseSide(i) ** 2), [batch, noiseSide(i), noiseSide(i), 1]));
  const proj = projection([batch, cfg.resolution, cfg.resolution, cfg.numChannels], 'pin-proj');

  const inferenceNet = Synthesis.fromStateDict(sd, 'pin', cfg);
  const out = inferenceNet.forward(dl, noise);
  const inference = await hashTensors([out]);
  out.dispose();
  inferenceNet.dispose();

  const net = Synthesis.fromStateDict(sd, 'pin', cfg, { trainable: true });
  const dlVar = tf.variable(dl, true);
  const noiseVars = noise.map((n) => tf.variable(n, true));
  const vars = [dlVar, ...noiseVars, ...net.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.forward(dlVar, noiseVars), proj)) as tf.Scalar, vars);
  const training = await hashTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), dlVar, ...noiseVars, dl, ...noise, proj]);
  net.dispose();
  return { inference, training };
}

async function mappingHash(): Promise<string> {
  const net = Mapping.fromStateDict(randomMappingStateDict('pin', MAPPING), 'pin', MAPPING, { trainable: true });
  const z = tf.variable(tf.tensor2d(gaussian('pin-z', 3 * MAPPING.latentSize), [3, MAPPING.latentSize]), true);
  const proj = projection([3, MAPPING.dlatentSize], 'pin-proj');
  const vars = [z, ...net.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.forward(z), proj)) as tf.Scalar, vars);
  const hash = await hashTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), z, proj]);
  net.dispose();
  return hash;
}

async function discriminatorHash(): Promise<string> {
  const d = new Discriminator(DISC, randomDiscriminatorStateDict(DISC, 'pin'));
  const images = tf.variable(tf.tensor4d(gaussian('pin-img', 4 * 16 * 16 * 3), [4, 16, 16, 3]), true);
  const vars = [images, ...d.weights.variables()];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(d.forward(images), tf.tensor1d([1, -2, 3, -4]))) as tf.Scalar, vars);
  const hash = await hashTensors([value, ...vars.map((v) => grads[v.name])]);
  tf.dispose([value, ...Object.values(grads), images]);
  d.dispose();
  return hash;
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
const FORWARD_PINS: Record<string, readonly string[]> = {
  tensorflow: ['f804cbdf659f650b', 'ebf6d5c31e889f5f', 'e625d01c5445cfd5', '3acc48ddb530ad14', 'e1d9541db00052a0', 'd70b09202641cb6f'],
  wasm: ['1cb81adb4d9ea78e', 'b05b3372d8195150', '43ab2040c78c9521', '77ac50330bb34358', 'f21f03b6853a5481', 'a810fabf057d4721'],
};

describe('forward and gradients of random networks: pinned bytes', () => {
  it('synthesis (plain and fused upscale paths), mapping and discriminator', async () => {
    const pins = FORWARD_PINS[backend];
    if (!pins) return; // no pins recorded for this backend (e.g. cpu)
    const small = await synthesisHashes(SMALL);
    const fused = await synthesisHashes(FUSED);
    const got = [small.inference, small.training, fused.inference, fused.training, await mappingHash(), await discriminatorHash()];
    expect(got).toEqual(pins);
  }, 120_000);
});
