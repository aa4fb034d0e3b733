/**
 * The evaluation history of a model across its training: one JSON line per `pulse eval-model
 * --history FILE` run, with the training state of the evaluated export (steps, images seen) and
 * the three measurements, so the Frechet distance (and the others) can be followed from export to
 * export. Lines are only ever appended; the model card renders them as a table in order of
 * images seen.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { readJsonLines } from '../util/jsonl.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface EvalHistoryEntry {
  readonly evaluatedAt: string;
  readonly model: string;
  /** The training run the export came from (model metadata `run`, written by export-model since session 7). */
  readonly run?: string | null;
  /** Which dev faces the measures used: 'lfw-crop' (v1's convention) or 'ffhq' (aligned). */
  readonly realFaces?: string | null;
  /** Training state of the export (null when the model records none, e.g. a converted checkpoint). */
  readonly steps: number | null;
  readonly imagesSeen: number | null;
  readonly trainingSeconds: number | null;
  readonly detection: { readonly detected: number; readonly samples: number; readonly rate: number } | null;
  readonly pulse: { readonly succeeded: number; readonly faces: number; readonly successRate: number; readonly medianMinMse: number } | null;
  readonly frechet: number | null;
  readonly frechetFloor: number | null;
  /** Descriptor counts behind the Frechet distance (generated, real). */
  readonly frechetCounts: readonly number[] | null;
  /** Mean pairwise descriptor distance of samples, and of the real faces (absent in lines written before it was measured). */
  readonly sampleDiversity?: number | null;
  readonly realDiversity?: number | null;
  /** Median over dev faces of the mean pairwise descriptor distance of PULSE's solutions. */
  readonly solutionDiversity?: number | null;
  /** Descriptor precision and recall, samples vs a real half (absent in lines written before they were measured). */
  readonly precision?: number | null;
  readonly recall?: number | null;
  /** Descriptor density and coverage (Naeem et al. 2020), samples vs a real half (absent in older lines). */
  readonly density?: number | null;
  readonly coverage?: number | null;
  readonly seed: number;
}

/** The history line of an eval-model report; `metadata` is the evaluated model's metadata. */
export function historyEntry(report: Json, metadata: Json): EvalHistoryEntry {
  const t = metadata.training ?? {};
  const det = report.detection;
  const p = report.pulse;
  const id = report.identity;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return {
    evaluatedAt: String(report.started ?? new Date().toISOString()),
    model: String(report.model ?? ''),
    run: typeof metadata.run === 'string' ? metadata.run : null,
    realFaces: typeof report.realFaces === 'string' ? report.realFaces : null,
    steps: num(t.steps),
    imagesSeen: num(t.imagesSeen),
    trainingSeconds: num(t.trainingSeconds),
    detection: det ? { detected: det.detected, samples: det.samples, rate: det.rate } : null,
    pulse: p ? { succeeded: p.succeeded, faces: p.faces, successRate: p.successRate, medianMinMse: p.medianMinMse } : null,
    frechet: num(id?.frechet?.distance),
    frechetFloor: num(id?.floor?.distance),
    frechetCounts: Array.isArray(id?.frechet?.counts) ? id.frechet.counts : null,
    sampleDiversity: num(id?.diversity?.generated),
    realDiversity: num(id?.diversity?.real),
    solutionDiversity: num(p?.solutionDiversity?.median),
    precision: num(id?.precisionRecall?.generatedVsHalf?.precision),
    recall: num(id?.precisionRecall?.generatedVsHalf?.recall),
    density: num(id?.precisionRecall?.generatedVsHalf?.density),
    coverage: num(id?.precisionRecall?.generatedVsHalf?.coverage),
    seed: Number(report.seed ?? 0),
  };
}

/** Appends one entry (a JSON line) to `file`, creating it. Nothing is rewritten. */
export function appendHistory(file: string, entry: EvalHistoryEntry): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** The entries of `file` in file order; a malformed line is an error naming the file and line. */
export function readHistory(file: string): EvalHistoryEntry[] {
  if (!existsSync(file)) throw new Error(`${file} does not exist; it is written by pulse eval-model --history ${file}`);
  return readJsonLines<EvalHistoryEntry>(file).map((l) => l.value);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * A markdown table of the history: one block per run (runs in the order of their first
 * evaluation, so a replaced model's rows stay above its successor's), within a run by images
 * seen (unknown last), oldest evaluation first among equals.
 */
export function renderHistoryTable(entries: readonly EvalHistoryEntry[]): string {
  const firstSeen = new Map<string, string>();
  for (const e of entries) {
    const run = e.run ?? '';
    const at = firstSeen.get(run);
    if (at === undefined || e.evaluatedAt < at) firstSeen.set(run, e.evaluatedAt);
  }
  const runOrder = (e: EvalHistoryEntry) => firstSeen.get(e.run ?? '') ?? '';
  const sorted = [...entries].sort(
    (a, b) =>
      runOrder(a).localeCompare(runOrder(b)) ||
      (a.imagesSeen ?? Infinity) - (b.imagesSeen ?? Infinity) ||
      a.evaluatedAt.localeCompare(b.evaluatedAt),
  );
  const lines = [
    '| run (dev faces) | images seen | steps | training | face found in samples | PULSE within eps (8x) | median best L2 | descriptor Frechet | floor | sample diversity (real) | precision / recall / coverage | PULSE solution diversity |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const e of sorted) {
    lines.push(
      `| ${e.run ? `\`${e.run}\`` : '-'} (${e.realFaces ?? '?'}) | ${e.imagesSeen?.toLocaleString('en-US') ?? '?'} | ${e.steps ?? '?'} | ${e.trainingSeconds === null ? '?' : `${(e.trainingSeconds / 3600).toFixed(2)} h`} | ` +
        `${e.detection ? `${e.detection.detected}/${e.detection.samples} = ${pct(e.detection.rate)}` : '-'} | ` +
        `${e.pulse ? `${e.pulse.succeeded}/${e.pulse.faces} = ${pct(e.pulse.successRate)}` : '-'} | ` +
        `${e.pulse ? e.pulse.medianMinMse.toExponential(2) : '-'} | ${e.frechet === null ? '-' : e.frechet.toFixed(3)} | ${e.frechetFloor === null ? '-' : e.frechetFloor.toFixed(3)} | ` +
        `${e.sampleDiversity == null ? '-' : `${e.sampleDiversity.toFixed(3)} (${e.realDiversity?.toFixed(3) ?? '?'})`} | ` +
        `${e.precision == null || e.recall == null ? '-' : `${e.precision.toFixed(2)} / ${e.recall.toFixed(2)} / ${e.coverage == null ? '-' : e.coverage.toFixed(2)}`} | ` +
        `${e.solutionDiversity == null ? '-' : e.solutionDiversity.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}
