// `npm run bench -- theory [--quick]` (or `node --import tsx bench/theory.bench.ts --json F [--quick] [--samples N]`):
// one continual-regression task update (p = 200, n_t = 150) with perennial and with numpy/scipy
// doing the same on the same data in the same run:
//   gl2_primal: G = X^T X, A = G + n H, w = w0 + chol_solve(A, X^T (y - X w0))   (oracle / GL2 / CRR with n >= p)
//   mn_dual:    K = X X^T, w = w0 + X^T chol_solve(K, y - X w0)                   (MN / CRR with n < p)
//   solve:      the p x p Cholesky solve alone (A given, left intact)
// How it is measured (the machine is shared and loaded, so wall time says little):
//   - OpenBLAS runs single-threaded on both sides (OPENBLAS_NUM_THREADS=1 unless already set).
//   - numpy runs in a worker process driven line by line; each sample times `calls` back-to-back
//     calls of one op on one side by process CPU time (process.cpuUsage / time.process_time, all
//     threads of the process, so V8's GC threads count against perennial), and the two sides
//     alternate sample by sample, op by op, so both see the same load.
//   - per op: the median over samples of CPU time per call on each side; ratio = numpy / perennial
//     (>= 1: perennial at least as fast); also the median of the per-sample ratios, and the ratio of
//     wall-time medians (same samples) for reference.
// A fresh estimator per call, so no Gram is cached: numpy recomputes it too.
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src/core/data/npy.js';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { linalg, linalgBackendName, nativeAddon, type Matrix64 } from '../src/core/linalg/index.js';
import { progress } from '../src/core/progress.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { ContinualLinearRegression } from '../src/theory/index.js';
import { ensurePythonModule, PythonWorker } from '../src/core/bench/python.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = flag('--json');
const p = 200, n = 150;
const samples = Number(flag('--samples') ?? (quick ? 15 : 100));
const calls = 20;
if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples must be a positive integer, got ${flag('--samples')}`);

const rng = new Rng(0, 'bench/theory');
const X: Matrix64 = { rows: n, cols: p, data: rng.fillNormal(new Float64Array(n * p)) };
const y = rng.fillNormal(new Float64Array(n));
const w0 = rng.fillNormal(new Float64Array(p), 0.1);
const Z: Matrix64 = { rows: 2 * p, cols: p, data: rng.fillNormal(new Float64Array(2 * p * p)) };
const la = linalg();
const H = la.syrk(Z);
for (let i = 0; i < H.data.length; i++) H.data[i] /= 2 * p;
const tasks = [{ X, y, cov: new Float64Array(p).fill(1) }];
const A = la.syrk(X);
for (let i = 0; i < A.data.length; i++) A.data[i] += n * H.data[i]!;
const rhs: Matrix64 = { rows: p, cols: 1, data: rng.fillNormal(new Float64Array(p)) };

type Op = 'solve' | 'gl2_primal' | 'mn_dual';
const OPS: readonly Op[] = ['solve', 'gl2_primal', 'mn_dual'];
const ours: Record<Op, () => unknown> = {
  solve: () => la.choleskySolve(A, rhs),
  gl2_primal: () => new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'full', H }),
  mn_dual: () => new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'zero' }),
};

/** CPU seconds (all threads of this process) and wall seconds per call over `k` back-to-back calls. */
function perCall(f: () => unknown, k: number): { cpu: number; wall: number } {
  const c = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < k; i++) f();
  const wall = (performance.now() - t) / 1e3 / k;
  const d = process.cpuUsage(c);
  return { cpu: (d.user + d.system) / 1e6 / k, wall };
}

const PEER = String.raw`
import json, sys, time
import numpy as np
from scipy.linalg import cho_factor, cho_solve
d = json.loads(sys.stdin.readline())
X = np.load(d['dir'] + '/X.npy'); y = np.load(d['dir'] + '/y.npy'); w0 = np.load(d['dir'] + '/w0.npy'); H = np.load(d['dir'] + '/H.npy')
b = np.load(d['dir'] + '/b.npy')
n = X.shape[0]
A = X.T @ X + n * H
def solve():
    return cho_solve(cho_factor(A, lower=True), b)
def solve_nocheck():
    return cho_solve(cho_factor(A, lower=True, check_finite=False), b, check_finite=False)
def gl2():
    A = X.T @ X + n * H
    return w0 + cho_solve(cho_factor(A, lower=True), X.T @ (y - X @ w0))
def mn():
    K = X @ X.T
    return w0 + X.T @ cho_solve(cho_factor(K, lower=True), y - X @ w0)
ops = {'solve': solve, 'solve_nocheck': solve_nocheck, 'gl2_primal': gl2, 'mn_dual': mn}
for f in ops.values():
    for _ in range(20): f()
