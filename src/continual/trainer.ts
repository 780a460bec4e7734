// The one trainer: loops over seeds and sessions, hands each learner its session's training and
// validation data, scores every learner output on the test set (which learners never receive except
// through `predict`), keeps the accuracy matrices, and checkpoints after each session.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { writeJsonAtomic } from '../core/fsx.js';
import { readJsonFile } from '../core/json.js';
import { filterClasses, indicesByClass, subset, type Dataset } from '../core/data/dataset.js';
import { readNpy, writeNpy } from '../core/data/npy.js';
import type { Backbone } from './backbones/types.js';
import type { Miniature } from './data.js';
import { argmaxRows } from './heads.js';
import { AccuracyMatrix, groupCorrect } from './metrics.js';
import type { ContinualLearner, LearnerCheckpoint } from './methods/types.js';
import { makeLearners } from './registry.js';
import { balancedBufferIndices } from './contrastive.js';
import { concatRows } from './parts/streams.js';
import { labelRange, remapDataset, type Scenario } from './scenario.js';
import { parsePilotSplit, pilotScenario, pilotSessionSizes } from './datasets/splits.js';
import { topKGroupCorrect } from './datasets/topk.js';

export interface CilRunOptions {
  readonly split: string;
  readonly seeds: readonly number[];
  readonly methods: readonly string[];
  /** Per-method options (registry name -> options object). */
  readonly methodOptions?: Readonly<Record<string, Record<string, unknown>>>;
  /** Folder for per-session checkpoints (null: none). */
  readonly checkpointDir?: string | null;
  readonly resume?: boolean;
  /** Called after each session (progress reporting). */
  readonly onSession?: (seed: number, session: number, sessions: number) => void;
}

export interface CilRunEntry {
  readonly method: string;
  readonly seed: number;
  /** Top-1 over all test samples of the classes seen after the last session (percent). */
  readonly last_acc: number;
  /** Mean over sessions of the top-1 accuracy over all test samples seen so far (percent). */
  readonly avg_inc_acc: number;
  /** Accuracy per task group after the last session (percent). */
  readonly group_acc: number[];
  /** a[t][j]: after session t, on the classes of session j (percent). */
  readonly acc_matrix: number[][];
  readonly last_acc_mean_group: number;
  readonly avg_inc_acc_mean_group: number;
  readonly forgetting: number;
  readonly bwt: number;
  /** Seconds spent by the learner that produced this output (shared by a learner's outputs). */
  readonly time_s: number;
  readonly class_order: number[];
  /** SAFE: mean fast-branch weight per task group after the last session. */
  readonly w_fast_group?: number[];
  /** Top-5 over all test samples of the seen classes after the last session (percent); only when more than 5 classes are seen. */
  readonly last_acc_top5?: number;
  /** Top-5 after each session; null where 5 or fewer classes were seen (see top5_per_session_reason). */
  readonly top5_per_session?: (number | null)[];
  readonly top5_per_session_reason?: string;
}

export interface CilSummaryEntry {
  readonly last_acc_mean: number;
  readonly last_acc_std: number;
  readonly avg_inc_acc_mean: number;
  readonly avg_inc_acc_std: number;
  readonly n: number;
  readonly time_per_seed_s: number;
  /** Where every seed has top-5. */
  readonly last_acc_top5_mean?: number;
  readonly last_acc_top5_std?: number;
}

export interface CilRunResult {
  readonly dataset: string;
  readonly split: string;
  readonly seeds: number[];
  readonly runs: CilRunEntry[];
  readonly summary: Record<string, CilSummaryEntry>;
  readonly definitions: Record<string, string>;
  readonly diagnostics: Record<string, unknown>;
}

export const DEFINITIONS: Record<string, string> = {
  last_acc: 'top-1 over all test samples of the classes seen after the last session (percent)',
  avg_inc_acc: 'mean over sessions t of the top-1 over all test samples seen by t (percent)',
  last_acc_mean_group: 'mean of task-group accuracies after the last session (percent); equals last_acc when groups have equal test counts',
  group_acc: 'accuracy on each task group after the last session (percent)',
  acc_matrix: 'a[t][j] = accuracy after session t on test samples of classes introduced in session j',
  forgetting: 'mean over j<T of max_{j<=t<T}(a[t][j]) - a[T][j]',
  bwt: 'mean over j<T of a[T][j] - a[j][j] (negative = forgetting)',
  last_acc_top5: 'top-5 over all test samples of the classes seen after the last session (percent; ties rank the lower class first, as top-1); class-incremental streams with more than 5 classes seen',
  top5_per_session: 'top-5 over all test samples seen by session t (percent); null while 5 or fewer classes are seen',
};

