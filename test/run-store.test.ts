import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PlannedRun, type RunSession, runPending } from '../src/run-store/loop.js';
import { describePick, parseShard, pickShard, shardFromScheduler } from '../src/run-store/shard.js';
import { type RunLine, isRunLine, readAllRuns } from '../src/run-store/store.js';

interface ToyRun extends PlannedRun {
  readonly value: number;
}

interface ToyLine extends RunLine {
  readonly kind: 'toy';
  readonly squared?: number;
}

const isToyLine = (r: unknown): r is ToyLine => isRunLine(r) && 'kind' in r && r.kind === 'toy';

const plan: ToyRun[] = Array.from({ length: 6 }, (_, i) => ({ index: i, id: `run-${i}`, value: i }));

/** A session that squares the value, fails on `failOn`, and records what the loop asked of it. */
function toySession(calls: string[], failOn = -1): () => Promise<RunSession<ToyRun, ToyLine>> {
  return async () => ({
    async begin(start) {
      calls.push(`begin skipped=${start.skipped} pending=${start.pending.length} todo=${start.todo.length}`);
    },
    async execute(run) {
      calls.push(`run ${run.id}`);
      return run.value === failOn
        ? { id: run.id, seed: 0, kind: 'toy', status: 'error', error: 'bad value' }
        : { id: run.id, seed: 0, kind: 'toy', status: 'ok', squared: run.value ** 2 };
    },
    close() {
      calls.push('close');
    },
  });
}

const quiet = () => {};

describe('run loop and store (src/run-store)', () => {
  it('runs pending runs in order, appends one line each, and resumes after maxRuns without redoing any', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const calls: string[] = [];
    const first = await runPending({ name: 'toy', dir, runs: plan, maxRuns: 2, isLine: isToyLine, log: quiet }, toySession(calls));
    expect(first).toMatchObject({ total: 6, skipped: 0, ran: 2, failed: 0, remaining: 4 });
    const second = await runPending({ name: 'toy', dir, runs: plan, isLine: isToyLine, log: quiet }, toySession(calls));
    expect(second).toMatchObject({ skipped: 2, ran: 4, remaining: 0 });
    expect(calls).toEqual([
      'begin skipped=0 pending=6 todo=2', 'run run-0', 'run run-1', 'close',
      'begin skipped=2 pending=4 todo=4', 'run run-2', 'run run-3', 'run run-4', 'run run-5', 'close',
    ]);
    const { results } = readAllRuns(dir, isToyLine);
    expect([...results.values()].map((l) => l.squared)).toEqual([0, 1, 4, 9, 16, 25]);
    // All finished: the session is not even opened.
    const third = await runPending({ name: 'toy', dir, runs: plan, isLine: isToyLine, log: quiet }, () => Promise.reject(new Error('opened')));
    expect(third).toMatchObject({ skipped: 6, ran: 0, remaining: 0 });
  });

  it('counts an error line as finished unless retryFailed, when an ok line then wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const r1 = await runPending({ name: 'toy', dir, runs: plan, isLine: isToyLine, log: quiet }, toySession([], 3));
    expect(r1).toMatchObject({ ran: 6, failed: 1 });
    expect(r1.status.get('run-3')).toBe('failed');
    const calls: string[] = [];
    await runPending({ name: 'toy', dir, runs: plan, isLine: isToyLine, log: quiet }, toySession(calls));
    expect(calls).toEqual([]);
    const r2 = await runPending({ name: 'toy', dir, runs: plan, retryFailed: true, isLine: isToyLine, log: quiet }, toySession(calls));
    expect(calls).toEqual(['begin skipped=5 pending=1 todo=1', 'run run-3', 'close']);
    expect(r2.status.get('run-3')).toBe('done');
    expect(readAllRuns(dir, isToyLine).results.get('run-3')?.status).toBe('ok');
  });

  it('takes its shard, cuts a torn last line before appending, and refuses a held lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const shard = parseShard('2/3');
    const file = join(dir, 'results.shard-2-of-3.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'run-1', seed: 0, kind: 'toy', status: 'ok', squared: 1 })}\n{"id":"run-4","se`);
    const calls: string[] = [];
    const warnings: string[] = [];
    const r = await runPending({ name: 'toy', dir, runs: plan, shard, isLine: isToyLine, log: (l) => warnings.push(l) }, toySession(calls));
    expect(calls).toEqual(['begin skipped=1 pending=1 todo=1', 'run run-4', 'close']);
    expect(r.runs.map((x) => x.id)).toEqual(['run-1', 'run-4']);
    expect(warnings.some((w) => w.includes('torn line'))).toBe(true);
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['run-1', 'run-4']);

    const other = mkdtempSync(join(tmpdir(), 'runs-'));
    writeFileSync(join(other, 'results.jsonl.lock'), JSON.stringify({ host: 'elsewhere', pid: 1 }));
    const closed: string[] = [];
    await expect(runPending({ name: 'toy', dir: other, runs: plan, isLine: isToyLine, log: quiet }, toySession(closed))).rejects.toThrow(/in use by elsewhere pid 1/);
    expect(closed).toEqual(['close']);
  });

  it('reads only lines of its kind, with a warning naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    appendFileSync(join(dir, 'results.jsonl'), `${JSON.stringify({ id: 'a', seed: 0, status: 'ok' })}\n${JSON.stringify({ id: 'b', seed: 0, kind: 'toy', status: 'ok' })}\n`);
    const warnings: string[] = [];
    const { results } = readAllRuns(dir, isToyLine, (w) => warnings.push(w));
    expect([...results.keys()]).toEqual(['b']);
    expect(warnings).toEqual([`warning: ${join(dir, 'results.jsonl')} line 1 is not a result record; ignored`]);
  });
});

