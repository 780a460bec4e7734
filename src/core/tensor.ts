// The training engine: tfjs on the wasm backend. `initTf()` is the only place that chooses the
// backend; call it (once, awaited) before building any model.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setTfjsBackendName } from './record.js';

export { tf };

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
