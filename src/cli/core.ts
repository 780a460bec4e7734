// Commands about the toolkit itself: `doctor` (backends, versions, threads, CPU flags).
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { linalgBackendName, nativeStatus } from '../core/linalg/index.js';
import { versions } from '../core/record.js';
import { writeJsonAtomic } from '../core/fsx.js';
import { initTf, tf } from '../core/tensor.js';

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = line ? line.split(':')[1]!.trim().split(/\s+/) : [];
    return all.filter((f) => /^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx_vnni|neon|asimd)$/.test(f));
  } catch {
    return [];
  }
}

export async function doctorReport(): Promise<Record<string, unknown>> {
  const tfjsBackend = await initTf();
  return {
    linalg_backend: linalgBackendName(),
    linalg_addon: nativeStatus(),
    tfjs_backend: tfjsBackend,
    tfjs_threads: (tf.env().getNumber('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 'single'),
    tfjs_simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    versions: versions(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cpu_flags: cpuFlags(),
    openblas_env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null },
  };
}

export function registerCore(program: Command): void {
  program
    .command('doctor')
    .description('print the active backends, versions, threads and CPU flags')
    .option('--json <file>', 'also write them as JSON')
    .action(async (opts: { json?: string }) => {
      const r = await doctorReport();
      for (const [k, v] of Object.entries(r)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
      if (opts.json) writeJsonAtomic(opts.json, r);
    });
}
