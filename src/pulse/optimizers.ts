/**
 * The four optimisers of the official code with PyTorch's exact update rules
 * (torch.optim.Adam, Adamax, SGD, SGD with momentum 0.9; no weight decay), written out
 * so that every constant is PyTorch's (tfjs's own optimisers use other epsilons and
 * bias corrections).
 */
import * as tf from '@tensorflow/tfjs-core';

export const OPTIMIZER_NAMES = ['adam', 'sgd', 'sgdm', 'adamax'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface Optimizer {
  /** Returns the updated parameters; the caller owns (and disposes) the old ones. */
  step(params: readonly tf.Tensor[], grads: readonly tf.Tensor[], lr: number): tf.Tensor[];
  /** Step count and moment buffers, for checkpoints (tensors are copies the caller owns). */
  exportState(): OptimizerState;
  /** Restores what exportState() returned (takes ownership of the tensors). */
  importState(state: OptimizerState): void;
  dispose(): void;
}

export interface OptimizerState {
  readonly t: number;
  /** Named slot lists (e.g. m, v), one entry per parameter (null before its first step). */
  readonly slots: Record<string, (tf.Tensor | null)[]>;
}

/** Adam-family constants; PyTorch's defaults. StyleGAN training uses beta1 0, beta2 0.99. */
export interface AdamSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

export const PYTORCH_ADAM: AdamSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

function exportSlots(t: number, named: Record<string, tf.Tensor[]>): OptimizerState {
  const slots: Record<string, (tf.Tensor | null)[]> = {};
  for (const [k, list] of Object.entries(named)) slots[k] = Array.from(list, (x) => (x ? tf.clone(x) : null));
  return { t, slots };
}

function importSlots(state: OptimizerState, named: Record<string, tf.Tensor[]>): void {
  for (const [k, list] of Object.entries(named)) {
    tf.dispose(list.filter(Boolean));
    list.length = 0;
    (state.slots[k] ?? []).forEach((x, i) => {
      if (x) list[i] = tf.keep(x);
    });
  }
}

/** Replaces slot tensors, disposing the old ones. */
function swap(slots: tf.Tensor[], i: number, next: tf.Tensor): void {
  const old = slots[i];
  slots[i] = tf.keep(next);
  if (old) old.dispose();
}

class Adam implements Optimizer {
  private t = 0;
  private readonly m: tf.Tensor[] = [];
  private readonly v: tf.Tensor[] = [];
  constructor(private readonly c: AdamSettings) {}
  exportState(): OptimizerState {
    return exportSlots(this.t, { m: this.m, v: this.v });
  }
  importState(state: OptimizerState): void {
    this.t = state.t;
    importSlots(state, { m: this.m, v: this.v });
  }
  step(params: readonly tf.Tensor[], grads: readonly tf.Tensor[], lr: number): tf.Tensor[] {
    const { beta1: BETA1, beta2: BETA2, eps: EPS } = this.c;
    this.t += 1;
    const bc1 = 1 - BETA1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - BETA2 ** this.t);
    const stepSize = lr / bc1;
    return params.map((p, i) =>
      tf.tidy(() => {
        const g = grads[i];
        const m = this.m[i] ? tf.add(tf.mul(this.m[i], BETA1), tf.mul(g, 1 - BETA1)) : tf.mul(g, 1 - BETA1);
        const v = this.v[i] ? tf.add(tf.mul(this.v[i], BETA2), tf.mul(tf.square(g), 1 - BETA2)) : tf.mul(tf.square(g), 1 - BETA2);
        swap(this.m, i, m);
        swap(this.v, i, v);
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), EPS);
        return tf.sub(p, tf.mul(tf.div(m, denom), stepSize));
      }),
    );
  }
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

class Adamax implements Optimizer {
  private t = 0;
  private readonly m: tf.Tensor[] = [];
  private readonly u: tf.Tensor[] = [];
  constructor(private readonly c: AdamSettings) {}
  exportState(): OptimizerState {
    return exportSlots(this.t, { m: this.m, u: this.u });
  }
  importState(state: OptimizerState): void {
    this.t = state.t;
    importSlots(state, { m: this.m, u: this.u });
  }
  step(params: readonly tf.Tensor[], grads: readonly tf.Tensor[], lr: number): tf.Tensor[] {
    const { beta1: BETA1, beta2: BETA2, eps: EPS } = this.c;
    this.t += 1;
    const clr = lr / (1 - BETA1 ** this.t);
    return params.map((p, i) =>
      tf.tidy(() => {
        const g = grads[i];
        const m = this.m[i] ? tf.add(tf.mul(this.m[i], BETA1), tf.mul(g, 1 - BETA1)) : tf.mul(g, 1 - BETA1);
        const absEps = tf.add(tf.abs(g), EPS);
        const u = this.u[i] ? tf.maximum(tf.mul(this.u[i], BETA2), absEps) : absEps;
        swap(this.m, i, m);
        swap(this.u, i, u);
        return tf.sub(p, tf.mul(tf.div(m, u), clr));
      }),
    );
  }
  dispose(): void {
    tf.dispose([...this.m, ...this.u]);
  }
}

class Sgd implements Optimizer {
  private readonly buf: tf.Tensor[] = [];
  constructor(private readonly momentum: number) {}
  exportState(): OptimizerState {
    return exportSlots(0, { buf: this.buf });
  }
  importState(state: OptimizerState): void {
    importSlots(state, { buf: this.buf });
  }
  step(params: readonly tf.Tensor[], grads: readonly tf.Tensor[], lr: number): tf.Tensor[] {
    return params.map((p, i) =>
      tf.tidy(() => {
        let d = grads[i];
        if (this.momentum !== 0) {
          // PyTorch: the first buffer is the gradient itself (no dampening).
          d = this.buf[i] ? tf.add(tf.mul(this.buf[i], this.momentum), d) : tf.clone(d);
          swap(this.buf, i, d);
        }
        return tf.sub(p, tf.mul(d, lr));
      }),
    );
  }
  dispose(): void {
    tf.dispose(this.buf);
  }
}

/** `adam` settings apply to adam and adamax (default: PyTorch's). */
export function createOptimizer(name: OptimizerName, adam: AdamSettings = PYTORCH_ADAM): Optimizer {
  switch (name) {
    case 'adam':
      return new Adam(adam);
    case 'adamax':
      return new Adamax(adam);
    case 'sgd':
      return new Sgd(0);
    case 'sgdm':
      return new Sgd(0.9);
    default:
      throw new Error(`unknown optimizer "${String(name)}"; choose one of: ${OPTIMIZER_NAMES.join(', ')}`);
  }
}
