/**
 * One process per results file: a lock file naming the holder (host, pid), taken over when
 * that process is gone. Taken by the run loop (loop.ts) for the file it appends to.
 */
import { hostname } from 'node:os';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Takes the lock at `path`; returns the function that releases it. */
export function takeLock(path: string): () => void {
  const me = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: { host?: string; pid?: number; since?: string } = {};
    try {
      holder = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // unreadable: treated as held by an unknown process
    }
    if (holder.host === me.host && typeof holder.pid === 'number' && holder.pid !== process.pid && !pidAlive(holder.pid)) {
      rmSync(path, { force: true }); // left by a process that was killed
      continue;
    }
    throw new Error(
      `${path} says this results file is in use by ${holder.host ?? '?'} pid ${holder.pid ?? '?'} since ${holder.since ?? '?'}; ` +
        'run each shard in one process at a time (delete the lock file if that process is gone)',
    );
  }
  throw new Error(`cannot take the lock ${path}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
