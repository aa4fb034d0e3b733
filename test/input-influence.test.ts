/**
 * src/eval/input-influence.ts on the built-in model: a change that redraws nothing moves
 * nothing, each real change moves pixels, the coarse and fine noise split covers the maps once,
 * and the descriptor column counts only pairs with a face in both images.
 */
import { describe, expect, it } from 'vitest';
import { INPUT_CHANGES, measureInputInfluence } from '../src/eval/input-influence.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { noiseSide } from '../src/stylegan/config.js';
import { useTestBackend } from './helpers/backend.js';

describe('input influence', () => {
  it('nothing redrawn moves nothing; the latent and the noise each move the faces', async () => {
    await useTestBackend();
    const model = await loadModel(defaultModelPath());
    try {
      const none = { name: 'none', description: 'nothing redrawn', latentRedrawn: false, noiseRedrawn: () => false };
      const result = await measureInputInfluence(model, { faces: 3, seed: 7000, changes: [none, ...INPUT_CHANGES] });
      expect(result.map((x) => x.name)).toEqual(['none', 'latent', 'noise', 'coarse-noise', 'fine-noise']);
      const [same, ...moved] = result;
      expect(same.pixelRms).toBe(0);
      expect(same.descriptorDistance).toBe(0);
      expect(same.samePersonShare).toBe(1);
      for (const x of moved) {
        expect(x.pixelRms, x.name).toBeGreaterThan(0.005);
        expect(x.descriptorPairs).toBeLessThanOrEqual(3);
      }
      // Faces 7000-7002 are found (test/eval.test.ts), so every pair with nothing redrawn counts.
      expect(same.descriptorPairs).toBe(3);
      const pixelsOnly = await measureInputInfluence(model, { faces: 2, seed: 7000, descriptors: false, changes: [INPUT_CHANGES[0]] });
      expect(pixelsOnly[0]).toMatchObject({ descriptorDistance: null, descriptorPairs: 0, samePersonShare: null });
      expect(pixelsOnly[0].pixelRms).toBeGreaterThan(0);
      await expect(measureInputInfluence(model, { faces: 0, seed: 1 })).rejects.toThrow(/faces must be a positive integer/);
    } finally {
      model.dispose();
    }
  });

  it('the coarse and fine noise changes split the noise maps between them', () => {
    const [, all, coarse, fine] = INPUT_CHANGES;
    for (let layer = 0; layer < 18; layer++) {
      const side = noiseSide(layer);
      expect(all.noiseRedrawn(layer, side)).toBe(true);
      expect(coarse.noiseRedrawn(layer, side) !== fine.noiseRedrawn(layer, side)).toBe(true);
    }
  });
});
