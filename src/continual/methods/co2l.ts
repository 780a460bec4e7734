// Co2L (Contrastive Continual Learning, ICCV 2021; official code chaht01/Co2L) with CILA's adaptive
// distillation weight as a schedule option. The encoder is trained end to end on task data + a
// class-balanced replay buffer, two augmented views per image, with the asymmetric SupCon loss and
// instance-wise relation distillation (IRD) from the frozen model of the previous task. Evaluation:
// a class-balanced linear probe on the frozen encoder's features of (this task's data + the buffer
// used for it), its epoch chosen on validation rows of the seen classes, never on test.
//
// Runs go through the one trainer (`runCo2l` -> `runEngine` with the learner of co2l-learner.ts);
// `runCo2lSeed` drives one schedule over one seed for the unit tests that compare parameters bit
// for bit. Both train each task with `trainCo2lTask`.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../core/tensor.js';
import { writeJsonAtomic } from '../../core/fsx.js';
import { readJsonFile } from '../../core/json.js';
import { InputError } from '../../core/errors.js';
import { withDefaults } from '../../core/options.js';
import { LogisticRegression } from '../../core/estimators/index.js';
import { Rng } from '../../core/rng.js';
import { subset, type Dataset } from '../../core/data/dataset.js';
import { argmaxRows } from '../heads.js';
import { AccuracyMatrix, groupCorrect } from '../metrics.js';
import { labelRange, parseSplit } from '../scenario.js';
import { DEFINITIONS, runEngine, type CilRunEntry, type CilSummaryEntry } from '../trainer.js';
import { asymSupCon, augmentBatch, balancedBufferIndices, ird, CO2L_AUGMENT, type AugmentOptions } from '../contrastive.js';
import { checkSchedule, lambdaForTask, type LambdaSchedule, type TaskLosses } from './cila.js';
import { Co2lNet, extractCo2lFeatures } from '../parts/co2l-net.js';
import { fusedAdam, type FusedAdam } from '../../core/nn.js';
import { co2lSplitSource, concatRows, rotatedSource, type Co2lSeedData, type RotatedOptions } from '../parts/streams.js';

export interface Co2lOptions {
  /** `cnn`: conv blocks (below) then global average pooling; `mlp`: fully connected ReLU layers (`mlpHidden`) on the flattened image. */
  readonly encoder: 'cnn' | 'mlp';
  /** Encoder conv channels (3x3, stride 2 each, BN, ReLU), then global average pooling. */
  readonly channels: readonly number[];
  /** Hidden widths of the MLP encoder (linear + ReLU each) before the feature layer. */
  readonly mlpHidden: readonly number[];
  /** Feature dimension after the linear layer (+ ReLU): what the probe sees. */
  readonly featureDim: number;
  readonly projHidden: number;
  readonly projDim: number;
  readonly tau: number;
  readonly tauBase: number;
  readonly kappaStar: number;
  readonly kappa: number;
  readonly bufferSize: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly epochsFirst: number;
  readonly epochsLater: number;
  readonly augment: AugmentOptions;
  readonly probeEpochs: number;
  readonly probeLr: number;
  readonly probeBatchSize: number;
  /** Standardise probe features with the probe's training rows (mean, std per feature). */
  readonly probeStandardize: boolean;
}

/** The reference miniature's setting (issue 6). */
export const CO2L_DEFAULTS: Co2lOptions = Object.freeze({
  encoder: 'cnn', channels: [32, 64], mlpHidden: [], featureDim: 128, projHidden: 128, projDim: 64,
  tau: 0.5, tauBase: 0.07, kappaStar: 0.2, kappa: 0.01, bufferSize: 200,
  lr: 1e-3, batchSize: 256, epochsFirst: 12, epochsLater: 6, augment: CO2L_AUGMENT,
  probeEpochs: 100, probeLr: 1e-2, probeBatchSize: 256, probeStandardize: true,
});

