// `perennial doctor`: what this machine runs perennial with (linear-algebra and tfjs backends,
// threads, versions, CPU model and the SIMD flags the kernels can use).
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { linalgBackendName, nativeAddon, nativeStatus } from './linalg/index.js';
import { versions } from './record.js';
import { initTf, tf, batchMatMulMode } from './tensor.js';

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = line ? line.split(':')[1].trim().split(/\s+/) : [];
    return all.filter((f) => /^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx_vnni|neon|asimd)$/.test(f));
  } catch {
    return [];
  }
}

/** The doctor's report (initialises tfjs to learn its backend). */
export async function doctorReport(): Promise<Record<string, unknown>> {
  const tfjsBackend = await initTf();
  return {
    linalg_backend: linalgBackendName(),
    linalg_addon: nativeStatus(),
    openblas_threads: nativeAddon()?.threads() ?? null,
    openblas_config: nativeAddon()?.config() ?? null,
    tfjs_backend: tfjsBackend,
    tfjs_batch_matmul: batchMatMulMode(),
    tfjs_threads: (tf.env().getNumber('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 'single'),
    tfjs_simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    versions: versions(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cpu_flags: cpuFlags(),
    openblas_env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null },
  };
}
