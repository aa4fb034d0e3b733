/** PULSE options: the official defaults, validation naming the option, bad-noise-layer parsing. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PULSE_OPTIONS, NOISE_TYPES, type PulseOptions, parseBadNoiseLayers, resolveOptions } from '../src/pulse/options.js';

describe('resolveOptions defaults', () => {
  it('equal the official run.py defaults (eps: the recommended 2e-3)', () => {
    const o = resolveOptions({ seed: 0 });
    expect(o).toEqual({
      steps: 100,
      learningRate: 0.4,
      lrSchedule: 'linear1cycledrop',
      optimizer: 'adam',
      loss: '100*L2+0.05*GEOCROSS',
      eps: 2e-3,
      noiseType: 'trainable',
      numTrainableNoiseLayers: 5,
      badNoiseLayers: [17],
      tileLatent: false,
      seed: 0,
      duplicates: 1,
    });
    expect(DEFAULT_PULSE_OPTIONS.badNoiseLayers).toEqual([17]);
    expect(NOISE_TYPES).toEqual(['zero', 'fixed', 'trainable']);
  });

  it('keeps every given value', () => {
    const given: PulseOptions = {
      steps: 7,
      learningRate: 0.1,
      lrSchedule: 'fixed',
      optimizer: 'adamax',
      loss: '10*L1+0.1*GEOCROSS',
      eps: 0,
      noiseType: 'zero',
      numTrainableNoiseLayers: 0,
      badNoiseLayers: [],
      tileLatent: true,
      seed: -5,
      duplicates: 3,
    };
    expect(resolveOptions(given)).toEqual(given);
  });
});

describe('resolveOptions errors name the option', () => {
  const bad: [Partial<PulseOptions>, RegExp][] = [
    [{ steps: 0 }, /option steps=0 must be a positive integer/],
    [{ steps: 2.5 }, /option steps=2\.5/],
    [{ steps: NaN }, /option steps=NaN/],
    [{ duplicates: 0 }, /option duplicates=0 must be a positive integer/],
    [{ duplicates: 1.5 }, /option duplicates=1\.5/],
    [{ learningRate: 0 }, /option learningRate=0 must be a positive number/],
    [{ learningRate: -0.1 }, /option learningRate=-0\.1/],
    [{ learningRate: Infinity }, /option learningRate=Infinity/],
    [{ learningRate: NaN }, /option learningRate=NaN/],
    [{ eps: -1e-3 }, /option eps=-0\.001 must be a number >= 0/],
    [{ eps: NaN }, /option eps=NaN/],
    [{ eps: Infinity }, /option eps=Infinity/],
    [{ lrSchedule: 'cosine' as PulseOptions['lrSchedule'] }, /option lrSchedule="cosine" is not one of: fixed, linear1cycle, linear1cycledrop/],
    [{ optimizer: 'rmsprop' as PulseOptions['optimizer'] }, /option optimizer="rmsprop" is not one of: adam, sgd, sgdm, adamax/],
    [{ noiseType: 'random' as PulseOptions['noiseType'] }, /option noiseType="random" is not one of: zero, fixed, trainable/],
    [{ numTrainableNoiseLayers: -1 }, /option numTrainableNoiseLayers=-1 must be an integer >= 0/],
    [{ numTrainableNoiseLayers: 1.5 }, /option numTrainableNoiseLayers=1\.5/],
    [{ badNoiseLayers: [3, -1] }, /option badNoiseLayers contains -1/],
    [{ badNoiseLayers: [2.5] }, /option badNoiseLayers contains 2\.5/],
    [{ loss: '100*L3' }, /unknown loss term "L3"/],
    [{ loss: '' }, /loss string is empty/],
  ];
  for (const [partial, message] of bad) {
    it(`${JSON.stringify(partial, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))} -> ${message.source}`, () => {
      expect(() => resolveOptions({ seed: 0, ...partial })).toThrow(message);
    });
  }

  it('a non-integer seed is named', () => {
    expect(() => resolveOptions({ seed: 1.5 })).toThrow(/option seed=1\.5 must be an integer/);
    expect(() => resolveOptions({ seed: NaN })).toThrow(/option seed=NaN/);
  });
});

describe('parseBadNoiseLayers', () => {
  it('parses the official dot-separated form', () => {
    expect(parseBadNoiseLayers('17')).toEqual([17]);
    expect(parseBadNoiseLayers('3.17')).toEqual([3, 17]);
    expect(parseBadNoiseLayers('0.1.2')).toEqual([0, 1, 2]);
  });

  it('"" (and whitespace) means none', () => {
    expect(parseBadNoiseLayers('')).toEqual([]);
    expect(parseBadNoiseLayers('  ')).toEqual([]);
  });

  it('rejects bad pieces, naming the piece and the whole string', () => {
    expect(() => parseBadNoiseLayers('3,17')).toThrow(/bad noise layers "3,17": "3,17" is not a layer index/);
    expect(() => parseBadNoiseLayers('3..17')).toThrow(/"3\.\.17": "" is not a layer index/);
    expect(() => parseBadNoiseLayers('3.x')).toThrow(/"x" is not a layer index/);
    expect(() => parseBadNoiseLayers('-1')).toThrow(/"-1" is not a layer index/);
    expect(() => parseBadNoiseLayers('17.')).toThrow(/"" is not a layer index/);
    expect(() => parseBadNoiseLayers('.17')).toThrow(/"" is not a layer index/);
  });

  it('feeds resolveOptions', () => {
    expect(resolveOptions({ seed: 0, badNoiseLayers: parseBadNoiseLayers('3.17') }).badNoiseLayers).toEqual([3, 17]);
  });
});

describe('--seed help', () => {
  it('says what the README and the outputs use: solution k (1-based) has seed + k - 1', async () => {
    const { Command } = await import('commander');
    const { addPulseOptions } = await import('../src/cli/options.js');
    const { readFileSync } = await import('node:fs');
    const help = addPulseOptions(new Command('x')).options.find((o) => o.long === '--seed')!.description;
    expect(help).toMatch(/solution k \(1-based\) uses seed \+ k - 1/);
    expect(help).not.toMatch(/seed \+ k\)/);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(/solution k uses seed \+ k - 1/);
    // and runPulse gives solution k (0-based index k - 1) the seed seed + k - 1
    const opts = resolveOptions({ seed: 40, duplicates: 3 });
    expect(Array.from({ length: opts.duplicates }, (_, i) => opts.seed + (i % opts.duplicates))).toEqual([40, 41, 42]);
  });
});
