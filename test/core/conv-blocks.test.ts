// The image-block convolution (addon convBlocks: im2col + a product per block on the addon's
// workers) gives the batch-sized route's values to float32 rounding, the same values bit for bit at
// 2 threads as at 1, handles a ragged last block, and matches a float64 convolution on shapes that
// reach every edge of its AVX-512 kernel (partial tiles of rows and columns, patches read without
// im2col rows, padding, strides, non-square kernels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { conv2d } from '../../src/core/conv.js';
import { blockImages, blockedForwardMinK, convGeometry, useBlockedConv } from '../../src/core/kernels/conv2d.js';
import { withBatchMatMulMode } from '../../src/core/kernels/batchMatMul.js';

const addon = nativeAddon();
const skip = addon?.convBlocks ? false : 'the OpenBLAS addon with convBlocks is not built';

function run(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, blocked: boolean): { y: Float32Array; dx: Float32Array } {
  const before = useBlockedConv(blocked);
  try {
    return tf.tidy(() => {
      const f = (xx: tf.Tensor) => conv2d(xx as tf.Tensor4D, w, { stride, pad: 1, kernelGrad: false });
      const y = f(x).dataSync() as Float32Array;
      // A weighted sum, so that every dx entry depends on its own upstream values.
      const wts = tf.randomUniform([x.shape[0], Math.floor((x.shape[1] + 2 - 3) / stride) + 1, Math.floor((x.shape[2] + 2 - 3) / stride) + 1, w.shape[3]], -1, 1, 'float32', 7);
      const dx = tf.grad((xx: tf.Tensor) => f(xx).mul(wts).sum())(x).dataSync() as Float32Array;
      return { y, dx };
    });
  } finally {
    useBlockedConv(before);
  }
}

test('image-block convolution equals the batch-sized route, and gives the same values at 1 and 2 threads', { skip }, async () => {
  await initTf();
  const threadsBefore = addon!.threads();
  try {
    withBatchMatMulMode('addon', () => {
      // 41 images of 28x28x16 into 32 channels: at most 18 per block (2 MiB of rows), 3 blocks (14, 14, 13)
      // at 1 thread, 4 at 2 (11, 11, 11, 8); ragged either way.
      for (const [n, hw, cin, cout, stride] of [[41, 28, 16, 32, 2], [101, 14, 32, 64, 2], [30, 12, 8, 8, 1]] as const) {
        const x = tf.randomNormal([n, hw, hw, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, cin, cout], 0, 1 / Math.sqrt(9 * cin), 'float32', 2) as tf.Tensor4D;
        const g = convGeometry(x.shape, w.shape, stride, 1);
        const per = blockImages(g, 9 * cin);
        // The last shape fits one block (at 1 thread).
        if (n !== 30) assert.ok(per > 0 && per < n && n % per !== 0, `[${x.shape}] runs in ragged blocks (per ${per})`);
        else assert.ok(per > 0);
        const K = 9 * cin;
        const close = (a: Float32Array, b: Float32Array, what: string): void => {
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
          assert.ok(worst < 1e-5, `${what} differs by ${worst}`);
        };
        let one: { y: Float32Array; dx: Float32Array } | null = null;
        for (const threads of [1, 2]) {
          addon!.setThreads!(threads);
          const whole = run(x, w, stride, false), blocks = run(x, w, stride, true);
          const label = `[${x.shape}] -> ${cout}, stride ${stride}, ${threads} thread(s)`;
          assert.ok(whole.dx.some((v) => v !== 0));
          if (threads === 1) {
            // Equal to float32 rounding: the other route's forward is the stock wasm Conv2D up to
            // STOCK_FORWARD_MAX_K, and OpenBLAS's result for a row may differ in the last bits with
            // the number of rows in the call.
            if (K >= blockedForwardMinK()) close(blocks.y, whole.y, `${label}: forward`);
            close(blocks.dx, whole.dx, `${label}: input gradient`);
            one = blocks;
          } else if (per > 0) {
            // Each worker runs a one-thread sgemm: the thread count does not change a value (OpenBLAS's
            // own threaded GEMM does, in the last bits).
            assert.deepEqual(blocks.y, one!.y, `${label}: forward equals 1 thread's`);
            assert.deepEqual(blocks.dx, one!.dx, `${label}: input gradient equals 1 thread's`);
            close(blocks.dx, whole.dx, `${label}: input gradient against the threaded GEMM`);
          }
        }
        x.dispose(); w.dispose();
      }
    });
  } finally {
    addon!.setThreads!(threadsBefore);
  }
});

