/**
 * The training loop of `pulse train`: StyleGAN v1 generator (mapping + synthesis, the
 * architecture PULSE searches) against a residual discriminator, non-saturating logistic
 * loss, lazy R1, Adam with StyleGAN's betas, an EMA generator, style mixing, per-step
 * random noise. Every random draw is a function of (seed, step), and the batch sampler's
 * RNG state is checkpointed, so a resumed run continues exactly where a killed one stopped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { variableGradsLean } from '../backend/lean-gradients.js';
import type { StateDict } from '../io/state-dict.js';
import { gaussian } from '../util/random.js';
import seedrandom from 'seedrandom';
import { Synthesis } from '../stylegan/synthesis.js';
import { Mapping } from '../stylegan/mapping.js';
import { type SynthesisConfig, DEFAULT_MAPPING_CONFIG, DEFAULT_SYNTHESIS_CONFIG, noiseSide } from '../stylegan/config.js';
import { randomMappingStateDict, randomSynthesisStateDict } from '../stylegan/random-weights.js';
import { createOptimizer, type Optimizer, type OptimizerState } from '../pulse/optimizers.js';
import { Discriminator, randomDiscriminatorStateDict, type DiscriminatorConfig } from './discriminator.js';
import { discriminatorLoss, generatorLoss, r1Penalty } from './losses.js';
import { emaBeta, updateEma } from './ema.js';
import type { TrainConfig } from './config.js';
import { type AugmentTransform, applyAugment, drawAugment, parseAugmentPolicy } from './augment.js';
import { type GrowthStage, GrowingOutputs, growthStage, levelOfDetail, lodPhaseChanged, realsAtStage, upsampleNearest2x } from './growing.js';
import { AgeGenderFeatures } from './face-features.js';
import { VisionHead, randomVisionHeadStateDict, visionDiscriminatorLoss, visionGeneratorLoss } from './vision-discriminator.js';
import { modeSeekingTerm } from './mode-seeking.js';

/** Where real images come from: NHWC float32 in [-1, 1], resumable. */
export interface RealBatchSource {
  readonly size: number;
  next(batchSize: number): Float32Array;
  state(): unknown;
}

export interface StepStats {
  readonly step: number;
  readonly images: number;
  readonly lossD: number;
  readonly lossG: number;
  /** R1 penalty of this step, or null when it was not computed (lazy). */
  readonly r1: number | null;
  readonly realScore: number;
  readonly fakeScore: number;
  readonly seconds: number;
  /** Growing only: the level of detail this step trained at (growing.ts; 0 = full resolution). */
  readonly lod?: number;
  /** Vision-aided runs only: the head's loss and mean logits on reals and fakes this step. */
  readonly vision?: { readonly lossD: number; readonly realScore: number; readonly fakeScore: number };
  /** Mode-seeking runs only: the batch's mean ratio of face-feature to latent difference (mode-seeking.ts). */
  readonly modeSeekingRatio?: number;
}

/** The generator as PULSE uses it: synthesis + mapping (and, while growing, the lower blocks' toRGB layers). */
export interface GeneratorNets {
  readonly synthesis: Synthesis;
  readonly mapping: Mapping;
  /** Progressive growing only (growing.ts): training-only outputs, dropped at export. */
  readonly growing?: GrowingOutputs;
}

export function synthesisConfigFor(c: TrainConfig): SynthesisConfig {
  // 'orig' is left implicit, so its exported model.json reads as every v1 model's does.
  return { ...DEFAULT_SYNTHESIS_CONFIG, resolution: c.resolution, fmapBase: c.fmapBase, fmapMax: c.fmapMax, ...(c.architecture === 'skip' ? { architecture: 'skip' as const } : {}) };
}

export function discriminatorConfigFor(c: TrainConfig): DiscriminatorConfig {
  return { resolution: c.resolution, fmapBase: c.fmapBase, fmapDecay: 1, fmapMax: c.fmapMax, mbstdGroup: c.mbstdGroup, growFrom: c.growFrom ?? c.resolution };
}

/** A vision-aided discriminator (vision-discriminator.ts): frozen features, a trainable head and its Adam. */
export interface VisionAided {
  readonly features: AgeGenderFeatures;
  readonly head: VisionHead;
  readonly opt: Optimizer;
}

