// Gradient-boosted regression trees for a choice among candidates (a conditional-logit objective):
// each group (one peak, or one heavy atom) has several candidate rows (one per element, or per H
// count), the model scores every row and a softmax within the group gives the probabilities. The
// gradient of the group's cross-entropy is p − y and the Hessian p(1 − p); trees are grown level by
// level on quantile-binned features with Newton leaf values (XGBoost's second-order rule, λ-ridge).
// No npm package fits this objective and runs offline in TS, so the small learner is written here.
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import type { Rng } from '../core/rng.js';

export interface ChoiceGroup {
  /** Feature rows, one per candidate. */
  readonly rows: readonly (readonly number[])[];
  /** Index of the true candidate (training only). */
  readonly label?: number;
}

export interface BoostOptions {
  readonly rounds?: number;
  readonly depth?: number;
  readonly learningRate?: number;
  readonly lambda?: number;
  /** Minimum Hessian sum in a leaf. */
  readonly minChildWeight?: number;
  /** Fraction of groups drawn (without replacement) for each tree. */
  readonly subsample?: number;
  readonly bins?: number;
}

/** Cap on boosting rounds (a model's size and training time grow with them). */
export const MAX_BOOST_ROUNDS = 5000;

export const BOOST_DEFAULTS: Required<BoostOptions> = { rounds: 200, depth: 5, learningRate: 0.1, lambda: 1, minChildWeight: 1, subsample: 0.8, bins: 32 };

/** A tree as flat arrays: internal node i splits on feature[i] at threshold[i] (x ≤ t goes left). */
export interface Tree { readonly feature: number[]; readonly threshold: number[]; readonly left: number[]; readonly right: number[]; readonly value: number[] }

export interface BoostModel {
  readonly kind: 'choice-gbt';
  readonly nFeatures: number;
  readonly options: Required<BoostOptions>;
  readonly trees: readonly Tree[];
}

function treeScore(t: Tree, x: readonly number[]): number {
  let i = 0;
  while (t.feature[i] >= 0) i = x[t.feature[i]] <= t.threshold[i] ? t.left[i] : t.right[i];
  return t.value[i];
}

export function scoreRow(m: BoostModel, x: readonly number[]): number {
  let s = 0;
  for (const t of m.trees) s += treeScore(t, x);
  return s;
}

