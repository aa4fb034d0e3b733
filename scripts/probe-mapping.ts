/**
 * How far each model's mapping network spreads its latents (src/eval/latent-spread.ts), after
 * each depth (the first k of its layers), beside z itself; and, for pairs of training
 * checkpoints, how far the mapping and synthesis weights moved between them.
 *
 *   npx tsx scripts/probe-mapping.ts [--model DIR ...] [--checkpoints RUN_A,RUN_B ...] \
 *     [--latents 2000] [--seed 0] [--out experiments/descriptor-calibration/mapping-spread.json] [--force]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { latentSpread, relativeChange, type LatentSpread } from '../src/eval/latent-spread.js';
import { readModelDir } from '../src/io/model-format.js';
import type { StateDict } from '../src/io/state-dict.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { Mapping } from '../src/stylegan/mapping.js';
import { pixelNorm } from '../src/stylegan/layers.js';
import { gaussian } from '../src/util/random.js';
import { writeJsonAtomic } from '../src/util/files.js';
import { portablePath } from '../src/util/repo-root.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true, default: [] },
    checkpoints: { type: 'string', multiple: true, default: [] },
    latents: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'experiments/descriptor-calibration/mapping-spread.json' },
    force: { type: 'boolean', default: false },
  },
});
const backend = await initBackend();
const count = Number(values.latents);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 2) throw new Error(`--latents ${values.latents}: give a whole number of at least 2`);

const show = (label: string, s: LatentSpread) =>
  console.log(`  ${label.padEnd(10)} |mean| ${s.meanNorm.toFixed(2)}  rms to mean ${s.rmsDistanceToMean.toFixed(2)}  cosine ${s.meanCosine.toFixed(3)}  participation ${s.participationRatio.toFixed(1)}`);

const models = [];
for (const path of values.model!.length > 0 || values.checkpoints!.length > 0 ? values.model! : [defaultModelPath()]) {
  const model = await loadModel(path);
  if (!model.mapping) throw new Error(`${path} has no mapping network to probe`);
  const cfg = model.mapping.config;
  const sd = await model.mapping.toStateDict();
  const z = tf.tensor2d(gaussian(`mapping-spread:${seed}`, count * cfg.latentSize), [count, cfg.latentSize]);
  console.log(portablePath(path));
  const zNorm = pixelNorm(z);
  const depths = [{ layers: 0, spread: latentSpread((await zNorm.data()) as Float32Array, count, cfg.latentSize) }];
  show('z', depths[0].spread);
  for (let layers = 1; layers <= cfg.numLayers; layers++) {
    // The first `layers` layers of the same network (its state dict names them dense0..).
    const partial = Mapping.fromStateDict(new Map([...sd].filter(([k]) => Number(/^dense(\d+)\./.exec(k)?.[1]) < layers)), path, { ...cfg, numLayers: layers });
    const w = partial.forward(z);
    depths.push({ layers, spread: latentSpread((await w.data()) as Float32Array, count, cfg.dlatentSize) });
    tf.dispose([w]);
    partial.dispose();
    show(`${layers} layers`, depths[depths.length - 1].spread);
  }
  tf.dispose([z, zNorm]);
  model.dispose();
  models.push({ model: portablePath(path), depths });
}

/** A training checkpoint's generator tensors (G., not the EMA copy), checksums verified. */
async function generatorTensors(run: string): Promise<StateDict> {
  const { tensors } = await readModelDir(join(run, 'checkpoint'), { verify: true });
  return new Map([...tensors].filter(([k]) => k.startsWith('G.')));
}

const changes = [];
for (const pair of values.checkpoints!) {
  const [from, to] = pair.split(',');
  if (!from || !to) throw new Error(`--checkpoints ${pair}: give two training runs, RUN_A,RUN_B`);
  const change = relativeChange(await generatorTensors(from), await generatorTensors(to));
  const pick = (prefix: string) => [...change].filter(([k]) => k.startsWith(prefix) && k.endsWith('weight'));
  const mapping = Object.fromEntries(pick('G.mapping.').map(([k, v]) => [k.slice(2), v]));
  const synthesis = pick('G.synthesis.').map(([, v]) => v).sort((a, b) => a - b);
  const median = synthesis[Math.floor(synthesis.length / 2)];
  console.log(`${portablePath(from)} -> ${portablePath(to)}: mapping weights moved ${Object.values(mapping).map((v) => v.toFixed(4)).join(' ')}; synthesis weights median ${median.toFixed(4)}`);
  changes.push({ from: portablePath(from), to: portablePath(to), mappingWeights: mapping, synthesisWeightsMedian: median, synthesisWeightsMax: synthesis[synthesis.length - 1] });
}
writeJsonAtomic(values.out!, { kind: 'pulse-mapping-spread', backend: backend.name, latents: count, seed, models, changes }, values.force);
console.log(`wrote ${values.out}`);
