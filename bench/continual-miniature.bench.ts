// `npm run bench -- continual-miniature [--quick]` (or `node --import tsx bench/continual-miniature.bench.ts
// --json F [--quick] [--seeds N] [--backbone DIR] [--torch-backbone DIR] [--from K] [--record F] [--work DIR]`): the whole reference
// miniature (SimpleCIL, RanPAC M=2048/M=0, SAFE slow/fast/aggregate) run by perennial and by the
// PyTorch implementation reference/torch/cil_miniature.py on exactly the same rows (exported by
// `exportMiniature`), seed by seed, alternating the two so both see the same machine load.
//
//   full:   Fashion-MNIST pools 4000/2000 per class, pretraining 10 epochs, PET epochs 5/3, M = 2048, 10 seeds.
//   --quick: a reduced setting (200/100/100 rows per class, pretraining 2 epochs, PET epochs 1/1,
//            M = 256), 1 seed; for CI, not for conclusions.
//
// Each side pretrains its own backbone (timed apart; `--backbone DIR` reuses a perennial checkpoint
// instead) and runs its methods on it, so the accuracies differ by backbone as well as by code.
// Time per seed = fit + test prediction of every session, summed over the methods; SAFE's drift-
// compensated variant runs inside perennial's SAFE learner and its seconds are subtracted from the
// compared time (the PyTorch side runs faithful SAFE only). ratio = perennial seconds / PyTorch
// seconds (target <= 1.5). Timings on a shared machine are noisy; compare numbers from one run only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { initTf } from '../src/core/tensor.js';
import { findFashionMnist } from '../src/core/data/idx.js';
import { writeJsonAtomic } from '../src/core/fsx.js';
import { mean, std } from '../src/core/stats.js';
import { PYTHON, skipUnlessFashionMnistAndTorch } from '../src/core/bench/python.js';
import { loadMiniature, shrinkMiniature } from '../src/continual/data.js';
import { loadBackbone, pretrainBackbone } from '../src/continual/pretrain.js';
import { exportMiniature, runCil, summarise, type CilRunEntry } from '../src/continual/trainer.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const json = opt('--json');
const nSeeds = Number(opt('--seeds') ?? (quick ? 1 : 10));
const S = quick
  ? { pretrainEpochs: 2, first: 1, later: 1, M: 256 }
  : { pretrainEpochs: 10, first: 5, later: 3, M: 2048 };
const METHODS = ['simplecil', 'ranpac', 'safe'];
const here = new URL('.', import.meta.url).pathname;
const script = resolve(here, '../reference/torch/cil_miniature.py');

function done(out: Record<string, unknown>): void {
  if (json) writeJsonAtomic(json, out);
  process.stdout.write(JSON.stringify(out, null, 1).slice(0, 4000) + '\n');
}

skipUnlessFashionMnistAndTorch(json, findFashionMnist() !== null);

await initTf();
const split = 'B2Inc2';
const fromSeed = Number(opt('--from') ?? 0);
const seeds = Array.from({ length: nSeeds - fromSeed }, (_, i) => fromSeed + i);
const full = loadMiniature('fashion-mnist');
const mini = quick ? shrinkMiniature(full, { pretrain: 200, cil: 100, test: 100 }) : full;
const rec = new RunRecorder('bench continual-miniature', { quick, seeds, ...S }, seeds);
const work = opt('--work') ? resolve(opt('--work')!) : mkdtempSync(join(tmpdir(), 'cil-miniature-'));
const dataDir = join(work, 'data'), torchBb = join(work, 'torch-backbone');
exportMiniature(mini, split, seeds, dataDir);