export function co2lOptions(o: Partial<Co2lOptions> = {}): Co2lOptions {
  const r = withDefaults(CO2L_DEFAULTS, o, 'Co2L options');
  if (r.encoder !== 'cnn' && r.encoder !== 'mlp') throw new InputError(`Co2L option encoder must be cnn or mlp, got ${JSON.stringify(r.encoder)}`);
  for (const k of ['channels', 'mlpHidden'] as const) {
    if (!r[k].every((v) => Number.isInteger(v) && v > 0)) throw new InputError(`Co2L option ${k} must list positive integers, got ${JSON.stringify(r[k])}`);
  }
  if (r.encoder === 'cnn' && r.channels.length === 0) throw new InputError('Co2L option channels must not be empty for the cnn encoder');
  for (const k of ['featureDim', 'projHidden', 'projDim', 'batchSize', 'probeBatchSize'] as const) {
    if (!(Number.isInteger(r[k]) && r[k] > 0)) throw new InputError(`Co2L option ${k} must be a positive integer, got ${r[k]}`);
  }
  for (const k of ['epochsFirst', 'epochsLater', 'probeEpochs', 'bufferSize'] as const) {
    if (!(Number.isInteger(r[k]) && r[k] >= 0)) throw new InputError(`Co2L option ${k} must be a non-negative integer, got ${r[k]}`);
  }
  if (typeof r.probeStandardize !== 'boolean') throw new InputError(`Co2L option probeStandardize must be true or false, got ${JSON.stringify(r.probeStandardize)}`);
  for (const k of ['tau', 'tauBase', 'kappaStar', 'kappa', 'lr', 'probeLr'] as const) {
    if (!(r[k] > 0)) throw new InputError(`Co2L option ${k} must be positive, got ${r[k]}`);
  }
  return Object.freeze(r);
}

export interface ProbeResult {
  /** Logits of the test rows over the probe's classes. */
  readonly testLogits: Float32Array;
  readonly bestEpoch: number;
  readonly valAcc: number;
}

export type ProbeOptions = Pick<Co2lOptions, 'probeEpochs' | 'probeLr' | 'probeBatchSize' | 'probeStandardize'>;

/**
 * Class-balanced linear probe (each class weighs the same in the loss; a softmax regression) on frozen
 * features: core's LogisticRegression with the Adam solver (betas 0.9/0.999, cosine-decayed step),
 * no L2; features standardised with the training rows' mean and std (+1e-6) when
 * `probeStandardize` is set. The weights of the epoch with the best validation accuracy are kept
 * (ties: the later epoch, the more converged one). Float64: small (rows x 128 x classes) and deterministic.
 */
export function linearProbe(train: { f: Float32Array; y: Int32Array }, val: { f: Float32Array; y: Int32Array }, testF: Float32Array,
  dim: number, classes: number, o: ProbeOptions, rng: Rng): ProbeResult {
  const n = train.y.length;
  if (train.f.length !== n * dim || val.f.length !== val.y.length * dim || testF.length % dim) throw new InputError(`linearProbe: feature arrays do not match ${dim} columns`);
  for (let i = 0; i < n; i++) {
    const c = train.y[i]!;
    if (!(c >= 0 && c < classes)) throw new InputError(`linearProbe: label ${c} outside 0..${classes - 1}`);
  }
  const model = new LogisticRegression({
    solver: 'adam', l2: 0, classWeight: 'balanced', standardize: o.probeStandardize, stdEps: 1e-6,
    epochs: o.probeEpochs, lr: o.probeLr, batchSize: o.probeBatchSize,
  }).fit({ rows: n, cols: dim, data: train.f }, train.y, {
    classes: Array.from({ length: classes }, (_, c) => c),
    validation: { x: { rows: val.y.length, cols: dim, data: val.f }, y: val.y },
    permutation: (ep, rows) => rng.split(`probe-epoch-${ep}`).permutation(rows),
  });
  const testLogits = Float32Array.from(model.decisionFunction({ rows: testF.length / dim, cols: dim, data: testF }).data);
  return { testLogits, bestEpoch: model.bestEpoch!, valAcc: 100 * model.validationAccuracy! };
}

export interface Co2lTaskLog {
  readonly task: number;
  readonly lambda: number;
  /** Cumulative ratio sum Ldis / sum Lcon over earlier distillation tasks (CILA's input; null where none). */
  readonly lossRatio: number | null;
  readonly losses: TaskLosses;
  readonly probeEpoch: number;
  readonly probeValAcc: number;
  readonly trainRows: number;
  readonly seconds: number;
}

export interface Co2lSeedResult {
  readonly matrix: AccuracyMatrix;
  readonly tasks: Co2lTaskLog[];
  readonly seconds: number;
  readonly params: number;
  /** Final parameter values (kept only when asked: tests). */
  readonly snapshot?: Float32Array;
}

/**
 * The training state of one Co2L run: the encoder, the frozen teacher of the previous task, Adam
 * over the encoder's variables (core's FusedAdam: one pass over all parameters, tf.train.adam's
 * values bit for bit).
 */
export interface Co2lTrainState {
  readonly net: Co2lNet;
  readonly teacher: Co2lNet | null;
  readonly opt: FusedAdam;
  readonly vars: tf.Variable[];
}

