// `perennial theory regression` and `perennial theory hmm`, plus the theory section of `perennial demo`.
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard } from '../core/fsx.js';
import { progress } from '../core/progress.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport } from '../core/report.js';
import {
  HMM_DEFAULTS, REGRESSION_DEFAULTS, defaultHeadSizes, hmmSections, regressionSections, runHmm, runRegression, theoryDemo,
  type HmmExperimentOptions, type RegressionExperimentOptions,
} from '../theory/experiments.js';
import type { ShiftKind } from '../theory/clr.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseFloatOption, parseIntOption, parseNumberList, parseRangeOrList, parseStringList } from './util.js';

interface RegressionFlags {
  tasks: number; n: number; p: number; sigma2: number[]; shift: string[]; repeats: number; lambdas: number[]; seed: number;
  json?: string; html?: string;
}
interface HmmFlags {
  n: number; p?: number[]; repeats: number; sigmaU: number; d: number; rho: number; L: number; seed: number; cutoff: number;
  json?: string; html?: string;
}

function positive(name: string, v: number): number {
  if (!(v >= 1)) throw new InputError(`--${name} must be >= 1, got ${v}`);
  return v;
}

export async function regressionCommand(f: RegressionFlags): Promise<void> {
  outputGuard().output(f.json, '--json').output(f.html, '--html').check();
  const o: RegressionExperimentOptions = {
    tasks: positive('tasks', f.tasks), n: positive('n', f.n), p: positive('p', f.p), sigma2: f.sigma2, shift: f.shift as ShiftKind[],
    repeats: positive('repeats', f.repeats), lambdas: f.lambdas, seed: f.seed,
  };
  const rec = new RunRecorder('theory regression', o, o.seed);
  const bar = progress('theory regression', o.sigma2.length * o.shift.length * o.repeats);
  const metrics = await rec.time('simulate', () => runRegression(o, () => bar.tick()));
  bar.done();
  const record = rec.finish(metrics);
  if (f.json) writeRecord(f.json, record);
  if (f.html) await rec.time('report', () => writeReport(f.html!, 'perennial theory regression', regressionSections(metrics), `seed ${o.seed}, wall ${record.run.wall_s.toFixed(1)} s, linalg ${record.run.backend.linalg}`));
  for (const v of metrics.gl2_population_vs_best_ridge) {
    process.stdout.write(`shift=${v.shift} sigma2=${v.sigma2}: gl2_population ${v.gl2_population.toPrecision(3)}, best ridge (lambda=${v.best_ridge_lambda}) ${v.best_ridge.toPrecision(3)}, ` +
      `oracle ${metrics.settings.find((s) => s.shift === v.shift && s.sigma2 === v.sigma2)!.errors.oracle.at(-1)!.toPrecision(3)}\n`);
  }
  process.stdout.write(`wall ${record.run.wall_s.toFixed(1)} s${f.json ? `; record ${f.json}` : ''}${f.html ? `; report ${f.html}` : ''}\n`);
}

export async function hmmCommand(f: HmmFlags): Promise<void> {
  outputGuard().output(f.json, '--json').output(f.html, '--html').check();
  const o: HmmExperimentOptions = {
    n: positive('n', f.n), p: f.p ?? defaultHeadSizes(f.n), repeats: positive('repeats', f.repeats), sigmaU: f.sigmaU, d: positive('d', f.d), rho: f.rho, L: positive('L', f.L), seed: f.seed, cutoff: f.cutoff,
  };
  if (!(o.sigmaU >= 0)) throw new InputError(`--sigma-u must be >= 0, got ${o.sigmaU}`);
  for (const p of o.p) if (!Number.isInteger(p) || p < 1) throw new InputError(`--p: head sizes must be positive integers, got ${p}`);
  const rec = new RunRecorder('theory hmm', o, o.seed);
  const bar = progress('theory hmm', o.repeats);
  const metrics = await rec.time('risk curve', () => runHmm(o, () => bar.tick()));
  bar.done();
  const record = rec.finish(metrics);
  if (f.json) writeRecord(f.json, record);
  if (f.html) await rec.time('report', () => writeReport(f.html!, 'perennial theory hmm', hmmSections([metrics]), `seed ${o.seed}, wall ${record.run.wall_s.toFixed(1)} s`));
  process.stdout.write(`n=${metrics.n} sigma_u=${metrics.sigma_u}: peak at p=${metrics.peak_p}, lowest under-parameterised p=${metrics.argmin_underparameterised_p}, ` +
    `median at p=${metrics.p.at(-1)}: ${metrics.risk_median.at(-1)!.toPrecision(3)} (null ${metrics.null_risk})\n`);
  process.stdout.write(`wall ${record.run.wall_s.toFixed(1)} s${f.json ? `; record ${f.json}` : ''}${f.html ? `; report ${f.html}` : ''}\n`);
}

