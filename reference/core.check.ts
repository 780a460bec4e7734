// Reference checks for core: both linear-algebra backends against numpy float64 (eigh values,
// GEMM in all transposes, Cholesky solve, SYRK) on random matrices, and Fashion-MNIST's shape and
// label counts when Debian's copy is installed. Exits non-zero on any failure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePython, runPython } from './peers.js';
import { linalgBackends, type Matrix64 } from '../src/core/linalg/index.js';
import { readNpy, writeNpy, findFashionMnist, loadFashionMnist } from '../src/core/data/index.js';
import { Rng } from '../src/core/rng.js';

let failures = 0;
function check(name: string, ok: boolean, detail: string): void {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
  if (!ok) failures++;
}
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let d = 0, s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    s = Math.max(s, Math.abs(want[i]!));
  }
  return d / Math.max(s, 1e-300);
}

const rng = new Rng(2024, 'reference/core');
const randn = (r: number, c: number): Matrix64 => ({ rows: r, cols: c, data: rng.fillNormal(new Float64Array(r * c)) });

if (!ensurePython('numpy', 'python3-numpy')) {
  process.stdout.write('FAIL numpy is not available\n');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'perennial-ref-core-'));
const A = randn(120, 80), B = randn(80, 60), Bt = randn(60, 80), At = randn(80, 120);
const X = randn(300, 150);
const S: Matrix64 = { rows: 150, cols: 150, data: new Float64Array(150 * 150) };
for (let i = 0; i < 150; i++) for (let j = 0; j <= i; j++) {
  const v = rng.normal();
  S.data[i * 150 + j] = v;
  S.data[j * 150 + i] = v;
}
const R = randn(150, 5);
for (const [name, m] of Object.entries({ A, B, Bt, At, X, S, R })) writeNpy(join(dir, `${name}.npy`), m.data, [m.rows, m.cols]);

runPython(String.raw`
import sys, numpy as np
d = sys.argv[1]
L = lambda n: np.load(f"{d}/{n}.npy")
A, B, Bt, At, X, S, R = (L(n) for n in ["A", "B", "Bt", "At", "X", "S", "R"])
G = X.T @ X
np.save(f"{d}/gemm_nn.npy", A @ B)
np.save(f"{d}/gemm_nt.npy", A @ Bt.T)
np.save(f"{d}/gemm_tn.npy", At.T @ B)
np.save(f"{d}/gemm_tt.npy", At.T @ Bt.T)
np.save(f"{d}/gemm32.npy", (A.astype(np.float32) @ B.astype(np.float32)).astype(np.float64))
np.save(f"{d}/syrk.npy", G)
np.save(f"{d}/eigvalsh.npy", np.linalg.eigvalsh(S))
np.save(f"{d}/eigvalsh_g.npy", np.linalg.eigvalsh(G))
np.save(f"{d}/solve.npy", np.linalg.solve(G, R))
`, [dir]);
const want = (n: string): Float64Array => readNpy(join(dir, `${n}.npy`)).data as Float64Array;

for (const la of linalgBackends()) {
  const tag = la.name;
  const cases: [string, Matrix64, Matrix64, boolean, boolean][] = [['nn', A, B, false, false], ['nt', A, Bt, false, true], ['tn', At, B, true, false], ['tt', At, Bt, true, true]];
  for (const [k, a, b, ta, tb] of cases) {
    const e = relErr(la.gemm(a, b, { transA: ta, transB: tb }).data, want(`gemm_${k}`));
    check(`${tag} gemm ${k} float64 vs numpy`, e < 1e-12, `rel err ${e.toExponential(2)}`);
  }
  const a32 = { rows: A.rows, cols: A.cols, data: Float32Array.from(A.data) }, b32 = { rows: B.rows, cols: B.cols, data: Float32Array.from(B.data) };
  const e32 = relErr(la.gemm(a32, b32).data, want('gemm32'));
  check(`${tag} gemm float32 vs numpy float32`, e32 < 1e-5, `rel err ${e32.toExponential(2)}`);
  const G = la.syrk(X);
  const es = relErr(G.data, want('syrk'));
  check(`${tag} syrk vs numpy X^T X`, es < 1e-12, `rel err ${es.toExponential(2)}`);
  const ee = relErr(la.eigh(S).values, want('eigvalsh'));
  check(`${tag} eigh values (indefinite 150x150) vs numpy eigvalsh`, ee < 1e-8, `rel err ${ee.toExponential(2)}`);
  const eg = relErr(la.eigh(G).values, want('eigvalsh_g'));
  check(`${tag} eigh values (Gram 150x150) vs numpy eigvalsh`, eg < 1e-8, `rel err ${eg.toExponential(2)}`);
  const ec = relErr(la.choleskySolve(G, R).data, want('solve'));
  check(`${tag} cholesky solve vs numpy solve`, ec < 1e-8, `rel err ${ec.toExponential(2)}`);
}

const fm = findFashionMnist();
if (!fm) {
  process.stdout.write('skip Fashion-MNIST: not installed (apt-get install dataset-fashion-mnist)\n');
} else {
  for (const [split, n, perClass] of [['train', 60000, 6000], ['test', 10000, 1000]] as const) {
    const ds = loadFashionMnist(split, fm);
    check(`Fashion-MNIST ${split} rows`, ds.n === n && ds.d === 784, `${ds.n} x ${ds.d}`);
    const counts = new Array<number>(10).fill(0);
    for (const y of ds.y) counts[y]!++;
    check(`Fashion-MNIST ${split} label counts`, counts.every((c) => c === perClass), counts.join(' '));
    let lo = Infinity, hi = -Infinity, sum = 0;
    for (const v of ds.x) { lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; }
    // The training set's mean pixel is 0.286 (72.94 / 255).
    check(`Fashion-MNIST ${split} pixels`, lo === 0 && hi === 1 && Math.abs(sum / ds.x.length - 0.286) < 0.005, `range [${lo}, ${hi}], mean ${(sum / ds.x.length).toFixed(4)}`);
  }
}

process.stdout.write(`core reference: ${failures} failed\n`);
process.exit(failures ? 1 : 0);
