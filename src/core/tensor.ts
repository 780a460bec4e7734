// The training engine: tfjs on the wasm backend. `initTf()` is the only place that chooses the
// backend; call it (once, awaited) before building any model. It also installs perennial's
// BatchMatMul and _FusedMatMul kernels (kernels/): OpenBLAS sgemm on the wasm heap when the addon
// is loaded, explicit transposes + the stock untransposed path otherwise.
//
// WebGPU is the optional other backend (`setTrainingBackend('webgpu' | 'auto')` before the first
// initTf(); CLI `--tf-backend`; env PERENNIAL_TF_BACKEND): @tensorflow/tfjs-backend-webgpu over the
// user-installed `webgpu` package (Dawn for Node), or a global navigator.gpu. There perennial's wasm
// kernels are absent and core's ops (conv2d, batch norm, the loss, the cosine head, the optimisers)
// take their composed tfjs forms, which tests check against the kernels on tfjs's cpu backend.
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
import { InputError, warn } from './errors.js';

export { tf };
export { batchMatMulMode, setBatchMatMulMode, stockBatchMatMul, withBatchMatMulMode, type BatchMatMulMode } from './kernels/batchMatMul.js';
export { useEngineKernels, engineKernelsEnabled } from './kernels/engine.js';

let ready: Promise<string> | null = null;

/** Which tfjs backend trains: 'wasm' (default), 'webgpu' (fails where no adapter answers), 'auto' (webgpu, else wasm with a warning). */
export type TrainingBackend = 'wasm' | 'webgpu' | 'auto';
const TRAINING_BACKENDS: readonly TrainingBackend[] = ['wasm', 'webgpu', 'auto'];
let requested: TrainingBackend | null = null;

/** Parse a training backend name (CLI option, environment). */
export function parseTrainingBackend(v: string, where: string): TrainingBackend {
  if (!(TRAINING_BACKENDS as readonly string[]).includes(v)) throw new InputError(`${where}: unknown tfjs backend ${JSON.stringify(v)} (known: ${TRAINING_BACKENDS.join(', ')})`);
  return v as TrainingBackend;
}

/** Choose the training backend; only before the first initTf() (or to the one it chose). */
export function setTrainingBackend(b: TrainingBackend): void {
  parseTrainingBackend(b, 'setTrainingBackend');
  if (ready && requested !== b) throw new InputError(`the tfjs backend is chosen already (${requested ?? 'wasm'}); set it before the first initTf()`);
  requested = b;
}

function requestedBackend(): TrainingBackend {
  if (requested) return requested;
  const env = process.env.PERENNIAL_TF_BACKEND;
  return env ? parseTrainingBackend(env, 'PERENNIAL_TF_BACKEND') : 'wasm';
}

const ADAPTER_TIMEOUT_MS = 10_000;

/**
 * Make navigator.gpu answer in Node (the `webgpu` package) and ask it for an adapter. Resolves to
 * null when one answers, else the reason there is none.
 */
export async function probeWebGpu(): Promise<string | null> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter(o?: object): Promise<unknown> } } };
  if (!g.navigator?.gpu) {
    let mod: { create(flags: string[]): unknown; globals: object };
    try {
      const name = 'webgpu';
      mod = await import(name) as typeof mod;
    } catch {
      return 'the webgpu package (Dawn for Node) is not installed; `npm install webgpu` adds it';
    }
    try {
      Object.assign(globalThis, mod.globals);
      const gpu = mod.create([]);
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } catch (e) {
      return `the webgpu package failed to start: ${(e as Error).message}`;
    }
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const adapter = await Promise.race([
      g.navigator!.gpu!.requestAdapter({ powerPreference: 'high-performance' }),
      new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ADAPTER_TIMEOUT_MS); }),
    ]);
    if (adapter === 'timeout') return `no WebGPU adapter answered within ${ADAPTER_TIMEOUT_MS / 1000} s`;
    return adapter ? null : 'no WebGPU adapter (no GPU, or none whose driver Dawn accepts)';
  } catch (e) {
    return `asking for a WebGPU adapter failed: ${(e as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

async function startWebGpu(): Promise<string | null> {
  const why = await probeWebGpu();
  if (why) return why;
  try {
    const name = '@tensorflow/tfjs-backend-webgpu';
    await import(name);
  } catch (e) {
    return `@tensorflow/tfjs-backend-webgpu failed to load: ${(e as Error).message}`;
  }
  return (await tf.setBackend('webgpu')) ? null : 'tfjs could not start its webgpu backend on the adapter';
}

function wasmDir(): string {
  const req = createRequire(import.meta.url);
  return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';
}

/** Start tfjs on the chosen backend, wasm by default (idempotent). Resolves to the backend name. */
export function initTf(): Promise<string> {
  if (!ready) {
    const want = requestedBackend();
    requested = want;
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
      let gpu = false;
      if (want !== 'wasm') {
        const why = await startWebGpu();
        if (why && want === 'webgpu') throw new InputError(`--tf-backend webgpu: ${why}; use --tf-backend wasm (or auto)`);
        if (why) warn('tf-webgpu-absent', `WebGPU is not available (${why}); training on the wasm backend`, { once: true });
        gpu = !why;
      }
      if (!gpu) {
        const ok = await tf.setBackend('wasm');
        if (!ok) throw new Error('tfjs wasm backend failed to initialise');
      }
      await tf.ready();
      const name = tf.getBackend();
      setTfjsBackendName(name);
      return name;
    })().catch((e: unknown) => {
      // A refused backend ('webgpu' without an adapter) leaves the choice open for another try.
      ready = null;
      throw e;
    });
  }
  return ready;
}
