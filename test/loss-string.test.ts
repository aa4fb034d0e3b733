/** The loss-string grammar `w*TERM+w*TERM...` and its errors, each naming the piece at fault. */
import { describe, expect, it } from 'vitest';
import { LOSS_TERMS, formatLossString, parseLossString } from '../src/pulse/loss-string.js';

describe('parseLossString', () => {
  it('parses the official default', () => {
    expect(parseLossString('100*L2+0.05*GEOCROSS')).toEqual([
      { weight: 100, term: 'L2' },
      { weight: 0.05, term: 'GEOCROSS' },
    ]);
  });

  it('parses the L1 form of the parity case', () => {
    expect(parseLossString('10*L1+0.1*GEOCROSS')).toEqual([
      { weight: 10, term: 'L1' },
      { weight: 0.1, term: 'GEOCROSS' },
    ]);
  });

  it('ignores whitespace anywhere', () => {
    expect(parseLossString('  100 * L2 +\t0.05*GEO CROSS\n')).toEqual([
      { weight: 100, term: 'L2' },
      { weight: 0.05, term: 'GEOCROSS' },
    ]);
  });

  it('reads scientific, signed and dot-leading weights', () => {
    expect(parseLossString('1e2*L2+5E-2*GEOCROSS+.5*L1')).toEqual([
      { weight: 100, term: 'L2' },
      { weight: 0.05, term: 'GEOCROSS' },
      { weight: 0.5, term: 'L1' },
    ]);
    expect(parseLossString('-1.5e1*L2')).toEqual([{ weight: -15, term: 'L2' }]);
    expect(parseLossString('3.*L1')).toEqual([{ weight: 3, term: 'L1' }]);
  });

  it('accepts lower- and mixed-case terms, returning canonical names', () => {
    expect(parseLossString('100*l2+0.05*GeoCross+1*l1')).toEqual([
      { weight: 100, term: 'L2' },
      { weight: 0.05, term: 'GEOCROSS' },
      { weight: 1, term: 'L1' },
    ]);
  });

  it('parses a single term', () => {
    expect(parseLossString('1*L2')).toEqual([{ weight: 1, term: 'L2' }]);
  });

  it('round-trips through formatLossString', () => {
    for (const s of ['100*L2+0.05*GEOCROSS', '10*L1+0.1*GEOCROSS', '1*L2']) expect(formatLossString(parseLossString(s))).toBe(s);
    expect(LOSS_TERMS).toEqual(['L2', 'L1', 'GEOCROSS']);
  });
});

describe('parseLossString errors', () => {
  it('an unknown term is named, with the known ones', () => {
    expect(() => parseLossString('100*L2+0.05*PERCEPTUAL')).toThrow(/unknown loss term "PERCEPTUAL".*L2, L1, GEOCROSS/);
    expect(() => parseLossString('100*L3')).toThrow(/unknown loss term "L3"/);
  });

  it('a missing weight names the term', () => {
    expect(() => parseLossString('100*L2+GEOCROSS')).toThrow(/term 2 "GEOCROSS" is not of the form WEIGHT\*TERM/);
  });

  it('"100L2" (no *) names the piece', () => {
    expect(() => parseLossString('100L2')).toThrow(/term 1 "100L2" is not of the form WEIGHT\*TERM/);
  });

  it('"*L2" (empty weight) names the piece', () => {
    expect(() => parseLossString('*L2')).toThrow(/term 1 "\*L2" is not of the form WEIGHT\*TERM/);
  });

  it('"100*" (empty term) and "1*2*L2" name the piece', () => {
    expect(() => parseLossString('100*')).toThrow(/term 1 "100\*"/);
    expect(() => parseLossString('1*2*L2')).toThrow(/term 1 "1\*2\*L2"/);
  });

  it('an empty string (or only whitespace) is an error', () => {
    expect(() => parseLossString('')).toThrow(/empty/);
    expect(() => parseLossString('  \t ')).toThrow(/empty/);
  });

  it('an empty term between pluses names its position', () => {
    expect(() => parseLossString('100*L2++0.05*GEOCROSS')).toThrow(/term 2 ""/);
    expect(() => parseLossString('100*L2+')).toThrow(/term 2 ""/);
  });

  it('a duplicate term is an error naming the term', () => {
    expect(() => parseLossString('100*L2+1*l2')).toThrow(/term L2 appears twice/);
  });

  it('a non-number weight names the weight', () => {
    expect(() => parseLossString('abc*L2')).toThrow(/weight "abc" of term 1 is not a number/);
    expect(() => parseLossString('100*L2+0.0.5*GEOCROSS')).toThrow(/weight "0.0.5" of term 2 is not a number/);
    expect(() => parseLossString('0x10*L2')).toThrow(/weight "0x10"/);
    expect(() => parseLossString('Infinity*L2')).toThrow(/weight "Infinity"/);
    expect(() => parseLossString('NaN*L2')).toThrow(/weight "NaN"/);
  });

  it('messages quote the whole loss string', () => {
    expect(() => parseLossString('100*L2+0.05*FOO')).toThrow(/loss string "100\*L2\+0\.05\*FOO"/);
  });
});
