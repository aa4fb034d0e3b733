import { describe, expect, it } from 'vitest';
import { integerFlag, integerListFlag, numberFlag, parseInteger, parseNumber, parseSeeds } from '../src/cli/flags.js';

describe('flag parsers', () => {
  it('integers: accepted forms and errors that name the flag and the rule', () => {
    expect(parseInteger('steps', '100')).toBe(100);
    expect(parseInteger('samples', '1e4')).toBe(10000);
    expect(() => parseInteger('steps', '')).toThrow('--steps "" is not an integer');
    expect(() => parseInteger('steps', '2.5')).toThrow('--steps "2.5" is not an integer');
    expect(() => parseInteger('steps', 'ten')).toThrow('--steps "ten" is not an integer');
    expect(() => integerFlag('batch', { min: 1 })('0')).toThrow('--batch "0" must be an integer >= 1');
  });
  it('numbers with bounds', () => {
    expect(parseNumber('eps', '2e-3')).toBe(0.002);
    expect(() => parseNumber('eps', 'NaN')).toThrow('--eps "NaN" is not a number');
    expect(() => numberFlag('lr', { above: 0 })('0')).toThrow('--lr "0" must be a number > 0');
    expect(() => numberFlag('psi', { min: 0, max: 1 })('1.5')).toThrow('--psi "1.5" must be a number >= 0 and <= 1');
  });
  it('lists', () => {
    expect(integerListFlag('factors', { min: 2 })('8,16, 32')).toEqual([8, 16, 32]);
    expect(() => integerListFlag('factors', { min: 2 })('8,,16')).toThrow('--factors "8,,16" has an empty element');
    expect(() => integerListFlag('factors', { min: 2 })('8,1')).toThrow('--factors "8,1": element "1" must be an integer >= 2');
  });
  it('seeds: a count spaced by duplicates, or a checked list', () => {
    expect(parseSeeds('seeds', '3', 1, 1)).toEqual([1, 2, 3]);
    expect(parseSeeds('seeds', ' 3 ', 10, 4)).toEqual([10, 14, 18]);
    expect(parseSeeds('seeds', '1,5, 9', 1, 4)).toEqual([1, 5, 9]);
    expect(parseSeeds('seeds', '9,1', 1, 1)).toEqual([9, 1]);
    expect(() => parseSeeds('seeds', '0', 1, 1)).toThrow('--seeds "0" must be a count >= 1 or a comma-separated list of seeds');
    expect(() => parseSeeds('seeds', '', 1, 1)).toThrow('must be a count >= 1');
    expect(() => parseSeeds('seeds', '2.5', 1, 1)).toThrow('must be a count >= 1');
    expect(() => parseSeeds('seeds', '1,x', 1, 1)).toThrow('--seeds "1,x": element "x" is not an integer');
    expect(() => parseSeeds('seeds', '1,,2', 1, 1)).toThrow('--seeds "1,,2" has an empty element');
    expect(() => parseSeeds('seeds', '3,1,3', 1, 1)).toThrow('--seeds "3,1,3" lists seed 3 twice');
    expect(() => parseSeeds('seeds', '1,3', 1, 4)).toThrow('seeds 1 and 3 are closer than --duplicates 4');
    expect(() => parseSeeds('seeds', '2', 1.5, 1)).toThrow('base seed 1.5');
    expect(() => parseSeeds('seeds', '2', 1, 0)).toThrow('duplicates 0 must be an integer >= 1');
  });
});
