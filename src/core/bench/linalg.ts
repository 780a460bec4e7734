// `perennial bench linalg`: GEMM (float32), symmetric eigenvalues (float64) and Cholesky solve
// (float64) with perennial's active backend and with numpy, measured in the same run on matrices
// drawn the same way. The machine may be shared, so the two sides alternate repetition by
// repetition (perennial, numpy, perennial, ...) and each keeps its fastest time after a warm-up.
import { linalg, useLinalg, type Linalg, type LinalgBackendName, type Matrix } from '../linalg/index.js';
import { Rng } from '../rng.js';
import { progress } from '../progress.js';
import { ensurePythonModule, PythonWorker } from './python.js';

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
        { op: 'gemm', n: 256, dtype: 'float32', reps: 10 },
        { op: 'gemm', n: 512, dtype: 'float32', reps: 6 },
        { op: 'eigh', n: 256, dtype: 'float64', reps: 6 },
        { op: 'eigh', n: 512, dtype: 'float64', reps: 6 },
        { op: 'cholesky_solve', n: 1024, dtype: 'float64', reps: 6 },
      ]
    : [
        { op: 'gemm', n: 1024, dtype: 'float32', reps: 10 },
        { op: 'gemm', n: 2048, dtype: 'float32', reps: 6 },
        { op: 'eigh', n: 1024, dtype: 'float64', reps: 6 },
        { op: 'eigh', n: 2048, dtype: 'float64', reps: 4 },
        { op: 'cholesky_solve', n: 4096, dtype: 'float64', reps: 4 },
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

/**
 * A pause before each timed run, longer than BLAS threads keep spinning after a call (OpenBLAS's
 * spin for about 0.1 s after a call, the addon's workers for 3 ms): without it perennial's runs
 * started while numpy's OpenBLAS threads still held the cores (GEMM 1024: 15 against 8-10 ms).
 */
const QUIET_MS = 100;
function quiet(): Promise<void> {
  return new Promise((r) => setTimeout(r, QUIET_MS));
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

// A numpy worker driven line by line over stdin/stdout, so that perennial and numpy alternate
// repetition by repetition and see the same machine load.
const NUMPY_WORKER = String.raw`
import json, sys, time
import numpy as np
try:
    import scipy.linalg as sla
except Exception:
    sla = None
rng = np.random.default_rng(0)
f = None
print(json.dumps({"ready": True, "cholesky": "scipy.linalg.cho_factor/cho_solve" if sla is not None else "numpy.linalg.solve"}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    if c["cmd"] == "setup":
        n = c["n"]
        if c["op"] == "gemm":
            a = rng.standard_normal((n, n)).astype(np.float32)
            b = rng.standard_normal((n, n)).astype(np.float32)
            f = lambda a=a, b=b: a @ b
        elif c["op"] == "eigh":
            r = rng.standard_normal((n, n))
            a = np.tril(r) + np.tril(r, -1).T
            f = lambda a=a: np.linalg.eigvalsh(a)
        else:
            r = rng.uniform(-1, 1, (n, n))
            a = np.tril(r) + np.tril(r, -1).T
            np.fill_diagonal(a, n)
            b = rng.standard_normal((n, c["rhs"]))
            if sla is not None:
                f = lambda a=a, b=b: sla.cho_solve(sla.cho_factor(a, lower=True, check_finite=False), b, check_finite=False)
            else:
                f = lambda a=a, b=b: np.linalg.solve(a, b)
        f()
        print(json.dumps({"ok": True}), flush=True)
    else:
        t = time.perf_counter(); f(); s = time.perf_counter() - t
        print(json.dumps({"s": s}), flush=True)
`;

export interface LinalgBenchOptions {
  readonly quick?: boolean;
  /** Force a backend; default the active one. */
  readonly backend?: LinalgBackendName;
  /** Skip numpy (peer fields become null). */
  readonly noPeer?: boolean;
}

export async function runLinalgBench(opts: LinalgBenchOptions = {}): Promise<LinalgBenchResult & { peer_note: string }> {
  const la = opts.backend ? useLinalg(opts.backend) : linalg();
  const cases = linalgCases(opts.quick ?? false);
  let worker: PythonWorker | null = null;
  let cholesky = '';
  if (!opts.noPeer && ensurePythonModule('numpy', 'python3-numpy')) {
    worker = new PythonWorker(NUMPY_WORKER);
    cholesky = String((await worker.ready()).cholesky);
  }
  const bar = progress(`bench linalg (${la.name})`, cases.length);
  const results: LinalgBenchRow[] = [];
  try {
    for (const c of cases) {
      const x = inputs(c, new Rng(0, `bench/${c.op}/${c.n}`));
      timeOnce(la, c, x);
      if (worker) await worker.request({ cmd: 'setup', op: c.op, n: c.n, rhs: CHOLESKY_RHS });
      // Alternate perennial and numpy repetition by repetition; keep the fastest of each.
      let ours = Infinity, peer = Infinity;
      for (let r = 0; r < c.reps; r++) {
        await quiet();
        ours = Math.min(ours, timeOnce(la, c, x));
        if (!worker) continue;
        await quiet();
        peer = Math.min(peer, Number((await worker.request({ cmd: 'run' })).s));
      }
      const peerS = worker ? peer : null;
      results.push({ op: c.op, n: c.n, dtype: c.dtype, perennial_s: ours, peer: 'numpy', peer_s: peerS, speedup: peerS === null ? null : peerS / ours });
      bar.tick(1, `${c.op} ${c.n}: ${ours.toFixed(3)} s vs ${peerS === null ? 'n/a' : peerS.toFixed(3)} s`);
    }
  } finally {
    worker?.close();
  }
  bar.done();
  const note = worker
    ? `numpy: ${cholesky} for cholesky_solve (${CHOLESKY_RHS} right-hand sides); perennial and numpy alternate repetition by repetition, fastest of each kept`
    : 'numpy missing or skipped';
  return { backend: la.name, results, peer_note: note };
}
