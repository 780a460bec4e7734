// Commands about the toolkit itself: `doctor` (backends, versions, threads, CPU flags) and
// `bench linalg|train` (the numeric engine against numpy and PyTorch, ratios to JSON).
import type { Command } from 'commander';
import type { AreaCli } from './types.js';
import { linalgBackendName, type LinalgBackendName } from '../core/linalg/index.js';
import { InputError } from '../core/errors.js';
import { benchLinalg, benchTrain } from '../core/bench/index.js';
import { outputGuard, writeJsonAtomic } from '../core/fsx.js';
import { doctorReport } from '../core/doctor.js';

export function registerCore(program: Command): void {
  program
    .command('doctor')
    .description('print the active backends, versions, threads, CPU flags and the GPU paths available')
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

export const coreCli: AreaCli = { name: 'core', register: registerCore };
