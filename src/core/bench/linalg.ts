// `perennial bench linalg`: GEMM (float32), symmetric eigenvalues (float64) and Cholesky solve
// (float64) with perennial's active backend and with numpy, measured in the same run on matrices
// drawn the same way. The machine may be shared, so the two sides alternate (perennial, numpy,
// perennial, numpy) and each time is the minimum over rounds and repetitions after a warm-up.
import { linalg, useLinalg, type Linalg, type LinalgBackendName, type Matrix } from '../linalg/index.js';
import { Rng } from '../rng.js';
import { progress } from '../progress.js';
import { ensurePythonModule, runPythonJson } from './python.js';

export type LinalgOp = 'gemm' | 'eigh' | 'cholesky_solve';

export interface LinalgCase {
  readonly op: LinalgOp;
  readonly n: number;
  readonly dtype: 'float32' | 'float64';
  readonly reps: number;
}

export interface LinalgBenchRow {
  op: LinalgOp;
  n: number;
  dtype: 'float32' | 'float64';
  perennial_s: number;
  peer: 'numpy';
  peer_s: number | null;
  speedup: number | null;
}

export interface LinalgBenchResult {
  backend: LinalgBackendName;
  results: LinalgBenchRow[];
}

/** Right-hand sides in the Cholesky solve. */
export const CHOLESKY_RHS = 16;

export function linalgCases(quick: boolean): LinalgCase[] {
  return quick
    ? [
        { op: 'gemm', n: 256, dtype: 'float32', reps: 5 },
        { op: 'gemm', n: 512, dtype: 'float32', reps: 3 },
        { op: 'eigh', n: 256, dtype: 'float64', reps: 3 },
        { op: 'eigh', n: 512, dtype: 'float64', reps: 3 },
        { op: 'cholesky_solve', n: 1024, dtype: 'float64', reps: 3 },
      ]
    : [
        { op: 'gemm', n: 1024, dtype: 'float32', reps: 5 },
        { op: 'gemm', n: 2048, dtype: 'float32', reps: 3 },
        { op: 'eigh', n: 1024, dtype: 'float64', reps: 3 },
        { op: 'eigh', n: 2048, dtype: 'float64', reps: 3 },
        { op: 'cholesky_solve', n: 4096, dtype: 'float64', reps: 3 },
      ];
}

/** Inputs for one case: GEMM on normals; eigh on a symmetrised normal matrix; Cholesky on a
 *  symmetric, strictly diagonally dominant (so SPD) matrix with uniform off-diagonal entries. */
function inputs(c: LinalgCase, rng: Rng): { a: Matrix; b?: Matrix } {
  const n = c.n;
  if (c.op === 'gemm') {
    return { a: { rows: n, cols: n, data: rng.fillNormal(new Float32Array(n * n)) }, b: { rows: n, cols: n, data: rng.fillNormal(new Float32Array(n * n)) } };
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    const v = c.op === 'eigh' ? rng.normal() : rng.uniform(-1, 1);
    a[i * n + j] = v;
    a[j * n + i] = v;
  }
  if (c.op === 'eigh') return { a: { rows: n, cols: n, data: a } };
  for (let i = 0; i < n; i++) a[i * n + i] = n;
  return { a: { rows: n, cols: n, data: a }, b: { rows: n, cols: CHOLESKY_RHS, data: rng.fillNormal(new Float64Array(n * CHOLESKY_RHS)) } };
}

function timeOnce(la: Linalg, c: LinalgCase, x: { a: Matrix; b?: Matrix }): number {
  const t = performance.now();
  if (c.op === 'gemm') la.gemm(x.a, x.b!);
  else if (c.op === 'eigh') la.eigh(x.a as Matrix<Float64Array>);
  else la.choleskySolve(x.a as Matrix<Float64Array>, x.b as Matrix<Float64Array>);
  return (performance.now() - t) / 1000;
}

