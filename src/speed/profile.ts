/**
 * Where a PULSE step spends its time and memory (`npm run profile`, docs/performance.md): one
 * steady-state step of `runPulse` on a random-weight generator, run under tf.profile, every
 * kernel it dispatched grouped by name and by phase (forward pass, its gradient, and the
 * optimiser + projection after it).
 *
 * Kernel times are wall-clock per dispatch (tfjs-node runs each op synchronously), so they
 * include the per-op overhead that a fused op saves. Memory is what tfjs tracks: the bytes of
 * live tensors, not TensorFlow's scratch space (peak RSS, from `pulse speed`, covers that).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runPulse } from '../pulse/run.js';
import { resolveOptions } from '../pulse/options.js';
import { benchSetup, type BenchOptions } from './bench.js';

export type StepPhase = 'forward' | 'backward' | 'update';

export interface KernelGroup {
  readonly name: string;
  readonly phase: StepPhase;
  /** Dispatches in the step. */
  readonly calls: number;
  /** Summed wall-clock ms of those dispatches. */
  readonly ms: number;
  /** Summed bytes of the tensors they made (outputs; MB = 2^20 bytes). */
  readonly outputMb: number;
}

export interface StepProfile {
  readonly backend: string;
  readonly res: number;
  readonly fmapBase: number;
  readonly factor: number;
  readonly batch: number;
  /** Wall-clock seconds of the profiled step (profiling adds a little per kernel). */
  readonly stepSeconds: number;
  /** Summed kernel ms per phase. */
  readonly phaseMs: Record<StepPhase, number>;
  readonly kernelCalls: number;
  /** Custom ops (fused epilogue, frozen-weight ops), whose inner kernels are in kernelCalls. */
  readonly customOpCalls: number;
  /** Most bytes of live tensors at any point of the step, MB. */
  readonly peakTensorMb: number;
  /** Live tensor MB when the step began (weights, search state). */
  readonly baselineTensorMb: number;
  /** Groups sorted by time, largest first. */
  readonly groups: readonly KernelGroup[];
}

interface KernelRecord {
  name: string;
  kernelTimeMs: number | { error: string };
  totalBytesSnapshot: number;
  inputShapes: (number[] | null)[];
  outputShapes: number[][];
}

const MB = 2 ** 20;
const CUSTOM_OP = 'unnamed scope';

/**
 * Profiles step `warmSteps + 1` of a PULSE run (the steps before it warm up kernels and
 * caches). `byShape` picks kernels to list per input shape rather than summed over shapes.
 * The phase boundaries are marked by wrapping the engine's `tidy`: the end of its 'forward'
 * scope ends the forward pass, the end of its 'backward' scope the backward pass.
 */