function torch(extra: string[]): { summary: Record<string, { last_acc_mean: number; time_per_seed_s: number }>; backbone: { pretrain_time_s?: number }; runs?: unknown } {
  const r = spawnSync(PYTHON, [script, '--data', dataDir, '--threads', '2', '--M', String(S.M), '--epochs-first', String(S.first), '--epochs-later', String(S.later), ...extra],
    { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`PyTorch miniature failed (exit ${r.status})`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

// Backbones: each side pretrains its own (same rows, same recipe).
// `--torch-backbone DIR` reuses a checkpoint the PyTorch script saved earlier (its pretraining time is then not measured here).
const torchBbGiven = opt('--torch-backbone');
const torchPre = torchBbGiven ? { summary: {}, backbone: {} } : torch(['--methods', '', '--pretrain-epochs', String(S.pretrainEpochs), '--save-backbone', torchBb]);
const torchBbDir = torchBbGiven ? resolve(torchBbGiven) : torchBb;
let oursPretrainS: number | null = null;
let backbone;
const bbDir = opt('--backbone');
if (bbDir) {
  backbone = loadBackbone(resolve(bbDir)).backbone;
} else {
  const t0 = performance.now();
  backbone = pretrainBackbone(mini, { seed: 0, train: { epochs: S.pretrainEpochs } }).backbone;
  oursPretrainS = (performance.now() - t0) / 1000;
}

const methodOptions = {
  ranpac: { projections: { ranpac: S.M, 'ranpac-m0': 0 }, train: { epochs: S.first } },
  safe: { M: S.M, trainFirst: { epochs: S.first }, trainLater: { epochs: S.later }, driftCompensation: true },
};
const oursRuns: CilRunEntry[] = [];
const oursDiag: Record<string, unknown> = {};
const perSeed: { seed: number; ours: Record<string, number>; torch: Record<string, number> }[] = [];
const torchRuns: unknown[] = [];
const learnerOf: Record<string, string> = { simplecil: 'simplecil', ranpac: 'ranpac', safe: 'safe' };

function writeOut(final: boolean): void {
  const total = (side: 'ours' | 'torch'): number => perSeed.reduce((s, p) => s + METHODS.reduce((a, m) => a + p[side][m]!, 0), 0);
  const perMethod = (side: 'ours' | 'torch', m: string): number => mean(perSeed.map((p) => p[side][m]!));
  const acc = (runs: { method: string; last_acc: number }[], m: string): { mean: number; std: number; n: number } => {
    const v = runs.filter((r) => r.method === m).map((r) => r.last_acc);
    return { mean: v.length ? mean(v) : NaN, std: v.length > 1 ? std(v) : 0, n: v.length };
  };
  const outputs = ['simplecil', 'ranpac-m0', 'ranpac', 'safe-slow', 'safe-fast', 'safe'];
  const out = {
    setting: quick ? 'quick (reduced: 200/100/100 rows per class, pretrain 2 epochs, PET 1/1, M=256)' : 'full reference miniature (pretrain 10 epochs, PET 5/3, M=2048)',
    complete: final, seeds: perSeed.map((p) => p.seed), threads_torch: 2,
    pretrain_s: { ours: oursPretrainS, torch: torchPre.backbone.pretrain_time_s ?? null, ratio_ours_over_torch: oursPretrainS && torchPre.backbone.pretrain_time_s ? oursPretrainS / torchPre.backbone.pretrain_time_s : null },
    time_per_seed_s: Object.fromEntries(METHODS.map((m) => [m, { ours: perMethod('ours', m), torch: perMethod('torch', m), ratio_ours_over_torch: perMethod('ours', m) / perMethod('torch', m) }])),
    time_all_methods_s: { ours: total('ours'), torch: total('torch'), ratio_ours_over_torch: total('ours') / total('torch'), target: '<= 1.5' },
    safe_dc_seconds_excluded: mean(perSeed.map((p) => p.ours['safe-dc-seconds'] ?? 0)),
    last_acc: Object.fromEntries(outputs.map((m) => [m, { ours: acc(oursRuns, m), torch: acc(torchRuns as { method: string; last_acc: number }[], m) }])),
    last_acc_ours_variants: Object.fromEntries(['safe-valsel', 'safe-dc', 'safe-fast-dc', 'safe-fast-gauss'].map((m) => [m, acc(oursRuns, m)])),
    per_seed: perSeed,
  };
  if (final) done(rec.finish(out) as unknown as Record<string, unknown>);
  else if (json) writeJsonAtomic(json, { ...out, partial: true });
  const record = opt('--record');
  if (record) writeJsonAtomic(resolve(record), { dataset: mini.name, split, seeds: perSeed.map((p) => p.seed), runs: oursRuns, summary: summarise(oursRuns), diagnostics: oursDiag, methodOptions, complete: final });
}

try {
  for (const seed of seeds) {
    const r = await runCil(mini, backbone, { split, seeds: [seed], methods: METHODS, methodOptions });
    oursRuns.push(...r.runs);
    oursDiag[`seed-${seed}`] = r.diagnostics[`seed-${seed}`];
    const ours: Record<string, number> = {};
    for (const m of METHODS) ours[m] = r.runs.find((x) => x.method === learnerOf[m])!.time_s;
    const sessions = ((r.diagnostics[`seed-${seed}`] as Record<string, { sessions: { dcSeconds?: number }[] }>).safe.sessions);
    ours['safe-dc-seconds'] = sessions.reduce((s, x) => s + (x.dcSeconds ?? 0), 0);
    ours.safe! -= ours['safe-dc-seconds'];
    const t = torch(['--load-backbone', torchBbDir, '--seeds', String(seed), '--out', join(work, `torch-seed-${seed}.json`)]);
    const tr = (JSON.parse((await import('node:fs')).readFileSync(join(work, `torch-seed-${seed}.json`), 'utf8')) as { runs: { method: string; time_s: number }[] }).runs;
    torchRuns.push(...tr);
    const torchT: Record<string, number> = {};
    for (const m of METHODS) torchT[m] = t.summary[m]!.time_per_seed_s;
    perSeed.push({ seed, ours, torch: torchT });
    process.stderr.write(`seed ${seed}: ours ${METHODS.map((m) => `${m} ${ours[m]!.toFixed(1)}`).join(', ')} s; torch ${METHODS.map((m) => `${m} ${torchT[m]!.toFixed(1)}`).join(', ')} s\n`);
    writeOut(false);
  }
  writeOut(true);
} finally {
  if (!opt('--work')) rmSync(work, { recursive: true, force: true });
}
