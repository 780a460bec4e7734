// Continual-learning metrics over the accuracy triangle a[t][j]: accuracy after session t on the
// test samples of the classes introduced in session j (j <= t). Two accuracies, never confused:
//   accTop1(t)      = correct / all test samples of the classes seen by t   (PILOT/PyCIL "top-1")
//   accMeanGroup(t) = mean over j <= t of a[t][j]                          (RanPAC's final accuracy)
// They coincide when every group has the same number of test samples.
import { InputError } from '../core/errors.js';

export type AccuracyKind = 'top1' | 'meanGroup';

export class AccuracyMatrix {
  /** acc[t][j] in percent. */
  private readonly acc: number[][] = [];
  /** Test-sample counts per [t][j]. */
  private readonly counts: number[][] = [];

  /** Record session t (0-based, in order): per-group correct counts and sample counts, j = 0..t. */
  record(t: number, correct: readonly number[], counts: readonly number[]): void {
    if (t !== this.acc.length) throw new InputError(`AccuracyMatrix.record: expected session ${this.acc.length}, got ${t}`);
    if (correct.length !== t + 1 || counts.length !== t + 1) throw new InputError(`AccuracyMatrix.record: session ${t} needs ${t + 1} groups, got ${correct.length}/${counts.length}`);
    this.acc.push(correct.map((c, j) => (counts[j] > 0 ? (100 * c) / counts[j] : NaN)));
    this.counts.push(counts.slice());
  }

  /** Build from a triangle of percentages with equal group counts (tests, imports). */
  static fromTriangle(tri: readonly (readonly number[])[], counts?: readonly (readonly number[])[]): AccuracyMatrix {
    const m = new AccuracyMatrix();
    tri.forEach((row, t) => {
      const c = counts?.[t] ?? row.map(() => 100);
      m.record(t, row.map((a, j) => (a / 100) * c[j]), c);
    });
    return m;
  }

  get sessions(): number { return this.acc.length; }
  triangle(): number[][] { return this.acc.map((r) => r.slice()); }

  accTop1(t: number): number {
    const row = this.row(t);
    let c = 0, n = 0;
    row.forEach((a, j) => { c += (a / 100) * this.counts[t][j]; n += this.counts[t][j]; });
    return (100 * c) / n;
  }

  accMeanGroup(t: number): number {
    const row = this.row(t);
    return row.reduce((s, a) => s + a, 0) / row.length;
  }

  acc_(t: number, kind: AccuracyKind): number {
    return kind === 'top1' ? this.accTop1(t) : this.accMeanGroup(t);
  }

  /** A_T of the last recorded session. */
  last(kind: AccuracyKind): number { return this.acc_(this.sessions - 1, kind); }

  /** Average incremental accuracy: mean over t of A_t. */
  avgIncremental(kind: AccuracyKind): number {
    let s = 0;
    for (let t = 0; t < this.sessions; t++) s += this.acc_(t, kind);
    return s / this.sessions;
  }

  /** Mean over j < T of the largest drop from any earlier session to the last. 0 with one session. */
  forgetting(): number {
    const T = this.sessions - 1;
    if (T < 1) return 0;
    let s = 0;
    for (let j = 0; j < T; j++) {
      let best = -Infinity;
      for (let t = j; t < T; t++) best = Math.max(best, this.acc[t][j]);
      s += best - this.acc[T][j];
    }
    return s / T;
  }

  /** Backward transfer: mean over j < T of a[T][j] - a[j][j]; negative means forgetting. */
  bwt(): number {
    const T = this.sessions - 1;
    if (T < 1) return 0;
    let s = 0;
    for (let j = 0; j < T; j++) s += this.acc[T][j] - this.acc[j][j];
    return s / T;
  }

  private row(t: number): number[] {
    const r = this.acc[t];
    if (!r) throw new InputError(`no session ${t} recorded (have ${this.sessions})`);
    return r;
  }
}

/** Per-group correct counts for predictions `pred` (labels already remapped so group = floor-free lookup). */
export function groupCorrect(pred: Int32Array, y: Int32Array, groupOf: (label: number) => number, groups: number): { correct: number[]; counts: number[] } {
  const correct = new Array<number>(groups).fill(0), counts = new Array<number>(groups).fill(0);
  for (let i = 0; i < y.length; i++) {
    const g = groupOf(y[i]);
    if (g < 0 || g >= groups) continue;
    counts[g]++;
    if (pred[i] === y[i]) correct[g]++;
  }
  return { correct, counts };
}
