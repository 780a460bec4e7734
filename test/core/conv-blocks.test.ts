// The image-block convolution (addon convBlocks: im2col + sgemm per block on the addon's workers)
// gives the batch-sized route's values to float32 rounding, the same values bit for bit at 2 threads
// as at 1, and handles a ragged last block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { conv2d } from '../../src/core/conv.js';
import { blockImages, convGeometry, useBlockedConv, BLOCKED_FORWARD_MIN_K } from '../../src/core/kernels/conv2d.js';
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
      // 40 images of 28x28x16 into 32 channels: 18 images per block (2 MiB of rows), 3 blocks, the last of 4.
      for (const [n, hw, cin, cout, stride] of [[40, 28, 16, 32, 2], [100, 14, 32, 64, 2], [30, 12, 8, 8, 1]] as const) {
        const x = tf.randomNormal([n, hw, hw, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, cin, cout], 0, 1 / Math.sqrt(9 * cin), 'float32', 2) as tf.Tensor4D;
        const g = convGeometry(x.shape, w.shape, stride, 1);
        const per = blockImages(g, 9 * cin);
        // The last shape fits one block: it checks the route choice falls back to one GEMM.
        if (n !== 30) assert.ok(per > 0 && per < n && n % per !== 0, `[${x.shape}] runs in ragged blocks (per ${per})`);
        else assert.equal(per, 0);
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
            if (K >= BLOCKED_FORWARD_MIN_K) close(blocks.y, whole.y, `${label}: forward`);
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
