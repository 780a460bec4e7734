// Reference check for the theory area: every continual-regression estimator and the min-norm
// HMM head against an independent numpy float64 implementation (pinv / lstsq / solve rather than
// Cholesky) on the same data. Exits non-zero when any path differs by more than the tolerance.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src/core/data/npy.js';
import { Rng } from '../src/core/rng.js';
import { ContinualLinearRegression, taskStream, minNormHead, exactHeadRisk, hmmFeatures, hmmFeatureMatrix, LinearGaussianHMM } from '../src/theory/index.js';
import { firstCols } from '../src/theory/util.js';
import { ensurePython, runPython } from './peers.js';

const TOL = 1e-8;
let failed = 0;
function check(name: string, err: number, tol = TOL): void {
  const ok = err <= tol;
  if (!ok) failed++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: max relative difference ${err.toExponential(2)} (tolerance ${tol})\n`);
}

if (!ensurePython('numpy', 'python3-numpy')) {
  process.stderr.write('numpy unavailable: cannot run the theory reference check\n');
  process.exit(1);
}

const PY = `
import json, sys
import numpy as np
d = sys.argv[1]
meta = json.load(open(d + '/meta.json'))
T, p, eta, k = meta['T'], meta['p'], meta['eta'], meta['k']
Xs = [np.load(f'{d}/X{t}.npy') for t in range(T)]
ys = [np.load(f'{d}/y{t}.npy') for t in range(T)]
covs = [np.load(f'{d}/cov{t}.npy') for t in range(T)]
out = {}
# oracle: pooled least squares, min-norm while underdetermined (pinv covers both)
out['oracle'] = [(np.linalg.pinv(np.vstack(Xs[:t+1])) @ np.concatenate(ys[:t+1])).tolist() for t in range(T)]
def continual(step):
    w = np.zeros(p); path = []
    for t in range(T):
        w = step(t, w); path.append(w.tolist())
    return path
out['mn'] = continual(lambda t, w: w + np.linalg.pinv(Xs[t]) @ (ys[t] - Xs[t] @ w))
def gl2(t, w, H):
    X, y = Xs[t], ys[t]; n = X.shape[0]
    A = X.T @ X / n + H
    return np.linalg.solve(A, X.T @ y / n + H @ w)
for lam in meta['lambdas']:
    out[f'crr{lam}'] = continual(lambda t, w: gl2(t, w, lam * np.eye(p)))
def pop(t, w):
    if t == 0: return w + np.linalg.pinv(Xs[0]) @ (ys[0] - Xs[0] @ w)
    H = sum(Xs[s].shape[0] * np.diag(covs[s]) for s in range(t)) / Xs[t].shape[0]
    return gl2(t, w, H)
out['pop'] = continual(pop)
def es(t, w):
    X, y = Xs[t], ys[t]; n = X.shape[0]
    for _ in range(k): w = w - eta / n * X.T @ (X @ w - y)
    return w
out['es'] = continual(es)
print(json.dumps(out))
`;

function maxRel(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let m = 0;
  a.forEach((row, t) => {
    let scale = 0;
    for (let j = 0; j < row.length; j++) scale = Math.max(scale, Math.abs(b[t]![j]!));
    for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs(row[j]! - b[t]![j]!) / Math.max(1, scale));
  });
  return m;
}

const dir = mkdtempSync(join(tmpdir(), 'perennial-theory-ref-'));
try {
  for (const [label, n, shift] of [['n_t < p, no shift', 30, 'none'], ['n_t < p, diagonal shift', 30, 'diag'], ['n_t > p', 70, 'none']] as const) {
    const p = 50, T = 6, lambdas = [0.1, 1], eta = 0.02, k = 25;
    const s = taskStream({ p, n, T, sigma2: 2, shift, shiftCount: 5, shiftScale: 20 }, new Rng(21, label));
    s.tasks.forEach((t, i) => {
      writeNpy(join(dir, `X${i}.npy`), t.X.data, [t.X.rows, p]);
      writeNpy(join(dir, `y${i}.npy`), t.y, [t.y.length]);
      writeNpy(join(dir, `cov${i}.npy`), t.cov as Float64Array, [p]);
    });
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ T, p, lambdas, eta, k }));
    const ref = JSON.parse(runPython(PY, [dir])) as Record<string, number[][]>;
    const clr = new ContinualLinearRegression(s.tasks);
    check(`${label}: oracle vs numpy pinv`, maxRel(clr.oracle(), ref.oracle!));
    check(`${label}: gl2 empirical vs numpy pooled pinv`, maxRel(clr.gl2('empirical'), ref.oracle!));
    check(`${label}: min-norm continual vs numpy pinv`, maxRel(clr.mn(), ref.mn!));
    for (const l of lambdas) check(`${label}: continual ridge ${l} vs numpy solve`, maxRel(clr.crr(l), ref[`crr${l}`]!));
    check(`${label}: gl2 population vs numpy solve`, maxRel(clr.gl2('population'), ref.pop!));
    check(`${label}: early stopping vs numpy gradient steps`, maxRel(clr.earlyStopping({ eta, k }), ref.es!));
  }

  // HMM head: min-norm B = pinv(X) Y and the exact risk, against numpy.
  const hmm = new LinearGaussianHMM({ d: 8, rho: 0.9, L: 5, seed: 3 });
  const feats = hmmFeatures(hmmFeatureMatrix(8, 120, new Rng(4)), 1);
  const { zL, zNext } = hmm.sample(40, new Rng(5));
  const Xfull = feats.features(zL, new Rng(6));
  writeNpy(join(dir, 'hX.npy'), Xfull.data, [40, 120]);
  writeNpy(join(dir, 'hY.npy'), zNext.data, [40, 8]);
  writeNpy(join(dir, 'hW.npy'), feats.W.data, [8, 120]);
  writeNpy(join(dir, 'hA.npy'), hmm.A.data, [8, 8]);
  const HPY = `
import json, sys
import numpy as np
d = sys.argv[1]
X = np.load(d + '/hX.npy'); Y = np.load(d + '/hY.npy'); W = np.load(d + '/hW.npy'); A = np.load(d + '/hA.npy')
out = {}
for p in [5, 30, 60, 120]:
    B = np.linalg.pinv(X[:, :p]) @ Y
    Wp = W[:, :p]
    Sx = Wp.T @ Wp + np.eye(p)
    risk = np.trace(B.T @ Sx @ B) - 2 * np.trace(B.T @ Wp.T @ A) + A.shape[0]
    out[str(p)] = {'B': B.ravel().tolist(), 'risk': float(risk)}
print(json.dumps(out))
`;
  const href = JSON.parse(runPython(HPY, [dir])) as Record<string, { B: number[]; risk: number }>;
  for (const p of [5, 30, 60, 120]) {
    const head = minNormHead(firstCols(Xfull, p), zNext);
    const want = href[String(p)]!;
    check(`hmm head p=${p} (${head.solver}) vs numpy pinv`, maxRel([head.B.data], [want.B]), 1e-7);
    const risk = exactHeadRisk(head.B, feats.Sx(p), feats.Sxy(p, hmm.A), 8);
    check(`hmm exact risk p=${p} vs numpy`, Math.abs(risk - want.risk) / want.risk, 1e-7);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(failed ? `theory reference: ${failed} check(s) failed\n` : 'theory reference: all checks passed\n');
process.exit(failed ? 1 : 0);