export async function profileStep(o: BenchOptions, warmSteps = 2, byShape: (kernel: string) => boolean = () => false): Promise<StepProfile> {
  const { backend, synthesis, fit, target } = await benchSetup(o);
  const engine = tf.engine() as unknown as {
    tidy: (nameOrFn: unknown, fn?: unknown) => unknown;
    state: { activeProfile: { kernels: KernelRecord[] } };
  };
  const kernelsSoFar = () => engine.state.activeProfile.kernels.length;
  const stepEnds: number[] = [];
  const forwardEnds: number[] = [];
  const backwardEnds: number[] = [];
  // Both tf.valueAndGrads and valueAndGradsLean run the loss in tidy('forward') and the tape
  // walk in tidy('backward'): their ends mark the phases.
  const originalTidy = engine.tidy;
  engine.tidy = function (this: unknown, nameOrFn: unknown, fn?: unknown) {
    const result = originalTidy.call(this, nameOrFn, fn);
    if (nameOrFn === 'forward') forwardEnds.push(kernelsSoFar());
    if (nameOrFn === 'backward') backwardEnds.push(kernelsSoFar());
    return result;
  };
  let times: number[] = [];
  let last = 0;
  let profile: Awaited<ReturnType<typeof tf.profile>>;
  try {
    profile = await tf.profile(async () => {
      await runPulse({ synthesis, gaussianFit: fit }, target, resolveOptions({ seed: 1, steps: warmSteps + 1, duplicates: o.batch }), {
        onStep: (_s, elapsed) => {
          stepEnds.push(kernelsSoFar());
          times.push(elapsed - last);
          last = elapsed;
        },
      });
      return [];
    });
  } finally {
    engine.tidy = originalTidy;
    target.dispose();
    synthesis.dispose();
  }
  const kernels = profile.kernels as unknown as KernelRecord[];
  const begin = stepEnds[warmSteps - 1];
  const forwardEnd = forwardEnds[warmSteps];
  const updateStart = backwardEnds[warmSteps];
  const end = stepEnds[warmSteps];
  const stepKernels = kernels.slice(begin, end);
  const groups = new Map<string, { name: string; phase: StepPhase; calls: number; ms: number; outputMb: number }>();
  const phaseMs: Record<StepPhase, number> = { forward: 0, backward: 0, update: 0 };
  let peak = 0;
  let customCalls = 0;
  stepKernels.forEach((k, j) => {
    const i = begin + j;
    // A tf.customGrad op is profiled as one 'unnamed scope' around its inner kernels, which are
    // profiled too: count the inner ones only.
    if (k.name === CUSTOM_OP) {
      customCalls += 1;
      return;
    }
    const phase: StepPhase = i < forwardEnd ? 'forward' : i < updateStart ? 'backward' : 'update';
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const bytes = k.outputShapes.reduce((s, shape) => s + 4 * shape.reduce((a, b) => a * b, 1), 0);
    const name = byShape(k.name) ? `${k.name} ${k.inputShapes.map((sh) => (sh ? sh.join('x') : '-')).join(' ')}` : k.name;
    const key = `${phase}:${name}`;
    const g = groups.get(key) ?? { name, phase, calls: 0, ms: 0, outputMb: 0 };
    g.calls += 1;
    g.ms += ms;
    g.outputMb += bytes / MB;
    groups.set(key, g);
    phaseMs[phase] += ms;
    peak = Math.max(peak, k.totalBytesSnapshot);
  });
  const baseline = begin > 0 ? kernels[begin - 1].totalBytesSnapshot : 0;
  times = times.slice(warmSteps);
  return {
    backend: backend.name,
    res: o.res,
    fmapBase: o.fmapBase,
    factor: o.factor,
    batch: o.batch,
    stepSeconds: times[0],
    phaseMs,
    kernelCalls: stepKernels.length - customCalls,
    customOpCalls: customCalls,
    peakTensorMb: peak / MB,
    baselineTensorMb: baseline / MB,
    groups: [...groups.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** A markdown table of the largest groups (all phases), with totals. */
export function profileTable(p: StepProfile, top = 25): string {
  const total = p.phaseMs.forward + p.phaseMs.backward + p.phaseMs.update;
  const lines = [
    `${p.res} px, fmap_base ${p.fmapBase}, factor ${p.factor}, batch ${p.batch}, ${p.backend}: step ${p.stepSeconds.toFixed(3)} s, ` +
      `${p.kernelCalls} kernels (${p.customOpCalls} custom ops around some) summing to ${total.toFixed(0)} ms (forward ${p.phaseMs.forward.toFixed(0)}, backward ${p.phaseMs.backward.toFixed(0)}, ` +
      `update ${p.phaseMs.update.toFixed(0)}); live tensors ${p.baselineTensorMb.toFixed(0)} MB at the start, peak ${p.peakTensorMb.toFixed(0)} MB`,
    '',
    '| phase | kernel | calls | ms | % of kernel time | output MB |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const g of p.groups.slice(0, top)) {
    lines.push(`| ${g.phase} | ${g.name} | ${g.calls} | ${g.ms.toFixed(1)} | ${((100 * g.ms) / total).toFixed(1)} | ${g.outputMb.toFixed(1)} |`);
  }
  return lines.join('\n');
}