function register(program: Command): void {
  const theory = program.command('theory').description('continual linear regression with generalised l2, and head tuning on HMM data (double descent)');
  const d = REGRESSION_DEFAULTS;
  theory
    .command('regression')
    .description('per-task errors of oracle, min-norm, continual ridge and generalised-l2 estimators on seeded task streams')
    .option('--tasks <T>', 'number of tasks', parseIntOption('tasks'), d.tasks)
    .option('--n <n>', 'rows per task', parseIntOption('n'), d.n)
    .option('--p <p>', 'dimension', parseIntOption('p'), d.p)
    .option('--sigma2 <list>', 'noise variances', parseNumberList('sigma2'), [...d.sigma2])
    .option('--shift <list>', 'covariate shift settings: none, diag', parseStringList, [...d.shift])
    .option('--repeats <R>', 'paired repeats per setting', parseIntOption('repeats'), d.repeats)
    .option('--lambdas <list>', 'continual-ridge lambdas', parseNumberList('lambdas'), [...d.lambdas])
    .option('--seed <s>', 'seed', parseIntOption('seed'), d.seed)
    .option('--json <file>', 'write the JSON record here')
    .option('--html <file>', 'write the HTML report here')
    .action(regressionCommand);
  const h = HMM_DEFAULTS;
  theory
    .command('hmm')
    .description('test risk of a min-norm head on frozen HMM features against the number of features p (double descent)')
    .option('--n <n>', 'training sequences', parseIntOption('n'), h.n)
    .option('--p <range>', 'head sizes: lo..hi (log grid) or a list (default: 5..400 plus n-4 and n+4)', parseRangeOrList('p'))
    .option('--repeats <R>', 'training sets per p', parseIntOption('repeats'), h.repeats)
    .option('--sigma-u <s>', 'feature noise (3 = weak features, 1 = strong)', parseFloatOption('sigma-u'), h.sigmaU)
    .option('--d <d>', 'latent dimension', parseIntOption('d'), h.d)
    .option('--rho <r>', 'chain autocorrelation', parseFloatOption('rho'), h.rho)
    .option('--L <L>', 'position whose representation feeds the head', parseIntOption('L'), h.L)
    .option('--cutoff <c>', 'relative eigenvalue cutoff of the pseudo-inverse near p = n', parseFloatOption('cutoff'), h.cutoff)
    .option('--seed <s>', 'seed', parseIntOption('seed'), h.seed)
    .option('--json <file>', 'write the JSON record here')
    .option('--html <file>', 'write the HTML report here')
    .action(hmmCommand);
}

async function demo(ctx: DemoContext): Promise<DemoResult> {
  const d = theoryDemo(ctx.seed, ctx.quick);
  const rec = new RunRecorder('demo theory', { quick: ctx.quick }, ctx.seed);
  writeRecord(join(ctx.outDir, 'theory.json'), rec.finish({ regression: d.regression, hmm: d.hmm }));
  return { sections: d.sections, metrics: d.metrics };
}

export const theoryCli: AreaCli = { name: 'theory', register, demo };
