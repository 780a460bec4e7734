// Co2L / CILA behind the learner interface: one learner serves every lambda schedule of a run
// (`co2l`, `co2l-l<x>`, `co2l-val`'s grid, `cila[...]`), each with its own encoder trained end to end
// on the session's rows + the trainer's class-balanced replay buffer (the learner declares it).
// A CILA schedule follows Co2L (lambda 1) without training while its lambda equals 1 at every task so
// far (the two runs are then the same computation, bit for bit: unit-tested); where it first
// differs, it forks from Co2L's state at the start of that task (encoder, teacher, Adam moments).
// `predict` fits the linear probe on the features of this session's rows + buffer, its epoch chosen
// on validation rows of the seen classes, and scores the given rows.
import { tf } from '../../core/tensor.js';
import { fusedAdam, type FusedAdam } from '../../core/nn.js';
import { InputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Dataset } from '../../core/data/dataset.js';
import { Co2lNet, extractCo2lFeatures } from '../parts/co2l-net.js';
import { concatRows } from '../parts/streams.js';
import { lambdaForTask, type LambdaSchedule, type TaskLosses } from './cila.js';
import {
  co2lOptions, expandMethods, linearProbe, methodSchedule, trainCo2lTask, LAMBDA_GRID, SWEEP_METHOD,
  type Co2lOptions, type Co2lTaskLog,
} from './co2l.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';
import type { LearnerFamily } from '../registry.js';

/** One schedule's run: its encoder and training state, or (while it follows Co2L) none of its own. */
interface Run {
  readonly method: string;
  readonly schedule: LambdaSchedule;
  net: Co2lNet | null;
  teacher: Co2lNet | null;
  opt: FusedAdam | null;
  /** Follows the `co2l` run (no state of its own) until its lambda first differs. */
  follows: boolean;
  /** Followed Co2L at every task: its record entry is Co2L's run. */
  derived: boolean;
  history: TaskLosses[];
  tasks: Co2lTaskLog[];
  seconds: number;
  /** This session's inputs to the probe. */
  pending: { trainSet: Dataset; valSeen: Dataset; lambda: number; ratio: number | null; losses: TaskLosses; t: number; trng: Rng; ts: number; rows: number } | null;
}

const gridMethod = (l: number): string => (l === 1 ? 'co2l' : `co2l-l${l}`);

/** A copy of Adam's state (moments, step count) for the variables of a cloned network. */
function cloneAdam(src: FusedAdam, from: Co2lNet, to: Co2lNet, lr: number): FusedAdam {
  const o = fusedAdam(lr);
  o.setMoments(to.trainable(), src.momentsOf(from.trainable()));
  return o;
}

export class Co2lLearner implements ContinualLearner {
  readonly name = 'co2l';
  readonly outputs: readonly string[];
  readonly options: Co2lOptions;
  readonly replay: { readonly size: number; rng(session: number): Rng };
  private readonly runs: Run[];
  private readonly rng: Rng;
  private readonly sweep: boolean;
  private readonly domainClasses: number | undefined;

  constructor(ctx: LearnerContext, methods: readonly string[], options: Record<string, unknown>) {
    this.options = co2lOptions(options as Partial<Co2lOptions>);
    this.rng = new Rng(ctx.seed, 'co2l');
    this.domainClasses = ctx.domainClasses;
    // Co2L (lambda 1) first, so CILA runs can follow it.
    const trained = expandMethods(methods).sort((x, y) => (y === 'co2l' ? 1 : 0) - (x === 'co2l' ? 1 : 0));
    this.sweep = methods.includes(SWEEP_METHOD);
    const hasCo2l = trained.includes('co2l');
    this.runs = trained.map((m) => {
      const schedule = methodSchedule(m);
      const follows = hasCo2l && m !== 'co2l' && schedule.kind === 'cila';
      return { method: m, schedule, net: null, teacher: null, opt: null, follows, derived: follows, history: [], tasks: [], seconds: 0, pending: null };
    });
    this.outputs = trained;
    const rng = this.rng;
    this.replay = { size: this.options.bufferSize, rng: (t) => rng.split(`task-${t}`).split('buffer') };
  }

  private co2l(): Run { return this.runs.find((r) => r.method === 'co2l')!; }

