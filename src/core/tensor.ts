// The training engine: tfjs on the wasm backend. `initTf()` is the only place that chooses the
// backend; call it (once, awaited) before building any model. It also installs perennial's
// BatchMatMul and _FusedMatMul kernels (kernels/): OpenBLAS sgemm on the wasm heap when the addon
// is loaded, explicit transposes + the stock untransposed path otherwise.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setTfjsBackendName } from './record.js';
import { installKernels } from './kernels/batchMatMul.js';
import { installEngineKernels } from './kernels/engine.js';
import { installConvKernels } from './kernels/conv2d.js';
import { installLossKernels } from './kernels/loss.js';
import { installCosineKernels } from './kernels/cosine.js';

export { tf };
export { batchMatMulMode, setBatchMatMulMode, stockBatchMatMul, withBatchMatMulMode, type BatchMatMulMode } from './kernels/batchMatMul.js';
export { useEngineKernels, engineKernelsEnabled } from './kernels/engine.js';

let ready: Promise<string> | null = null;

function wasmDir(): string {
  const req = createRequire(import.meta.url);
  return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';
}

/** Start tfjs on the wasm backend (idempotent). Resolves to the backend name. */
export function initTf(): Promise<string> {
  if (!ready) {
    ready = (async () => {
      setWasmPaths(wasmDir());
      // Our BatchMatMul/_FusedMatMul replace the stock ones before setBackend runs the kernels' setup.
      installKernels();
      // Faster Sum/Mean over contiguous axis blocks, copy-free Identity/Cast, and the im2col conv kernels (kernels/).
      installEngineKernels();
      installConvKernels();
      // Softmax cross-entropy as one kernel forward and one backward (nn.softmaxCrossEntropy).
      installLossKernels();
      // Cosine-classifier logits as one kernel forward and one backward (nn.cosineLogits).
      installCosineKernels();
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('tfjs wasm backend failed to initialise');
      await tf.ready();
      const name = tf.getBackend();
      setTfjsBackendName(name);
      return name;
    })();
  }
  return ready;
}
