/**
 * A benchmark's run session (src/run-store/loop.ts `RunSession`): the backend before the lock;
 * the PULSE model and ESRGAN under it, only when a pending run needs them; a progress bar; and
 * each run handed to `executeRun`.
 */
import { initBackend } from '../backend/select.js';
import type { NiqeParams } from '../metrics/niqe-model.js';
import { type LoadedModel, loadModel, searchStepSize } from '../model/model.js';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { warmUpPulse } from '../pulse/warm-up.js';
import type { RunSession } from '../run-store/loop.js';
import { shardLabel } from '../run-store/shard.js';
import { type Progress, createProgress } from '../util/progress.js';
import type { BenchManifest } from './bench-data.js';
import { type EsrganUpscaler, loadEsrgan } from './baselines.js';
import type { BenchmarkConfig, BenchmarkOptions } from './benchmark-config.js';
import { type RunContext, executeRun } from './execute-run.js';
import { FaceCache } from './face-cache.js';
import type { BenchMethod } from './methods.js';
import type { BenchRun } from './plan.js';
import type { BenchResultLine } from './result-line.js';

export interface SessionInputs {
  readonly options: BenchmarkOptions;
  readonly manifest: BenchManifest;
  readonly config: BenchmarkConfig;
  readonly dataDir: string;
  readonly out: string;
  /** null: NIQE is not measured (config.niqe.missing says why). */
  readonly niqeParams: NiqeParams | null;
  readonly total: number;
  /** Filled with each ok run's seconds per output image, by method. */
  readonly perImage: Map<BenchMethod, number[]>;
  readonly log: (line: string) => void;
}

/** The backend before the lock; the PULSE model and ESRGAN under it, only when a pending run needs them. */
export async function openBenchmarkSession(inputs: SessionInputs): Promise<RunSession<BenchRun, BenchResultLine>> {
  const { options, manifest, config, log } = inputs;
  const backend = await initBackend(options.backend, { stepSize: config.pulse && config.model ? searchStepSize(config.model, config.pulse.duplicates) : {} });
  log(`backend: ${backend.description}`);
  const shardText = shardLabel(options.shard);
  const down = new BicubicDownsampler(config.factor);
  let model: LoadedModel | null = null;
  let esrgan: EsrganUpscaler | null = null;
  let ctx: RunContext | null = null;
  let bar: Progress | null = null;
  const whatOf = (run: BenchRun) => `${run.face.id} ${run.method}${run.method === 'pulse' ? ` seed ${run.seed}` : ''}`;
  return {
    async begin({ mine, todo }) {
      if (todo.some((r) => r.method === 'pulse')) {
        model = await loadModel(config.model!, { gaussianFit: options.gaussianFit });
        const R = model.synthesis.config.resolution;
        if (R !== manifest.size) {
          throw new Error(`${model.source} makes ${R} px faces, but the bench data is ${manifest.size} px; make bench data with --size ${R}`);
        }
        log(`model: ${model.source} (${R} px)`);
      }
      if (todo.some((r) => r.method === 'esrgan')) {
        esrgan = await loadEsrgan({ tile: config.esrgan!.tile });
        log(`esrgan: ${esrgan.description}; x${config.factor} = ${esrgan.plan(config.factor).map((s) => `x${s}`).join(' then ')}`);
      }
      log(
        `benchmark: ${inputs.total} runs (${manifest.faces.length} faces; ${config.methods.join(', ')}; factor ${config.factor}, ` +
          `${manifest.size / config.factor} -> ${manifest.size} px)${shardText ? `; shard ${shardText} has ${mine.length}` : ''}; running ${todo.length}`,
      );
      // The first search and the first ESRGAN pass of a process also set up kernels and buffers
      // (about 1.5x slower); one untimed pass of each keeps that out of the recorded times.
      const lowSide = manifest.size / config.factor;
      if (model) await warmUpPulse(model, lowSide, config.pulse!);
      if (esrgan) await esrgan.upscale({ width: lowSide, height: lowSide, data: new Float32Array(lowSide * lowSide * 3).fill(0.5) }, config.factor);
      bar = createProgress('benchmark', todo.length, '{bar} {value}/{total} runs | {what} | ETA {eta_formatted}', options.quiet);
      ctx = { config, dataDir: inputs.dataDir, out: inputs.out, niqeParams: inputs.niqeParams, down, model, esrgan, shard: shardText, backend: backend.name, faces: new FaceCache(inputs.dataDir, config) };
    },
    execute(run, n) {
      const what = whatOf(run);
      bar?.update(n, { what });
      return executeRun(run, ctx!, (step, total) => bar?.update(n, { what: `${what} step ${step}/${total}` }));
    },
    recorded(run, line, n) {
      if (line.status === 'error') log(`\nerror: ${whatOf(run)}: ${line.error}`);
      else {
        const list = inputs.perImage.get(run.method) ?? [];
        list.push(line.seconds / Math.max(1, line.outputs?.length ?? 1));
        inputs.perImage.set(run.method, list);
      }
      bar?.update(n + 1, { what: whatOf(run) });
    },
    close() {
      bar?.stop();
      down.dispose();
      model?.dispose();
      esrgan?.dispose();
    },
  };
}
