/**
 * One PULSE run for the page, over the project's runPulse: a yield between steps (the page
 * repaints; Cancel is seen), the current images every few steps, and when the backend fails
 * mid-run, the next backend started, the model rebuilt on it and the run restarted (same seeds,
 * so the same search), with the failure reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel, ModelFiles } from '../model/build-model.js';
import type { RgbImage } from '../io/rgb-image.js';
import type { PulseOptions } from '../pulse/options.js';
import { runPulse, type PulseResult, type PulseStep } from '../pulse/run.js';
import { fallbacksAfter, startBackend, type WebBackendInfo } from './backend.js';
import { buildFetchedModel } from './model-loader.js';

export interface PulseJobState {
  backend: WebBackendInfo;
  model: LoadedModel;
  readonly files: ModelFiles;
  readonly source: string;
}

export interface PulseJobHooks {
  readonly signal: AbortSignal;
  readonly onStep: (step: PulseStep, elapsedSeconds: number) => void;
  /** Every `imageEvery` steps: the current images, [B, R, R, 3] host copies. */
  readonly onImages: (step: number, images: Float32Array) => void;
  readonly imageEvery: number;
  /** A backend failed and the run goes on on another one. */
  readonly onFallback: (message: string, backend: WebBackendInfo) => void;
  /** Test hook (URL `fail-at-step`): throw a simulated backend failure once, at this step. */
  readonly failAtStep?: number;
}

/** Yields to the event loop (a macrotask), so the page repaints and handles clicks. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (err === signal.reason || (err instanceof DOMException && err.name === 'AbortError'));
}

export async function runPulseJob(state: PulseJobState, lowRes: RgbImage, options: PulseOptions, hooks: PulseJobHooks): Promise<PulseResult> {
  let failAt = hooks.failAtStep;
  for (;;) {
    const target = tf.tensor4d(lowRes.data, [1, lowRes.height, lowRes.width, 3]);
    try {
      return await runPulse(state.model, target, options, {
        signal: hooks.signal,
        onStep: async (step, elapsed) => {
          if (failAt !== undefined && step.step === failAt) {
            failAt = undefined;
            throw new Error(`simulated ${state.backend.name} failure at step ${step.step + 1} (test hook fail-at-step)`);
          }
          hooks.onStep(step, elapsed);
          await nextTask();
        },
        onStepImage: (step, images) => {
          if (step % hooks.imageEvery === 0 || step === options.steps - 1) hooks.onImages(step, images.dataSync() as Float32Array);
        },
      });
    } catch (err) {
      if (isAbort(err, hooks.signal)) throw err;
      const next = fallbacksAfter(state.backend.name);
      if (next.length === 0) throw err;
      const failed = state.backend.description;
      try {
        state.model.dispose();
      } catch {
        /* the failed backend may not free its tensors any more */
      }
      state.backend = await startBackend(next);
      state.model = buildFetchedModel(state.files, state.source);
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      hooks.onFallback(`${failed} failed (${why}); restarted on ${state.backend.description}`, state.backend);
    } finally {
      target.dispose();
    }
  }
}