print(json.dumps({'ready': True, 'numpy': np.__version__, 'w': gl2().tolist()}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    f = ops[c['op']]; k = c['calls']
    t = time.process_time(); w = time.perf_counter()
    for _ in range(k): f()
    w = time.perf_counter() - w
    print(json.dumps({'cpu': (time.process_time() - t) / k, 'wall': w / k}), flush=True)
`;

let worker: PythonWorker | null = null;
let numpyVersion: string | null = null;
let wPeer: number[] | null = null;
let peerNote = 'numpy + scipy (Debian python3), scipy defaults (check_finite=True); solve_nocheck: check_finite=False';
let dir: string | null = null;
if (ensurePythonModule('numpy', 'python3-numpy') && ensurePythonModule('scipy', 'python3-scipy')) {
  dir = mkdtempSync(join(tmpdir(), 'perennial-theory-bench-'));
  writeNpy(join(dir, 'X.npy'), X.data, [n, p]);
  writeNpy(join(dir, 'y.npy'), y, [n]);
  writeNpy(join(dir, 'w0.npy'), w0, [p]);
  writeNpy(join(dir, 'H.npy'), H.data, [p, p]);
  writeNpy(join(dir, 'b.npy'), rhs.data, [p]);
  worker = new PythonWorker(PEER);
} else peerNote = 'numpy/scipy unavailable: no peer timings';

type Sample = { cpu: number; wall: number };
const mine: Record<Op, Sample[]> = { solve: [], gl2_primal: [], mn_dual: [] };
const theirs: Record<Op | 'solve_nocheck', Sample[]> = { solve: [], solve_nocheck: [], gl2_primal: [], mn_dual: [] };
const peerSample = (r: Record<string, unknown>): Sample => ({ cpu: Number(r.cpu), wall: Number(r.wall) });
try {
  if (worker) {
    const ready = await worker.request({ dir }); // the first line carries the data directory; the answer is the ready line
    numpyVersion = String(ready.numpy);
    wPeer = ready.w as number[];
  }
  for (const op of OPS) for (let i = 0; i < 20; i++) ours[op]();
  const bar = progress('bench theory', samples);
  for (let s = 0; s < samples; s++) {
    // Rotate the op order each sample so no op always runs right after the same one.
    for (let j = 0; j < OPS.length; j++) {
      const op = OPS[(s + j) % OPS.length]!;
      mine[op].push(perCall(ours[op], calls));
      if (worker) theirs[op].push(peerSample(await worker.request({ op, calls })));
    }
    if (worker) theirs.solve_nocheck.push(peerSample(await worker.request({ op: 'solve_nocheck', calls })));
    bar.tick();
  }
  bar.done();
} finally {
  worker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const wOurs = new ContinualLinearRegression(tasks, la).step(0, w0, { kind: 'full', H });
const agree = wPeer ? Math.max(...wPeer.map((v, i) => Math.abs(v - wOurs[i]!))) : null;
const med = (xs: Sample[], key: keyof Sample): number => median(xs.map((x) => x[key]));
const rows = OPS.map((op) => {
  const m = med(mine[op], 'cpu');
  const t = worker ? med(theirs[op], 'cpu') : null;
  const paired = worker ? median(mine[op].map((v, i) => theirs[op][i]!.cpu / v.cpu)) : null;
  const mw = med(mine[op], 'wall'), tw = worker ? med(theirs[op], 'wall') : null;
  const row = {
    op, p, n, samples, calls_per_sample: calls,
    perennial_cpu_s: m, numpy_cpu_s: t, ratio: t === null ? null : t / m, ratio_paired_median: paired,
    perennial_wall_s: mw, numpy_wall_s: tw, ratio_wall: tw === null ? null : tw / mw,
  };
  if (op !== 'solve' || !worker) return row;
  const nc = med(theirs.solve_nocheck, 'cpu');
  return { ...row, numpy_nocheck_cpu_s: nc, ratio_vs_nocheck: nc / m };
});
const threads = nativeAddon()?.threads() ?? null;
const rec = new RunRecorder('bench theory', { quick, p, n, samples, calls }, 0);
const metrics = {
  backend: linalgBackendName(), openblas_threads: threads, timing: 'process CPU time, interleaved with numpy sample by sample, median',
  peer: peerNote, numpy: numpyVersion, max_abs_diff_vs_numpy: agree, results: rows,
};
const us = (x: number | null): string => (x === null ? 'n/a' : `${(x * 1e6).toFixed(1)} us`);
const rt = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(2));
for (const r of rows) {
  const extra = 'ratio_vs_nocheck' in r ? `  (numpy check_finite=False ${us(r.numpy_nocheck_cpu_s)}, ratio ${rt(r.ratio_vs_nocheck)})` : '';
  process.stdout.write(`${r.op.padEnd(11)} p=${p} n=${n}  CPU per call: perennial ${us(r.perennial_cpu_s)} numpy ${us(r.numpy_cpu_s)} ratio ${rt(r.ratio)} (paired ${rt(r.ratio_paired_median)}; wall ratio ${rt(r.ratio_wall)})${extra}\n`);
}
process.stdout.write(`backend ${metrics.backend}, OpenBLAS threads ${threads ?? 'n/a'}; max |w_perennial - w_numpy| = ${agree === null ? 'n/a' : agree.toExponential(2)} (${peerNote})\n`);
if (json) writeRecord(json, rec.finish(metrics));
if (agree !== null && agree > 1e-8) {
  process.stderr.write('perennial and numpy disagree on the GL2 step\n');
  process.exit(1);
}
