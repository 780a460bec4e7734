// `perennial cil ...`: backbone pretraining and class-incremental runs (every method in the registry, Co2L/CILA and ATLAS).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { initTf } from '../core/tensor.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport } from '../core/report.js';
import { outputGuard } from '../core/fsx.js';
import { checkDatasetName, loadMiniature, type Miniature } from '../continual/data.js';
import { loadBackbone, pretrainBackbone, saveBackbone, type BackboneManifest } from '../continual/pretrain.js';
import { runCil, summarise, type CilRunResult } from '../continual/trainer.js';
import { cilSections } from '../continual/report.js';
import { LEARNERS } from '../continual/registry.js';
import type { Backbone } from '../continual/backbones/types.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseFloatOption, parseIntOption, parseSeeds, parseStringList } from './util.js';
import { loadFeatureRun } from '../continual/features.js';
import { addAtlasOptions, addCo2lOptions, atlasPart, co2lPart } from './continual-cila.js';
import { runParts, type PartKind, type RunPart } from './continual-parts.js';
import { camelKey, readRunConfig, RUN_CONFIG_KEYS, type RunConfig } from '../continual/run-config.js';
import { readJsonFile } from '../core/json.js';

/** "10" -> seeds 0..9; "3..5" -> seeds 3, 4, 5; "1,4,7" -> those seeds. */
export { parseSeeds } from './util.js';

function backboneDirFor(base: string, mini: Miniature, quick: boolean): string {
  return join(base, `cil-backbone-${mini.name}${quick ? '-quick' : ''}`);
}

/** Load the checkpoint in `dir`, or pretrain one there when it does not exist yet. */
export async function obtainBackbone(mini: Miniature, dir: string, opts: { seed: number; epochs?: number; quick: boolean }): Promise<{ backbone: Backbone; manifest: BackboneManifest; dir: string; created: boolean }> {
  if (existsSync(join(dir, 'manifest.json'))) {
    const { backbone, manifest } = loadBackbone(dir);
    if (manifest.spec.kind !== mini.backbone.kind) throw new InputError(`${dir}: a ${manifest.spec.kind} backbone, but ${mini.name} needs ${mini.backbone.kind}`);
    return { backbone, manifest, dir, created: false };
  }
  process.stderr.write(`cil: pretraining a backbone into ${dir}\n`);
  const epochs = opts.epochs ?? (opts.quick ? 3 : 10);
  const { backbone, manifest } = pretrainBackbone(mini, { seed: opts.seed, train: { epochs } });
  return { backbone, manifest: saveBackbone(dir, backbone, manifest), dir, created: true };
}

interface RunCliOptions {
  methods: string[]; dataset: string; split?: string; seeds: number[]; json: string; html?: string; config?: string;
  quick?: boolean; resume?: boolean; backbone?: string; m?: number; oracle?: boolean; driftCompensation?: boolean; checkpoints?: string;
  features?: string; labels?: string; testFeatures?: string; testLabels?: string; testFraction?: number;
}

/** The miniature and backbone a run uses: a cached feature set (`--features`), or a dataset with its pretrained backbone. */
async function runInputs(o: RunCliOptions, json: string): Promise<{ mini: Miniature; backbone: Backbone; info: Record<string, unknown>; note: string }> {
  if (o.features !== undefined || o.labels !== undefined) {
    if (!o.features || !o.labels) throw new InputError('give both --features and --labels');
    if (o.backbone) throw new InputError('--backbone does not apply to a feature cache: the features were extracted already');
    const { mini, backbone } = loadFeatureRun({
      features: o.features, labels: o.labels, testFeatures: o.testFeatures, testLabels: o.testLabels, testFraction: o.testFraction, split: o.split,
    });
    const info = { features: resolve(o.features), labels: resolve(o.labels), ...(o.testFeatures ? { testFeatures: resolve(o.testFeatures), testLabels: resolve(o.testLabels!) } : {}) };
    return { mini, backbone, info, note: `Feature cache ${info.features}.` };
  }
  const mini = loadMiniature(checkDatasetName(o.dataset), { quick: o.quick });
  const bb = await obtainBackbone(mini, resolve(o.backbone ?? backboneDirFor(dirname(json), mini, o.quick ?? false)), { seed: 0, quick: o.quick ?? false });
  return {
    mini, backbone: bb.backbone,
    info: { dir: bb.dir, sha256: bb.manifest.sha256, data: bb.manifest.data },
    note: `Backbone ${bb.manifest.sha256.slice(0, 12)} (${bb.manifest.data.supervision}).`,
  };
}

