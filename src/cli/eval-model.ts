/**
 * `pulse eval-model --model DIR`: the three measurements of src/eval/evaluate-model.ts (face
 * detection rate of random samples, PULSE on LFW dev faces, Frechet distance of face
 * descriptors against real dev faces), with progress bars and a JSON report.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { defaultModelPath } from '../model/default-model.js';
import { loadModel, searchStepSize } from '../model/model.js';
import { faceAnalyzerInfo } from '../eval/face-analysis.js';
import { type ModelEvaluation, type RealFaceConvention, conventionOf, evaluateModel } from '../eval/evaluate-model.js';
import { appendHistory, historyEntry } from '../eval/history.js';
import { writeJsonAtomic } from '../util/files.js';
import { portablePath, repoRoot } from '../util/repo-root.js';
import { createProgress, formatSeconds, type Progress } from '../util/progress.js';
import { integerFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

/** The shared LFW copy next to the project (../shared/datasets/lfw). */
export function defaultLfwDir(): string {
  return join(repoRoot(), '..', 'shared', 'datasets', 'lfw');
}

export interface EvalModelFlags {
  /** Backend request (default: $PULSE_BACKEND or auto); the CLI passes --backend. */
  backend?: string;
  model?: string;
  gaussianFit?: string;
  dataset: string;
  convention?: RealFaceConvention;
  samples: number;
  pulseFaces: number;
  fidSamples: number;
  realFaces?: number;
  steps?: number;
  duplicates: number;
  seed: number;
  pulseBatch: number;
  sampleBatch: number;
  out?: string;
  force?: boolean;
  history?: string;
  quiet?: boolean;
}

const count = (name: string, min = 0) => integerFlag(name, { min });

/** One line per measurement, for stderr. */
export function summarize(e: ModelEvaluation): string[] {
  const lines: string[] = [];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const fd = (x: { distance: number | null; note?: string }) => (x.distance === null ? `n/a (${x.note})` : x.distance.toFixed(4));
  if (e.detection) {
    const d = e.detection;
    lines.push(`detection: face found in ${d.detected}/${d.samples} samples = ${pct(d.rate)} (target >= ${pct(d.target)}: ${d.meetsTarget ? 'met' : 'NOT met'})`);
  }
  if (e.pulse) {
    const p = e.pulse;
    lines.push(
      `pulse: ${p.succeeded}/${p.faces} dev faces within eps ${p.options.eps} = ${pct(p.successRate)}; median best MSE ${p.medianMinMse.toExponential(3)} ` +
        `(${p.resolution} px from ${p.lowResolution} px, ${p.options.steps} steps, ${p.secondsPerFace.toFixed(1)} s/face)`,
    );
    if (p.solutionDiversity) {
      lines.push(`pulse solutions: ${p.options.duplicates} per face, mean pairwise descriptor distance median ${p.solutionDiversity.median.toFixed(3)} over ${p.solutionDiversity.faces} faces`);
    }
  }
  if (e.identity) {
    const i = e.identity;
    lines.push(
      `identity Frechet: generated vs real ${fd(i.frechet)} (${i.generated.described} vs ${i.real.described} faces; no face in ${i.generated.noFace} samples, ${i.real.noFace} real); ` +
        `floor real vs real ${fd(i.floor)} (${i.halves.a} vs ${i.halves.b}), generated vs real at that size ${fd(i.generatedVsHalf)}`,
    );
    const v = i.diversity;
    const f3 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
    lines.push(`diversity: mean pairwise descriptor distance, samples ${f3(v.generated)} vs real ${f3(v.real)} = ${v.ratio === null ? 'n/a' : v.ratio.toFixed(3)}x (target >= 0.9x)`);
    const { generatedVsHalf: g, realHalves: r } = i.precisionRecall;
    const pr = (x: typeof g) => (x ? `precision ${x.precision.toFixed(3)}, recall ${x.recall.toFixed(3)} (${x.counts.join(' vs ')})` : 'n/a');
    lines.push(`precision / recall (k = 3, Kynkäänniemi et al. 2019): samples vs real half B ${pr(g)}; real half A vs B ${pr(r)}`);
    const dc = (x: typeof g) => (x && typeof x.coverage === 'number' ? `density ${x.density.toFixed(3)}, coverage ${x.coverage.toFixed(3)}` : 'n/a');
    lines.push(`density / coverage (k = 3, Naeem et al. 2020): samples vs real half B ${dc(g)}; real half A vs B ${dc(r)}`);
  }
  return lines;
}

