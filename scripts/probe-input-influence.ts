/**
 * How far each generator input moves its faces (src/eval/input-influence.ts): the latent, all
 * noise maps, the coarse ones (4-16 px), the fine ones (32 px and up), one redrawn at a time,
 * measured in pixels and in face-descriptor distance. Several models side by side.
 *
 *   npx tsx scripts/probe-input-influence.ts [--model DIR ...] [--faces 64] [--seed 0] \
 *     [--out experiments/descriptor-calibration/input-influence.json] [--force]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { measureInputInfluence } from '../src/eval/input-influence.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { writeJsonAtomic } from '../src/util/files.js';
import { portablePath } from '../src/util/repo-root.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true, default: [] },
    faces: { type: 'string', default: '64' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'experiments/descriptor-calibration/input-influence.json' },
    force: { type: 'boolean', default: false },
  },
});
const backend = await initBackend();
const models = values.model!.length > 0 ? values.model! : [defaultModelPath()];
const faces = Number(values.faces);
const seed = Number(values.seed);
const results = [];
for (const path of models) {
  const model = await loadModel(path);
  const t0 = performance.now();
  const influence = await measureInputInfluence(model, { faces, seed });
  model.dispose();
  console.log(`${portablePath(path)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  for (const x of influence) {
    const d = x.descriptorDistance === null ? 'n/a' : `${x.descriptorDistance.toFixed(3)} (same person in ${(100 * x.samePersonShare!).toFixed(0)}% of ${x.descriptorPairs})`;
    console.log(`  ${x.name.padEnd(13)} pixels ${x.pixelRms.toFixed(3)}  descriptor ${d}`);
  }
  results.push({ model: portablePath(path), influence });
}
writeJsonAtomic(values.out!, { kind: 'pulse-input-influence', backend: backend.name, faces, seed, results }, values.force);
console.log(`wrote ${values.out}`);
