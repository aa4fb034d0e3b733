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

/** Environment variables a shard can come from (process.env by default). */
export type SchedulerEnv = Readonly<Record<string, string | undefined>>;

/** A shard and where it came from, for the line a command prints. */
export interface PickedShard {
  readonly shard: Shard | undefined;
  readonly source: string;
}

function envInt(env: SchedulerEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}="${v}" is not an integer`);
  return n;
}

/**
 * The shard a cluster scheduler assigned, or undefined outside one:
 * - Slurm job arrays: SLURM_ARRAY_TASK_ID within SLURM_ARRAY_TASK_MIN..SLURM_ARRAY_TASK_MAX
 *   (step SLURM_ARRAY_TASK_STEP, default 1), checked against SLURM_ARRAY_TASK_COUNT when set;
 *   any 0- or 1-based range maps to shards 1..n.
 * - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based) of JOB_COMPLETIONS, which the
 *   manifest sets from spec.completions (Kubernetes exposes only the index itself).
 */
export function shardFromScheduler(env: SchedulerEnv): PickedShard | undefined {
  const taskId = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN');
    const max = envInt(env, 'SLURM_ARRAY_TASK_MAX');
    const step = envInt(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const declared = envInt(env, 'SLURM_ARRAY_TASK_COUNT');
    if (min === undefined || max === undefined) {
      throw new Error('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN/MAX are not; run inside an sbatch --array job, or pass --shard i/n');
    }
    if (step < 1 || max < min) throw new Error(`Slurm array range ${min}-${max}:${step} is empty; pass --shard i/n`);
    const count = Math.floor((max - min) / step) + 1;
    if (declared !== undefined && declared !== count) {
      throw new Error(`SLURM_ARRAY_TASK_COUNT=${declared} but the array ${min}-${max}:${step} has ${count} tasks; a shard needs a contiguous array (e.g. --array=0-${declared - 1})`);
    }
    if (taskId < min || taskId > max || (taskId - min) % step !== 0) {
      throw new Error(`SLURM_ARRAY_TASK_ID=${taskId} is not a task of the array ${min}-${max}:${step}`);
    }
    const index = (taskId - min) / step + 1;
    return { shard: { index, count }, source: `Slurm array task ${taskId} of ${min}-${max}${step > 1 ? `:${step}` : ''}` };
  }
  const k8s = envInt(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    const count = envInt(env, 'JOB_COMPLETIONS');
    if (count === undefined) throw new Error('JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not; set it from spec.completions in the Job (experiments/k8s/), or pass --shard i/n');
    if (count < 1) throw new Error(`JOB_COMPLETIONS=${count}: the number of shards must be at least 1`);
    if (k8s < 0 || k8s >= count) throw new Error(`JOB_COMPLETION_INDEX=${k8s} is outside 0..${count - 1} (JOB_COMPLETIONS=${count})`);
    return { shard: { index: k8s + 1, count }, source: `Kubernetes completion index ${k8s} of ${count}` };
  }
  return undefined;
}

/**
 * The shard a command runs: `--shard` when given, else the scheduler's, else all runs. Both
 * given and disagreeing is an error before any work (one of them is a mistake).
 */
export function pickShard(flag: string | undefined, env: SchedulerEnv): PickedShard {
  const fromFlag = flag !== undefined ? parseShard(flag) : undefined;
  const fromScheduler = shardFromScheduler(env);
  if (fromFlag && fromScheduler?.shard) {
    const s = fromScheduler.shard;
    if (s.index !== fromFlag.index || s.count !== fromFlag.count) {
      throw new Error(`--shard ${fromFlag.index}/${fromFlag.count} disagrees with the scheduler (${fromScheduler.source} = shard ${s.index}/${s.count}); drop one of them`);
    }
    return { shard: fromFlag, source: `--shard (agrees with ${fromScheduler.source})` };
  }
  if (fromFlag) return { shard: fromFlag, source: '--shard' };
  if (fromScheduler) return fromScheduler;
  return { shard: undefined, source: 'no --shard and no scheduler: every run' };
}

/** The line a command prints about its shard, e.g. "shard 2/3 (Slurm array task 1 of 0-2)". */
export function describePick(p: PickedShard): string {
  return `shard ${p.shard ? `${p.shard.index}/${p.shard.count}` : 'all'} (${p.source})`;
}
