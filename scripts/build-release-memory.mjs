#!/usr/bin/env node
/**
 * Builds native/build/release-memory.node, the small addon with which the native backend hands
 * back the TensorFlow library's clean pages after start-up (src/backend/library-pages.ts) and what
 * a model's build leaves in the C heap (src/backend/host-memory.ts).
 *
 *   node scripts/build-release-memory.mjs [--strict]
 *
 * One C file against Node's own N-API headers (beside the node binary, or npm_config_nodedir),
 * compiled by the system's C compiler: no download, about a second. Linux only (the addon calls
 * madvise on mappings read from /proc/self/smaps). Best effort: without a compiler or the headers
 * it says so, and nothing is handed back (exit 0; exit 1 with --strict).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(ROOT, 'native', 'release-memory.c');
const OUT = path.join(ROOT, 'native', 'build', 'release-memory.node');
const strict = process.argv.includes('--strict');

function give(why) {
  console.error(`[build:release-memory] not built: ${why}; no memory is handed back, all else works (docs/performance.md)`);
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') {
  console.error('[build:release-memory] skipped: Linux only');
  process.exit(0);
}
const prefixes = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
const include = prefixes.map((p) => path.join(p, 'include', 'node')).find((d) => fs.existsSync(path.join(d, 'node_api.h')));
if (!include) give(`no node_api.h under ${prefixes.map((p) => path.join(p, 'include', 'node')).join(' or ')}`);
const compiler = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!compiler) give('no C compiler (cc, gcc or clang) on the PATH');

fs.mkdirSync(path.dirname(OUT), { recursive: true });
const tmp = OUT.replace(/\.node$/, `.tmp-${process.pid}.node`);
const res = spawnSync(compiler, ['-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=release_memory', `-I${include}`, '-o', tmp, SOURCE], { encoding: 'utf8' });
if (res.status !== 0) {
  fs.rmSync(tmp, { force: true });
  give(`${compiler} failed: ${(res.stderr || res.error?.message || '').trim().split('\n')[0]}`);
}
// Checked in a child before it replaces the addon in use: a broken build must not reach the backend.
const check = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(tmp)});if(m.dropPages(0n,0n)!==0)process.exit(3)`], { encoding: 'utf8' });
if (check.status !== 0) {
  fs.rmSync(tmp, { force: true });
  give(`the built addon does not load (${(check.stderr || '').trim().split('\n')[0]})`);
}
fs.renameSync(tmp, OUT);
console.error(`[build:release-memory] built ${path.relative(ROOT, OUT)} with ${compiler}`);