function softmax(s: readonly number[]): number[] {
  const mx = Math.max(...s);
  const e = s.map((v) => Math.exp(v - mx));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Candidate probabilities of one group. */
export function predictGroup(m: BoostModel, rows: readonly (readonly number[])[]): number[] {
  if (rows.length === 0) return [];
  for (const r of rows) if (r.length !== m.nFeatures) throw new InputError(`choice model: expected ${m.nFeatures} features, got ${r.length}`);
  return softmax(rows.map((r) => scoreRow(m, r)));
}

/** Mean cross-entropy and accuracy (argmax) over labelled groups. */
export function groupMetrics(m: BoostModel, groups: readonly ChoiceGroup[]): { logloss: number; accuracy: number; groups: number } {
  let ll = 0, ok = 0, n = 0;
  for (const g of groups) {
    if (g.label === undefined || g.rows.length < 2) continue;
    const p = predictGroup(m, g.rows);
    ll -= Math.log(Math.max(p[g.label], 1e-12));
    if (p.indexOf(Math.max(...p)) === g.label) ok++;
    n++;
  }
  return { logloss: n ? ll / n : 0, accuracy: n ? ok / n : 0, groups: n };
}

/** Fit on labelled groups (groups with fewer than two candidates carry no information and are skipped). */
export function fitChoiceBoost(groups: readonly ChoiceGroup[], rng: Rng, options: BoostOptions = {}, onRound?: (round: number) => void): BoostModel {
  const o = withDefaults(BOOST_DEFAULTS, options, 'choice boosting');
  if (!(o.rounds >= 1 && o.rounds <= MAX_BOOST_ROUNDS) || !(o.depth >= 1 && o.depth <= 12) || !(o.bins >= 2 && o.bins <= 256)) throw new InputError(`choice boosting: rounds 1-${MAX_BOOST_ROUNDS}, depth 1-12 and bins 2-256, got ${o.rounds}, ${o.depth}, ${o.bins}`);
  const used = groups.filter((g) => g.rows.length >= 2 && g.label !== undefined && g.label >= 0 && g.label < g.rows.length);
  if (used.length === 0) throw new InputError('choice boosting: no labelled group with two or more candidates');
  const nf = used[0].rows[0].length;
  const start: number[] = [];
  const rows: (readonly number[])[] = [];
  const y: number[] = [];
  for (const g of used) {
    start.push(rows.length);
    g.rows.forEach((r, i) => { if (r.length !== nf) throw new InputError(`choice boosting: rows of ${r.length} and ${nf} features`); rows.push(r); y.push(i === g.label ? 1 : 0); });
  }
  start.push(rows.length);
  const n = rows.length;
  // Quantile bin edges per feature (from every row; ties collapse).
  const edges: number[][] = [];
  for (let f = 0; f < nf; f++) {
    const v = rows.map((r) => r[f]).sort((a, b) => a - b);
    const e: number[] = [];
    for (let b = 1; b < o.bins; b++) {
      const q = v[Math.floor((b * v.length) / o.bins)];
      if (e.length === 0 || q > e[e.length - 1]) e.push(q);
    }
    edges.push(e);
  }
  const bin = new Uint8Array(n * nf);
  for (let i = 0; i < n; i++) for (let f = 0; f < nf; f++) {
    const e = edges[f], x = rows[i][f];
    let lo = 0, hi = e.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (x <= e[mid]) hi = mid; else lo = mid + 1; }
    bin[i * nf + f] = lo;
  }
  const score = new Float64Array(n), grad = new Float64Array(n), hess = new Float64Array(n);
  const node = new Int32Array(n);
  const trees: Tree[] = [];
  const nb = o.bins;
  for (let round = 0; round < o.rounds; round++) {
    for (let g = 0; g < used.length; g++) {
      const a = start[g], b = start[g + 1];
      let mx = -Infinity;
      for (let i = a; i < b; i++) mx = Math.max(mx, score[i]);
      let z = 0;
      for (let i = a; i < b; i++) z += Math.exp(score[i] - mx);
      for (let i = a; i < b; i++) { const p = Math.exp(score[i] - mx) / z; grad[i] = p - y[i]; hess[i] = Math.max(p * (1 - p), 1e-6); }
    }
    // Row sample by group; rows outside the sample get node -1.
    for (let g = 0; g < used.length; g++) {
      const inS = o.subsample >= 1 || rng.next() < o.subsample;
      for (let i = start[g]; i < start[g + 1]; i++) node[i] = inS ? 0 : -1;
    }
    const t: Tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] };
    let level = [0];
    for (let d = 0; d <= o.depth && level.length; d++) {
      const slot = new Map(level.map((id, k) => [id, k]));
      const L = level.length;
      const G = new Float64Array(L * nf * nb), Hs = new Float64Array(L * nf * nb);
      const gT = new Float64Array(L), hT = new Float64Array(L);
      for (let i = 0; i < n; i++) {
        const k = node[i] >= 0 ? slot.get(node[i]) : undefined;
        if (k === undefined) continue;
        gT[k] += grad[i]; hT[k] += hess[i];
        if (d === o.depth) continue;
        const base = k * nf * nb, bi = i * nf;
        for (let f = 0; f < nf; f++) { const c = base + f * nb + bin[bi + f]; G[c] += grad[i]; Hs[c] += hess[i]; }
      }
      const next: number[] = [];
      const splitOf = new Map<number, { f: number; b: number; l: number; r: number }>();
      level.forEach((id, k) => {
        t.value[id] = (-gT[k] / (hT[k] + o.lambda)) * o.learningRate;
        if (d === o.depth || hT[k] < 2 * o.minChildWeight) return;
        const parent = (gT[k] * gT[k]) / (hT[k] + o.lambda);
        let best = 1e-9, bf = -1, bb = -1;
        for (let f = 0; f < nf; f++) {
          let gl = 0, hl = 0;
          const base = k * nf * nb + f * nb;
          for (let b = 0; b < nb - 1; b++) {
            gl += G[base + b]; hl += Hs[base + b];
            const gr = gT[k] - gl, hr = hT[k] - hl;
            if (hl < o.minChildWeight || hr < o.minChildWeight) continue;
            const gain = (gl * gl) / (hl + o.lambda) + (gr * gr) / (hr + o.lambda) - parent;
            if (gain > best) { best = gain; bf = f; bb = b; }
          }
        }
        if (bf < 0) return;
        const l = t.feature.length, r = l + 1;
        for (const _ of [l, r]) { t.feature.push(-1); t.threshold.push(0); t.left.push(-1); t.right.push(-1); t.value.push(0); }
        t.feature[id] = bf; t.threshold[id] = edges[bf][bb] ?? Infinity; t.left[id] = l; t.right[id] = r;
        splitOf.set(id, { f: bf, b: bb, l, r });
        next.push(l, r);
      });
      for (let i = 0; i < n; i++) {
        const s = node[i] >= 0 ? splitOf.get(node[i]) : undefined;
        if (s) node[i] = bin[i * nf + s.f] <= s.b ? s.l : s.r;
      }
      level = next;
    }
    for (let i = 0; i < n; i++) score[i] += treeScore(t, rows[i]);
    trees.push(t);
    onRound?.(round);
  }
  return { kind: 'choice-gbt', nFeatures: nf, options: o, trees };
}

/** Check a parsed model object (from a file) before use. */
export function checkBoostModel(m: unknown, where: string): BoostModel {
  const b = m as BoostModel;
  if (!b || b.kind !== 'choice-gbt' || !Number.isInteger(b.nFeatures) || !Array.isArray(b.trees)) throw new InputError(`${where}: not a choice-gbt model`);
  for (const t of b.trees) {
    const k = t.feature?.length;
    if (!k || [t.threshold, t.left, t.right, t.value].some((a) => !Array.isArray(a) || a.length !== k)) throw new InputError(`${where}: malformed tree`);
    for (let i = 0; i < k; i++) {
      if (t.feature[i] >= b.nFeatures) throw new InputError(`${where}: tree feature ${t.feature[i]} out of range`);
      if (t.feature[i] >= 0 && !(t.left[i] > i && t.right[i] > i && t.right[i] < k)) throw new InputError(`${where}: malformed tree links`);
      if (!Number.isFinite(t.value[i])) throw new InputError(`${where}: non-finite leaf value`);
    }
  }
  return b;
}
