/** Learning-rate schedules: the recorded traces' lr, and the shapes of the official lambdas. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEDULE_NAMES, type ScheduleName, scheduleFactor } from '../src/pulse/schedules.js';
import { HAVE_SHARED_PARITY, caseDir, needsShared, sharedCaseNames } from './helpers/paths.js';

interface CaseJson {
  lr: number;
  steps: number;
  schedule: ScheduleName;
  trace: { lr: number }[];
}

const shared = sharedCaseNames();
const readCaseJson = (name: string) => JSON.parse(readFileSync(join(caseDir(name), 'case.json'), 'utf8')) as CaseJson;

describe('scheduleFactor vs the recorded official runs', () => {
  it.skipIf(!HAVE_SHARED_PARITY)(`finds the recorded cases ${needsShared('parity')}`, () => {
    expect(shared).toEqual(expect.arrayContaining(['p64', 'p32-l1', 'p128-tile', 'p64-x4']));
  });

  for (const name of ['f32', ...(HAVE_SHARED_PARITY ? shared : ['p64'])]) {
    const skip = name !== 'f32' && !HAVE_SHARED_PARITY;
    it.skipIf(skip)(`${name}: every step's trace lr = lr x scheduleFactor(schedule, step, steps) within 1e-12${skip ? ` ${needsShared('parity')}` : ''}`, () => {
      const c = readCaseJson(name);
      expect(SCHEDULE_NAMES).toContain(c.schedule);
      expect(c.trace.length).toBe(c.steps);
      c.trace.forEach((entry, step) => {
        const ours = c.lr * scheduleFactor(c.schedule, step, c.steps);
        expect(Math.abs(ours - entry.lr) / Math.abs(entry.lr), `step ${step}: ${ours} vs ${entry.lr}`).toBeLessThanOrEqual(1e-12);
      });
    });
  }

  it.skipIf(!HAVE_SHARED_PARITY)(`the recorded cases cover all three schedules ${needsShared('parity')}`, () => {
    const used = new Set(shared.map((n) => readCaseJson(n).schedule));
    expect([...used].sort()).toEqual([...SCHEDULE_NAMES].sort());
  });
});

describe('scheduleFactor shapes', () => {
  it('fixed is 1 everywhere', () => {
    for (let x = 0; x < 50; x++) expect(scheduleFactor('fixed', x, 50)).toBe(1);
  });

  it('linear1cycle: 0.1 at 0, peak 1 at steps/2, symmetric, linear in between', () => {
    const steps = 100;
    expect(scheduleFactor('linear1cycle', 0, steps)).toBeCloseTo(0.1, 14);
    expect(scheduleFactor('linear1cycle', 50, steps)).toBeCloseTo(1, 14);
    expect(scheduleFactor('linear1cycle', 25, steps)).toBeCloseTo(0.55, 14);
    for (let x = 0; x <= 50; x++) expect(scheduleFactor('linear1cycle', x, steps)).toBeCloseTo(scheduleFactor('linear1cycle', steps - x, steps), 12);
    let best = -1;
    let arg = -1;
    for (let x = 0; x < steps; x++) {
      const f = scheduleFactor('linear1cycle', x, steps);
      if (f > best) [best, arg] = [f, x];
    }
    expect(arg).toBe(50);
  });

  it('linear1cycledrop: 0.1 at 0, peak 1 at 0.9*steps/2, 0.1 at 0.9*steps, then down towards 0.001', () => {
    const steps = 100;
    expect(scheduleFactor('linear1cycledrop', 0, steps)).toBeCloseTo(0.1, 14);
    expect(scheduleFactor('linear1cycledrop', 45, steps)).toBeCloseTo(1, 14);
    expect(scheduleFactor('linear1cycledrop', 90, steps)).toBeCloseTo(0.1, 14);
    expect(scheduleFactor('linear1cycledrop', 95, steps)).toBeCloseTo(0.1 + 0.5 * (0.001 - 0.1), 14);
    expect(scheduleFactor('linear1cycledrop', 99, steps)).toBeCloseTo(0.1 + 0.9 * (0.001 - 0.1), 14);
    expect(scheduleFactor('linear1cycledrop', 100, steps)).toBeCloseTo(0.001, 14);
    let best = -1;
    let arg = -1;
    for (let x = 0; x < steps; x++) {
      const f = scheduleFactor('linear1cycledrop', x, steps);
      if (f > best) [best, arg] = [f, x];
    }
    expect(arg).toBe(45);
    expect(best).toBeCloseTo(1, 14);
    // Strictly decreasing after the peak.
    for (let x = 46; x < steps; x++) {
      expect(scheduleFactor('linear1cycledrop', x, steps)).toBeLessThan(scheduleFactor('linear1cycledrop', x - 1, steps));
    }
  });

  it('linear1cycledrop for the official 100 steps at lr 0.4 starts at 0.04 and ends at ~0.00436', () => {
    expect(0.4 * scheduleFactor('linear1cycledrop', 0, 100)).toBeCloseTo(0.04, 14);
    expect(0.4 * scheduleFactor('linear1cycledrop', 99, 100)).toBeCloseTo(0.4 * 0.0109, 14);
  });

  it('rejects an unknown schedule, listing the known ones', () => {
    expect(() => scheduleFactor('cosine' as ScheduleName, 0, 10)).toThrow(/unknown lr schedule "cosine".*fixed, linear1cycle, linear1cycledrop/);
  });
});
