// `perennial cil co2l ...` (Co2L and CILA on Seq-Fashion-MNIST) and `perennial cil atlas ...`
// (adapter-based two-stage continual learning on the multimodal stand-in). Both hang under the
// existing `cil` command group.
import { formatNumber } from '../core/format.js';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { initTf } from '../core/tensor.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { SectionBuilder, barChart, writeReport, type Section } from '../core/report.js';
import { outputGuard } from '../core/fsx.js';
import { progress } from '../core/progress.js';
import { mean, std } from '../core/stats.js';
import { loadFashionMnist, findFashionMnist } from '../core/data/idx.js';
import { imagePatterns } from '../core/data/synthetic.js';
import { Rng } from '../core/rng.js';
import { CO2L_DEFAULTS, SWEEP_METHOD, co2lOptions, expandMethods, runCo2l, type Co2lOptions, type Co2lRunResult } from '../continual/methods/co2l.js';
import type { RotatedOptions } from '../continual/parts/streams.js';
import { atlasOptions, runAtlas, ATLAS_STAND_IN, type AtlasResult } from '../continual/atlas.js';
import { runParts, type RunPart } from './continual-parts.js';
import { atlasSections, ATLAS_QUICK } from '../continual/atlas-report.js';
import type { Dataset } from '../core/data/dataset.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseFloatOption, parseIntOption, parseSeeds, parseStringList } from './util.js';

const f1 = (v: number): string => formatNumber(v, { digits: 1, scientific: false });

/** Tiny synthetic image stream for the quick demo and tests: 10 pattern classes, 12x12. */
export function syntheticImages(seed: number, perClass: number): { train: Dataset; test: Dataset } {
  const r = new Rng(seed, 'co2l-synthetic');
  const opts = { classes: 10, perClass, size: 12, noise: 0.25 };
  return { train: imagePatterns(opts, r, 'train'), test: imagePatterns({ ...opts, perClass: Math.max(20, Math.floor(perClass / 4)) }, r, 'test') };
}

export function co2lSections(r: Co2lRunResult, title: string, note: string): Section[] {
  const b = new SectionBuilder(title).text(note);
  const methods = Object.keys(r.summary);
  b.table(['method', 'last acc (mean +- std)', 'avg inc acc', 'forgetting', 'seeds', 's/seed', 'lambda per task (seed 1)', 'loss ratio per task (seed 1)'],
    methods.map((m) => {
      const s = r.summary[m];
      const rs = r.runs.filter((e) => e.method === m);
      const first = rs[0];
      return [m, `${f1(s.last_acc_mean)} +- ${f1(s.last_acc_std)}`, f1(s.avg_inc_acc_mean), f1(mean(rs.map((e) => e.forgetting))), s.n, f1(s.time_per_seed_s),
        first.lambda_per_task.map((v) => v.toFixed(2)).join(' '), first.loss_ratio_per_task.map((v) => (v === null ? '-' : v.toFixed(3))).join(' ')];
    }), 'Class-IL accuracy (%) of a class-balanced linear probe after the last task; probe epoch chosen on validation rows.');
  const base = r.runs.filter((e) => e.method === 'co2l');
  if (base.length) {
    const rows: (string | number)[][] = [];
    for (const m of methods) {
      if (m === 'co2l') continue;
      const d: number[] = [];
      for (const e of r.runs) if (e.method === m) { const o = base.find((x) => x.seed === e.seed); if (o) d.push(e.last_acc - o.last_acc); }
      if (d.length) rows.push([m, `${f1(mean(d))} +- ${f1(d.length > 1 ? std(d) : 0)}`, `${d.filter((v) => v > 0).length}/${d.length}`, d.filter((v) => v === 0).length]);
    }
    if (rows.length) b.table(['method', 'paired diff vs co2l', 'wins', 'identical'], rows, 'Paired over seeds (same data, class order and initialisation).');
  }
  b.plot(barChart(methods.map((m) => ({ method: m, last_acc: r.summary[m].last_acc_mean })), { x: 'method', y: 'last_acc', yTitle: 'class-IL accuracy after last task (%)' }));
  return [b.build()];
}

export interface Co2lCli {
  methods: string[]; seeds: number[]; json: string; html?: string; dataset: string; quick?: boolean; resume?: boolean;
  perClass?: number; epochsFirst?: number; epochsLater?: number; buffer?: number; checkpoints?: string;
  scenario?: string; tasks?: number; encoder?: string; mlpHidden?: number[]; maxAngle?: number; perClassTest?: number;
  preset?: string;
}

