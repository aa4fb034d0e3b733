/**
 * The native backend's tensor allocator, chosen by solutions per step (src/backend/tensor-allocator.ts),
 * and that `pulse speed` runs with the choice. Its effect on time and memory is measured by the
 * benchmarks (docs/performance.md), not here.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TF_BFC_SWITCH, applyTensorAllocator, chooseTensorAllocator } from '../src/backend/tensor-allocator.js';

describe('chooseTensorAllocator', () => {
  it('takes BFC for a batch of solutions and malloc for one, or when the count is not known', () => {
    expect(chooseTensorAllocator(4, {}).allocator).toBe('bfc');
    expect(chooseTensorAllocator(2, {}).why).toMatch(/2 solutions per step/);
    expect(chooseTensorAllocator(1, {}).allocator).toBe('malloc');
    expect(chooseTensorAllocator(undefined, {}).allocator).toBe('malloc');
  });

  it("leaves the user's setting alone, either way", () => {
    expect(chooseTensorAllocator(4, { [TF_BFC_SWITCH]: 'false' })).toEqual({ allocator: 'user', why: `${TF_BFC_SWITCH}=false as set` });
    expect(chooseTensorAllocator(1, { [TF_BFC_SWITCH]: 'true' }).allocator).toBe('user');
    expect(chooseTensorAllocator(4, { [TF_BFC_SWITCH]: ' ' }).allocator).toBe('bfc');
  });

  it('refuses a count that is not a whole number >= 1, naming it', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => chooseTensorAllocator(bad, {})).toThrow(/solutionsPerStep=.*whole number >= 1/);
  });
});

describe('applyTensorAllocator', () => {
  it('sets the variable only for BFC', () => {
    const batch: NodeJS.ProcessEnv = {};
    expect(applyTensorAllocator(4, batch).allocator).toBe('bfc');
    expect(batch[TF_BFC_SWITCH]).toBe('true');
    const single: NodeJS.ProcessEnv = {};
    applyTensorAllocator(1, single);
    expect(single[TF_BFC_SWITCH]).toBeUndefined();
    const user: NodeJS.ProcessEnv = { [TF_BFC_SWITCH]: 'false' };
    applyTensorAllocator(4, user);
    expect(user[TF_BFC_SWITCH]).toBe('false');
  });
});

describe('pulse speed', () => {
  const allocatorOf = (batch: number, env: NodeJS.ProcessEnv = {}) => {
    const res = spawnSync(process.execPath, ['bin/pulse.mjs', 'speed', '--res', '8', '--fmap-base', '16', '--factor', '2', '--steps', '2', '--batch', String(batch), '--json'], {
      env: { ...process.env, [TF_BFC_SWITCH]: '', PULSE_BACKEND: 'tensorflow', ...env },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    return JSON.parse(res.stdout.trim().split('\n').pop()!).tensor_allocator as string;
  };
  it('runs a batch on BFC and one solution on malloc, unless the user chose', (ctx) => {
    const native = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { encoding: 'utf8' });
    if (native.status !== 0) ctx.skip('@tensorflow/tfjs-node does not load here (npm run build:native builds it); the allocator is a native-backend setting');
    expect(allocatorOf(2)).toBe('bfc');
    expect(allocatorOf(1)).toBe('malloc');
    expect(allocatorOf(2, { [TF_BFC_SWITCH]: 'false' })).toBe('user');
  });
});