export async function evalModel(flags: EvalModelFlags): Promise<Record<string, unknown>> {
  const out = flags.out ? resolve(flags.out) : undefined;
  if (out && existsSync(out) && !flags.force) throw new Error(`${out} already exists; pass --force to overwrite, or choose another --out`);
  const started = new Date();
  const modelPath = flags.model ?? defaultModelPath();
  // The allocator follows the PULSE searches, if any (--pulse-batch faces of --duplicates solutions a step).
  const backend = await initBackend(flags.backend, { stepSize: flags.pulseFaces > 0 ? searchStepSize(modelPath, flags.duplicates * flags.pulseBatch) : {} });
  process.stderr.write(`backend: ${backend.description}\n`);
  const model = await loadModel(modelPath, { gaussianFit: flags.gaussianFit });
  const datasetDir = resolve(flags.dataset);
  const convention = flags.convention ?? conventionOf(model.metadata);
  try {
    const analyzer = await faceAnalyzerInfo();
    process.stderr.write(`model: ${model.source} (${model.synthesis.config.resolution} px); faces: ${analyzer.description}; seed ${flags.seed}\n`);
    const bars = new Map<string, Progress>();
    const labels = { samples: 'samples', align: 'aligning dev photos', real: 'real faces', pulse: 'pulse' } as const;
    const formats = {
      samples: '{bar} {value}/{total} generated + analysed | left {eta_formatted}',
      align: '{bar} {value}/{total} photos (once per machine) | left {eta_formatted}',
      real: '{bar} {value}/{total} analysed | left {eta_formatted}',
      pulse: '{bar} {value}/{total} faces ({step}) | left {eta_formatted}',
    } as const;
    let evaluation: ModelEvaluation;
    try {
      evaluation = await evaluateModel(model, {
        samples: flags.samples,
        pulseFaces: flags.pulseFaces,
        fidSamples: flags.fidSamples,
        realFaces: flags.realFaces,
        datasetDir,
        convention,
        seed: flags.seed,
        pulse: { ...(flags.steps !== undefined ? { steps: flags.steps } : {}), duplicates: flags.duplicates },
        pulseBatchSize: flags.pulseBatch,
        sampleBatchSize: flags.sampleBatch,
        onProgress: (stage, done, total, fields) => {
          let bar = bars.get(stage);
          if (!bar) {
            for (const b of bars.values()) b.stop();
            bar = createProgress(labels[stage], total, formats[stage], flags.quiet ?? false);
            bars.set(stage, bar);
          }
          bar.update(Math.floor(done), { step: '', ...fields });
        },
      });
    } finally {
      for (const b of bars.values()) b.stop();
    }
    const report = {
      kind: 'pulse-eval-model',
      model: portablePath(model.source),
      resolution: model.synthesis.config.resolution,
      backend: backend.name,
      backendDescription: backend.description,
      faceAnalyzer: { ...analyzer, modelDir: portablePath(analyzer.modelDir), backend: analyzer.backend.name },
      dataset: portablePath(datasetDir),
      realFaces: convention,
      seed: flags.seed,
      counts: {
        samples: flags.samples,
        pulseFaces: flags.pulseFaces,
        fidSamples: flags.fidSamples,
        realFaces: flags.realFaces ?? flags.fidSamples,
      },
      started: started.toISOString(),
      // What the export records of its training (steps, images seen), to follow measures across exports.
      training: (model.metadata as { training?: unknown }).training ?? null,
      seconds: evaluation.seconds,
      node: process.version,
      summary: summarize(evaluation),
      detection: evaluation.detection,
      // Dev-face files as paths relative to the checkout, so a committed report names no machine's folders.
      pulse: evaluation.pulse && { ...evaluation.pulse, perFace: evaluation.pulse.perFace.map((f) => ({ ...f, file: portablePath(f.file) })) },
      identity: evaluation.identity,
    };
    for (const line of report.summary) process.stderr.write(`${line}\n`);
    process.stderr.write(`evaluation took ${formatSeconds(evaluation.seconds)}\n`);
    if (out) {
      writeJsonAtomic(out, report, flags.force ?? false);
      process.stderr.write(`report: ${out}\n`);
    } else {
      process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
    }
    if (flags.history) {
      appendHistory(resolve(flags.history), historyEntry(report, model.metadata));
      process.stderr.write(`history: appended to ${resolve(flags.history)}\n`);
    }
    return report;
  } finally {
    model.dispose();
  }
}

export function registerEvalModel(program: Command): void {
  program
    .command('eval-model')
    .description('measure a generator: face detection rate of samples, PULSE on LFW dev faces, Frechet distance of face descriptors')
    .option('--model <path>', 'model directory (model.json) or synthesis .pt checkpoint (default: the built-in model)')
    .option('--gaussian-fit <file>', 'Gaussian fit .pt for a PyTorch checkpoint without one')
    .option('--dataset <dir>', 'LFW-style dataset with a dev split (manifest.csv)', defaultLfwDir())
    .addOption(new Option('--convention <c>', "how dev faces are prepared: lfw-crop or ffhq (default: the model's training data convention)").choices(['lfw-crop', 'ffhq']))
    .addOption(new Option('--samples <n>', 'random samples for the detection rate (0 skips)').argParser(count('samples')).default(256))
    .addOption(new Option('--pulse-faces <n>', 'dev faces for PULSE at 8x (0 skips)').argParser(count('pulse-faces')).default(100))
    .addOption(new Option('--fid-samples <n>', 'random samples for the descriptor Frechet distance (0 skips)').argParser(count('fid-samples')).default(500))
    .addOption(new Option('--real-faces <n>', 'dev faces for the Frechet distance (default: --fid-samples)').argParser(count('real-faces')))
    .addOption(new Option('--steps <n>', 'PULSE steps (default: PULSE default, 100)').argParser(count('steps', 1)))
    .addOption(new Option('--duplicates <n>', 'PULSE solutions per dev face (their descriptor diversity is measured when > 1)').argParser(count('duplicates', 1)).default(4))
    .addOption(new Option('--seed <n>', 'seed of the samples and of PULSE').argParser(count('seed')).default(1))
    .addOption(new Option('--pulse-batch <n>', 'dev faces optimised together').argParser(count('pulse-batch', 1)).default(8))
    .addOption(new Option('--sample-batch <n>', 'samples generated per synthesis pass').argParser(count('sample-batch', 1)).default(16))
    .option('--out <file>', 'write the JSON report here (default: stdout)')
    .option('--force', 'overwrite --out')
    .option('--history <file>', "append this evaluation (with the export's steps and images seen) to a JSONL history, e.g. models/default/eval-history.jsonl")
    .option('--quiet', 'no progress bars')
    .action(async (flags: EvalModelFlags, cmd: Command) => {
      await evalModel({ ...flags, backend: backendRequest(cmd) });
    });
}
