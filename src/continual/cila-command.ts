// Co2L/CILA (on Seq-Fashion-MNIST B2Inc2, the rotated stream or synthetic patterns) and ATLAS
// (on the multimodal stand-in) as parts of a run: options checked, data loaded, then run by the
// trainer; presets, report sections and the demo miniature. `cil co2l`, `cil atlas` and
// `cil run --methods co2l,atlas,...` reach them.
import { resolve } from 'node:path';
import { formatNumber } from '../core/format.js';
import { InputError } from '../core/errors.js';
import { initTf } from '../core/tensor.js';
import { SectionBuilder, barChart, type Section } from '../core/report.js';
import { outputGuard } from '../core/fsx.js';
import { progress } from '../core/progress.js';
import { mean, std } from '../core/stats.js';
import { loadFashionMnist, findFashionMnist } from '../core/data/idx.js';
import { imagePatterns } from '../core/data/synthetic.js';
import { Rng } from '../core/rng.js';
import type { Dataset } from '../core/data/dataset.js';
import { co2lOptions, expandMethods, runCo2l, type Co2lOptions, type Co2lRunResult } from './methods/co2l.js';
import type { RotatedOptions } from './parts/streams.js';
import { atlasOptions, runAtlas, ATLAS_STAND_IN, type AtlasResult } from './atlas.js';
import { atlasSections, ATLAS_QUICK } from './atlas-report.js';
import type { RunPart } from './run-parts.js';

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
    lines: (result) => Object.entries(result.summary).map(([m, s]) => `${m.padEnd(22)} last ${f1(s.last_acc_mean)} +- ${f1(s.last_acc_std)}  avg-inc ${f1(s.avg_inc_acc_mean)}  ${f1(s.time_per_seed_s)} s/seed\n`),
    title: `perennial cil co2l: ${data.name}`,
    sections: (result) => co2lSections(result, `Co2L / CILA: ${what}`, `${data.perClassTrain} training rows per class${rot ? ' and task' : ''}, ${options.encoder} encoder, buffer ${options.bufferSize}, epochs ${options.epochsFirst}/${options.epochsLater}.`),
  };
}

export interface AtlasCli { seeds?: number[]; json: string; html?: string; quick?: boolean; shots?: number; ortho?: number; order?: string }


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
    lines: (result) => [
      ...result.summary.map((s) => `${s.order.padEnd(17)} ${s.task.padEnd(11)} ${s.variant.padEnd(10)} ${f1(s.acc_mean)} +- ${f1(s.acc_std)}  params ${s.trainable_params}\n`),
      `upstream before ${result.upstream_acc_before.map(f1).join(' ')} after ${result.upstream_acc_after.map(f1).join(' ')} identical ${result.upstream_identical}\n`,
      ...result.paired_vs_scratch.filter((p) => p.variant === 'atlas').map((p) => `${p.order.padEnd(17)} ${p.task.padEnd(13)} atlas - scratch ${f1(p.diff_mean)} +- ${f1(p.diff_std)} (${p.wins}/${p.n} wins)\n`),
      ...result.gate.filter((g) => g.variant === 'experience').map((g) => `${g.order.padEnd(17)} ${g.task.padEnd(13)} w ${Object.entries(g.weights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; related ${g.related} largest in ${g.related_largest}/${g.n}\n`),
    ],
    title: 'perennial cil atlas',
    sections: (result) => atlasSections(result, 'ATLAS: low-shot downstream tasks'),
  };
}

/** The Co2L/CILA and ATLAS miniature of `perennial demo`: synthetic patterns, the multimodal stand-in. */
export async function co2lAtlasDemo(ctx: { seed: number; quick: boolean }): Promise<{ sections: Section[]; metrics: Record<string, unknown> }> {
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
  }