/** The `cil co2l` options a preset may fill in (explicit options override them). */
export type Co2lPresetValues = Partial<Pick<Co2lCli, 'scenario' | 'perClass' | 'epochsFirst' | 'epochsLater' | 'buffer' | 'tasks' | 'encoder' | 'mlpHidden' | 'maxAngle' | 'perClassTest'>>;

export interface Co2lPreset {
  readonly description: string;
  readonly values: Co2lPresetValues;
}

/**
 * Named regimes of `cil co2l` (`--preset`). They only fill in options left unset, so every earlier
 * default (the reference miniature, `--scenario rotated`) stays as it was.
 */
export const CO2L_PRESETS: Readonly<Record<string, Co2lPreset>> = Object.freeze({
  'lambda-regime': {
    description: 'the lambda-regime study: split Fashion-MNIST B2Inc2 (class-incremental), MLP encoder 784-256-128, 500 training images per class, buffer 20, 20 epochs per task',
    values: { scenario: 'split', encoder: 'mlp', mlpHidden: [256], perClass: 500, buffer: 20, epochsFirst: 20, epochsLater: 20 },
  },
});

/** Fill the options left unset from the named preset (no preset: unchanged). */
export function applyCo2lPreset(o: Co2lCli): Co2lCli {
  if (o.preset === undefined) return o;
  const p = CO2L_PRESETS[o.preset];
  if (!p) throw new InputError(`--preset ${o.preset}: known: ${Object.keys(CO2L_PRESETS).join(', ')}`);
  const out: Record<string, unknown> = { ...o };
  for (const [k, v] of Object.entries(p.values)) if (out[k] === undefined) out[k] = v;
  return out as unknown as Co2lCli;
}

/**
 * The rotated regime (domain-incremental Fashion-MNIST, Co2L's R-MNIST rule), chosen on exploration
 * seeds 100-104 so that distillation matters (lambda 1 vs 0); the reported seeds are 0-9.
 */
export const ROTATED_DEFAULTS = Object.freeze({
  tasks: 10, perClassTrain: 50, perClassVal: 10, perClassTest: 50, maxAngle: 180,
  options: { encoder: 'mlp' as const, mlpHidden: [256], featureDim: 128, bufferSize: 50, epochsFirst: 10, epochsLater: 10, batchSize: 128 },
});

function loadCo2lData(o: { dataset: string; quick?: boolean; perClass?: number }): { train: Dataset; test: Dataset; perClassTrain: number; perClassVal: number; name: string } {
  if (o.dataset === 'fashion-mnist') {
    if (!findFashionMnist()) throw new InputError('Fashion-MNIST not found: install Debian dataset-fashion-mnist or set PERENNIAL_FASHION_MNIST, or use --dataset synthetic');
    return { train: loadFashionMnist('train'), test: loadFashionMnist('test'), perClassTrain: o.perClass ?? (o.quick ? 300 : 2000), perClassVal: 100, name: 'fashion-mnist' };
  }
  if (o.dataset === 'synthetic') {
    const pc = o.perClass ?? 120;
    const d = syntheticImages(0, pc + 30);
    return { ...d, perClassTrain: pc, perClassVal: 30, name: 'synthetic' };
  }
  throw new InputError(`unknown dataset ${JSON.stringify(o.dataset)}; known: fashion-mnist, synthetic`);
}

/** `cil co2l`, also reached through `cil run --methods co2l,...`. */
export async function co2lCommand(given: Co2lCli, resolvedConfig?: Record<string, unknown>): Promise<void> {
  await runParts([await co2lPart(given, resolvedConfig)], { json: given.json, html: given.html });
}

