/**
 * The small native addon (native/release-memory.c, built at install by
 * scripts/build-release-memory.mjs) with the three calls that give memory back to the system:
 * dropping clean file pages (library-pages.ts), and setting and trimming the C heap
 * (host-memory.ts). Linux with a C compiler only; elsewhere the callers do nothing and say why.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

export interface ReleaseMemoryAddon {
  /** madvise(MADV_DONTNEED) on [start, start + length): 0, or the errno. */
  dropPages(start: bigint, length: bigint): number;
  /** glibc's malloc_trim(0): whether any memory went back. */
  trimHeap(): boolean;
  /** glibc's mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD): whether both were taken. */
  setMallocThresholds(mmapBytes: number, trimBytes: number): boolean;
}

/**
 * Where the addon is built (an ignored folder), relative to the checkout. A plain string: the web
 * page's bundle reaches this module through select.ts, with Node's modules stubbed, so nothing
 * here may call them before a native backend asks (Linux only, so '/' is the separator).
 */
export const RELEASE_MEMORY_ADDON = 'native/build/release-memory.node';

let loaded: ReleaseMemoryAddon | string | undefined;

/** The addon, or why it is not available (not Linux, not built, did not load). */
export function releaseMemoryAddon(): ReleaseMemoryAddon | string {
  if (loaded !== undefined) return loaded;
  const path = join(repoRoot(), RELEASE_MEMORY_ADDON);
  if (process.platform !== 'linux') loaded = 'not Linux';
  else if (!existsSync(path)) loaded = `${RELEASE_MEMORY_ADDON} is not built (npm run build:native builds it; it needs a C compiler)`;
  else {
    try {
      loaded = createRequire(import.meta.url)(path) as ReleaseMemoryAddon;
    } catch (err) {
      loaded = `${RELEASE_MEMORY_ADDON} did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
  }
  return loaded;
}
