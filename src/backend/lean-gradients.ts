/**
 * `tf.valueAndGrads` that frees memory as the backward pass goes, as PyTorch's autograd does.
 *
 * tfjs's `engine.gradients` walks the tape inside one tidy, so every intermediate gradient of
 * the network (one per op output) and every op's saved forward tensors stay alive until the
 * whole backward pass has ended: a PULSE step at 1024 px peaks at the forward's saved
 * activations plus all the gradients at once. Here each op's output gradients are freed as soon
 * as that op has been differentiated (nothing else reads them: every tensor is the output of one
 * op) and its saved tensors right after. The same gradient functions run in the same order on
 * the same inputs, so the values are bit-identical to `tf.valueAndGrads`.
 *
 * It drives tfjs-core's engine directly (its tape, `startTape`/`endTape`, `scopedRun`), which is
 * internal API: `leanGradientsSupported()` checks the pieces are there (tfjs-core 4.22 is pinned),
 * and `valueAndGradsLean` falls back to `tf.valueAndGrads` when they are not, or when called
 * inside another gradient (second-order use keeps the tape for the outer pass).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T>(name: string, f: () => T): T;
}

function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/** Whether this tfjs-core exposes the tape internals the lean pass drives. */
export function leanGradientsSupported(): boolean {
  const e = engineInternals() as Partial<EngineInternals>;
  return (
    typeof e.startTape === 'function' &&
    typeof e.endTape === 'function' &&
    typeof e.scopedRun === 'function' &&
    typeof e.tidy === 'function' &&
    typeof e.state?.gradientDepth === 'number'
  );
}

/**
 * The ops of the tape on a path from one of `xs` to `y`, in tape order, each with only the
 * inputs that depend on an x (gradients flow to those alone).
 */
export function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const dependsOnX = new Set(xs.map((x) => x.id));
  const fromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => dependsOnX.has(t.id))) {
      fromX.add(node.id);
      for (const o of node.outputs) dependsOnX.add(o.id);
    }
  }
  const leadsToY = new Set([y.id]);
  const toY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => leadsToY.has(o.id))) {
      toY.add(node.id);
      for (const t of Object.values(node.inputs)) leadsToY.add(t.id);
    }
  }
  return tape
    .filter((n) => fromX.has(n.id) && toY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => dependsOnX.has(t.id))) }));
}

/**
 * The value of the scalar `f()` and its gradients with respect to `xs` (variables or plain
 * tensors), like `tf.valueAndGrads((...xs) => f(...xs))(xs)`; the caller owns the results.
 */
export function valueAndGradsLean(f: (...xs: tf.Tensor[]) => tf.Scalar, xs: readonly tf.Tensor[]): { value: tf.Scalar; grads: tf.Tensor[] } {
  const engine = engineInternals();
  if (!leanGradientsSupported() || engine.state.gradientDepth > 0) return tf.valueAndGrads(f)([...xs]);
  return leanPass(engine, f, xs, false) as { value: tf.Scalar; grads: tf.Tensor[] };
}

/**
 * `tf.variableGrads` the lean way: the value of `f()` and the gradient of each variable it
 * depends on, by variable name (variables it does not use are left out, as tfjs does).
 */
export function variableGradsLean(f: () => tf.Scalar, variables: readonly tf.Variable[]): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const engine = engineInternals();
  if (!leanGradientsSupported() || engine.state.gradientDepth > 0) return tf.variableGrads(f, [...variables]);
  const { value, grads } = leanPass(engine, () => f(), variables, true);
  const named: Record<string, tf.Tensor> = {};
  variables.forEach((v, i) => {
    const g = grads[i];
    if (g) named[v.name] = g;
  });
  return { value, grads: named };
}

function leanPass(engine: EngineInternals, f: (...xs: tf.Tensor[]) => tf.Scalar, xs: readonly tf.Tensor[], allowMissing: boolean): { value: tf.Scalar; grads: (tf.Tensor | null)[] } {
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', () => f(...xs)),
  );
  if (!(y instanceof tf.Tensor) || y.rank !== 0) throw new Error(`valueAndGradsLean: f must return a scalar tensor, got shape [${(y as tf.Tensor)?.shape}]`);
  const tape = engine.state.activeTape ?? [];
  const path = nodesFromXsToY(tape, xs, y);
  if (path.length === 0) throw new Error('valueAndGradsLean: f does not depend on any of xs (no path from them to its value)');

  const keepIds = new Set(xs.map((x) => x.id));
  return engine.tidy('backward', () => {
    const gradOf = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
    for (let i = path.length - 1; i >= 0; i--) {
      const node = path[i];
      if (!node.gradient) throw new Error(`Cannot compute gradient: no gradient function for ${node.kernelName}`);
      const dys = node.outputs.map((o) => gradOf.get(o.id) ?? null);
      // One tidy around the whole gradient: a custom op (tf.customGrad) computes all its input
      // gradients when node.gradient is called, not in the closures, and its intermediates
      // must go with the rest.
      const names = Object.keys(node.inputs);
      const dxs = tf.tidy(() => {
        const inputGrads = node.gradient!(dys);
        return names.map((name) => {
          const gradFn = inputGrads[name];
          if (!gradFn) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}`);
          return gradFn();
        });
      });
      names.forEach((name, k) => {
        const x = node.inputs[name];
        const dx = dxs[k];
        const before = gradOf.get(x.id);
        if (before === undefined) gradOf.set(x.id, dx);
        else {
          gradOf.set(x.id, tf.add(before, dx));
          before.dispose();
          dx.dispose();
        }
      });
      // What only this op needed: its outputs' gradients (unless a gradient function passed
      // one on as an input's gradient) and its saved forward tensors.
      for (const o of node.outputs) {
        const g = gradOf.get(o.id);
        if (g === undefined || keepIds.has(o.id)) continue;
        gradOf.delete(o.id);
        if (![...gradOf.values()].includes(g)) g.dispose();
      }
      if (node.saved) tf.dispose(node.saved);
    }
    const grads = xs.map((x) => {
      const g = gradOf.get(x.id);
      if (g === undefined && !allowMissing) throw new Error('valueAndGradsLean: one of xs has no gradient (f does not depend on it)');
      return g ?? null;
    });
    for (const node of tape) if (node.saved) tf.dispose(node.saved);
    engine.state.activeTape = null;
    return { value: y, grads };
  });
}
