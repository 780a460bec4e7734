// perennial's BatchMatMul and _FusedMatMul kernels against the stock tfjs-wasm kernels: every
// transpose combination, batch > 1, broadcast batch dims, every fused activation, and a small
// model trained with each giving the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf, setBatchMatMulMode, batchMatMulMode, withBatchMatMulMode, type BatchMatMulMode } from '../../src/core/tensor.js';
import { batchMatMulKernel } from '../../src/core/kernels/batchMatMul.js';
import { fusedMatMulKernel } from '../../src/core/kernels/fusedMatMul.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { Rng } from '../../src/core/rng.js';

const modes: BatchMatMulMode[] = nativeAddon() ? ['wasm', 'addon'] : ['wasm'];

function randT(shape: number[], rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillNormal(new Float32Array(size)), shape, 'float32');
}

const withMode = withBatchMatMulMode;

function maxDiff(x: tf.Tensor, y: tf.Tensor): number {
  assert.deepEqual(x.shape, y.shape);
  const a = x.dataSync(), b = y.dataSync();
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Plain JS reference for one product of op(A) (m x k) and op(B) (k x n) stored row-major. */
function refMatMul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
    out[i * n + j] = s;
  }
  return out;
}

test('initTf installs perennial\'s BatchMatMul on the wasm backend', async () => {
  assert.equal(await initTf(), 'wasm');
  assert.equal(tf.getKernel('BatchMatMul', 'wasm'), batchMatMulKernel);
  assert.equal(batchMatMulMode(), nativeAddon() ? 'addon' : 'wasm');
  assert.throws(() => setBatchMatMulMode('gpu' as BatchMatMulMode), /unknown mode/);
});

test('BatchMatMul matches the stock kernel for all transposes, batch > 1 and one-sided broadcasting', async () => {
  await initTf();
  const rng = new Rng(21);
  const m = 7, k = 33, n = 12;
  const cases: [number[], number[]][] = [[[], []], [[4], [4]], [[1], [4]], [[3], [1]], [[2, 3], [2, 3]]];
  for (const [outerA, outerB] of cases) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = randT([...outerA, ...(ta ? [k, m] : [m, k])], rng);
      const b = randT([...outerB, ...(tb ? [n, k] : [k, n])], rng);
      const want = withMode('stock', () => tf.matMul(a, b, ta, tb));
      for (const mode of modes) {
        const got = withMode(mode, () => tf.matMul(a, b, ta, tb));
        const d = maxDiff(got, want);
        assert.ok(d < 1e-4, `${mode} [${a.shape}] x [${b.shape}] trans ${ta},${tb}: ${d}`);
        got.dispose();
      }
      tf.dispose([a, b, want]);
    }
  }
});

test('BatchMatMul broadcasts batch dims both ways ([2,1] against [1,3]) like a per-batch loop', async () => {
  await initTf();
  const rng = new Rng(22);
  const m = 5, k = 6, n = 4;
  for (const [ta, tb] of [[false, false], [true, true], [true, false]] as const) {
    const a = randT([2, 1, ...(ta ? [k, m] : [m, k])], rng);
    const b = randT([1, 3, ...(tb ? [n, k] : [k, n])], rng);
    const ad = a.dataSync() as Float32Array, bd = b.dataSync() as Float32Array;
    for (const mode of modes) {
      const got = withMode(mode, () => tf.matMul(a, b, ta, tb));
      assert.deepEqual(got.shape, [2, 3, m, n]);
      const gd = got.dataSync();
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
        const want = refMatMul(ad.subarray(i * m * k, (i + 1) * m * k), bd.subarray(j * k * n, (j + 1) * k * n), m, k, n, ta, tb);
        const off = (i * 3 + j) * m * n;
        for (let q = 0; q < m * n; q++) assert.ok(Math.abs(gd[off + q]! - want[q]!) < 1e-4, `${mode} batch (${i},${j})`);
      }
      got.dispose();
    }
    tf.dispose([a, b]);
  }
});

function unfused(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, bias: tf.Tensor, activation: string, prelu?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(tf.matMul(a, b, ta, tb), bias);
    switch (activation) {
      case 'relu': return tf.relu(z);
      case 'relu6': return tf.clipByValue(z, 0, 6);
      case 'sigmoid': return tf.sigmoid(z);
      case 'elu': return tf.elu(z);
      case 'leakyrelu': return tf.leakyRelu(z, 0.1);
      case 'prelu': return tf.prelu(z, prelu!);
      default: return z;
    }
  });
}

