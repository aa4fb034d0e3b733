/**
 * Sharding a plan of runs across processes (a Slurm array, several machines): shard i of n takes
 * the runs whose plan index mod n is i - 1, and appends to its own results file.
 */

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** Parses "i/n" (1 <= i <= n). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard "${text}" is not of the form i/n (1-based, e.g. 1/4 for the first of 4 shards)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new Error(`--shard "${text}": the number of shards must be at least 1`);
  if (index < 1 || index > count) throw new Error(`--shard "${text}": the shard index must be between 1 and ${count} (it is 1-based)`);
  return { index, count };
}

/** The runs of one shard: those whose plan index mod n is i - 1. */
export function shardRuns<T extends { index: number }>(runs: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...runs];
  return runs.filter((r) => r.index % shard.count === shard.index - 1);
}

export function shardLabel(shard: Shard | undefined): string | null {
  return shard ? `${shard.index}/${shard.count}` : null;
}