export function methodOptionsFor(o: { m?: number; oracle?: boolean; driftCompensation?: boolean; quick?: boolean }): Record<string, Record<string, unknown>> {
  const M = o.m ?? 2048;
  return {
    ranpac: { projections: { ranpac: M, 'ranpac-m0': 0 } },
    safe: { M, ...(o.oracle ? { oracleDiagnostic: true } : {}), ...(o.driftCompensation ? { driftCompensation: true } : {}) },
  };
}

/** Co2L-family methods train their own encoder end to end (no frozen backbone), so they run as in `cil co2l`. */
const isCo2lMethod = (m: string): boolean => /^(co2l|cila)(-|$)/.test(m);

/** The keys each kind of run reads besides methods, seeds, json, html, quick and config. */
const FROZEN_KEYS = ['dataset', 'split', 'resume', 'checkpoints', 'backbone', 'm', 'oracle', 'drift-compensation', 'features', 'labels', 'test-features', 'test-labels', 'test-fraction'];
const CO2L_KEYS = ['dataset', 'resume', 'checkpoints', 'per-class', 'epochs-first', 'epochs-later', 'buffer', 'scenario', 'preset', 'tasks', 'max-angle', 'per-class-test', 'encoder', 'mlp-hidden'];
const ATLAS_KEYS = ['shots', 'ortho', 'order'];
const COMMON_KEYS = ['methods', 'seeds', 'json', 'html', 'quick'];
const PART_KEYS: Record<PartKind, readonly string[]> = { frozen: FROZEN_KEYS, co2l: CO2L_KEYS, atlas: ATLAS_KEYS };
const PART_NAMES: Record<PartKind, string> = { frozen: 'frozen-backbone methods', co2l: 'co2l/cila methods (Seq-Fashion-MNIST B2Inc2 or the rotated stream)', atlas: 'atlas (the multimodal stand-in)' };

/**
 * Flags over the config file over the defaults: a flag given on the command line wins, then the
 * config's key, then the flag's default. Returns the merged options and the keys set by either.
 */
export function resolveRunOptions(flags: Record<string, unknown>, sourceOf: (camel: string) => string | undefined, config: RunConfig | null, configFile: string | null): { options: Record<string, unknown>; given: Set<string>; resolved: Record<string, unknown> } {
  const options: Record<string, unknown> = { ...flags };
  const given = new Set<string>();
  const resolved: Record<string, unknown> = {};
  for (const k of RUN_CONFIG_KEYS) {
    const c = camelKey(k);
    const src = sourceOf(c);
    if (src === 'cli') given.add(k);
    else if (config && (config as Record<string, unknown>)[k] !== undefined) {
      let v = (config as Record<string, unknown>)[k];
      if (k === 'methods' && typeof v === 'string') v = parseStringList(v);
      if (k === 'seeds') v = typeof v === 'number' ? parseSeeds(String(v)) : typeof v === 'string' ? parseSeeds(v) : v;
      options[c] = v;
      given.add(k);
    }
    if (options[c] !== undefined) resolved[k] = options[c];
  }
  if (configFile) resolved.config = configFile;
  return { options, given, resolved };
}

