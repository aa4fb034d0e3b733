/**
 * Would Winograd F(2x2, 3x3) make the 3x3 convolutions of a PULSE step faster through tfjs's
 * ops? It does 2.25x fewer multiplies than a direct convolution (16 products per 2x2 output tile
 * instead of 36), in three parts: an input transform (B^T d B of every 4x4 tile, here one
 * depthwise convolution with 16 outputs per channel, stride 2), 16 matrix products (one per
 * transformed position: [tiles, in] x [in, out]) and an output transform (A^T m A, here one
 * [4, 16] matrix product, then an interleave). This prints, per shape of the synthesis network,
 * the direct Conv2D against the whole Winograd path and each of its parts, with the relative
 * error of the result (docs/performance.md, "Fifth round"). Measurement only: nothing in src/
 * uses it.
 *
 *   npx tsx scripts/bench-winograd.ts [--shapes 32x512,64x256,128x128] [--repeat 12]
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { tunedMallocEnv } from '../src/backend/malloc-env.js';
import { initBackend } from '../src/backend/select.js';

// The allocator settings `pulse` runs with (src/backend/malloc-env.ts), as profile-step.ts does.
const tuned = tunedMallocEnv(process.env);
if (tuned) process.exit(spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: tuned }).status ?? 1);

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const shapes = opt('shapes', '8x512,16x512,32x512,64x256,128x128,256x64').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const repeat = Number(opt('repeat', '12'));

// Lavin and Gray (2016), F(2x2, 3x3): Y = A^T [(G g G^T) . (B^T d B)] A.
const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];

/** U = G g G^T for every (in, out) pair: [16 (position a*4+b), in, out]. */
function filterTransform(w: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [, , cin, cout] = w.shape;
    const g = tf.tensor2d(G);
    const rows = tf.matMul(g, w.reshape([3, 3 * cin * cout])).reshape([4, 3, cin * cout]);
    const both = tf.matMul(g, rows.transpose([1, 0, 2]).reshape([3, 4 * cin * cout])).reshape([4, 4, cin, cout]);
    return both.transpose([1, 0, 2, 3]).reshape([16, cin, cout]) as tf.Tensor3D;
  });
}

/** B^T d B as a depthwise filter [4, 4, channels, 16]: output m = a*4+b of channel c. */
function inputTransformFilter(channels: number): tf.Tensor4D {
  const f = new Float32Array(16 * channels * 16);
  for (let k = 0; k < 4; k++)
    for (let l = 0; l < 4; l++)
      for (let c = 0; c < channels; c++)
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) f[((k * 4 + l) * channels + c) * 16 + a * 4 + b] = BT[a][k] * BT[b][l];
  return tf.tensor4d(f, [4, 4, channels, 16]);
}

/** A^T m A as a [4 (dy*2+dx), 16 (a*4+b)] matrix. */
function outputTransform(): tf.Tensor2D {
  const m = new Float32Array(64);
  for (let dy = 0; dy < 2; dy++)
    for (let dx = 0; dx < 2; dx++) for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) m[(dy * 2 + dx) * 16 + a * 4 + b] = AT[dy][a] * AT[dx][b];
  return tf.tensor2d(m, [4, 16]);
}

const pad1 = (x: tf.Tensor4D) => tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D;
const toPositions = (v: tf.Tensor, tiles: number, c: number) => v.reshape([tiles, c, 16]).transpose([2, 0, 1]) as tf.Tensor3D;
const fromTiles = (y: tf.Tensor, n: number, side: number, c: number) =>
  y.reshape([2, 2, n, side / 2, side / 2, c]).transpose([2, 3, 0, 4, 1, 5]).reshape([n, side, side, c]) as tf.Tensor4D;

function winogradConv(x: tf.Tensor4D, U: tf.Tensor3D, inFilter: tf.Tensor4D, outMatrix: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, side, , c] = x.shape;
    const tiles = n * (side / 2) ** 2;
    const m = tf.matMul(toPositions(tf.depthwiseConv2d(pad1(x), inFilter, 2, 'valid'), tiles, c), U);
    return fromTiles(tf.matMul(outMatrix, m.reshape([16, -1])), n, side, U.shape[2]);
  });
}

/** Median-ish (third fastest of `repeat`) wall time of f in ms, its result read back. */
function time(f: () => tf.Tensor | tf.Tensor[]): number {
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const r = f();
    const all = Array.isArray(r) ? r : [r];
    all.forEach((t) => t.dataSync());
    ts.push(performance.now() - t0);
    tf.dispose(all);
  }
  return ts.sort((a, b) => a - b)[Math.min(2, ts.length - 1)];
}

const backend = await initBackend('tensorflow');
console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} threads), ${backend.description}\n`);
console.log('| side x channels | direct Conv2D ms (GFLOP/s) | Winograd ms | ratio | pad | input transform | 16 products (GFLOP/s) | as 16 MatMuls | output transform + interleave | max error / max value |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [side, c] of shapes) {
  const x = tf.randomNormal([1, side, side, c], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, c, c], 0, 1 / Math.sqrt(9 * c), 'float32', 2) as tf.Tensor4D;
  const U = filterTransform(w);
  const inFilter = inputTransformFilter(c);
  const outMatrix = outputTransform();
  const tiles = (side / 2) ** 2;
  const direct = tf.conv2d(x, w, 1, 'same');
  const wino = winogradConv(x, U, inFilter, outMatrix);
  const err = tf.tidy(() => tf.max(tf.abs(tf.sub(direct, wino))).dataSync()[0] / tf.max(tf.abs(direct)).dataSync()[0]);
  const padded = pad1(x);
  const v = toPositions(tf.depthwiseConv2d(padded, inFilter, 2, 'valid'), tiles, c);
  const m = tf.matMul(v, U);
  const vs = tf.unstack(v) as tf.Tensor2D[];
  const us = tf.unstack(U) as tf.Tensor2D[];
  const tDirect = time(() => tf.conv2d(x, w, 1, 'same'));
  const tWino = time(() => winogradConv(x, U, inFilter, outMatrix));
  const tPad = time(() => pad1(x));
  const tIn = time(() => tf.tidy(() => toPositions(tf.depthwiseConv2d(padded, inFilter, 2, 'valid'), tiles, c)));
  const tProducts = time(() => tf.matMul(v, U));
  const tProducts2d = time(() => vs.map((vi, i) => tf.matMul(vi, us[i])));
  const tOut = time(() => tf.tidy(() => fromTiles(tf.matMul(outMatrix, m.reshape([16, -1])), 1, side, c)));
  const gflop = (macs: number, ms: number) => ((2 * macs) / (ms * 1e6)).toFixed(0);
  console.log(
    `| ${side}x${side}x${c} | ${tDirect.toFixed(1)} (${gflop(side * side * c * c * 9, tDirect)}) | ${tWino.toFixed(1)} | ${(tWino / tDirect).toFixed(2)}x | ${tPad.toFixed(1)} | ${tIn.toFixed(1)} | ${tProducts.toFixed(1)} (${gflop(16 * tiles * c * c, tProducts)}) | ${tProducts2d.toFixed(1)} | ${tOut.toFixed(1)} | ${err.toExponential(1)} |`,
  );
  tf.dispose([x, w, U, inFilter, outMatrix, direct, wino, padded, v, m, ...vs, ...us]);
}
