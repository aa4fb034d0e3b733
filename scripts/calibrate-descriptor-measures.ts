/**
 * What the descriptor measures of `pulse eval-model` give for real faces that only lost detail:
 * the aligned `dev` faces (FFHQ convention, the model's side), each softened by a factor
 * (src/eval/degrade.ts: box average to 1/factor of the side, bilinear back), against the same
 * unsoftened faces, measured the way measureIdentityFrechet measures a generator:
 *
 * - found: faces the detector still finds (of `count`);
 * - diversity: mean pairwise descriptor distance of the found ones, over the same for the
 *   unsoftened faces (the generator's ratio is 0.65-0.71x, the target >= 0.9x);
 * - Frechet at equal counts: softened identity-half A against unsoftened half B (the halves
 *   share no person), beside the floor (half A against half B, both unsoftened) — comparable
 *   with eval-model's "generated vs half B" at the same sizes.
 *
 * Each also with descriptor precision and recall (src/eval/precision-recall.ts) at the same sizes.
 *
 * Also the diversity of one photo per identity (LFW dev holds several photos of some people,
 * which pulls the real diversity down).
 *
 * With --model (repeatable), a generator's samples (the first `count` of seed 1, the ones
 * eval-model measures) at matched detail: samples and real faces softened by the same factor,
 * so that what is left of the gap is the spread of identities, not sharpness. Per factor: its
 * diversity over the real faces' at that factor, and the Frechet distance of the first |A|
 * samples against real half B at that factor, beside that factor's floor (half A vs half B).
 *
 *   npx tsx scripts/calibrate-descriptor-measures.ts [--count 500] [--side 64] [--factors 1,2,4] \
 *     [--model DIR ...] [--lfw ../shared/datasets/lfw] [--out experiments/descriptor-calibration/result.json] [--force]
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { compareDiversity, meanPairwiseDistance } from '../src/eval/diversity.js';
import { softenByFactor } from '../src/eval/degrade.js';
import { generateSamples, realDevFaces, splitByIdentity } from '../src/eval/evaluate-model.js';
import { FACE_PROTOCOL, analyzeFaces, faceAnalyzerInfo } from '../src/eval/face-analysis.js';
import { frechetDistance } from '../src/eval/frechet.js';
import { precisionRecall } from '../src/eval/precision-recall.js';
import type { RgbImage } from '../src/io/rgb-image.js';
import { loadModel } from '../src/model/model.js';
import { writeJsonAtomic } from '../src/util/files.js';
import { portablePath } from '../src/util/repo-root.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '500' },
    side: { type: 'string', default: '64' },
    factors: { type: 'string', default: '1,2,4' },
    lfw: { type: 'string', default: '../shared/datasets/lfw' },
    out: { type: 'string', default: 'experiments/descriptor-calibration/result.json' },
    force: { type: 'boolean', default: false },
    model: { type: 'string', multiple: true, default: [] },
  },
});
const count = Number(values.count);
const side = Number(values.side);
const factors = values.factors!.split(',').map(Number);
if (!factors.includes(1)) throw new Error('--factors must include 1 (the unsoftened reference)');
const backend = await initBackend();
const t0 = performance.now();
const faces = await realDevFaces(values.lfw!, count, side, 'ffhq', (d, t) => {
  if (d % 100 === 0 || d === t) process.stderr.write(`aligning dev photos ${d}/${t}\n`);
});

interface Described {
  readonly index: number;
  readonly identity?: string;
  readonly key: string;
  readonly descriptor: Float32Array;
}
/** The images with a face found after softening by `factor`, with their descriptors. */
async function describeSoftened(label: string, images: readonly RgbImage[], factor: number, identityOf: (i: number) => { identity?: string; key: string }): Promise<Described[]> {
  const list: Described[] = [];
  for (let i = 0; i < images.length; i++) {
    const [a] = await analyzeFaces([softenByFactor(images[i], factor)], { descriptors: true });
    if (a.found && a.descriptor) list.push({ index: i, ...identityOf(i), descriptor: a.descriptor });
    if ((i + 1) % 100 === 0) process.stderr.write(`${label}, softened ${factor}x: analysed ${i + 1}/${images.length}\n`);
  }
  return list;
}

const described = new Map<number, Described[]>();
for (const factor of factors) {
  described.set(factor, await describeSoftened('real dev faces', faces.map((f) => f.image), factor, (i) => ({ identity: faces[i].entry.identity, key: faces[i].entry.path })));
}

