import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { OnnxBackbone, encodeOnnx, inputShapeOf, pickFeatureOutput, tinyCnnOnnx, writeOnnx, type TinyCnnWeights } from '../../src/continual/onnx.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-onnx-'));

/** Independent forward pass of the tiny CNN in plain TS (float64), NCHW. */
function referenceCnn(w: TinyCnnWeights, x: Float32Array, n: number, C: number, S: number, grid = false): Float64Array {
  const F = w.fcB.length;
  const out = new Float64Array(n * F);
  for (let s = 0; s < n; s++) {
    let act = Float64Array.from(x.subarray(s * C * S * S, (s + 1) * C * S * S));
    let ch = C, size = S;
    for (const conv of w.convs) {
      const o = Math.floor((size + 2 - 3) / 2) + 1;
      const next = new Float64Array(conv.out * o * o);
      for (let co = 0; co < conv.out; co++) for (let oy = 0; oy < o; oy++) for (let ox = 0; ox < o; ox++) {
        let acc = conv.b[co]!;
        for (let ci = 0; ci < ch; ci++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
          const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
          if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
          acc += conv.w[((co * ch + ci) * 3 + ky) * 3 + kx]! * act[(ci * size + iy) * size + ix]!;
        }
        next[(co * o + oy) * o + ox] = Math.max(0, acc);
      }
      act = next; ch = conv.out; size = o;
    }
    let pooled: Float64Array;
    if (!grid) {
      pooled = new Float64Array(ch);
      for (let c = 0; c < ch; c++) { let a = 0; for (let i = 0; i < size * size; i++) a += act[c * size * size + i]!; pooled[c] = a / (size * size); }
    } else {
      // 3x3 windows, stride 2, no padding; flattened in (channel, row, column) order.
      const g = Math.floor((size - 3) / 2) + 1;
      pooled = new Float64Array(ch * g * g);
      for (let c = 0; c < ch; c++) for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
        let a = 0;
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) a += act[(c * size + gy * 2 + ky) * size + gx * 2 + kx]!;
        pooled[(c * g + gy) * g + gx] = a / 9;
      }
    }
    const P = pooled.length;
    for (let f = 0; f < F; f++) {
      let a = w.fcB[f]!;
      for (let c = 0; c < P; c++) a += w.fcW[f * P + c]! * pooled[c]!;
      out[s * F + f] = Math.max(0, a);
    }
  }
  return out;
}

test('features of a project-written ONNX CNN match an independent TS forward pass', async () => {
  for (const C of [1, 3]) {
    const S = 12;
    const m = tinyCnnOnnx({ channels: C, size: S, widths: [4, 6], featureDim: 10, classes: 3 }, new Rng(7, `c${C}`));
    const p = join(dir, `cnn${C}.onnx`);
    writeOnnx(p, m.bytes);
    const b = await OnnxBackbone.load(p, { threads: 1 });
    try {
      assert.equal(b.outputName, 'features', 'found by name among features/logits');
      assert.deepEqual(b.input, { channels: C, height: S, width: S, layout: 'nchw' });
      assert.equal(b.featureDim, 10);
      const n = 5;
      const x = new Rng(3).fillNormal(new Float32Array(n * C * S * S));
      const got = await b.run(x, n);
      const want = referenceCnn(m.weights, x, n, C, S);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      assert.ok(maxErr < 1e-4, `max abs error ${maxErr}`);
      // Batching does not change the rows: one at a time gives the same features.
      for (let s = 0; s < n; s++) {
        const one = await b.run(x.slice(s * C * S * S, (s + 1) * C * S * S), 1);
        for (let j = 0; j < 10; j++) assert.ok(Math.abs(one[j]! - got[s * 10 + j]!) < 1e-5);
      }
    } finally { await b.dispose(); }
  }
});