/** k of the top-k accuracy recorded beside top-1 (PILOT's top-5). */
const TOP_K = 5;
const TOP5_NULL = `${TOP_K} or fewer classes seen: every row's class is in the top ${TOP_K}`;

interface SeedState {
  completed: number;
  rows: Record<string, { correct: number[]; counts: number[] }[]>;
  /** Top-5 hits per output and session (null: 5 or fewer classes seen, where top-5 is always 100). */
  top5?: Record<string, ({ correct: number[]; counts: number[] } | null)[]>;
  time: Record<string, number>;
  /** learner -> row statistic -> per session, the mean per task group. */
  stats: Record<string, Record<string, number[][]>>;
}

/** One seed's stream: its scenario and data (remapped labels), and what learners are built on. */
export interface SeedStream {
  readonly scenario: Scenario;
  readonly train: Dataset;
  readonly val: Dataset;
  readonly test: Dataset;
  /**
   * Domain-incremental streams: labels are domain x domainClasses + class; learners predict the class
   * (logits over domainClasses) and a prediction counts in the row's own domain.
   */
  readonly domainClasses?: number;
  /**
   * Task-incremental streams (each session a task with its own label range, the task known at test
   * time): the trainer asks for each seen task's test rows separately and takes the argmax within that
   * task's labels.
   */
  readonly taskIncremental?: boolean;
  /** What the stream hands its learners beyond the data (e.g. ATLAS's world and task specs). */
  readonly learnerInfo?: Readonly<Record<string, unknown>>;
}

/** Where the trainer's seeds come from: a scenario kind (a miniature's class-incremental split, Co2L's streams, ...). */
export interface StreamSource {
  readonly dataset: string;
  readonly split: string;
  readonly numClasses: number;
  /** The frozen backbone learners build on; null where the stream has none (learners train their own encoder). */
  readonly backbone: Backbone | null;
  /** Identifies the data in the checkpoint configuration hash. */
  readonly description: unknown;
  seed(seed: number): SeedStream;
}

/** The class-incremental split of a miniature (B<b>Inc<i>, class order and train/validation rows per seed). */
export function miniatureSource(mini: Miniature, backbone: Backbone, split: string): StreamSource {
  return { dataset: mini.name, split, numClasses: mini.numClasses, backbone, description: mini.description, seed: (seed) => seedData(mini, split, seed) };
}

/** Stands in for the backbone of a stream that has none: a learner that reads it gets a clear error. */
function noBackbone(dataset: string): Backbone {
  return new Proxy({} as Backbone, { get(_t, key) { if (key === 'then') return undefined; throw new InputError(`${dataset}: this stream has no pretrained backbone; use a method that trains its own encoder`); } });
}

const snakeCase = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function configHash(o: unknown): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16);
}