describe('shards from a cluster scheduler', () => {
  it('Slurm job arrays: 0- or 1-based ranges and steps map to shards 1..n', () => {
    expect(shardFromScheduler({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2', SLURM_ARRAY_TASK_COUNT: '3' })?.shard).toEqual({ index: 1, count: 3 });
    expect(shardFromScheduler({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '3' })?.shard).toEqual({ index: 3, count: 3 });
    expect(shardFromScheduler({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_STEP: '2' })?.shard).toEqual({ index: 3, count: 4 });
    expect(() => shardFromScheduler({ SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_MIN\/MAX are not/);
    expect(() => shardFromScheduler({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toThrow(/not a task of the array 0-2/);
    expect(() => shardFromScheduler({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(/SLURM_ARRAY_TASK_COUNT=2 but the array 0-2:1 has 3 tasks/);
    expect(() => shardFromScheduler({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toThrow(/SLURM_ARRAY_TASK_ID="x" is not an integer/);
  });

  it('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX of JOB_COMPLETIONS', () => {
    expect(shardFromScheduler({ JOB_COMPLETION_INDEX: '2', JOB_COMPLETIONS: '3' })).toEqual({ shard: { index: 3, count: 3 }, source: 'Kubernetes completion index 2 of 3' });
    expect(() => shardFromScheduler({ JOB_COMPLETION_INDEX: '0' })).toThrow(/JOB_COMPLETIONS is not/);
    expect(() => shardFromScheduler({ JOB_COMPLETION_INDEX: '3', JOB_COMPLETIONS: '3' })).toThrow(/outside 0\.\.2/);
    expect(() => shardFromScheduler({ JOB_COMPLETION_INDEX: '0', JOB_COMPLETIONS: '0' })).toThrow(/at least 1/);
    expect(shardFromScheduler({})).toBeUndefined();
  });

  it('--shard wins when it agrees, is an error when it disagrees, and without either every run is taken', () => {
    const slurm = { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' };
    expect(pickShard('2/3', slurm).shard).toEqual({ index: 2, count: 3 });
    expect(() => pickShard('1/3', slurm)).toThrow(/--shard 1\/3 disagrees with the scheduler \(Slurm array task 1 of 0-2 = shard 2\/3\)/);
    expect(describePick(pickShard(undefined, slurm))).toBe('shard 2/3 (Slurm array task 1 of 0-2)');
    expect(describePick(pickShard(undefined, {}))).toBe('shard all (no --shard and no scheduler: every run)');
    expect(() => pickShard('0/3', {})).toThrow(/between 1 and 3/);
    expect(() => pickShard('1/0', {})).toThrow(/at least 1/);
  });
});