test('grid pooling keeps coarse spatial layout and matches the TS reference', async () => {
  const m = tinyCnnOnnx({ channels: 1, size: 28, widths: [4, 6], featureDim: 12, pool: 'grid' }, new Rng(8));
  const p = join(dir, 'grid.onnx');
  writeOnnx(p, m.bytes);
  const b = await OnnxBackbone.load(p, { threads: 1 });
  const x = new Rng(9).fillNormal(new Float32Array(3 * 784));
  const got = await b.run(x, 3);
  const want = referenceCnn(m.weights, x, 3, 1, 28, true);
  assert.equal(m.weights.fcW.length, 12 * 6 * 3 * 3, '28 -> 14 -> 7 -> 3x3 grid of 6 channels');
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${i}: ${got[i]} vs ${want[i]}`);
  await b.dispose();
  assert.throws(() => tinyCnnOnnx({ size: 4, widths: [2, 2], pool: 'grid' }, new Rng(1)), /too small for grid pooling/);
});

test('the feature output can be given, and a missing one is named with the outputs listed', async () => {
  const m = tinyCnnOnnx({ channels: 1, size: 8, widths: [2], featureDim: 4, classes: 3 }, new Rng(1));
  const p = join(dir, 'two-out.onnx');
  writeOnnx(p, m.bytes);
  const b = await OnnxBackbone.load(p, { output: 'logits', threads: 1 });
  assert.equal(b.featureDim, 3);
  await b.dispose();
  await assert.rejects(OnnxBackbone.load(p, { output: 'penultimate' }), (e: unknown) => e instanceof InputError && e.message.includes('two-out.onnx') && e.message.includes('no output "penultimate"') && e.message.includes('features, logits'));
  assert.throws(() => pickFeatureOutput('m.onnx', ['a', 'b']), /m\.onnx: cannot tell which ONNX output holds the features \(outputs: a, b\); pass --output/);
  assert.equal(pickFeatureOutput('m.onnx', ['logits', 'pooled']), 'pooled');
});

test('unknown options, wrong channel counts, unreadable models and WebGPU absence give clear errors', async () => {
  const m = tinyCnnOnnx({ channels: 1, size: 8, widths: [2], featureDim: 4 }, new Rng(1));
  const p = join(dir, 'm.onnx');
  writeOnnx(p, m.bytes);
  await assert.rejects(OnnxBackbone.load(p, { thread: 2 } as never), /OnnxBackbone: unknown option "thread" .*known: output, threads, executionProvider, imageSize/);
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  await assert.rejects(OnnxBackbone.load(junk), (e: unknown) => e instanceof InputError && e.message.startsWith(`${junk}: onnxruntime cannot load the model`));
  await assert.rejects(OnnxBackbone.load(join(dir, 'absent.onnx')), /cannot read ONNX model .*absent\.onnx/);
  // A 2-channel model cannot take decoded images.
  const two = tinyCnnOnnx({ channels: 2, size: 8, widths: [2], featureDim: 4 }, new Rng(1));
  const p2 = join(dir, 'two.onnx');
  writeOnnx(p2, two.bytes);
  await assert.rejects(OnnxBackbone.load(p2), /two\.onnx: input image declares 2 channels/);
  // WebGPU: either it works, or the message says it is not available and how to go on.
  try {
    const b = await OnnxBackbone.load(p, { executionProvider: 'webgpu' });
    assert.equal(b.executionProvider, 'webgpu');
    await b.dispose();
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /WebGPU execution provider is not available on .*; use --ep cpu/);
  }
  const auto = await OnnxBackbone.load(p, { executionProvider: 'auto', threads: 1 });
  assert.ok(auto.executionProvider === 'cpu' || auto.executionProvider === 'webgpu');
  await auto.dispose();
});

test('a token output [N, T, D] gives its first (CLS) token; deeper outputs are refused', async () => {
  // Reshape of an NCHW image to [N, C, H*W]: "tokens" = channels, token 0 = channel 0.
  const g = (rank: number) => encodeOnnx({
    name: 'tok', inputs: [{ name: 'img', shape: ['N', 3, 4, 4] }], outputs: [{ name: 'last_hidden_state', shape: rank === 3 ? ['N', 3, 16] : ['N', 3, 4, 4] }],
    nodes: [{ op: 'Reshape', inputs: ['img', 'shape'], outputs: ['last_hidden_state'] }],
    initializers: [{ name: 'shape', dims: [rank], data: rank === 3 ? new BigInt64Array([0n, 3n, 16n]) : new BigInt64Array([0n, 3n, 4n, 4n]) }],
  });
  const p = join(dir, 'tok.onnx');
  writeOnnx(p, g(3));
  const b = await OnnxBackbone.load(p, { threads: 1 });
  assert.equal(b.featureDim, 16);
  assert.equal(b.reduce, 'token0');
  const x = new Rng(5).fillNormal(new Float32Array(2 * 48));
  const f = await b.run(x, 2);
  assert.deepEqual([...f], [...x.subarray(0, 16), ...x.subarray(48, 64)]);
  await b.dispose();
  const p4 = join(dir, 'deep.onnx');
  writeOnnx(p4, g(4));
  await assert.rejects(OnnxBackbone.load(p4), /deep\.onnx: output last_hidden_state has per-image shape \[3, 4, 4\]/);
});

test('input layouts: NCHW, NHWC and symbolic sizes', () => {
  const meta = (shape: (number | string)[]) => ({ name: 'x', isTensor: true as const, type: 'float32' as const, shape });
  assert.deepEqual(inputShapeOf('f', meta(['N', 3, 224, 224])), { channels: 3, height: 224, width: 224, layout: 'nchw' });
  assert.deepEqual(inputShapeOf('f', meta(['N', 32, 32, 1])), { channels: 1, height: 32, width: 32, layout: 'nhwc' });
  assert.deepEqual(inputShapeOf('f', meta(['N', 3, 'H', 'W']), 64), { channels: 3, height: 64, width: 64, layout: 'nchw' });
  assert.throws(() => inputShapeOf('f', meta(['N', 3, 'H', 'W'])), /symbolic size .* pass --image-size/);
  assert.throws(() => inputShapeOf('f', meta(['N', 10])), /must be a 4-D image tensor/);
});

test('the ONNX writer encodes a fixed batch dimension and attributes onnxruntime accepts', async () => {
  // Flatten + Gemm with a float attribute (alpha) checks the fixed32 path of the encoder.
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  const bytes = encodeOnnx({
    name: 'g', inputs: [{ name: 'img', shape: [2, 1, 1, 3] }], outputs: [{ name: 'feat', shape: [2, 2] }],
    nodes: [
      { op: 'Flatten', inputs: ['img'], outputs: ['f'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['f', 'w'], outputs: ['feat'], attrs: { transB: 1, alpha: { float: 0.5 } } },
    ],
    initializers: [{ name: 'w', dims: [2, 3], data: w }],
  });
  const p = join(dir, 'gemm.onnx');
  writeOnnx(p, bytes);
  const b = await OnnxBackbone.load(p, { threads: 1 });
  assert.equal(b.fixedBatch, 2);
  const out = await b.run(new Float32Array([1, 0, 0, 0, 1, 1]), 2);
  assert.deepEqual([...out], [0.5, 2, 2.5, 5.5]);
  // A short last batch is zero-padded to the fixed size and the padding dropped.
  assert.deepEqual([...(await b.run(new Float32Array([0, 1, 1]), 1))], [2.5, 5.5]);
  await assert.rejects(b.run(new Float32Array(9), 3), /takes batches of exactly 2; got 3 images \(use --batch-size 2\)/);
  await b.dispose();
});

test('the core SmallCnn exported to ONNX (batch norm folded) gives the tfjs forward pass', async () => {
  const { initTf, tf } = await import('../../src/core/tensor.js');
  const { SmallCnn } = await import('../../src/continual/backbones/cnn.js');
  const { smallCnnToOnnx } = await import('../../src/continual/onnx.js');
  await initTf();
  for (const C of [1, 3]) {
    const cnn = new SmallCnn({ imageSize: 8, inChannels: C, channels: [4, 6], strides: [1, 2] }, 3);
    // Non-trivial batch-norm statistics, so the folding is exercised.
    const r = new Rng(21, `bn${C}`);
    for (const [k, v] of cnn.params) {
      if (!k.includes('.bn.')) continue;
      const n = v.size;
      const vals = k.endsWith('running_var') ? Float32Array.from({ length: n }, () => 0.5 + r.next()) : r.fillNormal(new Float32Array(n), 0.5, k.endsWith('bn.weight') ? 1 : 0);
      v.assign(tf.tensor(vals, v.shape));
    }
    const p = join(dir, `smallcnn${C}.onnx`);
    writeOnnx(p, smallCnnToOnnx(cnn));
    const b = await OnnxBackbone.load(p, { threads: 1 });
    const n = 4, S = 8;
    const hwc = new Rng(22).fillNormal(new Float32Array(n * S * S * C));
    const chw = new Float32Array(hwc.length);
    for (let s = 0; s < n; s++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < C; c++) chw[s * S * S * C + (c * S + y) * S + x] = hwc[s * S * S * C + (y * S + x) * C + c]!;
    const got = await b.run(chw, n);
    const t = tf.tensor2d(hwc, [n, S * S * C]);
    const f = cnn.forward(t);
    const want = f.dataSync();
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    assert.ok(maxErr < 1e-4, `channels ${C}: max abs error ${maxErr}`);
    t.dispose(); f.dispose(); cnn.dispose(); await b.dispose();
  }
});
