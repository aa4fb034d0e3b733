/**
 * Handing back the TensorFlow library's clean pages once the native backend has started.
 *
 * Loading libtensorflow_cc touches about 290 MB of its file: the symbol and relocation tables
 * the dynamic loader reads, and the static initialisers spread over the code (every kernel's
 * registration). They stay in the process's resident set, yet a PULSE step reads back only
 * about 45 MB of them (measured at 64 px: docs/performance.md). Those pages are file-backed
 * and never written, so dropping them loses nothing: a later access reads them again from the
 * file (the kernel's page cache, usually). That is what the kernel's reclaim would do under
 * memory pressure; doing it once after start-up takes the library's share of the resident set
 * from about 330 MB to about 90 MB.
 *
 * Only mappings that are safe to drop are touched: the library's own, read-only (r--p, r-xp),
 * with no anonymous and no dirty page (so not the RELRO segment, whose relocated pages are
 * private copies). The one system call, madvise(MADV_DONTNEED), comes from a tiny addon built
 * at install (native/release-memory.c, scripts/build-release-memory.mjs); without it, or off Linux,
 * nothing is done. PULSE_LIBRARY_PAGES=keep turns it off.
 */
import { readFileSync } from 'node:fs';
import { releaseMemoryAddon } from './release-memory-addon.js';

/** One mapping of /proc/self/smaps, with the fields this module reads. */
export interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly perms: string;
  readonly path: string;
  readonly rssKb: number;
  readonly anonymousKb: number;
  readonly privateDirtyKb: number;
}

/** Set to `keep` to leave the library's pages resident. */
export const LIBRARY_PAGES_SWITCH = 'PULSE_LIBRARY_PAGES';

const HEADER = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\S+\s*(.*)$/;

/** Parses /proc/<pid>/smaps text. Fields a kernel does not print read as 0. */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: { start: bigint; end: bigint; perms: string; path: string; fields: Map<string, number> } | undefined;
  const flush = () => {
    if (!cur) return;
    const kb = (k: string) => cur!.fields.get(k) ?? 0;
    out.push({ start: cur.start, end: cur.end, perms: cur.perms, path: cur.path, rssKb: kb('Rss'), anonymousKb: kb('Anonymous'), privateDirtyKb: kb('Private_Dirty') });
  };
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      flush();
      cur = { start: BigInt(`0x${h[1]}`), end: BigInt(`0x${h[2]}`), perms: h[3], path: h[4].trim(), fields: new Map() };
      continue;
    }
    const f = /^(\w+):\s+(\d+) kB/.exec(line);
    if (f && cur) cur.fields.set(f[1], Number(f[2]));
  }
  flush();
  return out;
}

/**
 * The mappings whose resident pages can be dropped without losing anything: of a file whose
 * name matches `library`, private and not writable, holding resident pages none of which is
 * anonymous (copied on write) or dirty.
 */
export function droppableMappings(maps: readonly Mapping[], library: RegExp = /\/libtensorflow[^/]*\.so/): Mapping[] {
  return maps.filter(
    (m) => library.test(m.path) && m.perms[1] !== 'w' && m.perms[3] === 'p' && m.rssKb > 0 && m.anonymousKb === 0 && m.privateDirtyKb === 0,
  );
}

export type LibraryPagesResult =
  | { readonly released: true; readonly mappings: number; readonly residentMb: number }
  | { readonly released: false; readonly why: string };

/**
 * Drops the TensorFlow library's clean resident pages from this process (see the file
 * comment). Returns how much was resident in the mappings dropped, or why nothing was done.
 */
export function releaseLibraryPages(env: NodeJS.ProcessEnv = process.env): LibraryPagesResult {
  if ((env[LIBRARY_PAGES_SWITCH] ?? '').trim().toLowerCase() === 'keep') return { released: false, why: `${LIBRARY_PAGES_SWITCH}=keep` };
  const addon = releaseMemoryAddon();
  if (typeof addon === 'string') return { released: false, why: addon };
  const targets = droppableMappings(parseSmaps(readFileSync('/proc/self/smaps', 'utf8')));
  if (targets.length === 0) return { released: false, why: 'no clean TensorFlow library mapping is resident' };
  let residentKb = 0;
  let dropped = 0;
  let failure = '';
  for (const m of targets) {
    const rc = addon.dropPages(m.start, m.end - m.start);
    if (rc === 0) {
      residentKb += m.rssKb;
      dropped++;
    } else failure ||= `madvise failed on ${m.path} (errno ${rc})`;
  }
  if (dropped === 0) return { released: false, why: failure };
  return { released: true, mappings: dropped, residentMb: residentKb / 1024 };
}
