// core/conv: the im2col + GEMM convolution against tf.conv2d (forward), a float64 direct-loop
// reference (both gradients), central finite differences, on both GEMM paths (OpenBLAS addon and
// the stock wasm kernel), stride 1 and 2, odd sizes, batch 1; im2col/col2im adjointness; frozen
// kernels; bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf, withBatchMatMulMode, type BatchMatMulMode } from '../../src/core/tensor.js';
import { conv2d, im2col, col2im, convGeometry, setConvMode } from '../../src/core/conv.js';
import { STOCK_FORWARD_MAX_K } from '../../src/core/kernels/conv2d.js';
import { InputError } from '../../src/core/errors.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { Rng } from '../../src/core/rng.js';

await initTf();
const modes: BatchMatMulMode[] = nativeAddon() ? ['wasm', 'addon'] : ['wasm'];

const withMode = withBatchMatMulMode;

interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number; stride: number; pad: number }
const CASES: Case[] = [
  { n: 2, h: 6, w: 6, cin: 3, cout: 4, k: 3, stride: 1, pad: 1 },
  { n: 1, h: 7, w: 5, cin: 2, cout: 3, k: 3, stride: 1, pad: 1 }, // batch 1, odd sizes
  { n: 3, h: 8, w: 8, cin: 4, cout: 5, k: 3, stride: 2, pad: 1 },
  { n: 1, h: 9, w: 7, cin: 1, cout: 6, k: 3, stride: 2, pad: 1 }, // odd sizes at stride 2, one input channel
  { n: 2, h: 5, w: 6, cin: 3, cout: 2, k: 5, stride: 2, pad: 2 },
  { n: 2, h: 4, w: 3, cin: 5, cout: 3, k: 1, stride: 1, pad: 0 },
  // More than STOCK_FORWARD_MAX_K values per patch: the forward pass goes through im2col + GEMM.
  { n: 2, h: 6, w: 5, cin: 24, cout: 4, k: 3, stride: 2, pad: 1 },
  { n: 1, h: 7, w: 7, cin: 22, cout: 3, k: 3, stride: 1, pad: 1 },
];

const label = (c: Case): string => `n${c.n} ${c.h}x${c.w}x${c.cin}->${c.cout} k${c.k} s${c.stride} p${c.pad}`;

/** Direct loops in float64: y, and for loss = sum(y * up) the gradients dx and dw. */
function reference(x: Float32Array, w: Float32Array, up: Float64Array | null, c: Case): { y: Float64Array; dx: Float64Array; dw: Float64Array; ho: number; wo: number } {
  const ho = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1, wo = Math.floor((c.w + 2 * c.pad - c.k) / c.stride) + 1;
  const y = new Float64Array(c.n * ho * wo * c.cout);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  for (let b = 0; b < c.n; b++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) for (let co = 0; co < c.cout; co++) {
    const yi = ((b * ho + oy) * wo + ox) * c.cout + co;
    let s = 0;
    for (let ky = 0; ky < c.k; ky++) for (let kx = 0; kx < c.k; kx++) {
      const iy = oy * c.stride + ky - c.pad, ix = ox * c.stride + kx - c.pad;
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
      for (let ci = 0; ci < c.cin; ci++) {
        const xi = ((b * c.h + iy) * c.w + ix) * c.cin + ci, wi = ((ky * c.k + kx) * c.cin + ci) * c.cout + co;
        s += x[xi]! * w[wi]!;
        if (up) { dx[xi] = dx[xi]! + up[yi]! * w[wi]!; dw[wi] = dw[wi]! + up[yi]! * x[xi]!; }
      }
    }
    y[yi] = s;
  }
  return { y, dx, dw, ho, wo };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function data(c: Case, rng: Rng): { x: Float32Array; w: Float32Array } {
  return {
    x: rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.cin)),
    // Fan-in scaled kernels (as initialisers do) keep outputs O(1), where 1e-5 is a few float32 ulps.
    w: rng.fillNormal(new Float32Array(c.k * c.k * c.cin * c.cout), 1 / Math.sqrt(c.k * c.k * c.cin)),
  };
}