/** The Co2L/CILA part of a run: options checked, data loaded; `run` trains over the seeds. */
export async function co2lPart(given: Co2lCli, resolvedConfig?: Record<string, unknown>): Promise<RunPart<Co2lRunResult>> {
  const o = applyCo2lPreset(given);
  outputGuard().input(resolvedConfig?.config as string | undefined, '--config').inputFolder(o.checkpoints ?? `${o.json}.ckpt`, o.checkpoints ? '--checkpoints' : 'the checkpoints beside --json', /^(config\.json|seed-\d+(\/.*)?|.*-seed-\d+\.json)$/).output(o.json, '--json').output(o.html, '--html').check();
  expandMethods(o.methods);
  const scenario = o.scenario ?? 'split';
  if (scenario !== 'split' && scenario !== 'rotated') throw new InputError(`--scenario ${scenario}: known: split, rotated`);
  const rot = scenario === 'rotated';
  if (rot && o.dataset !== 'fashion-mnist') throw new InputError('--scenario rotated runs on --dataset fashion-mnist');
  if (o.encoder !== undefined && o.encoder !== 'cnn' && o.encoder !== 'mlp') throw new InputError(`--encoder ${o.encoder}: known: cnn, mlp`);
  await initTf();
  const data = loadCo2lData(rot ? { ...o, perClass: o.perClass ?? ROTATED_DEFAULTS.perClassTrain } : o);
  const rotated: RotatedOptions | null = rot ? {
    tasks: o.tasks ?? ROTATED_DEFAULTS.tasks, perClassTrain: data.perClassTrain, perClassVal: ROTATED_DEFAULTS.perClassVal,
    perClassTest: o.perClassTest ?? ROTATED_DEFAULTS.perClassTest, maxAngle: o.maxAngle ?? ROTATED_DEFAULTS.maxAngle,
  } : null;
  const options: Co2lOptions = co2lOptions({
    ...(rot ? ROTATED_DEFAULTS.options : {}),
    ...(o.encoder !== undefined ? { encoder: o.encoder as 'cnn' | 'mlp' } : {}),
    ...(o.mlpHidden !== undefined ? { mlpHidden: o.mlpHidden } : {}),
    ...(o.quick ? { epochsFirst: 4, epochsLater: 2, probeEpochs: 20 } : {}),
    ...(o.epochsFirst !== undefined ? { epochsFirst: o.epochsFirst } : {}),
    ...(o.epochsLater !== undefined ? { epochsLater: o.epochsLater } : {}),
    ...(o.buffer !== undefined ? { bufferSize: o.buffer } : {}),
  });
  const json = resolve(o.json);
  const config = { methods: o.methods, seeds: o.seeds, dataset: data.name, scenario, ...(o.preset !== undefined ? { preset: o.preset } : {}), rotated, perClassTrain: data.perClassTrain, perClassVal: rotated?.perClassVal ?? data.perClassVal, options, ...(resolvedConfig ? { resolved_config: resolvedConfig } : {}) };
  const split = rot ? `rotated-${rotated!.tasks}` : 'B2Inc2';
  const what = (rot ? `rotated ${data.name}, ${rotated!.tasks} domain-incremental tasks` : `${data.name} B2Inc2`) + (o.preset !== undefined ? ` (preset ${o.preset})` : '');
  return {
    kind: 'co2l', command: 'cil co2l', config, seeds: o.seeds, stream: `${data.name} ${split} (Co2L's stream; the encoder is trained end to end)`,
    run: async () => {
      const bar = progress('cil co2l', o.seeds.length);
      const result = await runCo2l({
        train: data.train, test: data.test, dataset: data.name, split, seeds: o.seeds, methods: o.methods, options,
        perClassTrain: data.perClassTrain, perClassVal: rotated?.perClassVal ?? data.perClassVal, numClasses: 10, rotated,
        checkpointDir: resolve(o.checkpoints ?? `${json}.ckpt`), resume: o.resume,
        onSession: (s, t, T) => bar.tick(1 / T, `seed ${s} task ${t + 1}/${T}`),
      });
      bar.done();
      return result;
    },
    print: (result) => {
      for (const [m, s] of Object.entries(result.summary)) process.stdout.write(`${m.padEnd(22)} last ${f1(s.last_acc_mean)} +- ${f1(s.last_acc_std)}  avg-inc ${f1(s.avg_inc_acc_mean)}  ${f1(s.time_per_seed_s)} s/seed\n`);
    },
    title: `perennial cil co2l: ${data.name}`,
    sections: (result) => co2lSections(result, `Co2L / CILA: ${what}`, `${data.perClassTrain} training rows per class${rot ? ' and task' : ''}, ${options.encoder} encoder, buffer ${options.bufferSize}, epochs ${options.epochsFirst}/${options.epochsLater}.`),
  };
}

interface AtlasCli { seeds?: number[]; json: string; html?: string; quick?: boolean; shots?: number; ortho?: number; order?: string }

export async function atlasCommand(given: AtlasCli, resolvedConfig?: Record<string, unknown>): Promise<void> {
  await runParts([await atlasPart(given, resolvedConfig)], { json: given.json, html: given.html });
}

