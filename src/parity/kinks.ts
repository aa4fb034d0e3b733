/**
 * Is a trace that drifts from a recording a wrong formula, or float32 landing on the other
 * side of a LeakyReLU kink? A pre-activation within float32's forward error of 0 takes slope
 * 1 or 0.2 depending on rounding, and one flip early on moves the gradient and then the run.
 *
 * Method. The recordings hold no pre-activations, and a float64 forward pass of the network
 * is not part of this project; so the forward error is measured the way the official code's
 * calibration measures its own spread: the first steps' states (latent_init and the initial
 * noise; with a `steps/` folder also the recorded states of steps 2-5) are run through this
 * implementation's synthesis network as they are and with the latent times (1 + 1e-6 N(0,1))
 * under 8 seeds, and every pre-activation whose sign differs between those runs is reported
 * (layer, its name, channel, y, x, the value here and the range seen). Such a value is within
 * the forward error of the kink: which side the recording took is rounding, not a formula.
 * No such value in the first steps, with a trace check near or past its bound, points at a bug.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../io/npy.js';
import { blockName, noiseSide } from '../stylegan/config.js';
import type { Synthesis } from '../stylegan/synthesis.js';
import { toDlatents } from '../pulse/generator-interface.js';
import { parseBadNoiseLayers } from '../pulse/options.js';
import { gaussian } from '../util/random.js';

/** A trace check whose error exceeds this fraction of its bound is diagnosed. */
export const KINK_DIAGNOSIS_FRACTION = 0.5;
/** Relative size of the latent perturbations (the calibration's). */
export const KINK_PERTURBATION = 1e-6;
/** Seeds of the perturbations (the calibration's 8). */
export const KINK_SEEDS = [7, 8, 9, 10, 11, 12, 13, 14] as const;
const MAX_REPORTED = 8;

export interface KinkCase {
  readonly batch: number;
  readonly tile: number;
  readonly num_layers: number;
  readonly noise_type: string;
  readonly bad_noise: string;
  readonly trainable_noise: readonly number[];
}

export interface KinkCandidate {
  /** 1-based step whose state was probed. */
  readonly step: number;
  readonly layer: number;
  /** The official module name, e.g. blocks.32x32.epi2. */
  readonly name: string;
  readonly batch: number;
  readonly channel: number;
  readonly y: number;
  readonly x: number;
  /** The pre-activation of the unperturbed state, here. */
  readonly value: number;
  readonly min: number;
  readonly max: number;
  /** How many of the perturbed runs put it on the other side. */
  readonly flips: number;
}

/** Official module name of LeakyReLU layer `layer` (two per block: epi1, epi2). */
export function layerName(layer: number): string {
  return `blocks.${blockName(Math.floor(layer / 2))}.epi${(layer % 2) + 1}`;
}

interface State {
  readonly step: number;
  readonly latent: { data: Float32Array; shape: number[] };
  readonly noise: (Float32Array | null)[];
}

function firstStates(dir: string, c: KinkCase): State[] {
  const bad = parseBadNoiseLayers(c.bad_noise);
  const init = Array.from({ length: c.num_layers }, (_, i) =>
    c.noise_type === 'zero' || bad.includes(i) ? null : readNpy(join(dir, `noise_${String(i).padStart(2, '0')}.npy`)).data,
  );
  const states: State[] = [{ step: 1, latent: readNpy(join(dir, 'latent_init.npy')), noise: init }];
  for (let step = 2; step <= 5; step++) {
    const s = `step${String(step).padStart(2, '0')}`;
    const file = join(dir, 'steps', `${s}_latent.npy`);
    if (!existsSync(file)) break;
    const noise = init.map((n, i) => (c.trainable_noise.includes(i) ? readNpy(join(dir, 'steps', `${s}_noise_${String(i).padStart(2, '0')}.npy`)).data : n));
    states.push({ step, latent: readNpy(file), noise });
  }
  return states;
}