  async fitSession(s: SessionData): Promise<void> {
    const t = s.info.index, lo = s.info.newIds[0], hi = s.info.seen;
    const shape = s.train.shape;
    if (!shape) throw new InputError(`${s.train.source}: Co2L needs image rows (the dataset has no image shape)`);
    const trainSet = s.replay && s.replay.n ? concatRows(s.replay, s.train) : s.train;
    const trng = this.rng.split(`task-${t}`);
    // A following CILA run forks from Co2L's state before Co2L trains this task, where its lambda first differs.
    for (const r of this.runs) {
      if (!r.follows) continue;
      const base = this.co2l();
      if (lambdaForTask(r.schedule, t, base.history).lambda === lambdaForTask(base.schedule, t, base.history).lambda) continue;
      r.follows = false; r.derived = false;
      r.net = base.net!.clone();
      r.teacher = base.teacher ? base.teacher.clone() : null;
      r.opt = cloneAdam(base.opt!, base.net!, r.net, this.options.lr);
      r.history = [...base.history];
      r.seconds = base.seconds;
    }
    for (const r of this.runs) {
      const ts = performance.now();
      const { lambda, ratio } = lambdaForTask(r.schedule, t, r.follows ? this.co2l().history : r.history);
      if (r.follows) {
        const b = this.co2l().pending!;
        r.pending = { ...b, lambda, ratio };
        continue;
      }
      if (!r.net) {
        r.net = new Co2lNet(shape, this.options, this.rng.split('init'));
        r.opt = fusedAdam(this.options.lr);
      }
      const losses = trainCo2lTask({ net: r.net, teacher: r.teacher, opt: r.opt!, vars: r.net.trainable() }, trainSet, lo, hi, lambda, t, this.options, trng);
      r.history.push(losses);
      r.teacher?.dispose();
      r.teacher = r.net.clone();
      r.pending = { trainSet, valSeen: s.valSeen, lambda, ratio, losses, t, trng, ts, rows: trainSet.n };
      r.seconds += (performance.now() - ts) / 1000;
      await Promise.resolve();
    }
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const k = this.domainClasses;
    const probeY = (y: Int32Array): Int32Array => (k ? y.map((v) => v % k) : y);
    const probeClasses = k ?? seen;
    for (const r of this.runs) {
      const p = r.pending;
      if (!p) throw new InputError('co2l: predict before the first session');
      const base = r.follows ? this.co2l() : r;
      if (r.follows) {
        out.set(r.method, out.get('co2l')!);
        const log = base.tasks[base.tasks.length - 1];
        if (r.tasks.length === p.t) r.tasks.push({ ...log, lambda: p.lambda, lossRatio: p.ratio });
        continue;
      }
      const ts = performance.now();
      const net = r.net!;
      const trainSet = p.trainSet, valSeen = p.valSeen, o = this.options, trng = p.trng;
      const fTrain = extractCo2lFeatures(net, trainSet);
      const fVal = extractCo2lFeatures(net, valSeen);
      const fTest = extractCo2lFeatures(net, x);
      const probe = linearProbe({ f: fTrain, y: probeY(trainSet.y) }, { f: fVal, y: probeY(valSeen.y) }, fTest, o.featureDim, probeClasses, o, trng.split('probe'));
      out.set(r.method, probe.testLogits);
      r.seconds += (performance.now() - ts) / 1000;
      if (r.tasks.length === p.t) {
        r.tasks.push({ task: p.t, lambda: p.lambda, lossRatio: p.ratio, losses: p.losses, probeEpoch: probe.bestEpoch, probeValAcc: probe.valAcc, trainRows: p.rows, seconds: (performance.now() - p.ts) / 1000 });
      }
    }
    return out;
  }

  outputFields(output: string): Record<string, unknown> {
    const r = this.runs.find((x) => x.method === output);
    if (!r) return {};
    const src = r.follows ? this.co2l() : r;
    return {
      lambda_per_task: r.tasks.map((t) => t.lambda), loss_ratio_per_task: r.tasks.map((t) => t.lossRatio),
      losses_per_task: r.tasks.map((t) => t.losses), probe_epoch_per_task: r.tasks.map((t) => t.probeEpoch),
      probe_val_acc_per_task: r.tasks.map((t) => t.probeValAcc), trainable_params: (src.net ?? this.co2l().net)!.numParams(),
      time_s: src.seconds, ...(r.derived ? { derived_from: 'co2l' } : {}),
    };
  }

  derivedOutputs(): Record<string, { from: string; fields: Record<string, unknown> }> {
    if (!this.sweep) return {};
    // The grid lambda with the best final validation accuracy (ties: the smaller lambda); test only scores.
    let best: Run | null = null, bestL = 0;
    const last = (r: Run): number => r.tasks[r.tasks.length - 1].probeValAcc;
    for (const l of LAMBDA_GRID) {
      const r = this.runs.find((x) => x.method === gridMethod(l))!;
      if (!best || last(r) > last(best)) { best = r; bestL = l; }
    }
    return { [SWEEP_METHOD]: { from: best!.method, fields: { ...this.outputFields(best!.method), chosen_lambda: bestL } } };
  }

