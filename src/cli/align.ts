/**
 * `pulse align <images or folders> --out DIR [--size N] [--model M]`: every face in each photo,
 * aligned by the FFHQ protocol (src/align/, docs/align.md), as NAME_faceK.png (K = 1, 2, ... by
 * detection score) plus NAME.json with each face's score, box, 68 landmarks, eye and mouth
 * points and quad. A photo without a face, an unreadable file or a photo too small to search is
 * reported by name and the batch goes on; existing outputs are never overwritten without --force.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { explainBackendError, initBackend } from '../backend/select.js';
import { alignFaces, faceRecord } from '../align/align-face.js';
import { ALIGN_DETECTION } from '../align/detect.js';
import { readImage, writePngBytes } from '../io/image.js';
import { loadModel } from '../model/model.js';
import { defaultModelPath } from '../model/default-model.js';
import { writeJsonAtomic } from '../util/files.js';
import { expandInputs } from './upsample.js';
import { parseInteger } from './flags.js';
import { backendRequest } from './backend-flag.js';

export interface AlignFlags {
  /** Backend request (default: $PULSE_BACKEND or auto); the CLI passes --backend. */
  backend?: string;
  out: string;
  size?: string;
  model?: string;
  force?: boolean;
}

export interface AlignOutcome {
  readonly input: string;
  /** Aligned faces written (0 when none was found or the input failed). */
  readonly faces: number;
  readonly error?: string;
}

/** NAME_faceK.png for face K (1-based) of input stem NAME. */
export function alignedFaceName(stem: string, k: number): string {
  return `${stem}_face${k}.png`;
}

async function alignOne(input: string, size: number, outDir: string, force: boolean): Promise<AlignOutcome> {
  const stem = basename(input, extname(input));
  const reportPath = join(outDir, `${stem}.json`);
  if (!force && existsSync(reportPath)) throw new Error(`${reportPath} already exists; pass --force to overwrite, or choose another --out`);
  const { image, notices } = await readImage(input);
  for (const n of notices) process.stderr.write(`notice: ${n}\n`);
  const faces = await alignFaces(image, { size }, input);
  const names = faces.map((_, k) => alignedFaceName(stem, k + 1));
  if (!force) {
    const existing = names.map((n) => join(outDir, n)).find((p) => existsSync(p));
    if (existing) throw new Error(`${existing} already exists; pass --force to overwrite, or choose another --out`);
  }
  for (let k = 0; k < faces.length; k++) {
    await writePngBytes(join(outDir, names[k]), { width: size, height: size, data: faces[k].bytes }, { force });
  }
  writeJsonAtomic(
    reportPath,
    {
      input,
      width: image.width,
      height: image.height,
      size,
      notices,
      detection: ALIGN_DETECTION,
      faces: faces.map((f, k) => faceRecord(f, names[k])),
      ...(faces.length === 0 ? { message: `${input}: no face found` } : {}),
    },
    force,
  );
  if (faces.length === 0) process.stderr.write(`${input}: no face found\n`);
  else process.stderr.write(`${input}: ${faces.length} face(s) -> ${names.join(', ')}\n`);
  return { input, faces: faces.length };
}

/** Aligns every input; never throws for one bad input. */
export async function align(inputs: string[], flags: AlignFlags): Promise<AlignOutcome[]> {
  const backend = await initBackend(flags.backend);
  process.stderr.write(`backend: ${backend.description}\n`);
  let size: number;
  if (flags.size !== undefined) {
    size = parseInteger('size', flags.size, { min: 1 });
  } else {
    const model = await loadModel(flags.model ?? defaultModelPath());
    size = model.synthesis.config.resolution;
    model.dispose();
    process.stderr.write(`size: ${size} px (the resolution of ${flags.model ?? 'the built-in model'})\n`);
  }
  const outDir = resolve(flags.out);
  mkdirSync(outDir, { recursive: true });
  const outcomes: AlignOutcome[] = [];
  for (const input of expandInputs(inputs)) {
    try {
      outcomes.push(await alignOne(input, size, outDir, flags.force ?? false));
    } catch (err) {
      const error = explainBackendError(err).message;
      process.stderr.write(`error: ${error}\n`);
      outcomes.push({ input, faces: 0, error });
    }
  }
  return outcomes;
}

export function registerAlign(program: Command): void {
  program
    .command('align')
    .description('find every face in photos and align it as FFHQ is aligned (docs/align.md)')
    .argument('<inputs...>', 'images or folders of images (any format sharp reads)')
    .requiredOption('--out <dir>', 'output folder: NAME_faceK.png and NAME.json per input')
    .option('--size <px>', "side of the aligned faces (default: the model's resolution)")
    .option('--model <path>', 'model whose resolution is the default --size (default: the built-in model)')
    .option('--force', 'overwrite existing outputs')
    .action(async (inputs: string[], flags: AlignFlags, cmd: Command) => {
      const outcomes = await align(inputs, { ...flags, backend: backendRequest(cmd) });
      const failed = outcomes.filter((o) => o.error !== undefined).length;
      const noFace = outcomes.filter((o) => o.error === undefined && o.faces === 0).length;
      const faces = outcomes.reduce((s, o) => s + o.faces, 0);
      process.stderr.write(
        `${faces} face(s) from ${outcomes.length} input(s) into ${resolve(flags.out)}${noFace ? `; ${noFace} without a face` : ''}${failed ? `; ${failed} failed` : ''}\n`,
      );
      process.exitCode = failed > 0 ? 1 : 0;
    });
}
