/**
 * A resumable run store: one JSON line per finished run in a folder of results files, appended
 * with a single write and an fsync so a kill leaves at most a torn last line, which readers
 * detect, report and ignore (its run is then redone) and `repairRunsFile` cuts before the next
 * append. Several shards append to separate files in the same folder; readers merge them.
 *
 * Generic over the line type: a store knows only a line's id, status and seed; `isLine` says
 * whether a parsed record is a line of the caller's kind (experiments/results.ts, benchmark/result-line.ts).
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Shard } from './shard.js';

/** What every line of a run store has. */
export interface RunLine {
  readonly id: string;
  readonly status: 'ok' | 'error';
  readonly seed: number;
  readonly error?: string;
}

/** Says whether a parsed JSON record is a line of the store's kind. */
export type LineGuard<L extends RunLine> = (record: unknown) => record is L;

/** The least a record must hold to be a run line. */
export function isRunLine(record: unknown): record is RunLine {
  if (typeof record !== 'object' || record === null) return false;
  const r = record as Record<string, unknown>;
  return typeof r.id === 'string' && (r.status === 'ok' || r.status === 'error') && typeof r.seed === 'number';
}

export const RESULTS_FILE = 'results.jsonl';
const RESULTS_PATTERN = /^results(\.shard-\d+-of-\d+)?\.jsonl$/;

/** results.jsonl, or results.shard-i-of-n.jsonl for a shard. */
export function resultsFileName(shard?: Shard): string {
  return shard ? `results.shard-${shard.index}-of-${shard.count}.jsonl` : RESULTS_FILE;
}

/** Every results file in `dir` (sorted; [] when the folder does not exist). */
export function listResultFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => RESULTS_PATTERN.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Appends one line with a single write, then fsyncs (and fsyncs the folder when the file is new). */
export function appendRunLine<L extends RunLine>(path: string, line: L): void {
  const text = `${JSON.stringify(line)}\n`;
  const isNew = !existsSync(path);
  const fd = openSync(path, 'a');
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (isNew) fsyncDir(join(path, '..'));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every filesystem lets a directory be fsynced; the line itself is synced.
  }
}

export interface ReadRunsFile<L extends RunLine> {
  readonly lines: L[];
  /** Bytes of a torn last line (no newline, not a whole record), 0 when none. */
  readonly tornBytes: number;
  /** Bytes up to the end of the last good newline-terminated line. */
  readonly goodLength: number;
}

/**
 * Reads one results file. A last line without its newline that is not a whole record is a torn
 * write (a kill mid-append): it is ignored with a warning. Other unreadable lines are ignored
 * with a warning too.
 */
export function readRunsFile<L extends RunLine>(path: string, isLine: LineGuard<L>, warn: (message: string) => void = () => {}): ReadRunsFile<L> {
  const buf = readFileSync(path);
  const text = buf.toString('utf8');
  const lines: L[] = [];
  const parts = text.split('\n');
  const tail = parts.pop() ?? ''; // '' when the file ends with a newline
  parts.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const rec = parseLine(raw, isLine);
    if (rec) lines.push(rec);
    else warn(`warning: ${path} line ${i + 1} is not a result record; ignored`);
  });
  let tornBytes = 0;
  if (tail.trim() !== '') {
    const rec = parseLine(tail, isLine);
    if (rec) lines.push(rec);
    else {
      tornBytes = Buffer.byteLength(tail, 'utf8');
      warn(`warning: ${path} ends with a torn line (${tornBytes} bytes, an interrupted write); ignored, its run will be redone`);
    }
  }
  const goodLength = buf.length - Buffer.byteLength(tail, 'utf8');
  return { lines, tornBytes, goodLength };
}

function parseLine<L extends RunLine>(raw: string, isLine: LineGuard<L>): L | null {
  try {
    const v: unknown = JSON.parse(raw);
    return isLine(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Makes `path` safe to append to: cuts a torn last line (a whole record without its newline
 * gets the newline instead). Only for the file this process owns (holds the lock of).
 */
export function repairRunsFile(path: string, warn: (message: string) => void = () => {}): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return;
  const { tornBytes, goodLength } = readRunsFile(path, isRunLine, warn);
  const fd = openSync(path, 'r+');
  try {
    if (tornBytes > 0) {
      ftruncateSync(fd, goodLength);
    } else if (goodLength < size) {
      writeSync(fd, '\n', size);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface AllRuns<L extends RunLine> {
  /** One line per run id. */
  readonly results: Map<string, L>;
  /** The results files read, sorted. */
  readonly files: string[];
  /** Run ids with more than one ok line (the first is used). */
  readonly duplicates: number;
}

/**
 * All results of a folder, one per run id: an ok line wins over an error line; among lines of
 * the same status, the first (in file-name order, then line order).
 */
export function readAllRuns<L extends RunLine>(dir: string, isLine: LineGuard<L>, warn: (message: string) => void = () => {}): AllRuns<L> {
  const files = listResultFiles(dir);
  const results = new Map<string, L>();
  let duplicates = 0;
  for (const f of files) {
    for (const line of readRunsFile(f, isLine, warn).lines) {
      const had = results.get(line.id);
      if (!had) results.set(line.id, line);
      else {
        if (had.status === 'ok' && line.status === 'ok') duplicates++;
        if (had.status === 'error' && line.status === 'ok') results.set(line.id, line);
      }
    }
  }
  return { results, files, duplicates };
}
