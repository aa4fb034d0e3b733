/**
 * The allocator settings the CLI relaunches with (src/backend/malloc-env.ts), and that the
 * relaunched process has them.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HUGE_PAGE_TUNABLE, tunedMallocEnv } from '../src/backend/malloc-env.js';

describe('tunedMallocEnv', () => {
  it('adds the huge-page tunable on Linux, keeping the user\'s other tunables', () => {
    expect(tunedMallocEnv({}, 'linux')?.GLIBC_TUNABLES).toBe(HUGE_PAGE_TUNABLE);
    expect(tunedMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', HOME: '/h' }, 'linux')).toEqual({
      GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}`,
      HOME: '/h',
    });
    expect(tunedMallocEnv({ PULSE_MALLOC: 'hugepages' }, 'linux')?.GLIBC_TUNABLES).toBe(HUGE_PAGE_TUNABLE);
  });

  it('asks for no relaunch when the tunable is set already, off Linux, or with PULSE_MALLOC=system', () => {
    expect(tunedMallocEnv({ GLIBC_TUNABLES: HUGE_PAGE_TUNABLE }, 'linux')).toBeUndefined();
    expect(tunedMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux')).toBeUndefined();
    expect(tunedMallocEnv({}, 'darwin')).toBeUndefined();
    expect(tunedMallocEnv({ PULSE_MALLOC: 'System' }, 'linux')).toBeUndefined();
  });

  it('names the variable and the choices for an unknown setting', () => {
    expect(() => tunedMallocEnv({ PULSE_MALLOC: 'jemalloc' }, 'linux')).toThrow(/PULSE_MALLOC="jemalloc".*hugepages.*system/);
  });
});

describe('the pulse command', () => {
  const speed = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['bin/pulse.mjs', 'speed', '--res', '8', '--fmap-base', '16', '--factor', '2', '--steps', '2', '--json'], {
      env: { ...process.env, GLIBC_TUNABLES: '', ...env },
      encoding: 'utf8',
    });
  it.runIf(process.platform === 'linux')('relaunches itself with the tunable, and not with PULSE_MALLOC=system', () => {
    const tuned = speed({ PULSE_MALLOC: '' });
    expect(tuned.status, tuned.stderr).toBe(0);
    expect(JSON.parse(tuned.stdout.trim().split('\n').pop()!).glibc_tunables).toBe(HUGE_PAGE_TUNABLE);
    const plain = speed({ PULSE_MALLOC: 'system' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout.trim().split('\n').pop()!).glibc_tunables).toBe('');
  });

  it('refuses an unknown PULSE_MALLOC, naming it', () => {
    const bad = speed({ PULSE_MALLOC: 'nope' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/PULSE_MALLOC="nope" is not a known setting/);
  });
});