// The reference is the unfused composition under the stock kernels. The stock fused kernel itself
// is compared only where it is right: in 4.22 it mishandles the bias when an operand is transposed
// or there are batch dims (perennial's kernel has no such restriction).
test('_FusedMatMul (bias + activation) matches the unfused ops for every activation and transpose', async () => {
  await initTf();
  assert.equal(tf.getKernel('_FusedMatMul', 'wasm'), fusedMatMulKernel);
  const rng = new Rng(24);
  const m = 6, k = 9, n = 5;
  const acts = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu', 'prelu'] as const;
  for (const activation of acts) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const batch of [[], [3]]) {
        const a = randT([...batch, ...(ta ? [k, m] : [m, k])], rng).mul(3);
        const b = randT([...batch, ...(tb ? [n, k] : [k, n])], rng);
        const bias = randT([n], rng);
        const preluActivationWeights = activation === 'prelu' ? randT([n], rng).mul(0.5) : undefined;
        const args = { a, b, transposeA: ta, transposeB: tb, bias, activation, preluActivationWeights, leakyreluAlpha: 0.1 };
        const want = withMode('stock', () => unfused(a, b, ta, tb, bias, activation, preluActivationWeights));
        if (batch.length === 0 && !ta && !tb) {
          const stockFused = withMode('stock', () => tf.fused.matMul(args));
          assert.ok(maxDiff(stockFused, want) < 1e-4, `stock fused ${activation}`);
          stockFused.dispose();
        }
        for (const mode of modes) {
          const got = withMode(mode, () => tf.fused.matMul(args));
          const d = maxDiff(got, want);
          assert.ok(d < 1e-4, `${mode} ${activation} trans ${ta},${tb} batch [${batch}]: ${d}`);
          got.dispose();
        }
        tf.dispose([a, b, bias, want, ...(preluActivationWeights ? [preluActivationWeights] : [])]);
      }
    }
  }
  // A one-element bias broadcasts to every column.
  const a = randT([4, 3], rng), b = randT([3, 2], rng), bias = randT([1], rng);
  const want = withMode('stock', () => unfused(a, b, false, false, bias, 'relu'));
  for (const mode of modes) assert.ok(maxDiff(withMode(mode, () => tf.fused.matMul({ a, b, bias, activation: 'relu' })), want) < 1e-5);
});

test('BatchMatMul rejects mismatched inner dimensions with both shapes in the message', async () => {
  await initTf();
  const a = tf.zeros([2, 3]), b = tf.zeros([4, 5]);
  for (const mode of modes) assert.throws(() => withMode(mode, () => tf.matMul(a, b)), /inner/);
  tf.dispose([a, b]);
});

test('a small MLP trains to the same weights with the stock kernel and with ours', async () => {
  await initTf();
  const rng = new Rng(23);
  const x = randT([64, 20], rng);
  const labels = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 64 }, () => rng.int(3)), 'int32'), 3);
  const init = [randT([20, 16], rng).mul(0.3), tf.zeros([16]), randT([16, 3], rng).mul(0.3), tf.zeros([3])];

  async function train(mode: BatchMatMulMode): Promise<Float32Array[]> {
    return withModeAsync(mode, async () => {
      const model = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [20], units: 16, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
      });
      model.setWeights(init.map((t) => t.clone()));
      model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
      for (let step = 0; step < 8; step++) await model.trainOnBatch(x, labels);
      const w = model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
      model.dispose();
      return w;
    });
  }
  const ref = await train('stock');
  for (const mode of modes) {
    const got = await train(mode);
    let d = 0, moved = 0;
    got.forEach((w, i) => w.forEach((v, j) => {
      d = Math.max(d, Math.abs(v - ref[i]![j]!));
      moved = Math.max(moved, Math.abs(v - (init[i]!.dataSync()[j] ?? 0)));
    }));
    assert.ok(moved > 1e-2, 'training changed the weights');
    assert.ok(d < 1e-4, `${mode}: weights differ from the stock kernel's by ${d}`);
  }
  tf.dispose([x, labels, ...init]);
});

async function withModeAsync<T>(m: BatchMatMulMode, fn: () => Promise<T>): Promise<T> {
  const before = batchMatMulMode();
  setBatchMatMulMode(m);
  try {
    return await fn();
  } finally {
    setBatchMatMulMode(before);
  }
}
