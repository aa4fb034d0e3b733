/**
 * The C allocator's settings for the native backend, applied by relaunching the process.
 *
 * TensorFlow takes every tensor from glibc's malloc. glibc serves blocks of 32 MB and more (a
 * 1024x1024x16 activation is 64 MB) straight from mmap and unmaps them when they are freed, so
 * every such tensor is new memory, written page by page through the kernel's page-fault
 * handler. On the virtual machines measured here a fault costs about 10 us: a 64 MB multiply
 * took 172 ms where its arithmetic takes 6, and a 1024 px PULSE step spent most of its 8.9 s
 * there (docs/performance.md). glibc >= 2.35's tunable `glibc.malloc.hugetlb=1` asks for
 * transparent huge pages on those blocks (madvise), so a 64 MB tensor takes 32 faults instead
 * of 16384: the 1024 px step fell to 2.0 s with the same peak memory. Tunables are read once,
 * when the process starts, hence the relaunch; elsewhere (another libc, THP off) the setting is
 * ignored and costs nothing.
 */

/** The glibc tunable this project sets (GLIBC_TUNABLES syntax). */
export const HUGE_PAGE_TUNABLE = 'glibc.malloc.hugetlb=1';

/** Set to `system` to leave the allocator as it is (no relaunch). */
export const MALLOC_ENV_SWITCH = 'PULSE_MALLOC';

/**
 * The environment to relaunch with, or undefined when the process should go on as it is: not
 * Linux, PULSE_MALLOC=system, or GLIBC_TUNABLES already names glibc.malloc.hugetlb (the user's
 * choice, or this relaunch). Other tunables the user set are kept.
 */
export function tunedMallocEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv | undefined {
  if (platform !== 'linux') return undefined;
  const choice = (env[MALLOC_ENV_SWITCH] ?? '').trim().toLowerCase();
  if (choice === 'system') return undefined;
  if (choice !== '' && choice !== 'hugepages') {
    throw new Error(`${MALLOC_ENV_SWITCH}=${JSON.stringify(env[MALLOC_ENV_SWITCH])} is not a known setting; use hugepages (the default) or system`);
  }
  const current = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(current)) return undefined;
  return { ...env, GLIBC_TUNABLES: current ? `${current}:${HUGE_PAGE_TUNABLE}` : HUGE_PAGE_TUNABLE };
}
