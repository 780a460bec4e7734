// A timer around every wasm kernel function, for the profiling benchmarks (train-profile,
// step-ab, safe-profile). Only outermost calls are recorded: a kernel that runs another counts once.
import { tf } from '../src/core/tensor.js';

export function timeKernels(record: (kernelName: string, ms: number) => void): void {
  let depth = 0;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    (k as { kernelFunc: unknown }).kernelFunc = (a: unknown) => {
      const t = performance.now();
      depth++;
      try { return (f as (x: unknown) => unknown)(a); } finally {
        depth--;
        if (depth === 0) record(k.kernelName, performance.now() - t);
      }
    };
  }
}
