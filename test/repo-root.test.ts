import { describe, expect, it } from 'vitest';
import { portablePath } from '../src/util/repo-root.js';

describe('portablePath', () => {
  it('is relative inside the checkout and beside it, absolute elsewhere', () => {
    expect(portablePath('/w/main/models/default', '/w/main')).toBe('models/default');
    expect(portablePath('/w/main', '/w/main')).toBe('.');
    expect(portablePath('/w/shared/datasets/lfw', '/w/main')).toBe('../shared/datasets/lfw');
    expect(portablePath('/scratch/x/model', '/w/main')).toBe('/scratch/x/model');
  });
});
