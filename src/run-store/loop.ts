/**
 * The resumable run loop shared by `pulse experiment` and `pulse benchmark`: take this shard's
 * runs of a plan, skip those with a recorded line in any results file of the folder (errors
 * too, unless retryFailed), lock this shard's results file, cut a torn last line, then execute
 * the pending runs in plan order and append one line per run. The caller's session loads what
 * the runs need, warms up, shows progress and turns one run into one line.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { takeLock } from './lock.js';
import { type Shard, shardLabel, shardRuns } from './shard.js';
import { type LineGuard, type RunLine, appendRunLine, readAllRuns, repairRunsFile, resultsFileName } from './store.js';

/** What the loop needs of a planned run. */
export interface PlannedRun {
  /** Position in the whole plan (0-based; shards take index mod n). */
  readonly index: number;
  /** Hash of what the run computes: a recorded line with this id means the run is done. */
  readonly id: string;
}

export type RunStatus = 'done' | 'failed' | 'pending';

export interface RunLoopPlan<R extends PlannedRun, L extends RunLine> {
  /** Name at the head of log lines (the experiment's name, "benchmark"). */
  readonly name: string;
  /** The results folder. */
  readonly dir: string;
  /** Every run of the plan, in order. */
  readonly runs: readonly R[];
  /** Run only this shard; it appends to results.shard-i-of-n.jsonl. */
  readonly shard?: Shard;
  /** Stop after this many runs; the rest run on the next call. */
  readonly maxRuns?: number;
  /** Run again the runs whose recorded line is an error (default: they count as finished). */
  readonly retryFailed?: boolean;
  /** Which records of the folder are lines of this kind. */
  readonly isLine: LineGuard<L>;
  readonly log: (line: string) => void;
}

/** What the loop knows when it starts running, for the session's log line and progress bar. */
export interface RunLoopStart<R> {
  /** This shard's runs. */
  readonly mine: readonly R[];
  /** Those without a finished line, in plan order. */
  readonly pending: readonly R[];
  /** The ones this call runs (pending, cut to maxRuns). */
  readonly todo: readonly R[];
  readonly skipped: number;
  readonly resultsFile: string;
}

/** The caller's side of one loop: everything specific to experiments or benchmarks. */
export interface RunSession<R extends PlannedRun, L extends RunLine> {
  /** Called under the lock before the first run (`todo` may be empty with maxRuns 0). */
  begin(start: RunLoopStart<R>): Promise<void>;
  /** Runs one; a failing run is returned as a line with status "error", not thrown. */
  execute(run: R, n: number): Promise<L>;
  /** After the line of the n-th run of this call (0-based) is appended. */
  recorded?(run: R, line: L, n: number): void;
  /** Always called once the loop ends (after the lock is released): stop the bar, free models. */
  close(): void;
}

export interface RunLoopReport<R> {
  /** Runs in the whole plan. */
  readonly total: number;
  /** This shard's runs (all of them without a shard), in order. */
  readonly runs: readonly R[];
  /** Status of each of `runs` after this call, by id. */
  readonly status: ReadonlyMap<string, RunStatus>;
  /** Runs of the shard skipped because a line was already recorded. */
  readonly skipped: number;
  /** Runs done by this call (ok or error). */
  readonly ran: number;
  /** Of `ran`, those recorded as errors. */
  readonly failed: number;
  /** Runs of the shard still without a line. */
  readonly remaining: number;
  /** The file this call appends to. */
  readonly resultsFile: string;
}

/** Whether a recorded line (or none) finishes a run. */
export function isFinished(line: RunLine | undefined, retryFailed = false): boolean {
  return line !== undefined && (line.status === 'ok' || !retryFailed);
}

/** Each run's status from the recorded lines. */
export function runStatuses(runs: readonly PlannedRun[], results: ReadonlyMap<string, RunLine>): Map<string, RunStatus> {
  const status = new Map<string, RunStatus>();
  for (const r of runs) {
    const line = results.get(r.id);
    status.set(r.id, !line ? 'pending' : line.status === 'ok' ? 'done' : 'failed');
  }
  return status;
}

/**
 * Runs this shard's pending runs. `open` is called only when something is left to run, before
 * the lock is taken (so a bad model fails before anything is written); its session is closed
 * whatever happens.
 */
export async function runPending<R extends PlannedRun, L extends RunLine>(
  plan: RunLoopPlan<R, L>,
  open: () => Promise<RunSession<R, L>>,
): Promise<RunLoopReport<R>> {
  const { log, dir } = plan;
  if (plan.maxRuns !== undefined && (!Number.isInteger(plan.maxRuns) || plan.maxRuns < 0)) {
    throw new Error(`maxRuns=${plan.maxRuns} must be an integer >= 0`);
  }
  const mine = shardRuns(plan.runs, plan.shard);
  const shardText = shardLabel(plan.shard);
  const resultsFile = join(dir, resultsFileName(plan.shard));
  const done = (line: L | undefined) => isFinished(line, plan.retryFailed);
  const report = (status: Map<string, RunStatus>, skipped: number, ran: number, failed: number, remaining: number): RunLoopReport<R> => ({
    total: plan.runs.length,
    runs: mine,
    status,
    skipped,
    ran,
    failed,
    remaining,
    resultsFile,
  });

  // Nothing to do? (read quietly; the locked read below reports what it finds)
  const before = readAllRuns(dir, plan.isLine).results;
  if (mine.every((r) => done(before.get(r.id)))) {
    log(`${plan.name}: all ${mine.length} runs${shardText ? ` of shard ${shardText}` : ''} are finished; results in ${dir}`);
    return report(runStatuses(mine, before), mine.length, 0, 0, 0);
  }

  const session = await open();
  let releaseLock = () => {};
  try {
    mkdirSync(dir, { recursive: true });
    releaseLock = takeLock(`${resultsFile}.lock`);
    repairRunsFile(resultsFile, log);
    // Re-read under the lock: another process may have finished runs meanwhile.
    const { results, duplicates } = readAllRuns(dir, plan.isLine, log);
    if (duplicates > 0) log(`warning: ${duplicates} run(s) have more than one result in ${dir}; the first is used`);
    const status = runStatuses(mine, results);
    const pending = mine.filter((r) => !done(results.get(r.id)));
    const todo = pending.slice(0, plan.maxRuns ?? pending.length);
    const skipped = mine.length - pending.length;
    let ran = 0;
    let failed = 0;
    await session.begin({ mine, pending, todo, skipped, resultsFile });
    for (const [n, run] of todo.entries()) {
      const line = await session.execute(run, n);
      appendRunLine(resultsFile, line);
      ran++;
      status.set(run.id, line.status === 'ok' ? 'done' : 'failed');
      if (line.status === 'error') failed++;
      session.recorded?.(run, line, n);
    }
    return report(status, skipped, ran, failed, pending.length - ran);
  } finally {
    releaseLock();
    session.close();
  }
}
