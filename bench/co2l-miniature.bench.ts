// `npm run bench -- co2l-miniature [--quick]` (or `node --import tsx bench/co2l-miniature.bench.ts --json F
// [--quick] [--seeds N] [--threads T] [--lambda L]`): time per seed of the Co2L reference miniature
// (Seq-Fashion-MNIST, `cil co2l`) against the PyTorch port reference/torch/co2l_miniature.py on the
// same rows and class order (`co2lSeedIndices`), seed by seed, alternating the two so both see the
// same machine load. Both sides run with T threads (default 1: OpenBLAS through OPENBLAS_NUM_THREADS,
// torch through set_num_threads); each side is a fresh process, timed by /usr/bin/time when present
// (wall, user + system CPU), else wall only.
//
//   full:    2000 training images per class, 12/6 epochs (the issue's setting), 1 seed unless --seeds.
//   --quick: 300 per class, 2/1 epochs: for CI, not for conclusions.
//
// ratio = perennial / PyTorch (target <= 1.5). Timings on a shared machine are noisy; compare numbers
// from one run only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { findFashionMnist, loadFashionMnist } from '../src/core/data/index.js';
import { mean } from '../src/core/stats.js';
import { PYTHON, skipUnlessFashionMnistAndTorch } from '../src/core/bench/python.js';
import { co2lSeedIndices } from '../src/continual/parts/streams.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const json = opt('--json');
const nSeeds = Number(opt('--seeds') ?? 1);
const threads = Number(opt('--threads') ?? 1);
const lambda = Number(opt('--lambda') ?? 1);
const S = quick ? { perClass: 300, first: 2, later: 1 } : { perClass: 2000, first: 12, later: 6 };
const here = new URL('.', import.meta.url).pathname;
const repo = resolve(here, '..');
const script = resolve(repo, 'reference/torch/co2l_miniature.py');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

skipUnlessFashionMnistAndTorch(json, findFashionMnist() !== null);

interface Timed { wall: number; cpu: number | null; acc: number }

/** Run a command (under /usr/bin/time when present); its JSON output file gives the accuracy. */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, out: string, acc: (j: unknown) => number): Timed {
  const tfile = `${out}.time`;
  const t0 = performance.now();
  const r = TIME
    ? spawnSync(TIME, ['-f', '%e %U %S', '-o', tfile, cmd, ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.slice(0, 4).join(' ')} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-5).join('\n')}`);
  let cpu: number | null = null;
  if (TIME) {
    const [, u, s] = readFileSync(tfile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    cpu = u! + s!;
  }
  return { wall, cpu, acc: acc(JSON.parse(readFileSync(out, 'utf8'))) };
}

const work = mkdtempSync(join(tmpdir(), 'perennial-co2l-bench-'));
const rec = new RunRecorder('bench co2l-miniature', { quick, seeds: nSeeds, threads, lambda, setting: S }, 0);
try {
  const train = loadFashionMnist('train');
  const splitFile = join(work, 'split.json');
  const split: Record<string, unknown> = {};
  for (let s = 0; s < nSeeds; s++) split[String(s)] = co2lSeedIndices(train, s, { perClassTrain: S.perClass, perClassVal: 100, numClasses: 10, base: 2, increment: 2 });
  writeFileSync(splitFile, JSON.stringify(split));
  const method = lambda === 1 ? 'co2l' : `co2l-l${lambda}`;
  const rows: { seed: number; perennial: Timed; torch: Timed }[] = [];
  for (let s = 0; s < nSeeds; s++) {
    const oursOut = join(work, `ours-${s}.json`), torchOut = join(work, `torch-${s}.json`);
    const perennial = timed(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `const { main } = await import(${JSON.stringify(resolve(repo, 'src/cli/index.ts'))}); process.exitCode = await main(${JSON.stringify(['cil', 'co2l', '--methods', method, '--seeds', `${s}..${s}`,
        '--per-class', String(S.perClass), '--epochs-first', String(S.first), '--epochs-later', String(S.later), '--json', oursOut])});`],
    { ...process.env, CI: '1', OPENBLAS_NUM_THREADS: String(threads) }, oursOut,
    (j) => (j as { summary: Record<string, { last_acc_mean: number }> }).summary[method]!.last_acc_mean);
    const torch = timed(PYTHON, [script, '--threads', String(threads), '--seeds', String(s), '--lambdas', String(lambda),
      '--per-class', String(S.perClass), '--epochs-first', String(S.first), '--epochs-later', String(S.later), '--split', splitFile, '--json', torchOut],
    { ...process.env, OMP_NUM_THREADS: String(threads) }, torchOut,
    (j) => (j as { runs: { last_acc: number }[] }).runs[0]!.last_acc);
    rows.push({ seed: s, perennial, torch });
    process.stdout.write(`seed ${s}: perennial ${perennial.wall.toFixed(1)} s wall, ${perennial.cpu?.toFixed(1) ?? '-'} s CPU, acc ${perennial.acc.toFixed(2)}; ` +
      `PyTorch ${torch.wall.toFixed(1)} s wall, ${torch.cpu?.toFixed(1) ?? '-'} s CPU, acc ${torch.acc.toFixed(2)}\n`);
  }
  const ratio = (k: 'wall' | 'cpu'): number | null => (rows.every((r) => r.perennial[k] !== null && r.torch[k] !== null)
    ? mean(rows.map((r) => r.perennial[k]!)) / mean(rows.map((r) => r.torch[k]!)) : null);
  const metrics = {
    setting: quick ? 'quick (300 per class, 2/1 epochs)' : 'reference (2000 per class, 12/6 epochs)',
    threads, lambda, seeds: rows,
    ratio_wall: ratio('wall'), ratio_cpu: ratio('cpu'), target_ratio: 1.5,
  };
  const record = rec.finish(metrics);
  if (json) writeRecord(json, record);
  process.stdout.write(`perennial / PyTorch per seed: wall ${metrics.ratio_wall?.toFixed(2)}, CPU ${metrics.ratio_cpu?.toFixed(2) ?? '-'} (target <= 1.5)\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