for (const mode of modes) {
  test(`conv2d forward equals tf.conv2d to 1e-5 (${mode})`, () => withMode(mode, () => {
    const rng = new Rng(1, `fwd-${mode}`);
    assert.ok(CASES.some((c) => c.k * c.k * c.cin > STOCK_FORWARD_MAX_K) && CASES.some((c) => c.k * c.k * c.cin <= STOCK_FORWARD_MAX_K), 'both forward paths covered');
    for (const c of CASES) tf.tidy(() => {
      const { x, w } = data(c, rng);
      const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
      const ours = conv2d(xt, wt, { stride: c.stride, pad: c.pad });
      const theirs = tf.conv2d(tf.pad(xt, [[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]]), wt, c.stride, 'valid');
      assert.deepEqual(ours.shape, theirs.shape, label(c));
      assert.ok(maxAbs(ours.dataSync(), theirs.dataSync()) < 1e-5, `${label(c)}: ${maxAbs(ours.dataSync(), theirs.dataSync())}`);
      // And against the float64 loops.
      assert.ok(maxAbs(ours.dataSync(), reference(x, w, null, c).y) < 1e-5, `${label(c)} vs float64: ${maxAbs(ours.dataSync(), reference(x, w, null, c).y)}`);
    });
  }));

  test(`conv2d gradients equal the float64 reference and tf's input gradient (${mode})`, () => withMode(mode, () => {
    const rng = new Rng(2, `grad-${mode}`);
    for (const c of CASES) tf.tidy(() => {
      const { x, w } = data(c, rng);
      const ref0 = reference(x, w, null, c);
      const up32 = rng.fillNormal(new Float32Array(ref0.y.length));
      const ref = reference(x, w, Float64Array.from(up32), c);
      const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
      const upT = tf.tensor4d(up32, [c.n, ref.ho, ref.wo, c.cout]);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride, pad: c.pad }).mul(upT).sum())([xt, wt]);
      const scale = Math.max(1, ...Array.from(ref.dw, Math.abs));
      assert.ok(maxAbs(gx!.dataSync(), ref.dx) < 1e-4, `${label(c)} dx: ${maxAbs(gx!.dataSync(), ref.dx)}`);
      assert.ok(maxAbs(gw!.dataSync(), ref.dw) < 1e-5 * scale, `${label(c)} dw: ${maxAbs(gw!.dataSync(), ref.dw)}`);
      // tf's own input gradient (Conv2DBackpropInput exists on wasm; Conv2DBackpropFilter does not).
      const tfGx = tf.grad((a: tf.Tensor) => tf.conv2d(tf.pad(a as tf.Tensor4D, [[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]]), wt, c.stride, 'valid').mul(upT).sum())(xt);
      assert.ok(maxAbs(gx!.dataSync(), tfGx.dataSync()) < 1e-4, `${label(c)} dx vs tf: ${maxAbs(gx!.dataSync(), tfGx.dataSync())}`);
    });
  }));
}

test('conv2d gradients match central finite differences (stride 1 and 2)', () => {
  const rng = new Rng(3, 'fd');
  for (const c of [CASES[1]!, CASES[3]!]) tf.tidy(() => {
    const { x, w } = data(c, rng);
    const ho = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1, wo = Math.floor((c.w + 2 * c.pad - c.k) / c.stride) + 1;
    const up = rng.fillNormal(new Float32Array(c.n * ho * wo * c.cout));
    const upT = tf.tensor4d(up, [c.n, ho, wo, c.cout]);
    const loss = (xa: Float32Array, wa: Float32Array): number => tf.tidy(() =>
      conv2d(tf.tensor4d(xa, [c.n, c.h, c.w, c.cin]), tf.tensor4d(wa, [c.k, c.k, c.cin, c.cout]), { stride: c.stride, pad: c.pad }).mul(upT).sum().dataSync()[0]!);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride, pad: c.pad }).mul(upT).sum())(
      [tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), tf.tensor4d(w, [c.k, c.k, c.cin, c.cout])]);
    const gxd = gx!.dataSync(), gwd = gw!.dataSync();
    const eps = 1e-2;
    for (const [arr, g, what] of [[x, gxd, 'x'], [w, gwd, 'w']] as const) {
      for (let t = 0; t < 6; t++) {
        const i = rng.int(arr.length);
        const plus = Float32Array.from(arr), minus = Float32Array.from(arr);
        plus[i] = plus[i]! + eps; minus[i] = minus[i]! - eps;
        const fd = what === 'x' ? (loss(plus, w) - loss(minus, w)) / (2 * eps) : (loss(x, plus) - loss(x, minus)) / (2 * eps);
        // The loss is linear in each argument, so the only error is float32 rounding of the two sums.
        assert.ok(Math.abs(fd - g[i]!) < 2e-2 * Math.max(1, Math.abs(fd)), `${label(c)} d${what}[${i}]: fd ${fd} vs ${g[i]}`);
      }
    }
  });
});

test('im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>', () => {
  const rng = new Rng(4, 'adjoint');
  for (const c of CASES) {
    const g = convGeometry([c.n, c.h, c.w, c.cin], [c.k, c.k, c.cin, c.cout], c.stride, c.pad);
    const x = rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.cin));
    const M = c.n * g.ho * g.wo, K = c.k * c.k * c.cin;
    const col = new Float32Array(M * K), r = rng.fillNormal(new Float32Array(M * K)), back = new Float32Array(x.length).fill(7);
    im2col(x, g, col);
    col2im(r, g, back); // overwrites, so the 7s must vanish
    let lhs = 0, rhs = 0;
    for (let i = 0; i < col.length; i++) lhs += col[i]! * r[i]!;
    for (let i = 0; i < x.length; i++) rhs += x[i]! * back[i]!;
    assert.ok(Math.abs(lhs - rhs) < 1e-3 * Math.max(1, Math.abs(lhs)), `${label(c)}: ${lhs} vs ${rhs}`);
  }
});

