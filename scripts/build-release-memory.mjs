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
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, cCompiler, checkAndInstall, compile, giveUp, nodeApiInclude } from './native-addon-build.mjs';

const LABEL = 'build:release-memory';
const SOURCE = path.join(ROOT, 'native', 'release-memory.c');
const OUT = path.join(ROOT, 'native', 'build', 'release-memory.node');
const give = (why) => giveUp(LABEL, why, 'no memory is handed back, all else works (docs/performance.md)');

if (process.platform !== 'linux') {
  console.error(`[${LABEL}] skipped: Linux only`);
  process.exit(0);
}
const include = nodeApiInclude();
if (!include) give('no node_api.h beside the node binary or under npm_config_nodedir');
const compiler = cCompiler();
if (!compiler) give('no C compiler (cc, gcc or clang) on the PATH');

fs.mkdirSync(path.dirname(OUT), { recursive: true });
const tmp = OUT.replace(/\.node$/, `.tmp-${process.pid}.node`);
const failed = compile(compiler, ['-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=release_memory', `-I${include}`, '-o', tmp, SOURCE]);
if (failed) {
  fs.rmSync(tmp, { force: true });
  give(failed);
}
// Checked in a child before it replaces the addon in use: a broken build must not reach the backend.
const bad = checkAndInstall(tmp, OUT, 'if(m.dropPages(0n,0n)!==0)process.exit(3)');
if (bad) give(bad);
console.error(`[${LABEL}] built ${path.relative(ROOT, OUT)} with ${compiler}`);