/** The frozen face network, loaded when the vision-aided D or the mode-seeking term needs it. */
function faceNetFor(config: TrainConfig): AgeGenderFeatures | undefined {
  return config.visionAided !== 'none' || config.modeSeeking > 0 ? AgeGenderFeatures.load() : undefined;
}

/** A head (restored from `sd`, else initialised from the seed) on the frozen network, or undefined when the config has none. */
function visionAidedFor(config: TrainConfig, features: AgeGenderFeatures | undefined, sd?: StateDict): VisionAided | undefined {
  if (config.visionAided === 'none' || !features) return undefined;
  const head = new VisionHead(features.channels, sd ?? randomVisionHeadStateDict(features.channels, config.seed), sd ? 'checkpoint V' : 'vision head');
  // No lazy regulariser on the head, so plain StyleGAN betas.
  const opt = createOptimizer('adam', { beta1: config.beta1, beta2: config.beta2, eps: config.adamEps });
  return { features, head, opt };
}

/** Everything a checkpoint holds besides the config. */
export interface TrainState {
  step: number;
  images: number;
  wallSeconds: number;
}

function generatorVars(g: GeneratorNets): tf.Variable[] {
  return [...g.mapping.weights.variables(), ...g.synthesis.weights.variables(), ...(g.growing?.weights.variables() ?? [])];
}

export class Trainer {
  readonly config: TrainConfig;
  readonly g: GeneratorNets;
  readonly gEma: GeneratorNets;
  readonly d: Discriminator;
  private readonly optG: Optimizer;
  private readonly optD: Optimizer;
  /** The scale of G's step per variable (the mapping's by mappingLrMul over its lrMul); undefined: all 1. */
  private readonly gLrScale: ((v: tf.Variable) => number) | undefined;
  private readonly r1Ratio: number;
  private readonly augmentPolicy: readonly AugmentTransform[];
  /** The frozen face network (face-features.ts), when the vision-aided D or the mode-seeking term uses it. */
  private readonly faceNet: AgeGenderFeatures | undefined;
  /** The vision-aided discriminator, when the config asks for one. */
  readonly vision: VisionAided | undefined;
  state: TrainState;

  private constructor(config: TrainConfig, g: GeneratorNets, gEma: GeneratorNets, d: Discriminator, state: TrainState, headSd?: StateDict) {
    this.config = config;
    this.g = g;
    this.gEma = gEma;
    this.d = d;
    this.state = state;
    this.faceNet = faceNetFor(config);
    this.vision = visionAidedFor(config, this.faceNet, headSd);
    // Lazy regularisation (StyleGAN2): D's Adam sees fewer steps, so lr and betas are adjusted.
    this.r1Ratio = config.r1Interval / (config.r1Interval + 1);
    this.augmentPolicy = parseAugmentPolicy(config.augment);
    this.optG = createOptimizer('adam', { beta1: config.beta1, beta2: config.beta2, eps: config.adamEps });
    this.optD = createOptimizer('adam', { beta1: config.beta1 ** this.r1Ratio, beta2: config.beta2 ** this.r1Ratio, eps: config.adamEps });
    const k = config.mappingLrMul / g.mapping.config.lrMul;
    const mapping = new Set(g.mapping.weights.variables());
    this.gLrScale = k === 1 ? undefined : (v) => (mapping.has(v) ? k : 1);
  }

  /** A fresh run: official-style initialisation from the seed. */
  static create(config: TrainConfig): Trainer {
    const sCfg = synthesisConfigFor(config);
    const sSd = randomSynthesisStateDict(sCfg, config.seed);
    const mSd = randomMappingStateDict(config.seed);
    const from = config.growFrom;
    const grow = from === null ? undefined : { from, sd: GrowingOutputs.initialStateDict(sCfg, from, config.seed) };
    const build = (): GeneratorNets => ({
      synthesis: Synthesis.fromStateDict(sSd, 'init', sCfg, { trainable: true }),
      mapping: Mapping.fromStateDict(mSd, 'init', DEFAULT_MAPPING_CONFIG, { trainable: true }),
      ...(grow ? { growing: new GrowingOutputs(sCfg, grow.from, grow.sd, 'init') } : {}),
    });
    const dCfg = discriminatorConfigFor(config);
    return new Trainer(
      config,
      build(),
      build(),
      new Discriminator(dCfg, randomDiscriminatorStateDict(dCfg, config.seed)),
      { step: 0, images: 0, wallSeconds: 0 },
    );
  }

