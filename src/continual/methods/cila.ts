// CILA's adaptive distillation weight (Provable Contrastive Continual Learning, ICML 2024; the formula
// is marked unverified in the method note and is implemented as specified there, with its variants):
//   lambda at the first task with distillation = 1;
//   later: lambda_t = f(c * sum_{j<t} Ldis(j) / sum_{j<t} Lcon(j)) over earlier distillation tasks,
//   f = identity ("pure"), min(1, .) or max(1, .).
// L averages the training losses of each earlier task: the (unweighted) IRD loss and the contrastive
// loss, either as Co2L scales it (tau/tauBase, "scaled") or without that factor ("unscaled").
import { InputError } from '../../core/errors.js';

export type CilaVariant = 'pure' | 'min1' | 'max1';
export type CilaLossKind = 'scaled' | 'unscaled';

export type LambdaSchedule =
  | { readonly kind: 'fixed'; readonly lambda: number }
  | { readonly kind: 'cila'; readonly c: number; readonly variant: CilaVariant; readonly loss: CilaLossKind };

/** Average training losses of one task (the distillation loss is unweighted). */
export interface TaskLosses {
  readonly con: number;
  readonly conUnscaled: number;
  readonly dis: number;
}

export function checkSchedule(s: LambdaSchedule): LambdaSchedule {
  if (s.kind === 'fixed') {
    if (!(s.lambda >= 0 && Number.isFinite(s.lambda))) throw new InputError(`lambda must be a finite number >= 0, got ${s.lambda}`);
  } else {
    if (!(s.c > 0 && Number.isFinite(s.c))) throw new InputError(`CILA c must be positive, got ${s.c}`);
    if (!['pure', 'min1', 'max1'].includes(s.variant)) throw new InputError(`unknown CILA variant ${JSON.stringify(s.variant)}; known: pure, min1, max1`);
    if (!['scaled', 'unscaled'].includes(s.loss)) throw new InputError(`unknown CILA loss ${JSON.stringify(s.loss)}; known: scaled, unscaled`);
  }
  return Object.freeze({ ...s });
}

/**
 * The distillation weight for task `t` (0-based) given the losses of tasks 1..t-1 (tasks that had
 * distillation; task 0 has none). Returns lambda and the cumulative loss ratio it used (null when
 * no ratio enters: task 0, task 1, or a fixed schedule).
 */
export function lambdaForTask(s: LambdaSchedule, t: number, history: readonly TaskLosses[]): { lambda: number; ratio: number | null } {
  if (t === 0) return { lambda: 0, ratio: null };
  if (s.kind === 'fixed') return { lambda: s.lambda, ratio: null };
  if (t === 1) return { lambda: 1, ratio: null };
  const past = history.slice(1, t);
  if (past.length !== t - 1) throw new InputError(`CILA at task ${t} needs the losses of tasks 1..${t - 1}, have ${history.length} tasks`);
  let num = 0, den = 0;
  for (const h of past) { num += h.dis; den += s.loss === 'scaled' ? h.con : h.conUnscaled; }
  if (!(den > 0)) throw new InputError(`CILA: the summed contrastive loss of tasks 1..${t - 1} is ${den}; the ratio is undefined`);
  const ratio = num / den;
  const v = s.c * ratio;
  const lambda = s.variant === 'pure' ? v : s.variant === 'min1' ? Math.min(1, v) : Math.max(1, v);
  return { lambda, ratio };
}

/** "1", "cila:max1:1", "cila:pure:0.5:unscaled" -> a schedule. */
export function parseSchedule(spec: string): LambdaSchedule {
  const p = spec.trim().split(':');
  if (p[0] !== 'cila') {
    const v = Number(spec);
    if (p.length !== 1 || !Number.isFinite(v)) throw new InputError(`lambda schedule ${JSON.stringify(spec)}: expected a number or cila:<pure|min1|max1>:<c>[:scaled|unscaled]`);
    return checkSchedule({ kind: 'fixed', lambda: v });
  }
  const c = Number(p[2] ?? '1');
  return checkSchedule({ kind: 'cila', variant: (p[1] ?? 'max1') as CilaVariant, c, loss: (p[3] ?? 'scaled') as CilaLossKind });
}
