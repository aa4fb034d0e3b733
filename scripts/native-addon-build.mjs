/**
 * What the builds of this project's small native addons share (scripts/build-release-memory.mjs,
 * scripts/build-winograd.mjs): finding Node's N-API headers and a C compiler, compiling to a
 * temporary file, checking the result loads in a child process, and only then putting it in
 * place, so that a broken build never replaces an addon in use. Best effort: a failure says why
 * and exits 0 (1 with --strict), because each addon only makes things faster or leaner.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Prints why `label` was not built and exits (1 with --strict, else 0). */
export function giveUp(label, why, consequence) {
  console.error(`[${label}] not built: ${why}; ${consequence}`);
  process.exit(process.argv.includes('--strict') ? 1 : 0);
}

/** Node's N-API include folder (beside the node binary, or npm_config_nodedir), or undefined. */
export function nodeApiInclude() {
  const prefixes = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  return prefixes.map((p) => path.join(p, 'include', 'node')).find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

/** The first C compiler on the PATH (cc, gcc, clang), or undefined. */
export function cCompiler() {
  return ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
}

/** Runs one compiler command; the first line of its error output, or undefined when it succeeded. */
export function compile(compiler, args) {
  const res = spawnSync(compiler, args, { encoding: 'utf8' });
  if (res.status === 0) return undefined;
  return `${compiler} failed: ${(res.stderr || res.error?.message || '').trim().split('\n')[0]}`;
}

/**
 * Loads `tmp` in a child (in the repository root) that runs `preamble`, then `checkScript`
 * (JavaScript in which `m` is the addon and which exits non-zero when it is not right); renames
 * it to `out` when it passes. Returns the child's complaint, or undefined when `out` is in place.
 */
export function checkAndInstall(tmp, out, checkScript, preamble = '') {
  const code = `${preamble};const m=require(${JSON.stringify(tmp)});${checkScript}`;
  const check = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: ROOT });
  if (check.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return `the built addon does not pass its check (${(check.stderr || check.stdout || '').trim().split('\n').pop()})`;
  }
  fs.renameSync(tmp, out);
  return undefined;
}
