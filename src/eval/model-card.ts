/**
 * The model card of a trained model (models/NAME/MODEL_CARD.md), written from what the
 * model directory records (training config, steps, images, time) and an evaluation report
 * of `pulse eval-model`, so every number in it comes from a file, not from memory.
 */
import { type EvalHistoryEntry, renderHistoryTable } from './history.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ModelCardInput {
  readonly name: string;
  /** model.json's `config` and `metadata`. */
  readonly config: Json;
  readonly metadata: Json;
  /** The JSON report of `pulse eval-model`, if one was run. */
  readonly evaluation?: Json | null;
  /** Relative path of a sample grid PNG in the model folder. */
  readonly sampleGrid?: string;
  /** A sentence on the state of training (e.g. "interim: training continues"). */
  readonly status?: string;
  /** The machine(s) it trained on; without it the card says the hardware was not recorded. */
  readonly hardware?: string;
  /** Earlier evaluations (pulse eval-model --history), shown as a table across training. */
  readonly history?: readonly EvalHistoryEntry[];
  /** Relative path of the training curves (SVG) in the model folder. */
  readonly trainingPlot?: string;
}

function pct(x: number | undefined): string {
  return x === undefined || x === null ? 'not measured' : `${(100 * x).toFixed(1)}%`;
}

function hours(s: number | undefined): string {
  return s === undefined ? '?' : `${(s / 3600).toFixed(2)} h`;
}

function fixed3(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'not measured';
}

function ratioTo(x: unknown, of: unknown): string {
  return typeof x === 'number' && typeof of === 'number' && of > 0 ? ` = ${(x / of).toFixed(2)}x real` : '';
}

/** The training crop in words: v2's FFHQ alignment or v1's fixed box of the 150x150 LFW photos. */
function cropDescription(crop: unknown): string {
  if (crop === 'ffhq') return 'every face aligned by the FFHQ protocol (`pulse align`, the convention of the published FFHQ model and CelebA-HQ)';
  return `crop ${JSON.stringify(crop)} of the 150x150 photos`;
}

interface BranchRecord {
  readonly from?: string;
  readonly images?: number;
  readonly changed?: Record<string, { parent: unknown; branch: unknown }>;
  readonly parent?: BranchRecord;
}

/** One row per branch point, oldest first: from which run, after how many images, what changed. */
function lineageRows(record: BranchRecord | undefined): string[] {
  const rows: string[] = [];
  for (let r = record; r; r = r.parent) {
    const changes = Object.entries(r.changed ?? {}).map(([k, v]) => `${k} ${String(v.parent)} -> ${String(v.branch)}`).join(', ') || 'nothing';
    rows.unshift(`| branched | from \`${r.from}\` after ${r.images?.toLocaleString('en-US')} images; changed ${changes} (the recipe row is the branch's) |`);
  }
  return rows;
}

function precisionRecallCell(pr: { precision?: number; recall?: number } | null | undefined): string {
  return pr && typeof pr.precision === 'number' && typeof pr.recall === 'number' ? `${pr.precision.toFixed(2)} / ${pr.recall.toFixed(2)}` : '-';
}

function densityCoverageCell(pr: { density?: number; coverage?: number } | null | undefined): string {
  return pr && typeof pr.density === 'number' && typeof pr.coverage === 'number' ? `${pr.density.toFixed(2)} / ${pr.coverage.toFixed(2)}` : '-';
}