/** The ATLAS part of a run (the multimodal stand-in, task-incremental). */
export async function atlasPart(given: AtlasCli, resolvedConfig?: Record<string, unknown>): Promise<RunPart<AtlasResult>> {
  const o = { ...given, seeds: given.seeds ?? (given.quick ? [0, 1] : [0, 1, 2, 3, 4]) };
  outputGuard().input(resolvedConfig?.config as string | undefined, '--config').output(o.json, '--json').output(o.html, '--html').check();
  await initTf();
  const orders = o.order === undefined || o.order === 'both' ? ['multimodal-first', 'unimodal-first'] as const
    : o.order === 'multimodal-first' || o.order === 'unimodal-first' ? [o.order] as const
    : (() => { throw new InputError(`--order ${o.order}: known: both, multimodal-first, unimodal-first`); })();
  const opts = atlasOptions({ ...(o.quick ? ATLAS_QUICK : {}), ...(o.shots !== undefined ? { shots: o.shots } : {}), ...(o.ortho !== undefined ? { orthoWeight: o.ortho } : {}) });
  return {
    kind: 'atlas', command: 'cil atlas', config: { seeds: o.seeds, orders, options: opts, ...(resolvedConfig ? { resolved_config: resolvedConfig } : {}) }, seeds: o.seeds,
    stream: `ATLAS's multimodal stand-in (${orders.join(', ')}; task-incremental)`,
    run: async () => {
      const bar = progress('cil atlas', o.seeds.length * orders.length);
      const result = await runAtlas(opts, o.seeds, { orders: [...orders], orthoAblation: !o.quick, onSeed: (s, ord) => bar.tick(1, `seed ${s} ${ord}`) });
      bar.done();
      return result;
    },
    print: (result) => {
      for (const s of result.summary) process.stdout.write(`${s.order.padEnd(17)} ${s.task.padEnd(11)} ${s.variant.padEnd(10)} ${f1(s.acc_mean)} +- ${f1(s.acc_std)}  params ${s.trainable_params}\n`);
      process.stdout.write(`upstream before ${result.upstream_acc_before.map(f1).join(' ')} after ${result.upstream_acc_after.map(f1).join(' ')} identical ${result.upstream_identical}\n`);
      for (const p of result.paired_vs_scratch) if (p.variant === 'atlas') process.stdout.write(`${p.order.padEnd(17)} ${p.task.padEnd(13)} atlas - scratch ${f1(p.diff_mean)} +- ${f1(p.diff_std)} (${p.wins}/${p.n} wins)\n`);
      for (const g of result.gate) if (g.variant === 'experience') process.stdout.write(`${g.order.padEnd(17)} ${g.task.padEnd(13)} w ${Object.entries(g.weights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; related ${g.related} largest in ${g.related_largest}/${g.n}\n`);
    },
    title: 'perennial cil atlas',
    sections: (result) => atlasSections(result, 'ATLAS: low-shot downstream tasks'),
  };
}

