// Co2L's network: encoder (conv-BN-ReLU blocks or an MLP, then a linear + ReLU feature layer) and
// projector (linear-ReLU-linear, l2-normalised), with PyTorch's default initialisation.
import { tf } from '../../core/tensor.js';
import { batchNormReluEval, batchNormReluTrain } from '../../core/bn.js';
import { InputError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import type { Dataset } from '../../core/data/dataset.js';
import { conv3x3Trainable } from '../backbones/cnn.js';
import { cloneParams, constInit, countParams, disposeParams, getParam, linear, variable, type Params } from '../../core/nn.js';
import type { Co2lOptions } from '../methods/co2l.js';

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

/** PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
function uniformInit(rng: Rng, n: number, fanIn: number): Float32Array {
  const b = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-b, b);
  return out;
}

/** Encoder (conv-BN-ReLU blocks, GAP, linear + ReLU) and projector (linear-ReLU-linear, l2-normalised). */
export class Co2lNet {
  readonly params: Params;
  private pending: { name: string; mean: tf.Tensor; variance: tf.Tensor }[] = [];

  constructor(readonly shape: readonly [number, number, number], readonly opts: Co2lOptions, rng: Rng | null, params?: Params) {
    if (params) { this.params = params; return; }
    if (!rng) throw new InputError('Co2lNet needs an Rng or parameters');
    this.params = new Map();
    const lin = (name: string, out: number, inp: number): void => {
      this.params.set(`${name}.weight`, variable(`${name}.weight`, [out, inp], uniformInit(rng.split(`${name}.w`), out * inp, inp)));
      this.params.set(`${name}.bias`, variable(`${name}.bias`, [out], uniformInit(rng.split(`${name}.b`), out, inp)));
    };
    let cin = shape[2];
    if (opts.encoder === 'mlp') {
      cin = shape[0] * shape[1] * shape[2];
      opts.mlpHidden.forEach((hdim, i) => { lin(`enc.mlp.${i}`, hdim, cin); cin = hdim; });
    } else opts.channels.forEach((cout, i) => {
      const n = `enc.${i}`;
      this.params.set(`${n}.conv.weight`, variable(`${n}.conv.weight`, [3, 3, cin, cout], uniformInit(rng.split(n), 9 * cin * cout, 9 * cin)));
      this.params.set(`${n}.bn.weight`, variable(`${n}.bn.weight`, [cout], constInit(cout, 1)));
      this.params.set(`${n}.bn.bias`, variable(`${n}.bn.bias`, [cout], constInit(cout, 0)));
      this.params.set(`${n}.bn.running_mean`, variable(`${n}.bn.running_mean`, [cout], constInit(cout, 0), false));
      this.params.set(`${n}.bn.running_var`, variable(`${n}.bn.running_var`, [cout], constInit(cout, 1), false));
      cin = cout;
    });
    lin('enc.fc', opts.featureDim, cin);
    lin('head.0', opts.projHidden, opts.featureDim);
    lin('head.2', opts.projDim, opts.projHidden);
  }

  trainable(): tf.Variable[] {
    return [...this.params].filter(([k]) => !k.includes('running_')).map(([, v]) => v);
  }

  numParams(): number { return countParams(new Map([...this.params].filter(([k]) => !k.includes('running_')))); }

  /** 128-D features (training: batch statistics, recorded for commitBatchStats). */
  features(x2: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const [h, w, c] = this.shape;
    return tf.tidy(() => {
      if (this.opts.encoder === 'mlp') {
        let a: tf.Tensor = x2;
        this.opts.mlpHidden.forEach((_h, i) => { a = tf.relu(linear(a, getParam(this.params, `enc.mlp.${i}.weight`), getParam(this.params, `enc.mlp.${i}.bias`))); });
        return tf.relu(linear(a, getParam(this.params, 'enc.fc.weight'), getParam(this.params, 'enc.fc.bias'))) as tf.Tensor2D;
      }
      let x = x2.reshape([-1, h, w, c]) as tf.Tensor4D;
      this.opts.channels.forEach((_c, i) => {
        const n = `enc.${i}`;
        const wt = getParam(this.params, `${n}.conv.weight`) as unknown as tf.Tensor4D;
        // The teacher and evaluation also use perennial's convolution (kernelGrad off: nothing is taped there).
        x = conv3x3Trainable(x, wt, 2, training);
        // Batch norm + ReLU as one fused kernel (core/bn): same values as the composed ops up to rounding.
        const gamma = getParam(this.params, `${n}.bn.weight`), beta = getParam(this.params, `${n}.bn.bias`);
        if (training) {
          const r = batchNormReluTrain(x, gamma, beta, BN_EPS);
          const count = x.shape[0] * x.shape[1] * x.shape[2];
          this.pending.push({ name: n, mean: tf.keep(r.mean), variance: tf.keep(r.variance.mul(count / Math.max(1, count - 1))) });
          x = r.y;
        } else x = batchNormReluEval(x, gamma, beta, getParam(this.params, `${n}.bn.running_mean`), getParam(this.params, `${n}.bn.running_var`), BN_EPS);
      });
      const g = tf.mean(x, [1, 2]);
      return tf.relu(linear(g, getParam(this.params, 'enc.fc.weight'), getParam(this.params, 'enc.fc.bias'))) as tf.Tensor2D;
    });
  }

  /** l2-normalised projection of the features. */
  project(f: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.relu(linear(f, getParam(this.params, 'head.0.weight'), getParam(this.params, 'head.0.bias')));
      const z = linear(h, getParam(this.params, 'head.2.weight'), getParam(this.params, 'head.2.bias'));
      return z.div(tf.norm(z, 2, 1, true).maximum(1e-12)) as tf.Tensor2D;
    });
  }

  commitBatchStats(): void {
    for (const { name, mean, variance } of this.pending) {
      tf.tidy(() => {
        const rm = getParam(this.params, `${name}.bn.running_mean`), rv = getParam(this.params, `${name}.bn.running_var`);
        rm.assign(rm.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)));
        rv.assign(rv.mul(1 - BN_MOMENTUM).add(variance.mul(BN_MOMENTUM)));
      });
      mean.dispose();
      variance.dispose();
    }
    this.pending = [];
  }

  discardBatchStats(): void {
    for (const p of this.pending) { p.mean.dispose(); p.variance.dispose(); }
    this.pending = [];
  }

  clone(): Co2lNet { return new Co2lNet(this.shape, this.opts, null, cloneParams(this.params)); }

  /** All parameter values concatenated (tests compare runs bit for bit). */
  snapshot(): Float32Array {
    const parts = [...this.params.values()].map((v) => v.dataSync() as Float32Array);
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  dispose(): void { this.discardBatchStats(); disposeParams(this.params); }
}

/** Features of all rows, eval mode, in chunks. */
export function extractCo2lFeatures(net: Co2lNet, ds: Dataset, chunk = 1000): Float32Array {
  const out = new Float32Array(ds.n * net.opts.featureDim);
  for (let s = 0; s < ds.n; s += chunk) {
    const e = Math.min(ds.n, s + chunk);
    const f = tf.tidy(() => net.features(tf.tensor2d(ds.x.subarray(s * ds.d, e * ds.d), [e - s, ds.d]), false));
    out.set(f.dataSync() as Float32Array, s * net.opts.featureDim);
    f.dispose();
  }
  return out;
}