/**
 * One task's epochs: two augmented views per row of `trainSet` (task rows + the buffer), asymmetric
 * SupCon with anchors in [lo, hi), plus lambda x IRD from the teacher. Returns the average losses.
 */
export function trainCo2lTask(st: Co2lTrainState, trainSet: Dataset, lo: number, hi: number, lambda: number, t: number, o: Co2lOptions, trng: Rng,
  onEpoch?: (epoch: number, epochs: number) => void): TaskLosses {
  const { net, teacher, opt, vars } = st;
  const shape = trainSet.shape;
  if (!shape) throw new InputError(`${trainSet.source}: Co2L needs image rows (the dataset has no image shape)`);
  const epochs = t === 0 ? o.epochsFirst : o.epochsLater;
  let sumCon = 0, sumDis = 0, steps = 0;
  for (let ep = 0; ep < epochs; ep++) {
    const erng = trng.split(`epoch-${ep}`);
    const perm = erng.permutation(trainSet.n);
    for (let s = 0; s < trainSet.n; s += o.batchSize) {
      const idx = perm.subarray(s, Math.min(trainSet.n, s + o.batchSize));
      const B = idx.length;
      const brng = erng.split(`batch-${s}`);
      const v1 = augmentBatch(trainSet.x, idx, shape, brng.split('v1'), o.augment);
      const v2 = augmentBatch(trainSet.x, idx, shape, brng.split('v2'), o.augment);
      const both = new Float32Array(2 * B * trainSet.d);
      both.set(v1); both.set(v2, B * trainSet.d);
      const labels = new Int32Array(2 * B), anchor = new Uint8Array(2 * B);
      for (let k = 0; k < B; k++) {
        const y = trainSet.y[idx[k]];
        labels[k] = labels[B + k] = y;
        anchor[k] = anchor[B + k] = y >= lo && y < hi ? 1 : 0;
      }
      const X = tf.tensor2d(both, [2 * B, trainSet.d]);
      const zPast = teacher && lambda > 0 ? tf.tidy(() => teacher!.project(teacher!.features(X, false))) : null;
      let conV = 0, disV = 0;
      const held: { parts: tf.Tensor | null } = { parts: null };
      const cost = opt.minimize(() => {
        const z = net.project(net.features(X, true));
        const con = asymSupCon(z, labels, anchor, { tau: o.tau, tauBase: o.tauBase });
        let total: tf.Scalar = con;
        const parts = [con];
        if (zPast) {
          const dis = ird(z, zPast, { kappaStar: o.kappaStar, kappa: o.kappa });
          parts.push(dis);
          total = tf.add(con, tf.mul(dis, lambda));
        }
        // Read the parts after the step: stack them into one kept tensor.
        held.parts = tf.keep(tf.stack(parts));
        return total;
      }, true, vars);
      net.commitBatchStats();
      const pv = held.parts!.dataSync();
      conV = pv[0]; disV = pv[1] ?? 0;
      held.parts!.dispose();
      cost?.dispose(); X.dispose(); zPast?.dispose();
      if (!Number.isFinite(conV) || !Number.isFinite(disV)) throw new InputError(`Co2L: non-finite loss at task ${t}, epoch ${ep} (contrastive ${conV}, distillation ${disV})`);
      sumCon += conV; sumDis += disV; steps++;
    }
    onEpoch?.(ep, epochs);
  }
  const losses: TaskLosses = { con: sumCon / Math.max(1, steps), conUnscaled: (sumCon / Math.max(1, steps)) * (o.tauBase / o.tau), dis: sumDis / Math.max(1, steps) };
  return losses;
}

