import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from './helpers/cli.js';
import { buildProgram, commandNamed } from '../src/cli/main.js';
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
}

/**
 * One 8x8 picture twice: `deep_16bit.png` holds 16-bit samples with detail below an 8-bit step
 * (8-bit value * 257 + d, |d| <= 128), `deep_8bit.png` the same rounded to 8 bits. As read,
 * the two differ by at most 128.5 / 65535 per value (DEEP_DELTA).
 */
const DEEP_DELTA = 128.5 / 65535;
async function makeDeepPair(dir: string): Promise<{ deep: string; shallow: string }> {
  const n = 8 * 8 * 3;
  const bytes = new Uint8Array(n);
  const words = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    bytes[i] = 30 + ((i * 37) % 200);
    words[i] = bytes[i] * 257 + (((i * 53) % 257) - 128);
  }
  const deep = join(dir, 'deep_16bit.png');
  const shallow = join(dir, 'deep_8bit.png');
  await sharp(words, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('rgb16').png().toFile(deep);
  await sharp(Buffer.from(bytes), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(shallow);
  expect((await sharp(deep).metadata()).depth).toBe('ushort'); // the test's premise: a real 16-bit file
  expect((await sharp(shallow).metadata()).depth).toBe('uchar');
  return { deep, shallow };
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

describe('pulse upsample with a 16-bit input', () => {
  it('says it read 16 bits, and gives what the 8-bit version of the same picture gives, within the 8-bit rounding', async () => {
    const inputs = mkdtempSync(join(tmpdir(), 'pulse-in16-'));
    const { deep, shallow } = await makeDeepPair(inputs);
    const out = join(work, 'out16');
    const args = ['--model', modelDir, '--out', out, '--steps', '3', '--seed', '9', '--quiet'];
    const r16 = await run(['upsample', deep, ...args]);
    const r8 = await run(['upsample', shallow, ...args]);
    expect(r16.code, r16.err).toBe(0);
    expect(r8.code, r8.err).toBe(0);
    const notice = /notice: .*deep_16bit\.png is a 16-bit image; it was read at full 16-bit precision \(values \/ 65535\)/;
    expect(r16.err).toMatch(notice);
    expect(r8.err).not.toMatch(/16-bit/);
    const rep16 = JSON.parse(readFileSync(join(out, 'deep_16bit.json'), 'utf8'));
    const rep8 = JSON.parse(readFileSync(join(out, 'deep_8bit.json'), 'utf8'));
    expect(rep16.notices).toHaveLength(1);
    expect(rep16.notices[0]).toMatch(/16-bit image; it was read at full 16-bit precision/);
    expect(rep8.notices).toEqual([]);

    // Step 1 measures the same first image (same seed) against the two targets t16, t8:
    // |mse(a,t16) - mse(a,t8)| = |mean((t8-t16)(2a-t16-t8))| <= DEEP_DELTA * mean|2a-t16-t8|
    // <= DEEP_DELTA * (2 sqrt(mse(a,t8)) + DEEP_DELTA). Not equal: the sub-8-bit detail reached PULSE.
    const m16 = rep16.trace[0].mse[0] as number;
    const m8 = rep8.trace[0].mse[0] as number;
    expect(Math.abs(m16 - m8)).toBeLessThanOrEqual(DEEP_DELTA * (2 * Math.sqrt(m8) + DEEP_DELTA) * (1 + 1e-5));
    expect(m16).not.toBe(m8);

    // The face found: 3 steps from the same start towards targets 0.002 apart move little.
    // Measured here (native backend): mean |difference| 2.5e-3 (0.6/255), the largest 9/255;
    // allowed: mean 2/255, max 32/255 (Adam's first steps can amplify a small difference in
    // one place). A misread file (bytes swapped, values / 255) moves the target by up to 1,
    // which the step-1 bound above already catches.
    const px = async (f: string) => Uint8Array.from((await sharp(join(out, f)).raw().toBuffer()));
    const a = await px('deep_16bit.png');
    const b = await px('deep_8bit.png');
    expect(a.length).toBe(32 * 32 * 3);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      sum += d;
      max = Math.max(max, d);
    }
    console.log(`16-bit vs 8-bit input: step-1 MSE ${m16.toExponential(4)} vs ${m8.toExponential(4)}; output mean |diff| ${(sum / a.length / 255).toExponential(2)}, max ${max}/255`);
    expect(sum / a.length).toBeLessThanOrEqual(2);
    expect(max).toBeLessThanOrEqual(32);
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

describe('pulse speed', () => {
  it.each(['speed', 'bench'])('prints one JSON object with median_step_s, peak_rss_mb and backend (as %s)', async (name) => {
    const r = await run([name, '--res', '16', '--fmap-base', '64', '--factor', '4', '--steps', '2', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out.trim());
    expect(j.median_step_s).toBeGreaterThan(0);
    expect(j.peak_rss_mb).toBeGreaterThan(50);
    expect(typeof j.backend).toBe('string');
    expect(j.tensors_after).toBe(j.tensors_before);
  });
});

describe('the command table (only the command run is imported)', () => {
  it('finds the command past global options and aliases; help and unknown names load every command', async () => {
    expect(commandNamed(['speed', '--res', '64'])).toBe('speed');
    expect(commandNamed(['--backend', 'wasm', 'bench'])).toBe('speed');
    expect(commandNamed(['--backend=cpu', 'train', '--resume'])).toBe('train');
    expect(commandNamed(['--help'])).toBeUndefined();
    expect(commandNamed(['help', 'speed'])).toBeUndefined();
    expect(commandNamed(['nosuch'])).toBeUndefined();
    const one = await buildProgram(['--backend', 'wasm', 'model-card']);
    expect(one.commands.map((c) => c.name())).toEqual(['model-card']);
    const all = await buildProgram(['--help']);
    expect(all.commands.map((c) => c.name())).toEqual(expect.arrayContaining(['upsample', 'speed', 'train', 'eval-model', 'align', 'sample', 'demo']));
    expect(all.commands).toHaveLength(15);
    const typo = await run(['speeed']);
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/unknown command 'speeed'/);
  });
});