  /**
   * Rebuilds a trainer from checkpoint tensors (see checkpoint.ts for the names). A config that
   * asks for a vision-aided D whose checkpoint has none (a branch switching it on) starts the head
   * from its initialisation and its Adam from zero.
   */
  static restore(config: TrainConfig, tensors: StateDict, state: TrainState, opt: { g: OptimizerState; d: OptimizerState; v?: OptimizerState }): Trainer {
    const pick = (prefix: string): StateDict => {
      const out: StateDict = new Map();
      for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
      return out;
    };
    const sCfg = synthesisConfigFor(config);
    const nets = (p: string): GeneratorNets => ({
      synthesis: Synthesis.fromStateDict(pick(`${p}.synthesis.`), `checkpoint ${p}.synthesis`, sCfg, { trainable: true }),
      mapping: Mapping.fromStateDict(pick(`${p}.mapping.`), `checkpoint ${p}.mapping`, DEFAULT_MAPPING_CONFIG, { trainable: true }),
      ...(config.growFrom !== null ? { growing: new GrowingOutputs(sCfg, config.growFrom, pick(`${p}.grow.`), `checkpoint ${p}.grow`) } : {}),
    });
    const headSd = pick('V.');
    const t = new Trainer(config, nets('G'), nets('Gema'), new Discriminator(discriminatorConfigFor(config), pick('D.'), 'checkpoint D'), state, headSd.size > 0 ? headSd : undefined);
    t.optG.importState(opt.g);
    t.optD.importState(opt.d);
    if (t.vision && headSd.size > 0 && opt.v) t.vision.opt.importState(opt.v);
    return t;
  }

  /** Latents z for step `step` and purpose `what`, a pure function of the seed. */
  private z(what: string, batch: number): tf.Tensor2D {
    return tf.tensor2d(gaussian(`train:${this.config.seed}:${this.state.step}:${what}`, batch * 512), [batch, 512]);
  }

  /**
   * Fresh noise maps for every layer the stage runs (StyleGAN randomises noise each forward pass);
   * null above it; zeros in layers finer than config.noiseMaxSide.
   */
  private noise(what: string, batch: number, stage: GrowthStage): (tf.Tensor4D | null)[] {
    const n = this.g.synthesis.numLayers;
    return Array.from({ length: n }, (_, i) => {
      if (i >= 2 * (stage.block + 1)) return null;
      return this.noiseMap(`train:${this.config.seed}:${this.state.step}:${what}:noise${i}`, batch, i);
    });
  }

  /** Layer `layer`'s noise for `batch` images from a seedrandom stream, or zeros where the config has none. */
  private noiseMap(stream: string, batch: number, layer: number): tf.Tensor4D {
    const s = noiseSide(layer);
    const max = this.config.noiseMaxSide;
    return max !== null && s > max ? tf.zeros([batch, s, s, 1]) : tf.tensor4d(gaussian(stream, batch * s * s), [batch, s, s, 1]);
  }

  /** Progressive growing's level of detail after `images` real images (growing.ts); 0 without growing. */
  levelOfDetail(images = this.state.images): number {
    const c = this.config;
    return c.growFrom === null ? 0 : levelOfDetail({ resolution: c.resolution, fromResolution: c.growFrom, phaseImages: c.growPhaseImages }, images);
  }

  /** The generator's images at a stage: the full network, or while growing the stage's blocks and faded outputs. */
  private generate(nets: GeneratorNets, dlatents: tf.Tensor3D, noise: readonly (tf.Tensor4D | null)[], stage: GrowthStage): tf.Tensor4D {
    return nets.growing ? nets.growing.image(nets.synthesis, dlatents, noise, stage) : nets.synthesis.forward(dlatents, noise as tf.Tensor4D[]);
  }