async function runCommand(flags: RunCliOptions, cmd: Command): Promise<void> {
  // Files named on the command line are checked before the config is read (the config may be the clash).
  outputGuard().input(flags.config, '--config').input(flags.features, '--features').input(flags.labels, '--labels').input(flags.testFeatures, '--test-features').input(flags.testLabels, '--test-labels')
    .inputFolder(flags.backbone, '--backbone').inputFolder(flags.checkpoints, '--checkpoints', /^(config\.json|seed-\d+(\/.*)?)$/)
    .output(flags.json, '--json').output(flags.html, '--html').check();
  const fileConfig = flags.config ? readRunConfig(flags.config) : null;
  const { options, given, resolved } = resolveRunOptions(flags as unknown as Record<string, unknown>, (c) => cmd.getOptionValueSource(c), fileConfig, flags.config ? resolve(flags.config) : null);
  const o = options as unknown as RunCliOptions & Record<string, unknown>;
  if (!o.json) throw new InputError('give --json (or json: in the --config file)');
  const groups = partitionMethods(o.methods);
  const kinds = [...groups.keys()];
  const allowed = new Set([...COMMON_KEYS, ...kinds.flatMap((k) => PART_KEYS[k])]);
  // The record keeps the keys the run's parts read (a default of another kind's flag is not part of it).
  for (const k of Object.keys(resolved)) if (k !== 'config' && !allowed.has(k)) delete resolved[k];
  const stray = [...given].filter((k) => !allowed.has(k));
  if (stray.length) throw new InputError(`${stray.map((k) => `--${k}`).join(', ')} ${stray.length > 1 ? 'do' : 'does'} not apply to ${kinds.map((k) => PART_NAMES[k]).join(' or ')}`);
  // Several parts share --json's folder: each keeps its checkpoints in its own sub-folder.
  const mixed = kinds.length > 1;
  const ckptBase = o.checkpoints ?? `${o.json}.ckpt`;
  const ckptOf = (k: PartKind): string | undefined => (mixed ? join(ckptBase, k) : o.checkpoints);
  const parts: RunPart[] = [];
  for (const [kind, methods] of groups) {
    if (kind === 'co2l') {
      parts.push(await co2lPart({
        methods, seeds: o.seeds ?? [0], json: o.json, html: o.html, dataset: o.dataset, quick: o.quick, resume: o.resume, checkpoints: ckptOf('co2l'),
        perClass: o.perClass as number | undefined, epochsFirst: o.epochsFirst as number | undefined, epochsLater: o.epochsLater as number | undefined, buffer: o.buffer as number | undefined,
        scenario: o.scenario as string | undefined, preset: o.preset as string | undefined, tasks: o.tasks as number | undefined, maxAngle: o.maxAngle as number | undefined,
        perClassTest: o.perClassTest as number | undefined, encoder: o.encoder as string | undefined, mlpHidden: o.mlpHidden as number[] | undefined,
      }, mixed ? undefined : resolved) as RunPart);
    } else if (kind === 'atlas') {
      parts.push(await atlasPart({ seeds: o.seeds, json: o.json, html: o.html, quick: o.quick, shots: o.shots as number | undefined, ortho: o.ortho as number | undefined, order: o.order as string | undefined }, mixed ? undefined : resolved) as RunPart);
    } else {
      parts.push(await frozenPart({ ...o, methods, seeds: o.seeds ?? [0], checkpoints: ckptOf('frozen') }, mixed ? undefined : resolved, mixed) as RunPart);
    }
  }
  await runParts(parts, { json: o.json, html: o.html, resolvedConfig: mixed ? resolved : undefined });
}

/** Co2L-family methods train their own encoder end to end (no frozen backbone); atlas runs on its stand-in. */
function partOf(m: string): PartKind {
  return isCo2lMethod(m) ? 'co2l' : m === 'atlas' ? 'atlas' : 'frozen';
}

/** The run's methods by part, in the order each kind first appears. */
export function partitionMethods(methods: readonly string[]): Map<PartKind, string[]> {
  const out = new Map<PartKind, string[]>();
  for (const m of methods) {
    const k = partOf(m);
    out.set(k, [...(out.get(k) ?? []), m]);
  }
  return out;
}

/** The frozen-backbone learners of a run: a miniature (or a feature cache) and its backbone. */
async function frozenPart(o: RunCliOptions & { seeds: number[] }, resolved: Record<string, unknown> | undefined, mixed: boolean): Promise<RunPart<CilRunResult & { backbone: unknown }>> {
  const unknown = o.methods.filter((m) => !LEARNERS.has(m));
  if (unknown.length) throw new InputError(`unknown method(s) ${unknown.join(', ')}; known: ${[...LEARNERS.keys()].join(', ')}`);
  const ckptLabel = o.checkpoints && !mixed ? '--checkpoints' : 'the checkpoints beside --json';
  outputGuard().input(o.config, '--config').input(o.features, '--features').input(o.labels, '--labels').input(o.testFeatures, '--test-features').input(o.testLabels, '--test-labels')
    .inputFolder(o.backbone, '--backbone').inputFolder(o.oracle ? null : o.checkpoints ?? `${o.json}.ckpt`, ckptLabel, /^(config\.json|seed-\d+(\/.*)?)$/)
    .output(o.json, '--json').output(o.html, '--html').check();
  await initTf();
  const json = resolve(o.json);
  if (o.oracle && !o.checkpoints) process.stderr.write('cil: --oracle keeps past training data; checkpoints are off for this run\n');
  const { mini, backbone, info, note } = await runInputs(o, json);
  const split = o.split ?? mini.defaultSplit;
  const methodOptions = methodOptionsFor(o);
  const config = { methods: o.methods, dataset: mini.name, split, seeds: o.seeds, quick: o.quick ?? false, methodOptions, backbone: info, ...(resolved ? { resolved_config: resolved } : {}) };
  const ckpt = o.oracle ? null : resolve(o.checkpoints ?? `${json}.ckpt`);
  return {
    kind: 'frozen', command: 'cil run', config, seeds: o.seeds, stream: `${mini.name} ${split} (frozen backbone)`,
    run: async () => ({
      ...await runCil(mini, backbone, {
        split, seeds: o.seeds, methods: o.methods, methodOptions, checkpointDir: ckpt, resume: o.resume,
        onSession: (seed, t, T) => process.stderr.write(`cil: seed ${seed} session ${t + 1}/${T} done\n`),
      }),
      backbone: info,
    }),
    print: (result) => {
      for (const [m, s] of Object.entries(result.summary)) process.stdout.write(`${m.padEnd(18)} last ${s.last_acc_mean.toFixed(1)} +- ${s.last_acc_std.toFixed(1)}  avg-inc ${s.avg_inc_acc_mean.toFixed(1)}  ${s.time_per_seed_s.toFixed(1)} s/seed\n`);
    },
    title: `perennial cil run: ${mini.name} ${split}`,
    sections: (result) => cilSections(result, `CIL: ${mini.name} ${split}`, note),
  };
}