export const continualCilaCli: AreaCli = {
  name: 'cil-cila',
  register(program: Command): void {
    let cil = program.commands.find((c) => c.name() === 'cil');
    if (!cil) cil = program.command('cil').description('class-incremental learning');
    const co2l = cil.command('co2l')
      .description('Co2L and CILA (contrastive replay with relation distillation) on Seq-Fashion-MNIST B2Inc2; same record shape as `cil run` plus lambda_per_task and loss_ratio_per_task')
      .option('--methods <list>', 'co2l, co2l-l<lambda> (e.g. co2l-l0, co2l-l4), co2l-val (lambda grid chosen on validation), cila, cila-<pure|min1|max1>[-c<c>][-unscaled]', parseStringList, ['co2l', 'co2l-l0', 'cila'])
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list', parseSeeds, [0])
      .requiredOption('--json <file>', 'result record')
      .option('--html <file>', 'HTML report')
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .option('--quick', 'fewer images and epochs (the demo setting)');
    addCo2lOptions(co2l);
    co2l
      .option('--resume', 'reuse finished (method, seed) results of an interrupted run with the same configuration')
      .option('--checkpoints <dir>', 'folder of finished (method, seed) results (default <json>.ckpt)')
      .action((o: Co2lCli) => {
        process.stderr.write(`cil co2l: the same as cil run --methods ${o.methods.join(',')} (with these flags)\n`);
        return co2lCommand(o);
      });
    const atlas = cil.command('atlas')
      .description('ATLAS (adapters, experience-based learning + novel knowledge expansion) on a multimodal feature stand-in: low-shot downstream accuracy and trainable parameters per variant')
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list (default 5, 2 with --quick)', parseSeeds)
      .requiredOption('--json <file>', 'result record')
      .option('--html <file>', 'HTML report')
      .option('--quick', 'less upstream data, fewer steps, 2 seeds, no orthogonality ablation (the demo setting)');
    addAtlasOptions(atlas);
    atlas.action((o: AtlasCli) => {
      process.stderr.write('cil atlas: the same as cil run --methods atlas (with these flags)\n');
      return atlasCommand(o);
    });
  },
  async demo(ctx: DemoContext): Promise<DemoResult> {
    await initTf();
    const seeds = ctx.quick ? [ctx.seed, ctx.seed + 1] : Array.from({ length: 5 }, (_, i) => ctx.seed + i);
    const syn = syntheticImages(ctx.seed, 150);
    const opts = co2lOptions({ channels: [16, 32], featureDim: 64, projHidden: 64, projDim: 32, batchSize: 64, epochsFirst: ctx.quick ? 6 : 12, epochsLater: ctx.quick ? 3 : 6, bufferSize: 100, probeEpochs: 20, lr: 1e-2, probeLr: 1e-2 });
    const co2l = await runCo2l({ train: syn.train, test: syn.test, dataset: 'synthetic-patterns', split: 'B2Inc2', seeds, methods: ['co2l', 'co2l-l0', 'cila', 'cila-pure'], options: opts, perClassTrain: 120, perClassVal: 30, numClasses: 10 });
    const atlas = await runAtlas(atlasOptions(ctx.quick ? ATLAS_QUICK : {}), seeds, { orders: ['multimodal-first'], orthoAblation: false });
    const sections = [
      ...co2lSections(co2l, 'Continual learning: Co2L and CILA (synthetic 12x12 patterns)', `Quick miniature on synthetic image patterns (the Fashion-MNIST reference runs with \`perennial cil co2l\`): ${seeds.length} seeds, encoder channels ${opts.channels.join('-')}, buffer ${opts.bufferSize}.`),
      ...atlasSections(atlas, 'Continual learning: ATLAS (multimodal stand-in)'),
    ];
    const metrics: Record<string, unknown> = { co2l: co2l.summary, atlas: atlas.summary, atlas_upstream_identical: atlas.upstream_identical, atlas_stand_in: ATLAS_STAND_IN };
    return { sections, metrics };
  },
};

/** The Co2L/CILA flags, shared by `cil co2l` and `cil run` (`prefix` marks them in `cil run`'s help). */
export function addCo2lOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--per-class <n>', `${prefix}training rows per class (default ${2000}, 300 with --quick)`, parseIntOption('per-class'))
    .option('--epochs-first <n>', `${prefix}epochs on task 1 (default ${CO2L_DEFAULTS.epochsFirst})`, parseIntOption('epochs-first'))
    .option('--epochs-later <n>', `${prefix}epochs on later tasks (default ${CO2L_DEFAULTS.epochsLater})`, parseIntOption('epochs-later'))
    .option('--buffer <n>', `${prefix}replay buffer size (default ${CO2L_DEFAULTS.bufferSize})`, parseIntOption('buffer'))
    .option('--scenario <name>', prefix + 'split (Seq-Fashion-MNIST B2Inc2; the default) | rotated (domain-incremental rotated Fashion-MNIST, MLP encoder)')
    .option('--preset <name>', `${prefix}a named regime that fills in the options left unset: ${Object.entries(CO2L_PRESETS).map(([k, p]) => `${k} (${p.description})`).join('; ')}`)
    .option('--tasks <n>', `${prefix}rotated: number of tasks (default ${ROTATED_DEFAULTS.tasks})`, parseIntOption('tasks'))
    .option('--max-angle <deg>', `${prefix}rotated: angles uniform in [0, deg) (default ${ROTATED_DEFAULTS.maxAngle})`, parseFloatOption('max-angle'))
    .option('--per-class-test <n>', `${prefix}rotated: test rows per class and task (default ${ROTATED_DEFAULTS.perClassTest})`, parseIntOption('per-class-test'))
    .option('--encoder <kind>', prefix + 'cnn | mlp (default: cnn for split, mlp for rotated)')
    .option('--mlp-hidden <list>', prefix + 'hidden widths of the MLP encoder, comma-separated', (v: string) => v.split(',').map((x) => parseIntOption('mlp-hidden')(x.trim())));
}

/** The ATLAS flags, shared by `cil atlas` and `cil run`. */
export function addAtlasOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--shots <n>', `${prefix}downstream rows per class (match tasks: twice this)`, parseIntOption('shots'))
    .option('--ortho <w>', `${prefix}orthogonality penalty weight (default 0.1)`, parseFloatOption('ortho'))
    .option('--order <name>', `${prefix}upstream order: both | multimodal-first | unimodal-first (default both)`);
}