function saveLearner(dir: string, c: LearnerCheckpoint): void {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const names: Record<string, string> = {};
  let i = 0;
  for (const [k, v] of c.arrays) {
    const file = `a${i++}.npy`;
    names[k] = file;
    writeNpy(join(tmp, file), v.data, v.shape);
  }
  writeJsonAtomic(join(tmp, 'meta.json'), { meta: c.meta, arrays: names });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

function loadReplay(dir: string, like: Dataset): Dataset {
  const c = loadLearner(dir);
  const x = c.arrays.get('x'), y = c.arrays.get('y');
  if (!x || !y) throw new InputError(`${dir}: ${CHECKPOINT}`);
  const n = y.shape[0];
  return { ...like, x: Float32Array.from(x.data), y: Int32Array.from(y.data), n, source: `${like.source}[buffer]` };
}

function loadLearner(dir: string): LearnerCheckpoint {
  const j = readJsonFile(join(dir, 'meta.json'), CHECKPOINT) as { meta: Record<string, unknown>; arrays: Record<string, string> };
  const arrays: LearnerCheckpoint['arrays'] = new Map();
  for (const [k, f] of Object.entries(j.arrays)) {
    const a = readNpy(join(dir, f));
    arrays.set(k, { shape: [...a.shape], data: a.data as Float32Array | Float64Array });
  }
  return { meta: j.meta, arrays };
}

/**
 * One seed's class order and the rows of the CIL pool it trains and validates on (indices into
 * `mini.cilPool`, ascending): the same per-class split as `stratifiedSplit`, exposed so peers
 * (reference/torch) can run on exactly the same rows.
 */
export function seedIndices(mini: Miniature, split: string, seed: number): { scenario: Scenario; trainIdx: number[]; valIdx: number[] } {
  // PILOT's split names: B0Inc<i> is sessions of i from the start, B<b>Inc<i> b then i each.
  const scenario = pilotScenario(split, { numClasses: mini.numClasses, classOrderSeed: seed });
  const rng = new Rng(seed, 'cil-train-val');
  const trainIdx: number[] = [], valIdx: number[] = [];
  for (const [c, idx] of [...indicesByClass(mini.cilPool)].sort((a, b) => a[0] - b[0])) {
    const perm = rng.split(`class-${c}`).permutation(idx.length);
    if (mini.perClassTrain + mini.perClassVal > idx.length) throw new InputError(`split of ${mini.cilPool.source}: class ${c} has ${idx.length} rows, ${mini.perClassTrain + mini.perClassVal} needed`);
    for (let i = 0; i < mini.perClassTrain; i++) trainIdx.push(idx[perm[i]]);
    for (let i = 0; i < mini.perClassVal; i++) valIdx.push(idx[perm[mini.perClassTrain + i]]);
  }
  return { scenario, trainIdx: trainIdx.sort((a, b) => a - b), valIdx: valIdx.sort((a, b) => a - b) };
}

/** Build one seed's scenario and datasets (train/val split of the CIL pool per class, seeded). */
export function seedData(mini: Miniature, split: string, seed: number): { scenario: Scenario; train: Dataset; val: Dataset; test: Dataset } {
  const { scenario, trainIdx, valIdx } = seedIndices(mini, split, seed);
  const train = subset(mini.cilPool, trainIdx, `${mini.cilPool.source}[part 0]`);
  const val = subset(mini.cilPool, valIdx, `${mini.cilPool.source}[part 1]`);
  return { scenario, train: remapDataset(train, scenario.classOrder), val: remapDataset(val, scenario.classOrder), test: remapDataset(mini.test, scenario.classOrder) };
}

/**
 * Write a miniature for a peer implementation (reference/torch/cil_miniature.py): pretraining rows
 * of the pretraining classes, the CIL pool, the test set (float32 .npy, labels int32) and, per seed,
 * the class order and the train/validation indices into the CIL pool (seeds.json).
 */
export function exportMiniature(mini: Miniature, split: string, seeds: readonly number[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  const pre = filterClasses(mini.pretrainPool, mini.pretrainClasses);
  for (const [name, ds] of [['pretrain', pre], ['cil', mini.cilPool], ['test', mini.test]] as const) {
    writeNpy(join(dir, `${name}_x.npy`), ds.x, [ds.n, ds.d]);
    writeNpy(join(dir, `${name}_y.npy`), ds.y, [ds.n]);
  }
  const sizes = pilotSessionSizes(split, mini.numClasses);
  const base = sizes[0], increment = parsePilotSplit(split).increment;
  writeJsonAtomic(join(dir, 'seeds.json'), {
    dataset: mini.name, description: mini.description, split, base, increment, numClasses: mini.numClasses,
    seeds: seeds.map((seed) => {
      const { scenario, trainIdx, valIdx } = seedIndices(mini, split, seed);
      return { seed, class_order: scenario.classOrder, train_idx: trainIdx, val_idx: valIdx };
    }),
  });
}

/** What a checkpoint file should hold; a torn one is a ParseError naming the file. */
const CHECKPOINT = 'a complete cil checkpoint (remove the file or run without --resume)';

export async function runCil(mini: Miniature, backbone: Backbone, opts: CilRunOptions): Promise<CilRunResult> {
  return runEngine(miniatureSource(mini, backbone, opts.split), opts);
}

/** The one trainer: every seed of `source`, every learner of `opts.methods`, sessions, replay, scoring, checkpoints. */
export async function runEngine(source: StreamSource, opts: CilRunOptions): Promise<CilRunResult> {
  if (opts.methods.length === 0) throw new InputError('no methods given');
  const config = { dataset: source.dataset, split: source.split, methods: opts.methods, methodOptions: opts.methodOptions ?? {}, data: source.description };
  const ckpt = opts.checkpointDir ?? null;
  if (ckpt) {
    mkdirSync(ckpt, { recursive: true });
    const cfgPath = join(ckpt, 'config.json');
    const h = configHash(config);
    if (existsSync(cfgPath) && opts.resume) {
      const old = readJsonFile(cfgPath, CHECKPOINT) as { hash: string };
      if (old.hash !== h) throw new InputError(`${cfgPath}: the checkpoints were made with another configuration (hash ${old.hash}, now ${h}); run without --resume or use another output`);
    } else if (!opts.resume) {
      for (const f of readdirSync(ckpt)) if (f.startsWith('seed-')) rmSync(join(ckpt, f), { recursive: true, force: true });
    }
    writeJsonAtomic(cfgPath, { hash: h, config });
  }
  const runs: CilRunEntry[] = [];
  const diagnostics: Record<string, unknown> = {};
  for (const seed of opts.seeds) {
    const seedDir = ckpt ? join(ckpt, `seed-${seed}`) : null;
    const donePath = seedDir ? join(seedDir, 'done.json') : null;
    if (opts.resume && donePath && existsSync(donePath)) {
      const done = readJsonFile(donePath, CHECKPOINT) as { runs: CilRunEntry[]; diagnostics: unknown };
      runs.push(...done.runs);
      diagnostics[`seed-${seed}`] = done.diagnostics;
      continue;
    }
    const r = await runSeed(source, opts, seed, seedDir);
    runs.push(...r.runs);
    diagnostics[`seed-${seed}`] = r.diagnostics;
    if (seedDir && donePath) {
      writeJsonAtomic(donePath, r);
      for (const f of readdirSync(seedDir)) if (f !== 'done.json') rmSync(join(seedDir, f), { recursive: true, force: true });
    }
  }
  return { dataset: source.dataset, split: source.split, seeds: [...opts.seeds], runs, summary: summarise(runs), definitions: DEFINITIONS, diagnostics };
}

async function runSeed(source: StreamSource, opts: CilRunOptions, seed: number, seedDir: string | null): Promise<{ runs: CilRunEntry[]; diagnostics: Record<string, unknown> }> {
  const stream = source.seed(seed);
  const { scenario, train, val, test, domainClasses } = stream;
  const rng = new Rng(seed, 'cil');
  const backbone = source.backbone ?? noBackbone(source.dataset);
  const learners: ContinualLearner[] = makeLearners(opts.methods, (m) => ({ backbone, numClasses: source.numClasses, seed, rng: rng.split(m), ...(domainClasses ? { domainClasses } : {}), ...(stream.learnerInfo ? { streamInfo: stream.learnerInfo } : {}) }), opts.methodOptions ?? {});
  const names = new Set<string>();
  for (const l of learners) for (const o of l.outputs) {
    if (names.has(o)) throw new InputError(`two methods report the output ${o}`);
    names.add(o);
  }
  let state: SeedState = { completed: 0, rows: {}, time: {}, stats: {} };
  const replay = new Map<ContinualLearner, Dataset | null>(learners.filter((l) => l.replay).map((l) => [l, null]));
  const statePath = seedDir ? join(seedDir, 'state.json') : null;
  if (opts.resume && statePath && existsSync(statePath)) {
    state = readJsonFile(statePath, CHECKPOINT) as SeedState;
    state.stats ??= {};
    // Learners are read from the folder of the session state.json commits (see below); a newer
    // folder left by a kill before that commit is ignored. `seedDir/<learner>` is the older layout.
    const sessionDir = join(seedDir!, `s${state.completed}`);
    for (const l of learners) {
      l.restore(loadLearner(existsSync(sessionDir) ? join(sessionDir, l.name) : join(seedDir!, l.name)));
      if (replay.has(l) && existsSync(join(sessionDir, `${l.name}.replay`))) replay.set(l, loadReplay(join(sessionDir, `${l.name}.replay`), train));
    }
  }
  const groupOf = (id: number): number => scenario.groupOf(id);
  try {
    for (let t = state.completed; t < scenario.sessions.length; t++) {
      const info = scenario.sessions[t];
      const lo = info.newIds[0], hi = info.seen;
      const sessionTrain = labelRange(train, lo, hi);
      const base = { info, train: sessionTrain, val: labelRange(val, lo, hi), valSeen: labelRange(val, 0, hi) };
      const width = domainClasses ?? hi;
      for (const l of learners) {
        const t0 = performance.now();
        await l.fitSession(replay.has(l) ? { ...base, replay: replay.get(l) ?? null } : base);
        if (stream.taskIncremental) {
          // Each seen task's rows on their own, scored within the task's labels.
          const correct: Record<string, number[]> = {}, counts: number[] = [];
          for (let g = 0; g <= t; g++) {
            const s = scenario.sessions[g], glo = s.newIds[0], ghi = s.seen;
            const rows = labelRange(test, glo, ghi);
            counts.push(rows.n);
            for (const [out, z] of l.predictTask ? l.predictTask(rows, g, hi) : l.predict(rows, hi)) {
              let c = 0;
              for (let i = 0; i < rows.n; i++) {
                let best = glo;
                for (let k = glo + 1; k < ghi; k++) if (z[i * hi + k] > z[i * hi + best]) best = k;
                if (best === rows.y[i]) c++;
              }
              (correct[out] ??= []).push(c);
            }
          }
          state.time[l.name] = (state.time[l.name] ?? 0) + (performance.now() - t0) / 1000;
          for (const [out, c] of Object.entries(correct)) (state.rows[out] ??= []).push({ correct: c, counts });
          continue;
        }
        const logits = l.predict(test, hi);
        state.time[l.name] = (state.time[l.name] ?? 0) + (performance.now() - t0) / 1000;
        for (const [out, z] of logits) {
          const pred = argmaxRows(z, test.n, width);
          // Domain-incremental: the predicted class counts in the row's own domain.
          if (domainClasses) for (let i = 0; i < pred.length; i++) pred[i] = test.y[i] - (test.y[i] % domainClasses) + pred[i];
          const { correct, counts } = groupCorrect(pred, test.y, groupOf, t + 1);
          (state.rows[out] ??= []).push({ correct, counts });
          if (!domainClasses) ((state.top5 ??= {})[out] ??= []).push(width > TOP_K ? topKGroupCorrect(z, test.n, width, test.y, TOP_K, groupOf, t + 1) : null);
        }
        for (const [k, w] of Object.entries(l.rowStatistics?.() ?? {})) {
          const s = new Array<number>(t + 1).fill(0), n = new Array<number>(t + 1).fill(0);
          for (let i = 0; i < test.n; i++) { const g = test.y[i] < hi ? groupOf(test.y[i]) : -1; if (g >= 0) { s[g] += w[i]; n[g]++; } }
          ((state.stats[l.name] ??= {})[k] ??= []).push(s.map((v, j) => v / Math.max(1, n[j])));
        }
        if (l.replay) {
          // The buffer for the next session: class-balanced over the old buffer and this session's rows.
          const old = replay.get(l) ?? null;
          const pool = old && old.n ? concatRows(old, sessionTrain) : sessionTrain;
          replay.set(l, subset(pool, balancedBufferIndices(pool.y, l.replay.size, l.replay.rng(t)), `${train.source}[buffer]`));
        }
      }
      state.completed = t + 1;
      if (seedDir && statePath) {
        mkdirSync(seedDir, { recursive: true });
        // Learner checkpoints of session t go to their own folder, and state.json is the commit
        // point: a kill between the two resumes from the previous session's folder, never from
        // learners one session ahead of the state (which would count session t twice).
        for (const l of learners) {
          saveLearner(join(seedDir, `s${t + 1}`, l.name), l.checkpoint());
          const buf = replay.get(l);
          if (buf) saveLearner(join(seedDir, `s${t + 1}`, `${l.name}.replay`), { meta: { n: buf.n, d: buf.d }, arrays: new Map([['x', { shape: [buf.n, buf.d], data: buf.x }], ['y', { shape: [buf.n], data: Float64Array.from(buf.y) }]]) });
        }
        writeJsonAtomic(statePath, state);
        rmSync(join(seedDir, `s${t}`), { recursive: true, force: true });
      }
      opts.onSession?.(seed, t, scenario.sessions.length);
    }
    const runs: CilRunEntry[] = [];
    for (const l of learners) {
      const entry = (method: string, rowsOf: string, fields: Record<string, unknown>): CilRunEntry => {
        const m = new AccuracyMatrix();
        state.rows[rowsOf].forEach((r, t) => m.record(t, r.correct, r.counts));
        const tri = m.triangle();
        const stats: Record<string, number[]> = {};
        for (const [k, per] of Object.entries(state.stats[l.name] ?? {})) if (l.statisticOutputs?.[k] === method) stats[`${snakeCase(k)}_group`] = per[per.length - 1];
        // Top-5 where every session was scored for it (a run resumed from a record without it has none).
        const t5 = state.top5?.[rowsOf];
        const top5: Record<string, unknown> = {};
        if (t5 && t5.length === state.rows[rowsOf].length) {
          const per = t5.map((r) => (r ? (100 * r.correct.reduce((a, b) => a + b, 0)) / Math.max(1, r.counts.reduce((a, b) => a + b, 0)) : null));
          if (per.some((v) => v !== null)) {
            top5.top5_per_session = per;
            if (per.some((v) => v === null)) top5.top5_per_session_reason = TOP5_NULL;
            if (per[per.length - 1] !== null) top5.last_acc_top5 = per[per.length - 1];
          }
        }
        return {
          method, seed, last_acc: m.last('top1'), avg_inc_acc: m.avgIncremental('top1'),
          group_acc: tri[tri.length - 1], acc_matrix: tri,
          last_acc_mean_group: m.last('meanGroup'), avg_inc_acc_mean_group: m.avgIncremental('meanGroup'),
          forgetting: m.forgetting(), bwt: m.bwt(), time_s: state.time[l.name] ?? 0, class_order: [...scenario.classOrder],
          ...top5, ...stats, ...fields,
        };
      };
      for (const out of l.outputs) runs.push(entry(out, out, l.outputFields?.(out) ?? {}));
      for (const [out, d] of Object.entries(l.derivedOutputs?.() ?? {})) runs.push(entry(out, d.from, d.fields));
    }
    const diagnostics: Record<string, unknown> = {};
    for (const l of learners) {
      const per: Record<string, number[][]> = {};
      for (const [k, v] of Object.entries(state.stats[l.name] ?? {})) per[`${k}PerSession`] = v;
      diagnostics[l.name] = { describe: l.describe(), ...l.diagnostics(), ...per };
    }
    return { runs, diagnostics };
  } finally {
    for (const l of learners) l.dispose();
  }
}

export function summarise(runs: readonly CilRunEntry[]): Record<string, CilSummaryEntry> {
  const by = new Map<string, CilRunEntry[]>();
  for (const r of runs) by.set(r.method, [...(by.get(r.method) ?? []), r]);
  const out: Record<string, CilSummaryEntry> = {};
  for (const [m, rs] of by) {
    const last = rs.map((r) => r.last_acc), avg = rs.map((r) => r.avg_inc_acc);
    out[m] = {
      last_acc_mean: mean(last), last_acc_std: rs.length > 1 ? std(last) : 0,
      avg_inc_acc_mean: mean(avg), avg_inc_acc_std: rs.length > 1 ? std(avg) : 0,
      n: rs.length, time_per_seed_s: mean(rs.map((r) => r.time_s)),
    };
    const t5 = rs.map((r) => r.last_acc_top5);
    if (t5.every((v): v is number => typeof v === 'number')) out[m] = { ...out[m], last_acc_top5_mean: mean(t5), last_acc_top5_std: rs.length > 1 ? std(t5) : 0 };
  }
  return out;
}
