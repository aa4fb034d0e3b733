/**
 * A linear probe: how well a straight cut through a feature space tells two sets apart,
 * measured on held-out items by stratified k-fold cross-validation. Vision-aided GAN training
 * (Kumari, Zhang, Shechtman, Zhu, CVPR 2022, "model selection") picks the frozen network for its
 * discriminator this way: the network whose features a linear probe separates real from
 * generated images best. scripts/probe-feature-separability.ts applies it to the face networks
 * at hand.
 *
 * The classifier is L2-regularised logistic regression on features standardised by the training
 * folds' mean and spread, fitted with Adam (tfjs) from zero weights, so the same inputs give the
 * same numbers. Accuracy is balanced (the mean of the two sets' hit rates), so sets of unequal
 * size do not favour the larger one: 0.5 is chance, 1 a perfect cut.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

export interface LinearProbeOptions {
  /** Cross-validation folds (default 5); each set needs at least this many items. */
  readonly folds?: number;
  /** Seed of the fold assignment (default 'linear-probe'). */
  readonly seed?: string;
  /** L2 weight on the coefficients (default 1e-2, on standardised features). */
  readonly l2?: number;
  /** Adam steps per fold (default 400, learning rate 0.05). */
  readonly steps?: number;
}

export interface LinearProbeResult {
  /** Balanced held-out accuracy, mean over folds. */
  readonly accuracy: number;
  /** Per fold, in fold order. */
  readonly foldAccuracies: readonly number[];
  /** Balanced accuracy on the training folds, mean over folds (how far the cut overfits). */
  readonly trainAccuracy: number;
  readonly sizes: { readonly a: number; readonly b: number };
  readonly dimensions: number;
  readonly folds: number;
}

/** Item indices 0..n-1 in a seeded order, dealt to folds in turn (fold of item = position % folds). */
function foldsOf(n: number, folds: number, rng: seedrandom.PRNG): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const fold = new Array<number>(n);
  order.forEach((item, position) => (fold[item] = position % folds));
  return fold;
}

function balancedAccuracy(scores: Float32Array, labels: readonly number[]): number {
  let hitA = 0, hitB = 0, nA = 0, nB = 0;
  labels.forEach((y, i) => {
    if (y === 1) {
      nA++;
      if (scores[i] > 0) hitA++;
    } else {
      nB++;
      if (scores[i] <= 0) hitB++;
    }
  });
  return (hitA / nA + hitB / nB) / 2;
}

/** Fits on `train` rows, returns the logits of the `train` and `test` rows. */
function fitAndScore(x: tf.Tensor2D, y: tf.Tensor1D, train: number[], test: number[], l2: number, steps: number): { train: Float32Array; test: Float32Array } {
  return tf.tidy(() => {
    const xTrain = tf.gather(x, train);
    const mean = tf.mean(xTrain, 0, true);
    const std = tf.add(tf.sqrt(tf.mean(tf.square(tf.sub(xTrain, mean)), 0, true)), 1e-6);
    const norm = (t: tf.Tensor2D) => tf.div(tf.sub(t, mean), std) as tf.Tensor2D;
    const xt = norm(xTrain);
    const yt = tf.gather(y, train);
    // Each set weighs half of the loss, as each weighs half of the balanced accuracy.
    const positives = tf.sum(yt);
    const weights = tf.where(tf.equal(yt, 1), tf.div(0.5, positives), tf.div(0.5, tf.sub(train.length, positives)));
    const w = tf.variable(tf.zeros([x.shape[1], 1]));
    const b = tf.variable(tf.zeros([1]));
    const optimizer = tf.train.adam(0.05);
    for (let s = 0; s < steps; s++) {
      optimizer.minimize(() => {
        const logits = tf.reshape(tf.add(tf.matMul(xt, w), b), [-1]);
        const ce = tf.sum(tf.mul(weights, tf.losses.sigmoidCrossEntropy(yt, logits, undefined, undefined, tf.Reduction.NONE)));
        return tf.add(ce, tf.mul(l2 / 2, tf.sum(tf.square(w)))) as tf.Scalar;
      });
    }
    const score = (t: tf.Tensor2D) => tf.reshape(tf.add(tf.matMul(t, w), b), [-1]).dataSync() as Float32Array;
    const out = { train: score(xt), test: score(norm(tf.gather(x, test))) };
    optimizer.dispose();
    w.dispose();
    b.dispose();
    return out;
  });
}

/** Cross-validated linear separability of feature sets `a` and `b` (rows of one length). */
export function linearProbe(a: readonly Float32Array[], b: readonly Float32Array[], options: LinearProbeOptions = {}): LinearProbeResult {
  const folds = options.folds ?? 5;
  const l2 = options.l2 ?? 1e-2;
  const steps = options.steps ?? 400;
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`linear probe: folds=${folds} must be an integer >= 2`);
  if (!(l2 >= 0)) throw new Error(`linear probe: l2=${l2} must be >= 0`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`linear probe: steps=${steps} must be a positive integer`);
  for (const [name, set] of [['a', a], ['b', b]] as const) {
    if (set.length < folds) throw new Error(`linear probe: set ${name} has ${set.length} items; ${folds}-fold cross-validation needs at least ${folds}`);
  }
  const d = a[0].length;
  const rows = [...a, ...b];
  const bad = rows.findIndex((r) => r.length !== d);
  if (bad >= 0) throw new Error(`linear probe: item ${bad} has ${rows[bad].length} features, item 0 has ${d}; every item needs the same number`);
  if (rows.some((r) => r.some((v) => !Number.isFinite(v)))) throw new Error('linear probe: a feature is NaN or infinite');

  const rng = seedrandom(options.seed ?? 'linear-probe');
  // Stratified: each set is dealt to the folds on its own.
  const fold = [...foldsOf(a.length, folds, rng), ...foldsOf(b.length, folds, rng)];
  const labels = rows.map((_, i) => (i < a.length ? 1 : 0));
  const flat = new Float32Array(rows.length * d);
  rows.forEach((r, i) => flat.set(r, i * d));
  const x = tf.tensor2d(flat, [rows.length, d]);
  const y = tf.tensor1d(labels, 'float32');
  const foldAccuracies: number[] = [];
  let trainSum = 0;
  try {
    for (let k = 0; k < folds; k++) {
      const train = fold.flatMap((f, i) => (f === k ? [] : [i]));
      const test = fold.flatMap((f, i) => (f === k ? [i] : []));
      const scores = fitAndScore(x, y, train, test, l2, steps);
      foldAccuracies.push(balancedAccuracy(scores.test, test.map((i) => labels[i])));
      trainSum += balancedAccuracy(scores.train, train.map((i) => labels[i]));
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  const mean = (v: readonly number[]) => v.reduce((s, t) => s + t, 0) / v.length;
  return { accuracy: mean(foldAccuracies), foldAccuracies, trainAccuracy: trainSum / folds, sizes: { a: a.length, b: b.length }, dimensions: d, folds };
}