for (const cin of [4, 24]) {
  const route = 3 * 3 * cin > STOCK_FORWARD_MAX_K ? 'im2col + matMul' : 'one kernel';
  // The input gradient is the same product either way, but the two routes may run it on different
  // GEMM kernels (tfjs matMul's gradient on OpenBLAS; the conv kernel's backward on the addon's
  // one-thread product), whose summation orders agree on some CPUs and not on others: equal up to
  // float32 rounding, not bit for bit.
  test(`kernelGrad=false: zero kernel gradient, same input gradient (${route})`, () => tf.tidy(() => {
    const rng = new Rng(5, `frozen-${cin}`);
    const c: Case = { n: 3, h: 8, w: 8, cin, cout: 5, k: 3, stride: 2, pad: 1 };
    const { x, w } = data(c, rng);
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
    const f = (kernelGrad: boolean) => tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: 2, kernelGrad }).square().sum())([xt, wt]);
    const [gx0, gw0] = f(false), [gx1, gw1] = f(true);
    const g1 = gx1!.dataSync(), scale = g1.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(scale > 0);
    assert.ok(maxAbs(gx0!.dataSync(), g1) <= 1e-6 * scale, `input gradients differ by ${maxAbs(gx0!.dataSync(), g1)} (largest ${scale})`);
    assert.ok(gw0!.dataSync().every((v) => v === 0));
    assert.ok(gw1!.dataSync().some((v) => v !== 0));
  }));

  test(`a variable kernel trains through conv2d with a tf optimizer, and nothing leaks (${route})`, () => {
    const rng = new Rng(6, `train-${cin}`);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(4 * 6 * 6 * cin)), [4, 6, 6, cin]);
    const target = tf.tidy(() => conv2d(x, tf.tensor4d(rng.fillNormal(new Float32Array(9 * cin * 3), 1 / Math.sqrt(9 * cin)), [3, 3, cin, 3]), { stride: 2 }));
    const w = tf.variable(tf.zeros([3, 3, cin, 3]));
    const opt = tf.train.sgd(cin > 4 ? 0.01 : 0.05);
    const loss = (): tf.Scalar => tf.mean(tf.square(conv2d(x, w as unknown as tf.Tensor4D, { stride: 2 }).sub(target)));
    const first = tf.tidy(() => loss().dataSync()[0]!);
    opt.minimize(loss); // tfjs keeps one buffer of its own from the first minimize
    const before = tf.memory().numTensors, buffers = tf.engine().backend.numDataIds();
    for (let i = 0; i < 100; i++) opt.minimize(loss);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(tf.engine().backend.numDataIds(), buffers, 'im2col/col2im buffers are freed');
    // Outside any tidy and without a tape: the im2col rows must not outlive the call.
    const y = conv2d(x, w as unknown as tf.Tensor4D, { stride: 2 });
    y.dispose();
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    const last = tf.tidy(() => loss().dataSync()[0]!);
    assert.ok(last < 0.1 * first, `loss ${first} -> ${last}`);
    x.dispose(); target.dispose(); w.dispose(); opt.dispose();
  });
}

test("mode 'tfjs' (the earlier formulation) gives the same values and gradients for 3x3, pad 1", () => {
  const rng = new Rng(7, 'tfjs-mode');
  for (const c of CASES.filter((k) => k.k === 3)) tf.tidy(() => {
    const { x, w } = data(c, rng);
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
    const run = () => {
      const y = conv2d(xt, wt, { stride: c.stride });
      const up = tf.tensor4d(Float32Array.from(y.dataSync(), (_v, i) => Math.sin(i)), y.shape);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride }).mul(up).sum())([xt, wt]);
      return [y.dataSync(), gx!.dataSync(), gw!.dataSync()];
    };
    setConvMode('tfjs');
    let old: ReturnType<typeof run>;
    try { old = run(); } finally { setConvMode('im2col'); }
    const ours = run();
    for (let k = 0; k < 3; k++) assert.ok(maxAbs(ours[k]!, old[k]!) < 1e-4, `${label(c)} part ${k}: ${maxAbs(ours[k]!, old[k]!)}`);
  });
});

test('conv2d rejects bad input with InputError', () => {
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D), InputError); // channel mismatch
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 2, 1]) as tf.Tensor4D, { stride: 0 }), InputError);
  assert.throws(() => conv2d(x, tf.zeros([9, 9, 2, 1]) as tf.Tensor4D, { pad: 0 }), InputError); // kernel larger than input
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 2, 1]) as tf.Tensor4D, { strides: 2 } as never), /unknown option.*strides.*known: stride, pad, kernelGrad/);
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 2, 1], 'int32') as tf.Tensor4D), InputError);
  x.dispose();
});
