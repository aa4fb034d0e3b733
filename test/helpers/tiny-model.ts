/** A tiny random-weight generator on disk, in both the official and the project format. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveTorchCheckpoint } from '../../src/io/torch-checkpoint-writer.js';
import { randomMappingStateDict, randomSynthesisStateDict } from '../../src/stylegan/random-weights.js';
import { DEFAULT_SYNTHESIS_CONFIG, type SynthesisConfig } from '../../src/stylegan/config.js';

export const TINY_CONFIG: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 32, fmapBase: 128 };

/** Writes synthesis.pt, mapping.pt and gaussian_fit.pt (legacy torch format) into a new temp folder. */
export async function writeTinyTorchModel(cfg: SynthesisConfig = TINY_CONFIG): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-tiny-'));
  await saveTorchCheckpoint(join(dir, 'synthesis.pt'), randomSynthesisStateDict(cfg, 7, 0.1), { format: 'legacy' });
  await saveTorchCheckpoint(join(dir, 'mapping.pt'), randomMappingStateDict(7), { format: 'legacy' });
  const mean = new Float32Array(cfg.dlatentSize);
  const std = new Float32Array(cfg.dlatentSize).fill(1);
  await saveTorchCheckpoint(
    join(dir, 'gaussian_fit.pt'),
    new Map([
      ['mean', { shape: [mean.length], data: mean }],
      ['std', { shape: [std.length], data: std }],
    ]),
    { format: 'legacy' },
  );
  return dir;
}
