// `npm run bench -- theory [--quick]` (or `node --import tsx bench/theory.bench.ts --json F [--quick]`):
// one continual-regression task update (p = 200, n_t = 150 by default) with perennial and with
// numpy/scipy doing the same on the same data in the same run:
//   gl2_primal: G = X^T X, A = G + n H, w = w0 + chol_solve(A, X^T (y - X w0))   (oracle / GL2 / CRR with n >= p)
//   mn_dual:    K = X X^T, w = w0 + X^T chol_solve(K, y - X w0)                   (MN / CRR with n < p)
//   solve:      the p x p Cholesky solve alone (A given)
// ratio = numpy seconds / perennial seconds (>= 1: perennial at least as fast). Timings are medians
// of repeated runs on a shared machine, so expect noise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src/core/data/npy.js';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { linalg, linalgBackendName, type Matrix64 } from '../src/core/linalg/index.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { ContinualLinearRegression } from '../src/theory/index.js';
import { ensurePythonModule, runPythonJson } from '../src/core/bench/python.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const p = 200, n = 150;
const reps = quick ? 30 : 200;

const rng = new Rng(0, 'bench/theory');
const X: Matrix64 = { rows: n, cols: p, data: rng.fillNormal(new Float64Array(n * p)) };
const y = rng.fillNormal(new Float64Array(n));
const w0 = rng.fillNormal(new Float64Array(p), 0.1);
const Z: Matrix64 = { rows: 2 * p, cols: p, data: rng.fillNormal(new Float64Array(2 * p * p)) };
const la = linalg();
const H = la.syrk(Z);
for (let i = 0; i < H.data.length; i++) H.data[i] /= 2 * p;
const tasks = [{ X, y, cov: new Float64Array(p).fill(1) }];

interface Timing { median: number; min: number }
function timeIt(f: () => unknown): Timing {
  for (let i = 0; i < 5; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    ts.push((performance.now() - t) / 1000);
  }
  return { median: median(ts), min: Math.min(...ts) };
}
const A = la.syrk(X);
for (let i = 0; i < A.data.length; i++) A.data[i] += n * H.data[i]!;
const rhs: Matrix64 = { rows: p, cols: 1, data: rng.fillNormal(new Float64Array(p)) };

// A fresh estimator per call so the cached Grams are recomputed, as numpy does.
const ours: Record<Op, Timing> = {
  solve: timeIt(() => la.choleskySolve(A, rhs)),
  gl2_primal: timeIt(() => new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'full', H })),
  mn_dual: timeIt(() => new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'zero' })),
};
const wOurs = new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'full', H });

const PEER = `
import json, sys, time
import numpy as np
from scipy.linalg import cho_factor, cho_solve
d = json.load(sys.stdin)
X = np.load(d['dir'] + '/X.npy'); y = np.load(d['dir'] + '/y.npy'); w0 = np.load(d['dir'] + '/w0.npy'); H = np.load(d['dir'] + '/H.npy')
n = X.shape[0]
A = X.T @ X + n * H
b = np.load(d['dir'] + '/b.npy')
def solve():
    return cho_solve(cho_factor(A, lower=True), b)
def gl2():
    A = X.T @ X + n * H
    return w0 + cho_solve(cho_factor(A, lower=True), X.T @ (y - X @ w0))
def mn():
    K = X @ X.T
    return w0 + X.T @ cho_solve(cho_factor(K, lower=True), y - X @ w0)
def t(f):
    for _ in range(5): f()
    ts = []
    for _ in range(d['reps']):
        s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
    return {'median': float(np.median(ts)), 'min': float(np.min(ts))}
print(json.dumps({'solve': t(solve), 'gl2_primal': t(gl2), 'mn_dual': t(mn), 'w': gl2().tolist(), 'numpy': np.__version__}))
`;

type Op = 'solve' | 'gl2_primal' | 'mn_dual';
let peer: (Record<Op, Timing> & { w: number[]; numpy: string }) | null = null;
let peerNote = 'numpy + scipy (Debian python3)';
if (ensurePythonModule('numpy', 'python3-numpy') && ensurePythonModule('scipy', 'python3-scipy')) {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-theory-bench-'));
  try {
    writeNpy(join(dir, 'X.npy'), X.data, [n, p]);
    writeNpy(join(dir, 'y.npy'), y, [n]);
    writeNpy(join(dir, 'w0.npy'), w0, [p]);
    writeNpy(join(dir, 'H.npy'), H.data, [p, p]);
    writeNpy(join(dir, 'b.npy'), rhs.data, [p]);
    peer = runPythonJson(PEER, { dir, reps });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else peerNote = 'numpy/scipy unavailable: no peer timings';

const agree = peer ? Math.max(...peer.w.map((v, i) => Math.abs(v - wOurs[i]!))) : null;
const rows = (['solve', 'gl2_primal', 'mn_dual'] as const).map((op) => ({
  op, p, n,
  perennial_s: ours[op].median, numpy_s: peer ? peer[op].median : null, ratio: peer ? peer[op].median / ours[op].median : null,
  perennial_min_s: ours[op].min, numpy_min_s: peer ? peer[op].min : null, ratio_min: peer ? peer[op].min / ours[op].min : null,
}));
const rec = new RunRecorder('bench theory', { quick, p, n, reps }, 0);
const metrics = { backend: linalgBackendName(), peer: peerNote, numpy: peer?.numpy ?? null, max_abs_diff_vs_numpy: agree, results: rows };
for (const r of rows) {
  const ms = (x: number | null): string => (x === null ? 'n/a' : `${(x * 1e3).toFixed(3)} ms`);
  const rt = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(2));
  process.stdout.write(`${r.op.padEnd(11)} p=${p} n=${n}  median: perennial ${ms(r.perennial_s)} numpy ${ms(r.numpy_s)} ratio ${rt(r.ratio)}  |  min: perennial ${ms(r.perennial_min_s)} numpy ${ms(r.numpy_min_s)} ratio ${rt(r.ratio_min)}\n`);
}
process.stdout.write(`backend ${metrics.backend}; max |w_perennial - w_numpy| = ${agree === null ? 'n/a' : agree.toExponential(2)} (${peerNote})\n`);
if (json) writeRecord(json, rec.finish(metrics));
if (agree !== null && agree > 1e-8) {
  process.stderr.write('perennial and numpy disagree on the GL2 step\n');
  process.exit(1);
}
