/**
 * Seeded, resumable batch sampling for training, and batch assembly from a dataset cache.
 *
 * Sampling: the image indices form a stream of epochs; each epoch is a fresh Fisher-Yates
 * permutation of 0..count-1 drawn from one seedrandom (ARC4) generator, and batches are taken
 * from the stream in order, so every batch is full and every index appears exactly once per
 * epoch (a batch may straddle two epochs). Each drawn item also gets a horizontal flip with
 * probability 0.5 from the same generator.
 *
 * Resuming: `state()` is a plain JSON-serialisable object (the generator's exact internal state
 * via seedrandom's `{ state: true }`, the current epoch's permutation and the position in it);
 * `BatchSampler.restore(state)` continues with exactly the batches an uninterrupted sampler
 * would have given. Save it in a training checkpoint next to the weights.
 */
import seedrandom from 'seedrandom';

/** What `makeBatch` needs of a dataset cache (see src/data/dataset-cache.ts). */
export interface PixelSource {
  count: number;
  size: number;
  /** count x size x size x 3 bytes, NHWC RGB. */
  pixels: Uint8Array;
}

export interface Batch {
  /** Image indices into the dataset. */
  indices: number[];
  /** Whether to mirror each image left-right. */
  flips: boolean[];
  /** The epoch (0-based) the batch's first item comes from. */
  epoch: number;
}

export interface BatchSamplerState {
  kind: 'pulse-ts/batch-sampler';
  version: 1;
  count: number;
  batchSize: number;
  seed: string;
  /** Epochs started so far, minus one (the current epoch, 0-based). */
  epoch: number;
  /** Items of the current permutation already drawn. */
  position: number;
  /** The current epoch's permutation. */
  order: number[];
  /** seedrandom ARC4 state: i, j and the 256-entry S box. */
  rng: { i: number; j: number; S: number[] };
  /** Batches drawn so far. */
  batches: number;
}

type Rng = seedrandom.StatefulPRNG<seedrandom.State.Arc4>;

export class BatchSampler {
  readonly count: number;
  readonly batchSize: number;
  readonly seed: string;
  private rng: Rng;
  private order: number[] = [];
  private position = 0;
  private epochIndex = -1;
  private drawn = 0;

