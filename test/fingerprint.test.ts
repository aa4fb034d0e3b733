import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFingerprint } from '../src/model/fingerprint.js';
import { runId } from '../src/experiments/grid.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';

describe('model fingerprint', () => {
  it('follows the weights, not the path', async () => {
    const a = await writeTinyTorchModel();
    const b = join(mkdtempSync(join(tmpdir(), 'pulse-fp-')), 'moved');
    cpSync(a, b, { recursive: true });
    expect(modelFingerprint(b)).toBe(modelFingerprint(a));
    appendFileSync(join(b, 'synthesis.pt'), Buffer.from([0]));
    expect(modelFingerprint(b)).not.toBe(modelFingerprint(a));
    expect(() => modelFingerprint(join(b, 'nope'))).toThrow(/does not exist/);
  });

  it('is part of an experiment run id when given', () => {
    const image = { id: 'face', source: 'x.png', path: '/x.png' } as unknown as Parameters<typeof runId>[0];
    const id = (m?: string) => runId(image, 1, 8, { steps: 2 }, m);
    expect(id('aaaa')).not.toBe(id('bbbb'));
    expect(id()).toBe(id(undefined));
  });
});