test('convBlocks refuses arrays that do not fit the geometry', { skip }, () => {
  const x = new Float32Array(2 * 4 * 4 * 1), w = new Float32Array(9 * 2), y = new Float32Array(2 * 4 * 4 * 2);
  addon!.convBlocks!(0, x, w, y, 2, 4, 4, 1, 3, 3, 1, 1, 4, 4, 2, 1);
  assert.throws(() => addon!.convBlocks!(0, x, w, y.subarray(1), 2, 4, 4, 1, 3, 3, 1, 1, 4, 4, 2, 1), /array sizes do not fit/);
  assert.throws(() => addon!.convBlocks!(1, x, w, y, 2, 4, 4, 1, 3, 3, 1, 1, 4, 4, 2, 1), /array sizes do not fit/);
  assert.throws(() => addon!.convBlocks!(0, x, w, y, 2, 4, 4, 1, 3, 3, 1, 1, 4, 4, 2, 0), /convBlocks\(mode/);
});

/** Direct convolution in float64: y = conv(x, w) and dx = conv^T(dy, w), with each result's sum of |terms| for the tolerance. */
function reference(x: Float32Array, w: Float32Array, dy: Float32Array, s: Shape): { y: Float64Array; yAbs: Float64Array; dx: Float64Array; dxAbs: Float64Array } {
  const { n, h, w: wd, cin, kh, kw, stride, pad, ho, wo, cout } = s;
  const y = new Float64Array(n * ho * wo * cout), yAbs = new Float64Array(y.length);
  const dx = new Float64Array(n * h * wd * cin), dxAbs = new Float64Array(dx.length);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) {
    const o = ((b * ho + oy) * wo + ox) * cout;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      for (let c = 0; c < cin; c++) {
        const xi = ((b * h + iy) * wd + ix) * cin + c, wk = ((ky * kw + kx) * cin + c) * cout;
        for (let co = 0; co < cout; co++) {
          const t = x[xi]! * w[wk + co]!, u = dy[o + co]! * w[wk + co]!;
          y[o + co] += t; yAbs[o + co] += Math.abs(t);
          dx[xi] += u; dxAbs[xi] += Math.abs(u);
        }
      }
    }
  }
  return { y, yAbs, dx, dxAbs };
}

interface Shape { n: number; h: number; w: number; cin: number; kh: number; kw: number; stride: number; pad: number; ho: number; wo: number; cout: number }

test('convBlocks matches a float64 convolution at every edge of its kernels, forward and input gradient', { skip }, () => {
  let seed = 12345;
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  const fill = (len: number): Float32Array => Float32Array.from({ length: len }, rand);
  // [n, h, w, cin, kh, kw, stride, pad, cout]: 1 and 3 channels (patches read without im2col rows on
  // AVX-512), 16 and 20 (explicit rows), 1, 5, 17, 33 and 70 output channels (partial column groups),
  // output rows that do not fill a tile of 12, pad 0 and 2, stride 3, 5x3 and 1x1 kernels, 9 kernel
  // rows (more than the patch reader takes).
  const shapes: number[][] = [
    [3, 7, 9, 1, 3, 3, 1, 1, 5], [2, 11, 6, 3, 3, 3, 2, 1, 17], [4, 9, 9, 16, 3, 3, 1, 1, 33], [2, 10, 7, 20, 5, 3, 3, 2, 70],
    [3, 6, 6, 16, 1, 1, 1, 0, 1], [2, 8, 5, 2, 3, 3, 1, 0, 16], [2, 12, 4, 1, 9, 1, 1, 4, 3], [5, 5, 5, 32, 3, 3, 2, 1, 64],
  ];
  const threadsBefore = addon!.threads();
  try {
    for (const [n, h, wd, cin, kh, kw, stride, pad, cout] of shapes as [number, number, number, number, number, number, number, number, number][]) {
      const ho = Math.floor((h + 2 * pad - kh) / stride) + 1, wo = Math.floor((wd + 2 * pad - kw) / stride) + 1;
      const s: Shape = { n, h, w: wd, cin, kh, kw, stride, pad, ho, wo, cout };
      const x = fill(n * h * wd * cin), w = fill(kh * kw * cin * cout), dy = fill(n * ho * wo * cout);
      const ref = reference(x, w, dy, s);
      for (const threads of [1, 2]) for (const per of [1, 2, n]) {
        addon!.setThreads!(threads);
        const y = new Float32Array(ref.y.length), dx = new Float32Array(ref.dx.length).fill(Number.NaN);
        addon!.convBlocks!(0, x, w, y, n, h, wd, cin, kh, kw, stride, pad, ho, wo, cout, per);
        addon!.convBlocks!(1, dy, w, dx, n, h, wd, cin, kh, kw, stride, pad, ho, wo, cout, per);
        const label = `[${n}, ${h}, ${wd}, ${cin}] * ${kh}x${kw} -> ${cout}, stride ${stride}, pad ${pad}, ${per} per block, ${threads} thread(s)`;
        for (const [got, want, abs, what] of [[y, ref.y, ref.yAbs, 'forward'], [dx, ref.dx, ref.dxAbs, 'input gradient']] as const) {
          for (let i = 0; i < got.length; i++) {
            const err = Math.abs(got[i]! - want[i]!);
            if (!(err <= 1e-6 * abs[i]! + 1e-30)) assert.fail(`${label}: ${what}[${i}] = ${got[i]}, float64 gives ${want[i]} (|terms| ${abs[i]})`);
          }
        }
      }
    }
  } finally {
    addon!.setThreads!(threadsBefore);
  }
});