  /**
   * A batch's w+ and the first latents z1 it was mapped from, with style mixing: layers from a
   * crossover point on take a second latent's w. (The mode-seeking term measures against z1.)
   */
  private latents(nets: GeneratorNets, what: string, batch: number): { z1: tf.Tensor2D; dlatents: tf.Tensor3D } {
    const layers = nets.synthesis.numLayers;
    const rng = seedrandom(`train:${this.config.seed}:${this.state.step}:${what}:mix`);
    const z1 = this.z(`${what}:z1`, batch);
    const w1 = nets.mapping.forward(z1);
    const mixing = this.config.styleMixingProb > 0;
    if (!mixing) return { z1, dlatents: tf.tile(tf.expandDims(w1, 1), [1, layers, 1]) as tf.Tensor3D };
    const mask = new Float32Array(batch * layers);
    for (let b = 0; b < batch; b++) {
      const cross = rng() < this.config.styleMixingProb ? 1 + Math.floor(rng() * (layers - 1)) : layers;
      for (let l = 0; l < layers; l++) mask[b * layers + l] = l < cross ? 1 : 0;
    }
    const w2 = nets.mapping.forward(this.z(`${what}:z2`, batch));
    const m = tf.tensor3d(mask, [batch, layers, 1]);
    return { z1, dlatents: tf.add(tf.mul(tf.expandDims(w1, 1), m), tf.mul(tf.expandDims(w2, 1), tf.sub(1, m))) as tf.Tensor3D };
  }

  /** What D sees of `x`: x itself, or x under this step's augmentation draw for `what` (augment.ts). */
  private augment(x: tf.Tensor4D, what: string): tf.Tensor4D {
    if (this.augmentPolicy.length === 0) return x;
    const [B, S] = x.shape;
    return applyAugment(x, drawAugment(`train:${this.config.seed}:${this.state.step}:${what}:augment`, B, S, this.augmentPolicy));
  }

  /**
   * Adam on the variables that received a gradient. A variable without one (e.g. D's
   * output bias under R1, which does not depend on it) gets a zero gradient, so every
   * variable keeps one slot index across steps and checkpoints.
   */
  private applyGrads(opt: Optimizer, vars: tf.Variable[], grads: Record<string, tf.Tensor>, lr: number, lrScale?: (v: tf.Variable) => number): void {
    const zeros: tf.Tensor[] = [];
    const g = vars.map((v) => grads[v.name] ?? zeros[zeros.push(tf.zerosLike(v)) - 1]);
    const next = opt.step(vars, g, lr);
    vars.forEach((v, i) => {
      // Adam's step is linear in lr, so k times the step is Adam at k x lr (same moments).
      const k = lrScale?.(v) ?? 1;
      if (k === 1) v.assign(next[i]);
      else v.assign(tf.tidy(() => tf.add(v, tf.mul(tf.sub(next[i], v), k))));
    });
    tf.dispose([...next, ...zeros, ...Object.values(grads)]);
  }

