/**
 * The native backend's tensor allocator, chosen by what a step allocates
 * (src/backend/tensor-allocator.ts), the map sizes it is told (stylegan/config.ts, a model's
 * model.json), and that `pulse speed` runs with the choice. Its effect on time and memory is
 * measured by the benchmarks (docs/performance.md), not here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MALLOC_MMAP_CEILING_BYTES, TF_BFC_SWITCH, applyTensorAllocator, chooseTensorAllocator } from '../src/backend/tensor-allocator.js';
import { DEFAULT_SYNTHESIS_CONFIG, largestMapFloats } from '../src/stylegan/config.js';
import { searchStepSize } from '../src/model/model.js';

describe('chooseTensorAllocator', () => {
  it('takes BFC for a batch of solutions, and malloc for one whose maps stay under the mmap ceiling', () => {
    expect(chooseTensorAllocator({ solutionsPerStep: 4 }, {}).allocator).toBe('bfc');
    expect(chooseTensorAllocator({ solutionsPerStep: 2, largestMapBytes: 1024 }, {}).why).toMatch(/2 solutions per step/);
    expect(chooseTensorAllocator({ solutionsPerStep: 1, largestMapBytes: MALLOC_MMAP_CEILING_BYTES - 1 }, {}).allocator).toBe('malloc');
    expect(chooseTensorAllocator({ solutionsPerStep: 1 }, {}).allocator).toBe('malloc');
    expect(chooseTensorAllocator({}, {})).toEqual({ allocator: 'malloc', why: 'step size not given: malloc' });
  });

  it('takes BFC for one solution whose maps reach the ceiling (1024 px: 64 MiB)', () => {
    const choice = chooseTensorAllocator({ solutionsPerStep: 1, largestMapBytes: MALLOC_MMAP_CEILING_BYTES }, {});
    expect(choice.allocator).toBe('bfc');
    expect(choice.why).toMatch(/maps of 32 MiB/);
    expect(chooseTensorAllocator({ largestMapBytes: 64 * 2 ** 20 }, {}).allocator).toBe('bfc');
  });

  it("leaves the user's setting alone, either way", () => {
    expect(chooseTensorAllocator({ solutionsPerStep: 4 }, { [TF_BFC_SWITCH]: 'false' })).toEqual({ allocator: 'user', why: `${TF_BFC_SWITCH}=false as set` });
    expect(chooseTensorAllocator({ solutionsPerStep: 1 }, { [TF_BFC_SWITCH]: 'true' }).allocator).toBe('user');
    expect(chooseTensorAllocator({ solutionsPerStep: 4 }, { [TF_BFC_SWITCH]: ' ' }).allocator).toBe('bfc');
  });

  it('refuses a count or size that is not one, naming it', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => chooseTensorAllocator({ solutionsPerStep: bad }, {})).toThrow(/solutionsPerStep=.*whole number >= 1/);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => chooseTensorAllocator({ largestMapBytes: bad }, {})).toThrow(/largestMapBytes=.*number >= 0/);
  });
});

describe('applyTensorAllocator', () => {
  it('sets the variable only for BFC', () => {
    const batch: NodeJS.ProcessEnv = {};
    expect(applyTensorAllocator({ solutionsPerStep: 4 }, batch).allocator).toBe('bfc');
    expect(batch[TF_BFC_SWITCH]).toBe('true');
    const single: NodeJS.ProcessEnv = {};
    applyTensorAllocator({ solutionsPerStep: 1 }, single);
    expect(single[TF_BFC_SWITCH]).toBeUndefined();
    const user: NodeJS.ProcessEnv = { [TF_BFC_SWITCH]: 'false' };
    applyTensorAllocator({ solutionsPerStep: 4 }, user);
    expect(user[TF_BFC_SWITCH]).toBe('false');
  });
});

describe('the map sizes it is told', () => {
  it("largestMapFloats: the published 1024 px network's largest map is 1024 x 1024 x 16; 64 px at fmap_base 8192, 64 x 64 x 256", () => {
    expect(largestMapFloats(DEFAULT_SYNTHESIS_CONFIG)).toBe(1024 * 1024 * 16);
    expect(largestMapFloats({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64 })).toBe(64 * 64 * 256);
    expect(largestMapFloats({ ...DEFAULT_SYNTHESIS_CONFIG, resolution: 64, fmapBase: 512, fmapMax: 256 })).toBe(64 * 64 * 16);
  });

  it("searchStepSize reads a model.json's config, and gives no map size where there is none", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-step-size-'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ config: { synthesis: DEFAULT_SYNTHESIS_CONFIG } }));
    expect(searchStepSize(dir, 1)).toEqual({ solutionsPerStep: 1, largestMapBytes: 4 * 1024 * 1024 * 16 });
    expect(searchStepSize(join(dir, 'synthesis.pt'), 4)).toEqual({ solutionsPerStep: 4 });
    const broken = mkdtempSync(join(tmpdir(), 'pulse-step-size-'));
    writeFileSync(join(broken, 'model.json'), '{ not json');
    expect(searchStepSize(broken, 2)).toEqual({ solutionsPerStep: 2 });
  });
});

describe('pulse speed', () => {
  const allocatorOf = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const res = spawnSync(process.execPath, ['bin/pulse.mjs', 'speed', '--factor', '2', '--steps', '2', '--json', ...args], {
      env: { ...process.env, [TF_BFC_SWITCH]: '', PULSE_BACKEND: 'tensorflow', ...env },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    return JSON.parse(res.stdout.trim().split('\n').pop()!).tensor_allocator as string;
  };
  it('runs a batch, or maps past the ceiling, on BFC and one small solution on malloc, unless the user chose', (ctx) => {
    const native = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { encoding: 'utf8' });
    if (native.status !== 0) ctx.skip('@tensorflow/tfjs-node does not load here (npm run build:native builds it); the allocator is a native-backend setting');
    const small = ['--res', '8', '--fmap-base', '16'];
    expect(allocatorOf([...small, '--batch', '2'])).toBe('bfc');
    expect(allocatorOf([...small, '--batch', '1'])).toBe('malloc');
    expect(allocatorOf([...small, '--batch', '2'], { [TF_BFC_SWITCH]: 'false' })).toBe('user');
    // 256 x 256 x 128 floats = 32 MiB, one solution (fmap_base 16384 gives 128 channels at 256 px).
    expect(allocatorOf(['--res', '256', '--fmap-base', '16384', '--factor', '64', '--steps', '2', '--batch', '1'])).toBe('bfc');
  });
});
