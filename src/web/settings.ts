/**
 * The page's PULSE settings: the advanced panel's fields, read from and written to the URL
 * (so a link reproduces a run), checked by the same resolveOptions as the command line.
 */
import { DEFAULT_PULSE_OPTIONS, resolveOptions, type PulseOptions } from '../pulse/options.js';

export interface WebSettings {
  readonly steps: number;
  readonly learningRate: number;
  readonly eps: number;
  readonly loss: string;
  readonly solutions: number;
  readonly seed: number;
  /** Downscaling factor from the model's resolution to the low-resolution input. */
  readonly factor: number;
}

/** Defaults: the official PULSE options, 4 solutions, seed 1, factor 8 (64 px -> 8 px). */
export const DEFAULT_WEB_SETTINGS: WebSettings = {
  steps: DEFAULT_PULSE_OPTIONS.steps,
  learningRate: DEFAULT_PULSE_OPTIONS.learningRate,
  eps: DEFAULT_PULSE_OPTIONS.eps,
  loss: DEFAULT_PULSE_OPTIONS.loss,
  solutions: 4,
  seed: 1,
  factor: 8,
};

/** URL parameter of each setting; the page's form field for it has the same id. */
export const SETTING_PARAMS: Readonly<Record<keyof WebSettings, string>> = {
  steps: 'steps',
  learningRate: 'lr',
  eps: 'eps',
  loss: 'loss',
  solutions: 'solutions',
  seed: 'seed',
  factor: 'factor',
};

/** Settings from URL parameters; a value that does not parse is reported and its default kept. */
export function settingsFromUrl(params: URLSearchParams): { settings: WebSettings; problems: string[] } {
  const problems: string[] = [];
  const out: Record<string, number | string> = { ...DEFAULT_WEB_SETTINGS };
  for (const [key, param] of Object.entries(SETTING_PARAMS) as [keyof WebSettings, string][]) {
    const raw = params.get(param);
    if (raw === null) continue;
    if (key === 'loss') {
      out.loss = raw;
      continue;
    }
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) problems.push(`URL setting ${param}=${raw} is not a number; using ${out[key]}`);
    else out[key] = value;
  }
  return { settings: out as unknown as WebSettings, problems };
}

/** The settings as URL parameters (only those that differ from the defaults). */
export function settingsToUrl(settings: WebSettings, params: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, param] of Object.entries(SETTING_PARAMS) as [keyof WebSettings, string][]) {
    if (settings[key] === DEFAULT_WEB_SETTINGS[key]) next.delete(param);
    else next.set(param, String(settings[key]));
  }
  return next;
}

/** The PULSE options of these settings; throws the CLI's message for a bad value. */
export function pulseOptions(settings: WebSettings): PulseOptions {
  return resolveOptions({
    steps: settings.steps,
    learningRate: settings.learningRate,
    eps: settings.eps,
    loss: settings.loss,
    duplicates: settings.solutions,
    seed: settings.seed,
  });
}