/** Fastest of `reps` runs after one warm-up, in seconds. */
export function timePerennial(la: Linalg, c: LinalgCase, seed = 0): number {
  const x = inputs(c, new Rng(seed, `bench/${c.op}/${c.n}`));
  timeOnce(la, c, x);
  let best = Infinity;
  for (let r = 0; r < c.reps; r++) best = Math.min(best, timeOnce(la, c, x));
  return best;
}

const NUMPY_SCRIPT = String.raw`
import json, sys, time
import numpy as np
try:
    import scipy.linalg as sla
except Exception:
    sla = None
cases = json.load(sys.stdin)["cases"]
rng = np.random.default_rng(0)
out = []
for c in cases:
    n = c["n"]
    if c["op"] == "gemm":
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        f = lambda: a @ b
    elif c["op"] == "eigh":
        r = rng.standard_normal((n, n))
        a = np.tril(r) + np.tril(r, -1).T
        f = lambda: np.linalg.eigvalsh(a)
    else:
        r = rng.uniform(-1, 1, (n, n))
        a = np.tril(r) + np.tril(r, -1).T
        np.fill_diagonal(a, n)
        b = rng.standard_normal((n, c["rhs"]))
        if sla is not None:
            f = lambda: sla.cho_solve(sla.cho_factor(a, lower=True, check_finite=False), b, check_finite=False)
        else:
            f = lambda: np.linalg.solve(a, b)
    f()
    ts = []
    for _ in range(c["reps"]):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    out.append(min(ts))
print(json.dumps({"times": out, "cholesky": "scipy.linalg.cho_factor/cho_solve" if sla is not None else "numpy.linalg.solve"}))
`;

export interface NumpyTimes {
  readonly times: number[];
  readonly cholesky: string;
}

/** numpy's median times for the same cases, or null when numpy cannot be had. */
export function timeNumpy(cases: readonly LinalgCase[]): NumpyTimes | null {
  if (!ensurePythonModule('numpy', 'python3-numpy')) return null;
  return runPythonJson<NumpyTimes>(NUMPY_SCRIPT, { cases: cases.map((c) => ({ ...c, rhs: CHOLESKY_RHS })) });
}

export interface LinalgBenchOptions {
  readonly quick?: boolean;
  /** Force a backend; default the active one. */
  readonly backend?: LinalgBackendName;
  /** Skip numpy (peer fields become null). */
  readonly noPeer?: boolean;
}

export function runLinalgBench(opts: LinalgBenchOptions = {}): LinalgBenchResult & { peer_note: string } {
  const la = opts.backend ? useLinalg(opts.backend) : linalg();
  const cases = linalgCases(opts.quick ?? false);
  const rounds = 2;
  const bar = progress(`bench linalg (${la.name})`, cases.length * rounds);
  const ours = cases.map(() => Infinity);
  let peerTimes: number[] | null = opts.noPeer ? null : cases.map(() => Infinity);
  let np: NumpyTimes | null = null;
  for (let round = 0; round < rounds; round++) {
    cases.forEach((c, i) => {
      ours[i] = Math.min(ours[i]!, timePerennial(la, c));
      bar.tick(1, `${c.op} ${c.n}: ${ours[i]!.toFixed(3)} s`);
    });
    if (peerTimes) {
      np = timeNumpy(cases);
      if (!np) peerTimes = null;
      else peerTimes = peerTimes.map((t, i) => Math.min(t, np!.times[i]!));
    }
  }
  bar.done();
  const results = cases.map((c, i): LinalgBenchRow => {
    const peer = peerTimes ? peerTimes[i]! : null;
    return { op: c.op, n: c.n, dtype: c.dtype, perennial_s: ours[i]!, peer: 'numpy', peer_s: peer, speedup: peer === null ? null : peer / ours[i]! };
  });
  const npDone = np as NumpyTimes | null;
  const note = npDone ? `numpy: ${npDone.cholesky} for cholesky_solve (${CHOLESKY_RHS} right-hand sides); fastest of ${rounds} alternating rounds of repetitions` : 'numpy missing or skipped';
  return { backend: la.name, results, peer_note: note };
}
