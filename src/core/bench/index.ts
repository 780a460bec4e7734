// Benchmarks of the numeric engine against its peers (numpy, PyTorch), shared by
// `perennial bench ...` and `npm run bench` (bench/*.bench.ts). Each writes a run record whose
// top-level keys are the documented JSON shape, plus `run` (command, versions, timings).
import { formatNumber } from '../format.js';
import { RunRecorder, writeRecord } from '../record.js';
import { typescriptLinalg } from '../linalg/index.js';
import { runLinalgBench, timePerennial, type LinalgBenchOptions } from './linalg.js';
import { runTrainBench, type TrainBenchOptions } from './train.js';

export { runLinalgBench, linalgCases, CHOLESKY_RHS, type LinalgBenchResult, type LinalgBenchRow, type LinalgOp } from './linalg.js';
export { runTrainBench, type TrainBenchResult } from './train.js';

const fmt = (x: number | null, digits = 3): string => formatNumber(x, { digits, scientific: false, missing: 'n/a' });

/** `bench linalg`: prints a table and writes the record to `json` when given. */
export async function benchLinalg(opts: LinalgBenchOptions & { json?: string }): Promise<object> {
  const rec = new RunRecorder('bench linalg', { quick: opts.quick ?? false, backend: opts.backend ?? 'active', peer: !opts.noPeer }, null);
  const r = await rec.time('bench', () => runLinalgBench(opts));
  process.stdout.write(`backend: ${r.backend}\n`);
  for (const row of r.results) {
    const gflops = row.op === 'gemm' ? `  ${(2 * row.n ** 3 / row.perennial_s / 1e9).toFixed(1)} GFLOPS` : '';
    process.stdout.write(`${row.op.padEnd(15)} n=${String(row.n).padEnd(5)} ${row.dtype}  perennial ${fmt(row.perennial_s)} s  numpy ${fmt(row.peer_s)} s  speedup ${fmt(row.speedup, 2)}${gflops}\n`);
  }
  process.stdout.write(`(${r.peer_note})\n`);
  const { peer_note: _note, ...metrics } = r;
  const record = rec.finish(metrics);
  if (opts.json) writeRecord(opts.json, record);
  return record;
}

export interface FallbackTargets {
  gemm_n: number;
  gemm_float32_s: number;
  gemm_gflops: number;
  eigh_n: number;
  eigh_values_s: number;
}

/** The pure-TypeScript backend's targets: GEMM float32 GFLOPS and eigh (values) seconds. */
export function fallbackTargets(quick: boolean): FallbackTargets {
  const gemmN = quick ? 512 : 1024, eighN = quick ? 256 : 512;
  const g = timePerennial(typescriptLinalg, { op: 'gemm', n: gemmN, dtype: 'float32', reps: 3 });
  const e = timePerennial(typescriptLinalg, { op: 'eigh', n: eighN, dtype: 'float64', reps: 3 });
  return { gemm_n: gemmN, gemm_float32_s: g, gemm_gflops: 2 * gemmN ** 3 / g / 1e9, eigh_n: eighN, eigh_values_s: e };
}

/** `bench train`: prints steps/s and writes the record to `json` when given. */
export async function benchTrain(opts: TrainBenchOptions & { json?: string }): Promise<object> {
  const rec = new RunRecorder('bench train', { quick: opts.quick ?? false, peer: !opts.noPeer }, 0);
  const r = await rec.time('bench', () => runTrainBench(opts));
  process.stdout.write(`perennial ${r.perennial_steps_per_s.toFixed(1)} steps/s (BatchMatMul: ${r.batch_matmul}; plain tfjs loop ${r.tfjs_minimize_steps_per_s.toFixed(1)}; tf.layers loop ${r.perennial_layers_steps_per_s.toFixed(1)})\n`);
  for (const [t, b] of Object.entries(r.by_threads)) {
    process.stdout.write(`  ${t} thread${t === '1' ? '' : 's'}: perennial ${b.perennial.toFixed(1)}  plain tfjs ${b.tfjs_minimize.toFixed(1)}  torch ${fmt(b.torch, 1)} steps/s  ratio ${fmt(b.ratio, 2)}\n`);
  }
  if (r.stock_kernel_steps_per_s !== null) process.stdout.write(`stock wasm BatchMatMul: ${r.stock_kernel_steps_per_s.toFixed(1)} steps/s\n`);
  process.stdout.write(`torch ${fmt(r.peer_steps_per_s, 1)} steps/s ${JSON.stringify(r.peer_by_threads)} (threads)  ratio ${fmt(r.ratio, 2)}\n`);
  const record = rec.finish(r);
  if (opts.json) writeRecord(opts.json, record);
  return record;
}
