/**
 * One colour per benchmark method, the same in every figure (the distribution plots and the
 * reproduction notebook's bar panels). hr, the reference rather than a method, is a mid grey
 * (#7f7f7f): plotly draws its axes, ticks and text in #444444, so a darker grey would read as
 * part of the frame.
 */
import type { BenchMethod } from './methods.js';

export const METHOD_COLOURS: Readonly<Record<BenchMethod, string>> = {
  hr: '#7f7f7f',
  nearest: '#bcbd22',
  bicubic: '#1f77b4',
  esrgan: '#2ca02c',
  pulse: '#d62728',
};

/** Colour of a method name read from results (brown for a name outside BENCH_METHODS). */
export function methodColour(method: string): string {
  return (METHOD_COLOURS as Readonly<Record<string, string>>)[method] ?? '#8c564b';
}
