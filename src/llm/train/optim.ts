// AdamW (decoupled weight decay, Loshchilov & Hutter; PyTorch's torch.optim.AdamW update),
// global gradient-norm clipping, and a linear warm-up followed by a cosine decay. The moments
// live in plain variables so a checkpoint can save and restore them exactly.
import { tf } from '../../core/tensor.js';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** Learning rate at `step` (0-based): linear warm-up to `lr`, then cosine down to lr x minRatio at `total`. */
export function lrAt(step: number, total: number, lr: number, warmup: number, minRatio: number): number {
  if (warmup > 0 && step < warmup) return (lr * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, (step - warmup) / span);
  return lr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The global L2 norm of the gradients, and the factor (<= 1) that brings it to `maxNorm` (0: no clipping). */
export function clipFactor(grads: ReadonlyMap<tf.Variable, tf.Tensor>, maxNorm: number): { norm: number; factor: number } {
  const sq = tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())));
  const norm = Math.sqrt(sq.dataSync()[0]);
  sq.dispose();
  return { norm, factor: maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1 };
}

export class AdamW {
  readonly m = new Map<tf.Variable, tf.Variable>();
  readonly v = new Map<tf.Variable, tf.Variable>();
  /** Updates taken so far (the bias correction's t). */
  t = 0;
  constructor(readonly opts: AdamWOptions, private readonly decays: (v: tf.Variable) => boolean) {}

  private moment(store: Map<tf.Variable, tf.Variable>, v: tf.Variable): tf.Variable {
    let s = store.get(v);
    if (!s) {
      const z = tf.zerosLike(v);
      s = tf.variable(z, false);
      z.dispose();
      store.set(v, s);
    }
    return s;
  }

  /** The two moments of `v` (created as zeros on first use): checkpoints read and restore them. */
  state(v: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    return { m: this.moment(this.m, v), v: this.moment(this.v, v) };
  }

  /** One update with gradients scaled by `gradScale` (the clipping factor). */
  step(grads: ReadonlyMap<tf.Variable, tf.Tensor>, lr: number, gradScale = 1): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.opts;
    const c1 = 1 - Math.pow(b1, this.t), c2 = 1 - Math.pow(b2, this.t);
    tf.tidy(() => {
      for (const [v, g0] of grads) {
        const g = gradScale === 1 ? g0 : g0.mul(gradScale);
        const m = this.moment(this.m, v), s = this.moment(this.v, v);
        m.assign(m.mul(b1).add(g.mul(1 - b1)));
        s.assign(s.mul(b2).add(g.square().mul(1 - b2)));
        const update = m.div(c1).div(s.div(c2).sqrt().add(eps)).mul(lr);
        const decayed = weightDecay > 0 && this.decays(v) ? v.mul(1 - lr * weightDecay) : v;
        v.assign(decayed.sub(update));
      }
    });
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
