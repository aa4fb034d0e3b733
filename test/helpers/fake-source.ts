/** Deterministic stand-in real images for trainer tests: tanh of seeded Gaussians, with a resumable position. */
import type { RealBatchSource } from '../../src/train/trainer.js';
import { gaussian } from '../../src/util/random.js';

export function fakeSource(size: number, start = 0): RealBatchSource & { position: number } {
  const src = {
    size,
    position: start,
    next(n: number) {
      return gaussian(`real:${src.position++}`, n * size * size * 3).map((v) => Math.tanh(v));
    },
    state() {
      return src.position;
    },
  };
  return src;
}