  diagnostics(): Record<string, unknown> {
    return Object.fromEntries(this.runs.map((r) => [r.method, { tasks: r.tasks, ...(r.derived ? { derived_from: 'co2l' } : {}) }]));
  }

  checkpoint(): LearnerCheckpoint {
    const arrays: LearnerCheckpoint['arrays'] = new Map();
    this.runs.forEach((r, i) => {
      if (!r.net) return;
      for (const [name, v] of r.net.params) arrays.set(`r${i}.p.${name}`, { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
      // Adam's moments by position in the encoder's trainable variables (the layout tf.train.adam's checkpoints had).
      const vars = r.net.trainable();
      const st = r.opt!.momentsOf(vars);
      vars.forEach((v, j) => {
        arrays.set(`r${i}.m.${j}`, { shape: [...v.shape], data: st.m[j]! });
        arrays.set(`r${i}.v.${j}`, { shape: [...v.shape], data: st.s[j]! });
      });
    });
    return {
      meta: {
        shape: this.runs.find((r) => r.net)?.net?.shape ?? null,
        runs: this.runs.map((r) => ({
          method: r.method, follows: r.follows, derived: r.derived, history: r.history, tasks: r.tasks, seconds: r.seconds,
          moments: r.opt && r.net ? r.net.trainable().map((v) => v.name) : [],
          iterations: r.opt ? r.opt.iterations : 0,
        })),
      },
      arrays,
    };
  }

  restore(c: LearnerCheckpoint): void {
    const meta = c.meta as { shape: [number, number, number] | null; runs: { method: string; follows: boolean; derived: boolean; history: TaskLosses[]; tasks: Co2lTaskLog[]; seconds: number; moments: string[]; iterations: number }[] };
    if (!Array.isArray(meta.runs) || meta.runs.length !== this.runs.length || meta.runs.some((m, i) => m.method !== this.runs[i].method)) throw new InputError('co2l checkpoint: another set of schedules');
    meta.runs.forEach((m, i) => {
      const r = this.runs[i];
      r.follows = m.follows; r.derived = m.derived; r.history = m.history; r.tasks = m.tasks; r.seconds = m.seconds;
      if (r.follows || !meta.shape) return;
      const net = new Co2lNet(meta.shape, this.options, this.rng.split('init'));
      for (const [name, v] of net.params) {
        const a = c.arrays.get(`r${i}.p.${name}`);
        if (!a || a.data.length !== v.size) throw new InputError(`co2l checkpoint: parameter ${name} missing or mis-shaped`);
        v.assign(tf.tensor(Float32Array.from(a.data), v.shape));
      }
      r.net?.dispose(); r.teacher?.dispose(); r.opt?.dispose();
      r.net = net;
      r.teacher = net.clone();
      // Moments by position in the trainable variables (a checkpoint of tf.train.adam's state reads the same);
      // the bias corrections follow from the step count. None saved (no step yet): a fresh optimiser.
      const opt = fusedAdam(this.options.lr);
      const vars = net.trainable();
      if (m.moments.length) {
        if (m.moments.length !== vars.length) throw new InputError(`co2l checkpoint: ${m.moments.length} Adam moments for ${vars.length} parameters`);
        const mk = (kind: 'm' | 'v') => vars.map((v, j) => {
          const a = c.arrays.get(`r${i}.${kind}.${j}`);
          if (!a || a.data.length !== v.size) throw new InputError(`co2l checkpoint: Adam moment ${kind}${j} missing or mis-shaped`);
          return Float32Array.from(a.data);
        });
        opt.setMoments(vars, { iterations: m.iterations, m: mk('m'), s: mk('v') });
      }
      r.opt = opt;
    });
  }

  describe(): Record<string, unknown> { return { method: 'co2l', schedules: this.runs.map((r) => r.method), ...this.options }; }

  dispose(): void {
    for (const r of this.runs) { r.net?.dispose(); r.teacher?.dispose(); r.opt?.dispose(); r.net = null; r.teacher = null; r.opt = null; }
  }
}

/** The Co2L/CILA method names (`co2l`, `co2l-l<x>`, `co2l-val`, `cila[...]`), one learner for all of a run's. */
export const CO2L_FAMILY: LearnerFamily = {
  name: 'co2l',
  matches: (m) => /^(co2l|cila)(-|$)/.test(m),
  check: (methods) => { expandMethods(methods); },
  make: (ctx, methods, options) => new Co2lLearner(ctx, methods, options),
};
