// Training off the wasm backend (WebGPU: `--tf-backend webgpu`). perennial's kernels are registered
// for wasm only; on any other backend core's ops take their composed tfjs forms. No WebGPU adapter
// can be had without a GPU, so those forms run here on tfjs's cpu backend, which takes the same
// paths, against the wasm kernels: op by op (values and every gradient), then whole continual runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { conv2d } from '../../src/core/conv.js';
import { batchNormReluEval, batchNormReluEvalSsf, batchNormReluTrain } from '../../src/core/bn.js';
import { cosineLogits, softmaxCrossEntropy } from '../../src/core/nn.js';
import { Rng } from '../../src/core/rng.js';
import { imagePatterns } from '../../src/core/data/synthetic.js';
import { co2lOptions, runCo2l } from '../../src/continual/methods/co2l.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil } from '../../src/continual/trainer.js';

await initTf();

/** f's outputs (arrays) on `backend`, inputs made there from plain arrays. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return tf.tidy(f).map((t) => { const v = t.dataSync() as Float32Array; t.dispose(); return Float32Array.from(v); });
  } finally {
    await tf.setBackend(before);
  }
}

function close(a: Float32Array[], b: Float32Array[], label: string, rel = 1e-5): void {
  assert.equal(a.length, b.length, label);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length, `${label} output ${i}`);
    let scale = 0, diff = 0;
    for (let j = 0; j < x.length; j++) { scale = Math.max(scale, Math.abs(y[j]!)); diff = Math.max(diff, Math.abs(x[j]! - y[j]!)); }
    assert.ok(x.every(Number.isFinite), `${label} output ${i}: not finite`);
    assert.ok(diff <= rel * Math.max(scale, 1e-6), `${label} output ${i}: differs by ${diff} (largest ${scale})`);
  });
}

const both = async (f: () => tf.Tensor[], label: string, rel?: number): Promise<void> => {
  const wasm = await on('wasm', f), cpu = await on('cpu', f);
  close(cpu, wasm, label, rel);
};

const rng = new Rng(3, 'any-backend');
const normal = (n: number, s = 1): Float32Array => rng.fillNormal(new Float32Array(n), s);

test('conv2d off wasm: values and both gradients equal the wasm kernels, frozen kernels get none', async () => {
  for (const c of [
    { n: 2, h: 6, w: 6, cin: 3, cout: 4, k: 3, stride: 1, pad: 1 },
    { n: 2, h: 7, w: 5, cin: 24, cout: 4, k: 3, stride: 2, pad: 1 },
    { n: 1, h: 5, w: 6, cin: 3, cout: 2, k: 5, stride: 2, pad: 2 },
    { n: 2, h: 4, w: 3, cin: 5, cout: 3, k: 1, stride: 1, pad: 0 },
  ]) {
    const x = normal(c.n * c.h * c.w * c.cin), w = normal(c.k * c.k * c.cin * c.cout, 0.3);
    for (const kernelGrad of [true, false]) {
      const f = (): tf.Tensor[] => {
        const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
        const conv = (a: tf.Tensor, b: tf.Tensor): tf.Tensor4D => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride, pad: c.pad, kernelGrad });
        const y = conv(xt, wt);
        const up = tf.sin(tf.range(0, y.size).reshape(y.shape));
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).mul(up).sum())([xt, wt]);
        return [y, gx!, gw!];
      };
      const label = `conv ${JSON.stringify(c)} kernelGrad ${kernelGrad}`;
      await both(f, label);
      if (!kernelGrad) assert.ok((await on('cpu', f))[2]!.every((v) => v === 0), `${label}: frozen kernel gradient`);
    }
  }
});

test('batch norm + ReLU (training, evaluation, SSF) off wasm: values and gradients equal the wasm kernels', async () => {
  const shape = [3, 5, 4, 6], C = 6, n = 3 * 5 * 4 * 6;
  const x = normal(n), g = normal(C, 0.5), b = normal(C, 0.5), m = normal(C, 0.2), v = Float32Array.from(normal(C), (q) => 0.5 + q * q), s = normal(C), t = normal(C);
  const up = normal(n);
  await both(() => {
    const xt = tf.tensor(x, shape), gt = tf.tensor1d(g), bt = tf.tensor1d(b), u = tf.tensor(up, shape);
    const r = batchNormReluTrain(xt, gt, bt, 1e-5);
    const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => batchNormReluTrain(a, c, d, 1e-5).y.mul(u).sum())([xt, gt, bt]);
    return [r.y, r.mean, r.variance, ...grads];
  }, 'batchNormReluTrain', 2e-5);
  await both(() => {
    const xt = tf.tensor(x, shape), gt = tf.tensor1d(g), bt = tf.tensor1d(b), u = tf.tensor(up, shape);
    const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor => batchNormReluEval(a, c, d, tf.tensor1d(m), tf.tensor1d(v), 1e-5);
    return [f(xt, gt, bt), ...tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => f(a, c, d).mul(u).sum())([xt, gt, bt])];
  }, 'batchNormReluEval');
  await both(() => {
    const xt = tf.tensor(x, shape), st = tf.tensor1d(s), tt = tf.tensor1d(t), u = tf.tensor(up, shape);
    const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor => batchNormReluEvalSsf(a, tf.tensor1d(g), tf.tensor1d(b), tf.tensor1d(m), tf.tensor1d(v), c, d, 1e-5);
    return [f(xt, st, tt), ...tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => f(a, c, d).mul(u).sum())([xt, st, tt])];
  }, 'batchNormReluEvalSsf');
});

test('cosine head and softmax cross-entropy off wasm: values and gradients equal the wasm kernels', async () => {
  const f = normal(7 * 9), w = normal(5 * 9), y = [0, 2, 1, 1, 0, 2, 1];
  await both(() => {
    const ft = tf.tensor2d(f, [7, 9]), wt = tf.tensor2d(w, [5, 9]), sc = tf.scalar(4.0), lab = tf.oneHot(tf.tensor1d(y, 'int32'), 3).cast('float32');
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Scalar => softmaxCrossEntropy(lab, cosineLogits(a, b, c, 3));
    return [cosineLogits(ft, wt, sc, 3), loss(ft, wt, sc), ...tf.grads(loss)([ft, wt, sc])];
  }, 'cosine + cross-entropy');
});

test('whole continual runs off wasm: Co2L and SimpleCIL / RanPAC / SAFE reach the wasm runs\' accuracies', { timeout: 240_000 }, async () => {
  const co2l = async (): Promise<number[]> => {
    const r0 = new Rng(11, 'co2l-test');
    const train = imagePatterns({ classes: 6, perClass: 34, size: 12, noise: 0.1 }, r0, 'train'), te = imagePatterns({ classes: 6, perClass: 15, size: 12, noise: 0.1 }, r0, 'test');
    const options = co2lOptions({ channels: [4, 8], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 2, epochsLater: 1, bufferSize: 12, probeEpochs: 8, probeLr: 1e-2, lr: 1e-2 });
    const r = await runCo2l({ train, test: te, dataset: 'patterns', split: 'B2Inc2', seeds: [1], methods: ['co2l', 'cila'], options, perClassTrain: 24, perClassVal: 10, numClasses: 6 });
    return r.runs.map((x) => x.last_acc);
  };
  const cil = async (): Promise<number[]> => {
    const mini = loadMiniature('synthetic', { quick: true });
    const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 2 } });
    const r = await runCil(mini, backbone, {
      split: 'B4Inc4', seeds: [1], methods: ['simplecil', 'ranpac', 'safe'],
      methodOptions: { ranpac: { projections: { ranpac: 96 }, train: { epochs: 1 } }, safe: { M: 96, trainFirst: { epochs: 1 }, trainLater: { epochs: 1 } } },
    });
    return r.runs.map((x) => x.last_acc);
  };
  const run = async (backend: string): Promise<number[]> => {
    await tf.setBackend(backend);
    try { return [...await co2l(), ...await cil()]; } finally { await tf.setBackend('wasm'); }
  };
  const wasm = await run('wasm'), cpu = await run('cpu');
  assert.equal(cpu.length, wasm.length);
  // Float32 rounding differs between the paths, so a test sample may change sides; 3 points is about
  // two samples of the smaller test sets, far below what a wrong gradient or statistic costs.
  cpu.forEach((a, i) => assert.ok(Number.isFinite(a) && Math.abs(a - wasm[i]!) <= 3, `run ${i}: ${a} off wasm against ${wasm[i]} on wasm`));
});