/** Train Co2L over all sessions of one seed; probe and score after each. */
export async function runCo2lSeed(data: Co2lSeedData, schedule: LambdaSchedule, options: Co2lOptions, seed: number,
  hooks: {
    onEpoch?: (task: number, epoch: number, epochs: number) => void;
    keepSnapshot?: boolean;
    /** Sees the probe's inputs (diagnostics: probe settings compared on validation rows). */
    onProbe?: (task: number, d: { train: { f: Float32Array; y: Int32Array }; val: { f: Float32Array; y: Int32Array }; dim: number; classes: number }) => void;
  } = {}): Promise<Co2lSeedResult> {
  const sched = checkSchedule(schedule);
  const o = options;
  const shape = data.train.shape;
  if (!shape) throw new InputError(`${data.train.source}: Co2L needs image rows (the dataset has no image shape)`);
  const rng = new Rng(seed, 'co2l');
  const net = new Co2lNet(shape, o, rng.split('init'));
  let teacher: Co2lNet | null = null;
  const opt = fusedAdam(o.lr);
  const matrix = new AccuracyMatrix();
  const tasks: Co2lTaskLog[] = [];
  const history: TaskLosses[] = [];
  let buffer: Dataset | null = null;
  const t0 = performance.now();
  const vars = net.trainable();
  const groupOf = (id: number): number => data.scenario.groupOf(id);
  try {
    for (const info of data.scenario.sessions) {
      const t = info.index, ts = performance.now();
      const lo = info.newIds[0], hi = info.seen;
      const taskData = labelRange(data.train, lo, hi);
      const trainSet = buffer && buffer.n ? concatRows(buffer, taskData) : taskData;
      const { lambda, ratio } = lambdaForTask(sched, t, history);
      const trng = rng.split(`task-${t}`);
      const losses = trainCo2lTask({ net, teacher, opt, vars }, trainSet, lo, hi, lambda, t, o, trng, (e, E) => hooks.onEpoch?.(t, e, E));
      history.push(losses);
      // Probe: this task's data + the buffer used for it, class-balanced; epoch chosen on validation of seen classes.
      const fTrain = extractCo2lFeatures(net, trainSet);
      const valSeen = labelRange(data.val, 0, hi);
      const fVal = extractCo2lFeatures(net, valSeen);
      const testSeen = labelRange(data.test, 0, hi);
      const fTest = extractCo2lFeatures(net, testSeen);
      const k = data.domainClasses;
      const probeY = (y: Int32Array): Int32Array => (k ? y.map((v) => v % k) : y);
      const probeClasses = k ?? hi;
      hooks.onProbe?.(t, { train: { f: fTrain, y: probeY(trainSet.y) }, val: { f: fVal, y: probeY(valSeen.y) }, dim: o.featureDim, classes: probeClasses });
      const probe = linearProbe({ f: fTrain, y: probeY(trainSet.y) }, { f: fVal, y: probeY(valSeen.y) }, fTest, o.featureDim, probeClasses, o, trng.split('probe'));
      const pred = argmaxRows(probe.testLogits, testSeen.n, probeClasses);
      // Domain-incremental: the prediction counts as correct when the class matches (mapped back into the row's domain).
      if (k) for (let i = 0; i < pred.length; i++) pred[i] = testSeen.y[i] - (testSeen.y[i] % k) + pred[i];
      const { correct, counts } = groupCorrect(pred, testSeen.y, groupOf, t + 1);
      matrix.record(t, correct, counts);
      // Buffer for the next task: class-balanced random over (old buffer + this task's data).
      const pool = buffer && buffer.n ? concatRows(buffer, taskData) : taskData;
      buffer = subset(pool, balancedBufferIndices(pool.y, o.bufferSize, trng.split('buffer')), `${data.train.source}[buffer]`);
      teacher?.dispose();
      teacher = net.clone();
      tasks.push({ task: t, lambda, lossRatio: ratio, losses, probeEpoch: probe.bestEpoch, probeValAcc: probe.valAcc, trainRows: trainSet.n, seconds: (performance.now() - ts) / 1000 });
      await Promise.resolve();
    }
    return { matrix, tasks, seconds: (performance.now() - t0) / 1000, params: net.numParams(), ...(hooks.keepSnapshot ? { snapshot: net.snapshot() } : {}) };
  } finally {
    teacher?.dispose();
    net.dispose();
    opt.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Methods, data and the multi-seed run.

/**
 * Method names: `co2l` (lambda 1), `co2l-l<x>` (fixed lambda x, e.g. co2l-l0, co2l-l0.25),
 * `cila` (max(1, c ratio), c = 1, scaled contrastive loss), and
 * `cila[-pure|-min1|-max1][-c<c>][-unscaled]`, e.g. cila-pure, cila-c0.5, cila-pure-unscaled.
 */
/** The fixed-lambda grid behind `co2l-val` (lambda chosen per seed on the final validation accuracy). */
export const LAMBDA_GRID: readonly number[] = [0, 0.25, 1, 4];
export const SWEEP_METHOD = 'co2l-val';
const gridMethod = (l: number): string => (l === 1 ? 'co2l' : `co2l-l${l}`);

export function methodSchedule(name: string): LambdaSchedule {
  if (name === 'co2l') return { kind: 'fixed', lambda: 1 };
  if (name === SWEEP_METHOD) throw new InputError(`${SWEEP_METHOD} is chosen from the runs of ${LAMBDA_GRID.map(gridMethod).join(', ')}; it has no schedule of its own`);
  const fixed = /^co2l-l(\d+(?:\.\d+)?)$/.exec(name);
  if (fixed) return checkSchedule({ kind: 'fixed', lambda: Number(fixed[1]) });
  const m = /^cila(?:-(pure|min1|max1))?(?:-c(\d+(?:\.\d+)?))?(-unscaled)?$/.exec(name);
  if (m) return checkSchedule({ kind: 'cila', variant: (m[1] ?? 'max1') as 'pure' | 'min1' | 'max1', c: m[2] ? Number(m[2]) : 1, loss: m[3] ? 'unscaled' : 'scaled' });
  throw new InputError(`unknown Co2L/CILA method ${JSON.stringify(name)}; known: co2l, co2l-l<lambda> (e.g. co2l-l0), ${SWEEP_METHOD}, cila, cila-<pure|min1|max1>[-c<c>][-unscaled]`);
}

export type Co2lRunEntry = CilRunEntry & {
  readonly lambda_per_task: number[];
  readonly loss_ratio_per_task: (number | null)[];
  readonly losses_per_task: TaskLosses[];
  readonly probe_epoch_per_task: number[];
  /** Validation accuracy of the chosen probe epoch after each task (seen classes / domains). */
  readonly probe_val_acc_per_task: number[];
  readonly trainable_params: number;
  /** `co2l-val` only: the grid lambda chosen on validation for this seed. */
  readonly chosen_lambda?: number;
  /** Set when the entry is another method's run (a CILA clamp that bound at every task: Co2L's run). */
  readonly derived_from?: string;
};

export interface Co2lRunResult {
  readonly dataset: string;
  readonly split: string;
  readonly seeds: number[];
  readonly runs: Co2lRunEntry[];
  readonly summary: Record<string, CilSummaryEntry>;
  readonly definitions: Record<string, string>;
  readonly options: Co2lOptions;
  readonly schedules: Record<string, LambdaSchedule>;
}

export interface Co2lRunArgs {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly dataset: string;
  readonly split: string;
  readonly seeds: readonly number[];
  readonly methods: readonly string[];
  readonly options: Co2lOptions;
  readonly perClassTrain: number;
  readonly perClassVal: number;
  readonly numClasses: number;
  /** Rotated (domain-incremental) stream instead of the class-incremental split. */
  readonly rotated?: RotatedOptions | null;
  /** Folder for finished (method, seed) results; with `resume` they are reused when the configuration matches. */
  readonly checkpointDir?: string | null;
  readonly resume?: boolean;
  /** Called after each session of each seed (progress). */
  readonly onSession?: (seed: number, session: number, sessions: number) => void;
}

/** Check method names; `co2l-val` pulls in the grid's fixed-lambda runs. Returns the runs to train. */
export function expandMethods(methods: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of methods) {
    if (m === SWEEP_METHOD) { for (const l of LAMBDA_GRID) if (!out.includes(gridMethod(l))) out.push(gridMethod(l)); continue; }
    methodSchedule(m);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

export async function runCo2l(a: Co2lRunArgs): Promise<Co2lRunResult> {
  const schedules: Record<string, LambdaSchedule> = {};
  for (const m of expandMethods(a.methods)) schedules[m] = methodSchedule(m);
  const rotated = a.rotated ?? null;
  const { base, increment } = rotated ? { base: 10, increment: 10 } : parseSplit(a.split);
  const source = rotated ? rotatedSource(a.train, a.test, a.dataset, rotated)
    : co2lSplitSource(a.train, a.test, a.dataset, a.split, { perClassTrain: a.perClassTrain, perClassVal: a.perClassVal, numClasses: a.numClasses, base, increment });
  const r = await runEngine(source, {
    split: a.split, seeds: a.seeds, methods: a.methods, methodOptions: { co2l: { ...a.options } },
    checkpointDir: a.checkpointDir ?? null, resume: a.resume, onSession: a.onSession,
  });
  return { dataset: a.dataset, split: a.split, seeds: [...a.seeds], runs: r.runs as Co2lRunEntry[], summary: r.summary, options: a.options, schedules,
    definitions: { ...DEFINITIONS,
      lambda_per_task: 'distillation weight used at each task (0 at task 1, which has no teacher)',
      loss_ratio_per_task: 'CILA input at each task: sum of average IRD losses / sum of average contrastive losses over earlier distillation tasks (null where none enters)',
      losses_per_task: 'average training losses per task: con (scaled by tau/tauBase as Co2L), conUnscaled, dis (unweighted IRD)',
    } };
}