export function renderModelCard(input: ModelCardInput): string {
  const t = input.metadata.training ?? {};
  const tc = t.config ?? {};
  const s = input.config.synthesis ?? {};
  const data = input.metadata.data ?? {};
  const params = input.metadata.parameters ?? {};
  const ev = input.evaluation ?? null;
  const det = ev?.detection;
  const pulse = ev?.pulse;
  const id = ev?.identity;
  const lines = [
    `# Model card: ${input.name}`,
    '',
    input.status ? `**Status: ${input.status}**\n` : '',
    `A StyleGAN v1 generator (mapping + synthesis, the architecture PULSE searches) trained by this project's \`pulse train\` on LFW faces, shipped as the default model so that a fresh clone runs PULSE with nothing to download.`,
    '',
    '## What it is',
    '',
    '| | |',
    '| --- | --- |',
    `| resolution | ${s.resolution} x ${s.resolution} px |`,
    `| widths | fmap_base ${s.fmapBase}, fmap_max ${s.fmapMax} (nf(stage) = min(fmap_base / 2^stage, fmap_max)) |`,
    ...(s.architecture === 'skip' ? ['| outputs | skip: a toRGB per block, summed (StyleGAN2\'s skip architecture; the official code has v1\'s single toRGB, docs/training.md) |'] : []),
    `| parameters | synthesis ${params.synthesis?.toLocaleString('en-US')}, mapping ${params.mapping?.toLocaleString('en-US')} |`,
    `| data | LFW deep-funneled, split \`${data.split}\` (${data.count} images; \`dev\` identities never seen), ${cropDescription(data.crop)} (datasets/README.md) |`,
    ...(input.metadata.run ? [`| run | \`${input.metadata.run}\` (its log, samples and measures; docs/training.md) |`] : []),
    `| training | ${t.steps} steps of batch ${tc.batchSize}, ${t.imagesSeen?.toLocaleString('en-US')} images seen, ${hours(t.trainingSeconds)} of training |`,
    `| recipe | non-saturating logistic loss, R1 gamma ${tc.r1Gamma} every ${tc.r1Interval} steps, Adam lr ${tc.lrG}/${tc.lrD} betas (${tc.beta1}, ${tc.beta2}), EMA half-life ${tc.emaHalfLifeImages} images, style mixing ${tc.styleMixingProb}, minibatch-stddev group ${tc.mbstdGroup}, mapping lr x${tc.mappingLrMul ?? 0.01}, seed ${tc.seed} |`,
    ...(typeof tc.noiseMaxSide === 'number'
      ? [`| noise | trained with noise maps up to ${tc.noiseMaxSide} px only: the finer layers' noise strengths are 0, so noise there changes nothing (PULSE's included) |`]
      : []),
    ...(typeof tc.visionAided === 'string' && tc.visionAided !== 'none'
      ? [`| vision-aided D | beside D, a trainable head on the frozen features of face-api's ${tc.visionAided === 'age-gender' ? 'age and gender net' : tc.visionAided} (Kumari et al. 2022), loss weight ${tc.visionWeight}; training only: the exported generator is the same network |`]
      : []),
    ...(typeof tc.modeSeeking === 'number' && tc.modeSeeking > 0
      ? [`| mode seeking | G rewarded for faces that differ as their latents do, in the frozen age and gender net's features (Mao et al. 2019), weight ${tc.modeSeeking}; training only |`]
      : []),
    ...lineageRows(input.metadata.branchedFrom),
    `| hardware, backend | ${input.hardware ?? 'not recorded'}, tfjs backend \`${input.metadata.trainedOn}\` |`,
    `| Gaussian fit | ${input.metadata.gaussianFitSamples?.toLocaleString('en-US')} samples of LeakyReLU(5)(w) |`,
    '',
    input.sampleGrid ? `![samples](${input.sampleGrid})\n` : '',
    input.trainingPlot ? `Training curves (from the run's log.jsonl): ![training curves](${input.trainingPlot})\n` : '',
    '## Measured quality (`pulse eval-model`)',
    '',
  ];
  if (!ev) lines.push('Not evaluated yet.', '');
  else {
    lines.push(
      '| measure | value | target |',
      '| --- | --- | --- |',
      `| random samples in which a face detector finds a face | ${det ? `${det.detected}/${det.samples} = ${pct(det.rate)}` : 'not measured'} | >= 90% |`,
      `| PULSE (defaults) on LFW dev faces at ${pulse?.factor ?? 8}x: share within eps | ${pulse ? `${pulse.succeeded}/${pulse.faces} = ${pct(pulse.successRate)}` : 'not measured'} | >= 80% |`,
      `| PULSE: median best L2 | ${pulse ? pulse.medianMinMse.toExponential(3) : 'not measured'} | eps ${pulse?.options?.eps ?? ''} |`,
      `| Frechet distance of face descriptors, samples vs dev | ${id ? `${id.frechet?.distance?.toFixed?.(3) ?? JSON.stringify(id.frechet)}` : 'not measured'} | floor (dev half vs half): ${id?.floor?.distance?.toFixed?.(3) ?? '-'} |`,
      `| mean descriptor distance between samples (collapse shows here) | ${fixed3(id?.diversity?.generated)}${ratioTo(id?.diversity?.generated, id?.diversity?.real)} | >= 0.9x that of real dev faces (${fixed3(id?.diversity?.real)}) |`,
      ...(id?.precisionRecall?.generatedVsHalf
        ? [
            `| descriptor precision / recall, samples vs a dev half (k = 3, Kynkäänniemi et al. 2019: samples that look real / real faces the samples cover) | ${precisionRecallCell(id.precisionRecall.generatedVsHalf)} | real half vs half: ${precisionRecallCell(id.precisionRecall.realHalves)} |`,
          ]
        : []),
      ...(typeof id?.precisionRecall?.generatedVsHalf?.coverage === 'number'
        ? [
            `| descriptor density / coverage, samples vs a dev half (k = 3, Naeem et al. 2020, on the real faces' neighbourhoods only: samples per neighbourhood over k / real faces with a sample in theirs) | ${densityCoverageCell(id.precisionRecall.generatedVsHalf)} | real half vs half: ${densityCoverageCell(id.precisionRecall.realHalves)} |`,
          ]
        : []),
      `| PULSE: median descriptor distance among a face's solutions | ${fixed3(pulse?.solutionDiversity?.median)} | different people: about 0.8 |`,
      '',
      `Evaluated on ${ev.backend} in ${Math.round(ev.seconds)} s, seed ${ev.seed} (report: \`eval.json\`).`,
      '',
    );
  }
  if (input.history && input.history.length > 0) {
    lines.push(
      '## Across training',
      '',
      'Each row is one `pulse eval-model --history eval-history.jsonl` run on the export after that many images (lower Frechet is better; the floor is the distance between two halves of `dev`).',
      '',
      renderHistoryTable(input.history),
      '',
    );
  }
  lines.push(
    '## What it cannot do',
    '',
    '- It is small and low-resolution: no substitute for the published 1024 px FFHQ model, whose results the paper reports.',
    '- It learned from about 6,000 news photographs of mostly adult, mostly light-skinned public figures (LFW); faces unlike those are represented poorly.',
    '- PULSE with any generator invents a plausible face consistent with the low-resolution input. It does not recover who was in the photo and must never be used to identify anyone.',
    '',
  );
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
}