/** Every LeakyReLU input of one forward pass, NHWC, by layer. */
function preActivations(synthesis: Synthesis, c: KinkCase, fit: { mean: Float32Array; std: Float32Array }, latent: Float32Array, shape: number[], noise: (Float32Array | null)[]): { data: Float32Array; shape: number[] }[] {
  const out: { data: Float32Array; shape: number[] }[] = [];
  tf.tidy(() => {
    let lat: tf.Tensor3D = tf.tensor3d(latent, shape as [number, number, number]);
    if (c.tile) lat = tf.tile(lat, [1, c.num_layers, 1]);
    const dl = toDlatents(lat, tf.tensor1d(fit.mean), tf.tensor1d(fit.std));
    const maps = noise.map((n, i) => (n ? tf.tensor4d(n, [c.batch, noiseSide(i), noiseSide(i), 1]) : null));
    synthesis.forward(dl, maps, (layer, pre) => {
      out[layer] = { data: pre.dataSync() as Float32Array, shape: pre.shape };
    });
  });
  return out;
}

/** Pre-activations of the first steps that cross the kink under 1e-6 perturbations. */
export function findKinkCandidates(dir: string, c: KinkCase, synthesis: Synthesis, fit: { mean: Float32Array; std: Float32Array }): KinkCandidate[] {
  const found: KinkCandidate[] = [];
  for (const state of firstStates(dir, c)) {
    const base = preActivations(synthesis, c, fit, state.latent.data, state.latent.shape, state.noise);
    const runs = KINK_SEEDS.map((seed) => {
      const eps = gaussian(`kink:${seed}`, state.latent.data.length);
      const lat = state.latent.data.map((v, i) => v * (1 + KINK_PERTURBATION * eps[i]));
      return preActivations(synthesis, c, fit, lat, state.latent.shape, state.noise);
    });
    base.forEach((layer, l) => {
      const [, h, w, ch] = layer.shape;
      for (let i = 0; i < layer.data.length; i++) {
        const v = layer.data[i];
        let flips = 0;
        let min = v;
        let max = v;
        for (const r of runs) {
          const u = r[l].data[i];
          if (u > 0 !== v > 0) flips++;
          min = Math.min(min, u);
          max = Math.max(max, u);
        }
        if (flips === 0) continue;
        const b = Math.floor(i / (h * w * ch));
        const rest = i % (h * w * ch);
        found.push({ step: state.step, layer: l, name: layerName(l), batch: b, channel: rest % ch, y: Math.floor(rest / (w * ch)), x: Math.floor(rest / ch) % w, value: v, min, max, flips });
      }
    });
  }
  return found;
}

/** Lines for a report: the kink candidates of the first steps, or the absence of any. */
export async function diagnoseKinks(dir: string, c: KinkCase, synthesis: Synthesis, fit: { mean: Float32Array; std: Float32Array }): Promise<string[]> {
  const found = findKinkCandidates(dir, c, synthesis, fit);
  const probed = existsSync(join(dir, 'steps', 'step02_latent.npy')) ? 'steps 1-5 (recorded states)' : 'step 1';
  if (found.length === 0) {
    return [`no LeakyReLU pre-activation of ${probed} changes sign under ${KINK_SEEDS.length} perturbations of the latent by ${KINK_PERTURBATION.toExponential(0)}: not a kink, look for a bug`];
  }
  const lines = [
    `${found.length} LeakyReLU pre-activation(s) of ${probed} within forward error of the kink (sign changes under perturbations of the latent by ${KINK_PERTURBATION.toExponential(0)}; which side the recording took is not recorded):`,
  ];
  for (const k of found.slice(0, MAX_REPORTED)) {
    lines.push(
      `step ${k.step}, layer ${k.layer} (${k.name}), channel ${k.channel}, y ${k.y}, x ${k.x}${k.batch ? `, batch ${k.batch}` : ''}: ${k.value.toExponential(2)} here, ${k.min.toExponential(2)}..${k.max.toExponential(2)} perturbed (${k.flips}/${KINK_SEEDS.length} flip)`,
    );
  }
  if (found.length > MAX_REPORTED) lines.push(`... and ${found.length - MAX_REPORTED} more`);
  return lines;
}