  /**
   * One step: D (with R1 every r1Interval steps), then G, then the EMA. The D and G gradients
   * free memory as they go (valueAndGradsLean, same values as tf.variableGrads); R1 is a
   * gradient of a gradient and keeps tfjs's own.
   */
  step(source: RealBatchSource): StepStats {
    const c = this.config;
    const B = c.batchSize;
    const t0 = performance.now();
    const lod = this.levelOfDetail();
    // v1 (reset_opt_for_new_lod): a fade starting or ending restarts both optimisers, so the
    // layers that join do not step with the moments of a network without them.
    if (this.state.step > 0 && lodPhaseChanged(this.levelOfDetail(this.state.images - B), lod)) {
      for (const opt of [this.optG, this.optD]) opt.importState({ t: 0, slots: {} });
    }
    const stage = growthStage(c.resolution, lod);
    const reals = tf.tidy(() => {
      const full = tf.tensor4d(source.next(B), [B, source.size, source.size, 3]);
      return c.growFrom === null ? full : realsAtStage(full, stage);
    });
    const dVars = this.d.weights.variables();
    const gVars = generatorVars(this.g);

    // Discriminator.
    const fakes = tf.tidy(() => this.generate(this.g, this.latents(this.g, 'd', B).dlatents, this.noise('d', B, stage), stage));
    let realScore = 0;
    let fakeScore = 0;
    const dOut = variableGradsLean(() => {
      const fl = this.d.forward(this.augment(fakes, 'd:fake'), stage);
      const rl = this.d.forward(this.augment(reals, 'd:real'), stage);
      const scores = tf.keep(tf.stack([tf.mean(rl), tf.mean(fl)]));
      [realScore, fakeScore] = Array.from(scores.dataSync());
      scores.dispose();
      return discriminatorLoss(fl, rl);
    }, dVars);
    const lossD = dOut.value.dataSync()[0];
    dOut.value.dispose();
    this.applyGrads(this.optD, dVars, dOut.grads, c.lrD * this.r1Ratio);
    const vision = this.vision ? this.visionStep(this.vision, fakes, reals) : undefined;
    fakes.dispose();

    let r1: number | null = null;
    if (this.state.step % c.r1Interval === 0) {
      const rOut = tf.variableGrads(() => r1Penalty((x) => this.d.forward(this.augment(x, 'r1:real'), stage), reals, c.r1Gamma, c.r1Interval), dVars);
      r1 = rOut.value.dataSync()[0] / c.r1Interval;
      rOut.value.dispose();
      this.applyGrads(this.optD, dVars, rOut.grads, c.lrD * this.r1Ratio);
    }
    reals.dispose();

    // Generator.
    let modeSeekingRatio: number | undefined;
    const gOut = variableGradsLean(() => {
      const { z1, dlatents } = this.latents(this.g, 'g', B);
      const fake = this.generate(this.g, dlatents, this.noise('g', B, stage), stage);
      let loss = generatorLoss(this.d.forward(this.augment(fake, 'g:fake'), stage));
      // The frozen network sees the full-resolution image; G learns through it (its weights are constants).
      if (this.vision) {
        const v = this.vision.head.forward(this.vision.features.features(this.augment(this.toFullResolution(fake), 'vg:fake')));
        loss = tf.add(loss, tf.mul(visionGeneratorLoss(v), c.visionWeight)) as tf.Scalar;
      }
      if (c.modeSeeking > 0 && this.faceNet) {
        // The images as drawn (no augmentation), against the first latents that drew them.
        const ms = modeSeekingTerm(this.faceNet.features(this.toFullResolution(fake)), z1);
        modeSeekingRatio = ms.ratio.dataSync()[0];
        loss = tf.add(loss, tf.mul(ms.term, c.modeSeeking)) as tf.Scalar;
      }
      return loss;
    }, gVars);
    const lossG = gOut.value.dataSync()[0];
    gOut.value.dispose();
    this.applyGrads(this.optG, gVars, gOut.grads, c.lrG, this.gLrScale);

    this.state.images += B;
    updateEma(generatorVars(this.gEma), gVars, emaBeta(B, c.emaHalfLifeImages, c.emaRampup, this.state.images));
    this.state.step += 1;
    const seconds = (performance.now() - t0) / 1000;
    this.state.wallSeconds += seconds;
    return {
      step: this.state.step,
      images: this.state.images,
      lossD,
      lossG,
      r1,
      realScore,
      fakeScore,
      seconds,
      ...(c.growFrom !== null ? { lod } : {}),
      ...(vision ? { vision } : {}),
      ...(modeSeekingRatio !== undefined ? { modeSeekingRatio } : {}),
    };
  }

  /** Images at the generator's full resolution (while growing, a stage's images upsampled by nearest neighbour). */
  private toFullResolution(x: tf.Tensor4D): tf.Tensor4D {
    let y = x;
    while (y.shape[1] < this.config.resolution) y = upsampleNearest2x(y);
    return y;
  }

  /**
   * The vision-aided head's D step on this step's fakes and reals, each under its own
   * augmentation draw. The frozen features need no gradient here (the head alone learns), so
   * they are computed first, outside the tape.
   */
  private visionStep(v: VisionAided, fakes: tf.Tensor4D, reals: tf.Tensor4D): { lossD: number; realScore: number; fakeScore: number } {
    const [ff, fr] = tf.tidy(() => [
      v.features.features(this.augment(this.toFullResolution(fakes), 'v:fake')),
      v.features.features(this.augment(this.toFullResolution(reals), 'v:real')),
    ]);
    const vars = v.head.weights.variables();
    let realScore = 0;
    let fakeScore = 0;
    const out = variableGradsLean(() => {
      const fl = v.head.forward(ff);
      const rl = v.head.forward(fr);
      const scores = tf.keep(tf.stack([tf.mean(rl), tf.mean(fl)]));
      [realScore, fakeScore] = Array.from(scores.dataSync());
      scores.dispose();
      return tf.mul(visionDiscriminatorLoss(fl, rl), this.config.visionWeight) as tf.Scalar;
    }, vars);
    const lossD = out.value.dataSync()[0];
    out.value.dispose();
    tf.dispose([ff, fr]);
    this.applyGrads(v.opt, vars, out.grads, this.config.lrD);
    return { lossD, realScore, fakeScore };
  }

