import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from './helpers/cli.js';
import { readModelDir } from '../src/io/model-format.js';
import { loadTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { useTestBackend } from './helpers/backend.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';


let torchDir: string;
let modelDir: string;
let work: string;

beforeAll(async () => {
  await useTestBackend();
  torchDir = await writeTinyTorchModel();
  work = mkdtempSync(join(tmpdir(), 'pulse-cli-'));
  modelDir = join(work, 'model');
  const r = await run(['convert', torchDir, '--out', modelDir]);
  expect(r.code, r.err).toBe(0);
});

async function makeInputs(dir: string): Promise<void> {
  const rgb = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
  await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(join(dir, 'a_rgb.png'));
  const rgba = Buffer.alloc(8 * 8 * 4, 200);
  await sharp(rgba, { raw: { width: 8, height: 8, channels: 4 } }).png().toFile(join(dir, 'b_rgba.png'));
  await sharp(Buffer.alloc(64, 90), { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, 'c_grey.png'));
  await sharp(Buffer.alloc(10 * 10 * 3, 90), { raw: { width: 10, height: 10, channels: 3 } }).png().toFile(join(dir, 'd_size10.png'));
  writeFileSync(join(dir, 'e_corrupt.png'), Buffer.from('not an image at all'));
  await sharp(Buffer.alloc(8 * 16 * 3, 90), { raw: { width: 16, height: 8, channels: 3 } }).png().toFile(join(dir, 'f_wide.png'));
  const deep = Buffer.alloc(8 * 8 * 3 * 2);
  for (let i = 0; i < deep.length / 2; i++) deep.writeUInt16LE((i * 997) % 65536, 2 * i);
  await sharp(deep, { raw: { width: 8, height: 8, channels: 3, premultiplied: false } as never })
    .toColourspace('rgb16')
    .png()
    .toFile(join(dir, 'g_16bit.png'))
    .catch(() => undefined);
}

describe('pulse convert', () => {
  it('writes a model directory with synthesis, mapping and Gaussian fit tensors', async () => {
    const { config, tensors } = await readModelDir(modelDir);
    expect((config as { synthesis: { resolution: number } }).synthesis.resolution).toBe(32);
    expect(tensors.has('synthesis.torgb.weight')).toBe(true);
    expect(tensors.has('mapping.dense7.bias')).toBe(true);
    expect(tensors.get('gaussian_fit.std')!.data[0]).toBe(1);
  });

  it('refuses to overwrite an existing model without --force', async () => {
    const r = await run(['convert', torchDir, '--out', modelDir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/model\.json|exists/);
    expect((await run(['convert', torchDir, '--out', modelDir, '--force'])).code).toBe(0);
  });

  it('names the file of a truncated checkpoint', async () => {
    const bad = join(work, 'truncated.pt');
    writeFileSync(bad, readFileSync(join(torchDir, 'synthesis.pt')).subarray(0, 5000));
    const r = await run(['convert', bad, '--out', join(work, 'never')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('truncated.pt');
    expect(existsSync(join(work, 'never', 'model.json'))).toBe(false);
  });
});

describe('pulse upsample', () => {
  it('upsamples the good inputs, reports the bad ones and goes on', async () => {
    const inputs = mkdtempSync(join(tmpdir(), 'pulse-in-'));
    await makeInputs(inputs);
    const out = join(work, 'out');
    const r = await run(['upsample', inputs, '--model', modelDir, '--out', out, '--steps', '3', '--seed', '5', '--duplicates', '2', '--quiet']);
    expect(r.code).toBe(1); // some inputs are bad
    for (const stem of ['a_rgb', 'b_rgba', 'c_grey']) {
      expect(existsSync(join(out, `${stem}_1.png`)), stem).toBe(true);
      expect(existsSync(join(out, `${stem}_2_lr.png`)), stem).toBe(true);
      const report = JSON.parse(readFileSync(join(out, `${stem}.json`), 'utf8'));
      expect(report.solutions.map((s: { seed: number }) => s.seed)).toEqual([5, 6]);
      expect(report.trace).toHaveLength(3);
      expect(report.trace[0].terms).toHaveProperty('L2');
      expect(report.backend).toBeTruthy();
      expect(typeof report.solutions[0].success).toBe('boolean');
      expect((await sharp(join(out, `${stem}_1.png`)).metadata()).width).toBe(32);
    }
    expect(r.err).toMatch(/b_rgba\.png has an alpha channel/);
    expect(r.err).toMatch(/c_grey\.png.*grey/i);
    expect(r.err).toMatch(/d_size10\.png is 10x10.*sizes that work: 32, 16, 8, 4, 2/);
    expect(r.err).toMatch(/e_corrupt\.png is not an image/);
    expect(r.err).toMatch(/f_wide\.png is 16x8/);
    expect(existsSync(join(out, 'd_size10_1.png'))).toBe(false);

    const again = await run(['upsample', join(inputs, 'a_rgb.png'), '--model', modelDir, '--out', out, '--steps', '2', '--duplicates', '2', '--quiet']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists; pass --force/);
    const forced = await run(['upsample', join(inputs, 'a_rgb.png'), '--model', modelDir, '--out', out, '--steps', '2', '--duplicates', '2', '--quiet', '--force']);
    expect(forced.code, forced.err).toBe(0);
  });

  it('accepts an official PyTorch folder as --model and rejects an unknown loss term', async () => {
    const inputs = mkdtempSync(join(tmpdir(), 'pulse-in-'));
    await makeInputs(inputs);
    const ok = await run(['upsample', join(inputs, 'a_rgb.png'), '--model', torchDir, '--out', join(work, 'out2'), '--steps', '2', '--quiet']);
    expect(ok.code, ok.err).toBe(0);
    const bad = await run(['upsample', join(inputs, 'a_rgb.png'), '--model', torchDir, '--out', join(work, 'out3'), '--loss', '100*L3']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown loss term "L3"/);
  });
});

describe('pulse fit-gaussian', () => {
  it('writes a legacy torch {mean, std} the loader reads back', async () => {
    const out = join(work, 'fit.pt');
    const r = await run(['fit-gaussian', '--model', join(torchDir, 'mapping.pt'), '--out', out, '--samples', '3000', '--batch-size', '1000']);
    expect(r.code, r.err).toBe(0);
    const sd = await loadTorchCheckpoint(out);
    expect(sd.get('mean')!.shape).toEqual([512]);
    expect(sd.get('std')!.data.every((v) => v >= 0)).toBe(true);
    expect((await run(['fit-gaussian', '--model', join(torchDir, 'mapping.pt'), '--out', out, '--samples', '10'])).code).toBe(1);
  });
});

describe('pulse bench', () => {
  it('prints one JSON object with median_step_s and backend', async () => {
    const r = await run(['bench', '--res', '16', '--fmap-base', '64', '--factor', '4', '--steps', '2', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.trim());
    expect(j.median_step_s).toBeGreaterThan(0);
    expect(typeof j.backend).toBe('string');
    expect(j.tensors_after).toBe(j.tensors_before);
  });
});
