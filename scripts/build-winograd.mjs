#!/usr/bin/env node
/**
 * Builds native/build/winograd.node: the Winograd convolutions as TensorFlow ops of our own,
 * registered in the TensorFlow library that @tensorflow/tfjs-node loads (native/winograd-op.c,
 * native/winograd-kernels.h; src/backend/winograd-addon.ts runs them), and beside them the fused
 * epilogue's two ops (native/epilogue-op.c, native/epilogue-kernels.c).
 *
 *   node scripts/build-winograd.mjs [--strict]
 *
 * Needs the native backend in place (scripts/build-native-backend.mjs: its libtensorflow and C
 * headers), Node's N-API headers, and a C compiler with OpenMP (gcc's libgomp). The kernels are
 * compiled twice, for AVX-512 and for AVX2 with FMA; the addon picks one at load from what the CPU
 * has. About five seconds. Best effort: without any of these it says why, and the search keeps
 * TensorFlow's Conv2D (exit 0; exit 1 with --strict).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, cCompiler, checkAndInstall, compile, giveUp, nodeApiInclude } from './native-addon-build.mjs';

const LABEL = 'build:winograd';
const NATIVE = path.join(ROOT, 'native');
const OUT = path.join(NATIVE, 'build', 'winograd.node');
const TF_DEPS = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'deps');
const give = (why) => giveUp(LABEL, why, "searches use TensorFlow's Conv2D, all else works (docs/performance.md)");

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`[${LABEL}] skipped: Linux on x86-64 only`);
  process.exit(0);
}
if (!fs.existsSync(path.join(TF_DEPS, 'lib', 'libtensorflow.so')) || !fs.existsSync(path.join(TF_DEPS, 'include', 'tensorflow', 'c', 'tf_tensor.h'))) {
  give('the native backend is not built (node scripts/build-native-backend.mjs builds it)');
}
const include = nodeApiInclude();
if (!include) give('no node_api.h beside the node binary or under npm_config_nodedir');
const compiler = cCompiler();
if (!compiler) give('no C compiler (cc, gcc or clang) on the PATH');

fs.mkdirSync(path.dirname(OUT), { recursive: true });
const objects = fs.mkdtempSync(path.join(os.tmpdir(), 'pulse-winograd-'));
const tmp = OUT.replace(/\.node$/, `.tmp-${process.pid}.node`);
let failed;
try {
  const units = [
    ['winograd-avx512.c', ['-mavx512f', '-mavx512vl', '-mfma']],
    ['winograd-avx2.c', ['-mavx2', '-mfma']],
    ['epilogue-kernels.c', []],
    ['epilogue-op.c', [`-I${path.join(TF_DEPS, 'include')}`]],
    ['winograd-op.c', [`-I${include}`, `-I${path.join(TF_DEPS, 'include')}`, '-DNODE_GYP_MODULE_NAME=winograd']],
  ];
  const built = [];
  for (const [source, flags] of units) {
    const object = path.join(objects, source.replace(/\.c$/, '.o'));
    failed ??= compile(compiler, ['-O3', '-fPIC', '-fopenmp', ...flags, '-c', path.join(NATIVE, source), '-o', object]);
    built.push(object);
  }
  // --no-as-needed: the TF_* functions the addon calls come from libtensorflow and the framework
  // library it needs; a linker that drops libraries it judges unneeded would leave them unresolved
  // at load. The rpath finds the very library tfjs-node has loaded (same soname: one copy, one op
  // registry).
  const rpath = `$ORIGIN/${path.relative(path.dirname(OUT), path.join(TF_DEPS, 'lib'))}`;
  failed ??= compile(compiler, ['-shared', '-fopenmp', '-o', tmp, ...built, '-Wl,--no-as-needed', `-L${path.join(TF_DEPS, 'lib')}`, '-ltensorflow', `-Wl,-rpath,${rpath}`]);
} finally {
  // Removed before giving up too (give() exits the process, which skips a finally still pending).
  fs.rmSync(objects, { recursive: true, force: true });
}
if (failed) {
  fs.rmSync(tmp, { force: true });
  give(failed);
}
// The check: a 3x3 conv of the ops against tfjs's own conv2d, in a child that loads tfjs-node first.
const check = [
  'if(!m.epilogue){console.log("the epilogue ops did not register: "+m.epilogueError);process.exit(3)}',
  'if(!m.isa){console.log("no kernel for this CPU: "+m.error);process.exit(0)}',
  "const b=tf.backend(),g=tf.randomNormal([3,3,m.vectorWidth,m.tileChannels],0,0.1,'float32',1),x=tf.randomNormal([1,7,5,m.vectorWidth],0,1,'float32',2);",
  "const u=b.executeSingleOutput('PulseWinogradFilter',[],[g]),y=b.executeSingleOutput('PulseWinogradConv',[],[x,u]);",
  "const d=tf.max(tf.abs(tf.sub(y,tf.conv2d(x,g,1,'same')))).dataSync()[0];if(!(d<1e-4)){console.log('differs from conv2d by '+d);process.exit(3)}",
].join('');
const bad = checkAndInstall(tmp, OUT, check, "const tf=require('@tensorflow/tfjs-node')");
if (bad) give(bad);
console.error(`[${LABEL}] built ${path.relative(ROOT, OUT)} with ${compiler}`);