  /**
   * Images from the EMA generator for fixed latents (noise fixed too), NHWC in [-1, 1], at the
   * full resolution (while growing: the current stage's images, upsampled by nearest neighbour).
   */
  async sample(count: number, seed = 'samples'): Promise<Float32Array> {
    const stage = growthStage(this.config.resolution, this.levelOfDetail());
    const out = tf.tidy(() => {
      const z = tf.tensor2d(gaussian(`train:${this.config.seed}:${seed}:z`, count * 512), [count, 512]);
      const w = this.gEma.mapping.forward(z);
      const layers = this.gEma.synthesis.numLayers;
      const noise = Array.from({ length: layers }, (_, i) => this.noiseMap(`train:${this.config.seed}:${seed}:noise${i}`, count, i));
      let x = this.generate(this.gEma, tf.tile(tf.expandDims(w, 1), [1, layers, 1]) as tf.Tensor3D, noise, stage);
      while (x.shape[1] < this.config.resolution) x = upsampleNearest2x(x);
      return x;
    });
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }

  /** All tensors of a checkpoint, by name (weights in official layout, optimiser slots raw). */
  async checkpointTensors(): Promise<{ tensors: StateDict; optimizer: { g: { t: number }; d: { t: number }; v?: { t: number } } }> {
    const tensors: StateDict = new Map();
    const add = async (prefix: string, sd: Promise<StateDict>) => {
      for (const [k, v] of await sd) tensors.set(`${prefix}${k}`, v);
    };
    await add('G.synthesis.', this.g.synthesis.toStateDict());
    await add('G.mapping.', this.g.mapping.toStateDict());
    await add('Gema.synthesis.', this.gEma.synthesis.toStateDict());
    await add('Gema.mapping.', this.gEma.mapping.toStateDict());
    if (this.g.growing && this.gEma.growing) {
      await add('G.grow.', this.g.growing.toStateDict());
      await add('Gema.grow.', this.gEma.growing.toStateDict());
    }
    await add('D.', this.d.toStateDict());
    if (this.vision) await add('V.', this.vision.head.toStateDict());
    const opt = async (name: string, o: Optimizer) => {
      const st = o.exportState();
      for (const [slot, list] of Object.entries(st.slots)) {
        for (let i = 0; i < list.length; i++) {
          const t = list[i];
          if (!t) continue;
          tensors.set(`opt${name}.${slot}.${i}`, { shape: t.shape, data: Float32Array.from((await t.data()) as Float32Array) });
          t.dispose();
        }
      }
      return { t: st.t };
    };
    const g = await opt('G', this.optG);
    const d = await opt('D', this.optD);
    const v = this.vision ? await opt('V', this.vision.opt) : undefined;
    return { tensors, optimizer: { g, d, ...(v ? { v } : {}) } };
  }

  dispose(): void {
    for (const n of [this.g, this.gEma]) {
      n.synthesis.dispose();
      n.mapping.dispose();
      n.growing?.dispose();
    }
    this.d.dispose();
    this.optG.dispose();
    this.optD.dispose();
    if (this.vision) {
      this.vision.head.dispose();
      this.vision.opt.dispose();
    }
    this.faceNet?.dispose();
  }
}

/** Optimiser state from checkpoint tensors named opt{G,D,V}.{slot}.{index} (V: the vision-aided head). */
export function optimizerStateFrom(tensors: StateDict, name: 'G' | 'D' | 'V', t: number): OptimizerState {
  const slots: Record<string, (tf.Tensor | null)[]> = {};
  for (const [k, v] of tensors) {
    const m = new RegExp(`^opt${name}\\.(\\w+)\\.(\\d+)$`).exec(k);
    if (!m) continue;
    (slots[m[1]] ??= [])[Number(m[2])] = tf.tensor(v.data, [...v.shape]);
  }
  for (const list of Object.values(slots)) for (let i = 0; i < list.length; i++) list[i] ??= null;
  return { t, slots };
}
