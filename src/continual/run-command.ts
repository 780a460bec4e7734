// `cil run` as a library: the backbone a run uses (loaded, or pretrained when missing), the
// frozen-backbone part, the methods of a run grouped into parts by kind, `cil merge`, and the
// frozen-backbone demo miniature. The CLI resolves flags over a config file and writes outputs.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import { initTf } from '../core/tensor.js';
import { outputGuard } from '../core/fsx.js';
import { readJsonFile } from '../core/json.js';
import type { Section } from '../core/report.js';
import { checkDatasetName, loadMiniature, type Miniature } from './data.js';
import { loadBackbone, pretrainBackbone, saveBackbone, type BackboneManifest } from './pretrain.js';
import { runCil, summarise, type CilRunResult } from './trainer.js';
import { cilSections } from './report.js';
import { LEARNERS } from './registry.js';
import type { Backbone } from './backbones/types.js';
import { loadFeatureRun } from './features.js';
import { atlasPart, co2lPart } from './cila-command.js';
import type { PartKind, RunPart } from './run-parts.js';

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

export interface RunCliOptions {
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

/** One console line per method of a class-incremental summary. */
export function cilSummaryLines(summary: CilRunResult['summary'], withN = false): string[] {
  return Object.entries(summary).map(([m, s]) => `${m.padEnd(18)} last ${s.last_acc_mean.toFixed(1)} +- ${s.last_acc_std.toFixed(1)}  avg-inc ${s.avg_inc_acc_mean.toFixed(1)}  ${s.time_per_seed_s.toFixed(1)} s/seed${withN ? `  (n=${s.n})` : ''}\n`);
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
    lines: (result) => cilSummaryLines(result.summary),
    title: `perennial cil run: ${mini.name} ${split}`,
    sections: (result) => cilSections(result, `CIL: ${mini.name} ${split}`, note),
  };
}

/**
 * The parts of a `cil run` from its resolved options (`given`: the keys a flag or the config set;
 * `resolved`: what the record stores): methods grouped by kind, each kind's options checked.
 */
export async function planRun(options: Record<string, unknown>, given: ReadonlySet<string>, resolved: Record<string, unknown>): Promise<{ parts: RunPart[]; resolvedConfig?: Record<string, unknown> }> {
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
  return { parts, resolvedConfig: mixed ? resolved : undefined };
}

/** `cil merge`: records of the same dataset, split and backbone (e.g. one per seed) as one. */
export function mergeCilRecords(files: readonly string[]): CilRunResult & { backbone?: unknown; merged_from: string[] } {
  const recs = files.map((f) => readJsonFile(f, 'a cil run JSON record') as CilRunResult & { backbone?: { sha256: string } });
  const first = recs[0];
  recs.forEach((r, i) => {
    if (r.dataset !== first.dataset || r.split !== first.split) throw new InputError(`${files[i]}: ${r.dataset} ${r.split} differs from ${first.dataset} ${first.split}`);
    if (r.backbone?.sha256 !== first.backbone?.sha256) throw new InputError(`${files[i]}: another backbone checkpoint (${r.backbone?.sha256})`);
  });
  const runs = recs.flatMap((r) => r.runs);
  const seeds = recs.flatMap((r) => r.seeds);
  if (new Set(seeds).size !== seeds.length) throw new InputError(`seeds repeat across the records: ${seeds.join(', ')}`);
  const merged: CilRunResult & { backbone?: unknown; merged_from: string[] } = {
    dataset: first.dataset, split: first.split, seeds, runs, summary: summarise(runs), definitions: first.definitions,
    diagnostics: Object.assign({}, ...recs.map((r) => r.diagnostics)), backbone: first.backbone, merged_from: [...files],
  };
  return merged;
}

/** The frozen-backbone miniature of `perennial demo`: SimpleCIL, RanPAC and SAFE on the synthetic miniature. */
export async function cilDemo(ctx: { outDir: string; seed: number; quick: boolean }): Promise<{ sections: Section[]; metrics: Record<string, unknown> }> {
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
}

