/**
 * Seeded Gaussian samples from seedrandom (Box-Muller), so the same seed gives the same
 * starting point on every backend (tfjs's own random ops differ between backends).
 */
import seedrandom from 'seedrandom';

export function gaussian(seed: string | number, count: number): Float32Array {
  const rng = seedrandom(String(seed));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    let u = rng();
    while (u <= Number.MIN_VALUE) u = rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** A fresh seed when the user gave none, reported so the run can be repeated. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
