import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { replaceStockKernel } from '../../src/core/kernels/register.js';

test('replaceStockKernel: swaps once and returns the stock kernel, then is a no-op; no stock kernel is an error naming it', () => {
  const kernelFunc = (() => ({}) as TensorInfo) as unknown as KernelConfig['kernelFunc'];
  const stock: KernelConfig = { kernelName: 'PerennialSwapTest', backendName: 'cpu', kernelFunc };
  const ours: KernelConfig = { kernelName: 'PerennialSwapTest', backendName: 'cpu', kernelFunc };
  tf.registerKernel(stock);
  try {
    assert.equal(replaceStockKernel(ours), stock);
    assert.equal(tf.getKernel('PerennialSwapTest', 'cpu'), ours);
    assert.equal(replaceStockKernel(ours), null);
    assert.equal(tf.getKernel('PerennialSwapTest', 'cpu'), ours);
  } finally {
    tf.unregisterKernel('PerennialSwapTest', 'cpu');
  }
  assert.throws(() => replaceStockKernel(ours, ' (hint)'), /^Error: PerennialSwapTest: the stock cpu kernel is not registered \(hint\)$/);
});