export const continualCli: AreaCli = {
  name: 'continual',
  register(program: Command): void {
    const cil = program.command('cil').description(`class-incremental learning. Frozen-backbone methods (cil run): ${[...LEARNERS.keys()].join(', ')}; contrastive replay trained end to end (cil co2l, or cil run --methods co2l,...): co2l, co2l-l<lambda>, co2l-val, cila[-variant]; adapters on a multimodal stand-in (cil atlas): atlas`);
    cil.command('pretrain')
      .description('pretrain the miniature backbone on data disjoint from the CIL sessions; saves weights + manifest (architecture, data, seed, sha256)')
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .requiredOption('--out <dir>', 'folder for manifest.json and weights.bin')
      .option('--seed <n>', 'seed', parseIntOption('seed'), 0)
      .option('--epochs <n>', 'epochs (default 10, 3 with --quick)', parseIntOption('epochs'))
      .option('--quick', 'a quarter of the data and 3 epochs')
      .option('--json <file>', 'run record')
      .action(async (o: { dataset: string; out: string; seed: number; epochs?: number; quick?: boolean; json?: string }) => {
        outputGuard().outputFolder(o.out, '--out').output(o.json, '--json').check();
        await initTf();
        const mini = loadMiniature(checkDatasetName(o.dataset), { quick: o.quick });
        const dir = resolve(o.out);
        if (existsSync(join(dir, 'manifest.json'))) throw new InputError(`${dir} already holds a backbone; choose another --out`);
        const rec = new RunRecorder('cil pretrain', o, o.seed);
        const bb = await rec.time('pretrain', () => obtainBackbone(mini, dir, { seed: o.seed, epochs: o.epochs, quick: o.quick ?? false }));
        process.stdout.write(`backbone: ${dir} sha256 ${bb.manifest.sha256} final loss ${bb.manifest.finalLoss?.toFixed(4)}\n`);
        if (o.json) writeRecord(resolve(o.json), rec.finish({ dir, sha256: bb.manifest.sha256, finalLoss: bb.manifest.finalLoss, data: bb.manifest.data }));
      });
    const run = cil.command('run');
    run
      .description('run continual learners over seeds; writes {dataset, split, seeds, runs, summary} JSON')
      .option('--config <file>', 'a YAML or JSON experiment: every flag of this command is a key (`drift-compensation: true`); flags given here override it; the record stores the resolved config (configs/ holds the reference experiments)')
      .option('--methods <list>', `comma-separated, any mix: ${[...LEARNERS.keys()].join(', ')} (frozen backbone); co2l, co2l-l<lambda>, co2l-val, cila[-variant] (as in cil co2l); atlas (as in cil atlas). Each kind runs on its own stream; one record holds them all`, parseStringList, ['simplecil', 'ranpac', 'safe'])
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .option('--split <BxIncy>', 'sessions as PILOT names them: B<base>Inc<increment>, e.g. B2Inc2, B0Inc10 (sessions of 10 from the start), B50Inc10 (default per dataset)')
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list (default 0; atlas: 5, 2 with --quick)', parseSeeds)
      .option('--json <file>', 'result record (required, here or in --config)')
      .option('--html <file>', 'HTML report')
      .option('--quick', 'a quarter of the data (the demo setting)')
      .option('--resume', 'continue from the checkpoints of an interrupted run with the same configuration')
      .option('--backbone <dir>', 'pretrained backbone checkpoint (default: pretrain one next to --json)')
      .option('--m <n>', 'random projection size for RanPAC and SAFE (default 2048)', parseIntOption('m'))
      .option('--oracle', 'add SAFE drift diagnostics (fast head refitted on all seen training data; not a CIL method)')
      .option('--drift-compensation', 'add SAFE\'s drift-compensated fast head without replay (safe-dc, safe-fast-dc) and its ablation (safe-fast-gauss)')
      .option('--checkpoints <dir>', 'checkpoint folder (default <json>.ckpt)')
      .option('--features <f.npy>', 'run the feature-level learners on a feature cache from `cil features` instead of --dataset')
      .option('--labels <l.npy>', 'labels of the feature cache')
      .option('--test-features <f.npy>', 'a separate test feature cache (otherwise --test-fraction of each class is held out)')
      .option('--test-labels <l.npy>', 'labels of the test feature cache')
      .option('--test-fraction <x>', 'share of each class held out for testing without a test cache (default 0.2)', parseFloatOption('test-fraction'));
    addCo2lOptions(run, '(co2l/cila) ');
    addAtlasOptions(run, '(atlas) ');
    run.action(runCommand);
    cil.command('merge')
      .description('merge `cil run` records of the same dataset and split (e.g. one per seed) into one record and report')
      .argument('<records...>', 'cil run JSON records')
      .requiredOption('--json <file>', 'merged record')
      .option('--html <file>', 'HTML report')
      .action(async (files: string[], o: { json: string; html?: string }) => {
        outputGuard().inputs(files, '<records>').output(o.json, '--json').output(o.html, '--html').check();
        const recs = files.map((f) => {
          return readJsonFile(f, 'a cil run JSON record') as CilRunResult & { backbone?: { sha256: string } };
        });
        const first = recs[0];
        recs.forEach((r, i) => {
          if (r.dataset !== first.dataset || r.split !== first.split) throw new InputError(`${files[i]}: ${r.dataset} ${r.split} differs from ${first.dataset} ${first.split}`);
          if (r.backbone?.sha256 !== first.backbone?.sha256) throw new InputError(`${files[i]}: another backbone checkpoint (${r.backbone?.sha256})`);
        });
        const json = resolve(o.json);
        const runs = recs.flatMap((r) => r.runs);
        const seeds = recs.flatMap((r) => r.seeds);
        if (new Set(seeds).size !== seeds.length) throw new InputError(`seeds repeat across the records: ${seeds.join(', ')}`);
        const merged: CilRunResult & { backbone?: unknown; merged_from: string[] } = {
          dataset: first.dataset, split: first.split, seeds, runs, summary: summarise(runs), definitions: first.definitions,
          diagnostics: Object.assign({}, ...recs.map((r) => r.diagnostics)), backbone: first.backbone, merged_from: files,
        };
        const rec = new RunRecorder('cil merge', { files }, seeds);
        writeRecord(json, rec.finish(merged));
        process.stdout.write(`record: ${json}\n`);
        for (const [m, s] of Object.entries(merged.summary)) process.stdout.write(`${m.padEnd(18)} last ${s.last_acc_mean.toFixed(1)} +- ${s.last_acc_std.toFixed(1)}  avg-inc ${s.avg_inc_acc_mean.toFixed(1)}  ${s.time_per_seed_s.toFixed(1)} s/seed  (n=${s.n})\n`);
        if (o.html) {
          const html = resolve(o.html);
          await writeReport(html, `perennial cil: ${first.dataset} ${first.split}`, cilSections(merged, `CIL: ${first.dataset} ${first.split}`));
          process.stdout.write(`report: ${html}\n`);
        }
      });
  },
  async demo(ctx: DemoContext): Promise<DemoResult> {
    await initTf();
    const mini = loadMiniature('synthetic', { quick: true });
    const bb = await obtainBackbone(mini, join(ctx.outDir, 'backbone-synthetic'), { seed: ctx.seed, quick: true });
    const M = ctx.quick ? 512 : 2048;
    const seeds = ctx.quick ? [ctx.seed, ctx.seed + 1] : Array.from({ length: 5 }, (_, i) => ctx.seed + i);
    const result = await runCil(mini, bb.backbone, { split: mini.defaultSplit, seeds, methods: ['simplecil', 'ranpac', 'safe'], methodOptions: methodOptionsFor({ m: M }) });
    const sections = cilSections(result, 'Continual learning: SimpleCIL, RanPAC, SAFE (synthetic)',
      `Synthetic miniature: ${mini.description}. Backbone MLP pretrained on the upstream classes (sha256 ${bb.manifest.sha256.slice(0, 12)}). Random projection M=${M}${ctx.quick ? ' (quick mode; the reference setting uses 2048)' : ''}.`);
    const metrics: Record<string, unknown> = {};
    for (const [m, s] of Object.entries(result.summary)) metrics[m] = { last_acc_mean: s.last_acc_mean, last_acc_std: s.last_acc_std };
    return { sections, metrics };
  },
};
