/** The methods `pulse benchmark` compares (src/benchmark/baselines.ts, src/pulse/run.ts), `hr` being the reference row. */


export const BENCH_METHODS = ['hr', 'nearest', 'bicubic', 'esrgan', 'pulse'] as const;
export type BenchMethod = (typeof BENCH_METHODS)[number];

/** Parses "pulse,bicubic,nearest,esrgan"; `hr` (the reference row) is always added first. */
export function parseMethods(text: string | readonly string[]): BenchMethod[] {
  const names = (typeof text === 'string' ? text.split(',') : [...text]).map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(BENCH_METHODS as readonly string[]).includes(n)) throw new Error(`unknown method "${n}"; methods: ${BENCH_METHODS.join(', ')}`);
  }
  const set = new Set<BenchMethod>(['hr', ...(names as BenchMethod[])]);
  return [...set];
}