  /**
   * @param count number of images (>= 1)
   * @param batchSize images per batch (>= 1; may exceed count, then a batch spans epochs)
   * @param seed any string or number; the same seed gives the same batches
   */
  constructor(count: number, batchSize: number, seed: string | number) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`BatchSampler: count ${count} must be an integer >= 1`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`BatchSampler: batchSize ${batchSize} must be an integer >= 1`);
    this.count = count;
    this.batchSize = batchSize;
    this.seed = String(seed);
    this.rng = seedrandom(this.seed, { state: true });
  }

  /** The current epoch (0-based; -1 before the first batch). */
  get epoch(): number {
    return this.epochIndex;
  }

  /** Batches drawn so far. */
  get batches(): number {
    return this.drawn;
  }

  /** The next batch of `batchSize` indices, each with its flip. */
  next(): Batch {
    const indices: number[] = [];
    const flips: boolean[] = [];
    let epoch = -1;
    for (let k = 0; k < this.batchSize; k++) {
      if (this.epochIndex < 0 || this.position >= this.count) this.startEpoch();
      if (k === 0) epoch = this.epochIndex;
      indices.push(this.order[this.position++]);
      flips.push(this.rng() < 0.5);
    }
    this.drawn++;
    return { indices, flips, epoch };
  }

  /** A JSON-serialisable snapshot; `BatchSampler.restore` continues from it exactly. */
  state(): BatchSamplerState {
    const rng = this.rng.state();
    return {
      kind: 'pulse-ts/batch-sampler',
      version: 1,
      count: this.count,
      batchSize: this.batchSize,
      seed: this.seed,
      epoch: this.epochIndex,
      position: this.position,
      order: this.order.slice(),
      rng: { i: rng.i, j: rng.j, S: Array.from(rng.S) },
      batches: this.drawn,
    };
  }

  /** A sampler that continues exactly where the one that produced `state` was. */
  static restore(state: BatchSamplerState): BatchSampler {
    const s = state as Partial<BatchSamplerState> | null;
    if (s === null || typeof s !== 'object' || s.kind !== 'pulse-ts/batch-sampler' || s.version !== 1) {
      throw new Error('BatchSampler.restore: not a version 1 batch-sampler state');
    }
    const sampler = new BatchSampler(s.count!, s.batchSize!, s.seed!);
    const { epoch, position, order, rng, batches } = s;
    const count = sampler.count;
    if (!Number.isInteger(epoch) || epoch! < -1) throw new Error(`BatchSampler.restore: invalid epoch ${epoch}`);
    if (!Array.isArray(order) || (epoch! >= 0 && order.length !== count) || (epoch === -1 && order.length !== 0)) {
      throw new Error(`BatchSampler.restore: the saved permutation has ${order?.length} entries, expected ${epoch === -1 ? 0 : count}`);
    }
    if (epoch! >= 0 && !isPermutation(order, count)) throw new Error('BatchSampler.restore: the saved order is not a permutation');
    if (!Number.isInteger(position) || position! < 0 || position! > count) throw new Error(`BatchSampler.restore: invalid position ${position}`);
    if (
      rng === undefined ||
      !Number.isInteger(rng.i) ||
      !Number.isInteger(rng.j) ||
      !Array.isArray(rng.S) ||
      rng.S.length !== 256 ||
      !rng.S.every((v) => Number.isInteger(v) && v >= 0 && v < 256)
    ) {
      throw new Error('BatchSampler.restore: invalid generator state');
    }
    sampler.rng = seedrandom('', { state: { i: rng.i, j: rng.j, S: rng.S.slice() } });
    sampler.order = order.slice();
    sampler.position = position!;
    sampler.epochIndex = epoch!;
    sampler.drawn = Number.isInteger(batches) ? batches! : 0;
    return sampler;
  }

  private startEpoch(): void {
    const order = Array.from({ length: this.count }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    this.order = order;
    this.position = 0;
    this.epochIndex++;
  }
}

function isPermutation(order: number[], count: number): boolean {
  const seen = new Uint8Array(count);
  for (const v of order) {
    if (!Number.isInteger(v) || v < 0 || v >= count || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

/**
 * Assembles images `indices` of `source` into one NHWC float32 batch of shape
 * [B, S, S, 3] with values in [-1, 1] (StyleGAN's data range: byte / 127.5 - 1), mirroring
 * image k left-right where `flips[k]` (flips may be omitted: no flips).
 */
export function makeBatch(source: PixelSource, indices: readonly number[], flips?: readonly boolean[]): Float32Array {
  const { count, size, pixels } = source;
  const per = size * size * 3;
  if (pixels.length !== count * per) throw new Error(`makeBatch: pixels hold ${pixels.length} bytes, expected ${count} x ${size} x ${size} x 3`);
  if (flips !== undefined && flips.length !== indices.length) {
    throw new Error(`makeBatch: ${indices.length} indices but ${flips.length} flips`);
  }
  const out = new Float32Array(indices.length * per);
  const row = size * 3;
  for (let b = 0; b < indices.length; b++) {
    const index = indices[b];
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`makeBatch: index ${index} out of range 0..${count - 1}`);
    const src = index * per;
    const dst = b * per;
    if (flips?.[b] === true) {
      for (let y = 0; y < size; y++) {
        const srow = src + y * row;
        const drow = dst + y * row;
        for (let x = 0; x < size; x++) {
          const s = srow + (size - 1 - x) * 3;
          const d = drow + x * 3;
          out[d] = pixels[s] / 127.5 - 1;
          out[d + 1] = pixels[s + 1] / 127.5 - 1;
          out[d + 2] = pixels[s + 2] / 127.5 - 1;
        }
      }
    } else {
      for (let i = 0; i < per; i++) out[dst + i] = pixels[src + i] / 127.5 - 1;
    }
  }
  return out;
}
