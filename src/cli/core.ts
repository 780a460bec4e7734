// Commands about the toolkit itself: `doctor` (backends, versions, threads, CPU flags) and
// `bench linalg|train` (the numeric engine against numpy and PyTorch, ratios to JSON).
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { linalgBackendName, nativeAddon, nativeStatus, type LinalgBackendName } from '../core/linalg/index.js';
import { InputError } from '../core/errors.js';
import { benchLinalg, benchTrain } from '../core/bench/index.js';
import { versions } from '../core/record.js';
import { outputGuard, writeJsonAtomic } from '../core/fsx.js';
import { initTf, tf, batchMatMulMode } from '../core/tensor.js';

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = line ? line.split(':')[1].trim().split(/\s+/) : [];
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

export function registerCore(program: Command): void {
  program
    .command('doctor')
    .description('print the active backends, versions, threads and CPU flags')
    .option('--json <file>', 'also write them as JSON')
    .action(async (opts: { json?: string }) => {
      outputGuard().output(opts.json, '--json').check();
      const r = await doctorReport();
      for (const [k, v] of Object.entries(r)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
      if (opts.json) writeJsonAtomic(opts.json, r);
    });

  const bench = program.command('bench').description('time the numeric engine against its peers (numpy, PyTorch) and write the ratios as JSON');
  bench
    .command('linalg')
    .description('GEMM 1024/2048 float32, eigh 1024/2048 float64, Cholesky solve 4096 float64 against numpy')
    .option('--json <file>', 'write {backend, results: [{op, n, dtype, perennial_s, peer, peer_s, speedup}]}')
    .option('--quick', 'smaller sizes (under a minute)')
    .option('--backend <name>', 'openblas or typescript (default: the active one)')
    .option('--no-peer', 'skip numpy')
    .action(async (opts: { json?: string; quick?: boolean; backend?: string; peer: boolean }) => {
      if (opts.backend !== undefined && opts.backend !== 'openblas' && opts.backend !== 'typescript') {
        throw new InputError(`--backend must be openblas or typescript, got ${JSON.stringify(opts.backend)}`);
      }
      outputGuard().output(opts.json, '--json').check();
      await benchLinalg({ quick: opts.quick ?? false, backend: opts.backend as LinalgBackendName | undefined, noPeer: !opts.peer, json: opts.json });
      if (opts.json) process.stdout.write(`record: ${opts.json}\n`);
    });
  bench
    .command('train')
    .description('training steps/s of a 784-256-10 MLP (Adam, batch 128) against PyTorch CPU')
    .option('--json <file>', 'write {perennial_steps_per_s, peer, peer_steps_per_s, ratio}')
    .option('--quick', 'fewer steps')
    .option('--stock', 'also time the stock wasm BatchMatMul kernel')
    .option('--no-peer', 'skip PyTorch')
    .action(async (opts: { json?: string; quick?: boolean; stock?: boolean; peer: boolean }) => {
      outputGuard().output(opts.json, '--json').check();
      await benchTrain({ quick: opts.quick ?? false, stock: opts.stock, noPeer: !opts.peer, json: opts.json });
      if (opts.json) process.stdout.write(`record: ${opts.json}\n`);
    });
}