const reference = described.get(1)!;
const [halfA, halfB] = splitByIdentity(reference);
const inA = new Set(halfA.map((d) => d.index));
const halfBDescriptors = halfB.map((d) => d.descriptor);
const onePerIdentity = [...new Map(reference.map((d) => [d.identity ?? d.key, d.descriptor])).values()];
const rows = factors.map((factor) => {
  const list = described.get(factor)!;
  const a = list.filter((d) => inA.has(d.index)).map((d) => d.descriptor);
  const frechet = frechetDistance(a, halfBDescriptors);
  const diversity = compareDiversity(
    list.map((d) => d.descriptor),
    reference.map((d) => d.descriptor),
  );
  return {
    factor,
    found: list.length,
    of: faces.length,
    diversity,
    frechetHalfAvsB: { distance: frechet.distance, counts: frechet.counts },
    precisionRecallHalfAvsB: precisionRecall(a, halfBDescriptors),
  };
});
const descriptorsOf = (list: readonly Described[]) => list.map((d) => d.descriptor);
const models = [];
for (const path of values.model!) {
  const model = await loadModel(path);
  if (model.synthesis.config.resolution !== side) throw new Error(`${path} draws ${model.synthesis.config.resolution} px faces; this run compares at --side ${side}`);
  const samples = await generateSamples(model, 0, count, 1);
  const matched = [];
  for (const factor of factors) {
    const generated = descriptorsOf(await describeSoftened(path, samples, factor, (i) => ({ key: `sample ${i}` })));
    const real = described.get(factor)!;
    const [a, b] = splitByIdentity(real);
    matched.push({
      factor,
      found: generated.length,
      of: samples.length,
      diversity: compareDiversity(generated, descriptorsOf(real)),
      frechetVsHalfB: { distance: frechetDistance(generated.slice(0, a.length), descriptorsOf(b)).distance, counts: [Math.min(a.length, generated.length), b.length] },
      floor: frechetDistance(descriptorsOf(a), descriptorsOf(b)).distance,
      precisionRecall: precisionRecall(generated.slice(0, a.length), descriptorsOf(b)),
      precisionRecallFloor: precisionRecall(descriptorsOf(a), descriptorsOf(b)),
    });
  }
  models.push({ model: portablePath(path), seed: 1, matched });
}
const result = {
  kind: 'pulse-descriptor-calibration',
  dataset: portablePath(values.lfw!),
  realFaces: 'ffhq',
  side,
  count: faces.length,
  backend: backend.name,
  faceAnalyzer: (await faceAnalyzerInfo(FACE_PROTOCOL)).description,
  halves: { a: halfA.length, b: halfB.length },
  identities: onePerIdentity.length,
  diversityOnePhotoPerIdentity: meanPairwiseDistance(onePerIdentity),
  rows,
  models,
  seconds: (performance.now() - t0) / 1000,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeJsonAtomic(values.out!, result, values.force);
for (const r of rows) {
  console.log(
    `softened ${r.factor}x: found ${r.found}/${r.of}, diversity ${r.diversity.generated?.toFixed(3)} / ${r.diversity.real?.toFixed(3)} = ${r.diversity.ratio?.toFixed(3)}x, ` +
      `Frechet half A (${r.frechetHalfAvsB.counts[0]}) vs unsoftened half B (${r.frechetHalfAvsB.counts[1]}): ${r.frechetHalfAvsB.distance.toFixed(4)}, ` +
      `precision ${r.precisionRecallHalfAvsB.precision.toFixed(3)} recall ${r.precisionRecallHalfAvsB.recall.toFixed(3)}`,
  );
}
for (const m of models) {
  for (const r of m.matched) {
    console.log(
      `${m.model}, samples and real faces softened ${r.factor}x: found ${r.found}/${r.of}, diversity ${r.diversity.ratio?.toFixed(3)}x, ` +
        `Frechet ${r.frechetVsHalfB.distance.toFixed(4)} (${r.frechetVsHalfB.counts.join(' vs ')}; floor ${r.floor.toFixed(4)}), ` +
        `precision ${r.precisionRecall.precision.toFixed(3)} recall ${r.precisionRecall.recall.toFixed(3)} (real halves ${r.precisionRecallFloor.precision.toFixed(3)} / ${r.precisionRecallFloor.recall.toFixed(3)})`,
    );
  }
}
console.log(`one photo per identity (${onePerIdentity.length}): diversity ${result.diversityOnePhotoPerIdentity?.toFixed(3)}; wrote ${values.out}`);
