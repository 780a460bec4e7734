// Reference check for the info area: entropies, MI, MIR and HDR against a float64 numpy
// computation of the same definitions (cosine Gram, eigvalsh, natural log) on random matrices up
// to 2048 rows, with every route perennial can take (d < n covariance, n x n Gram, Khatri-Rao).
// Passes when every quantity agrees to 1e-8 relative (absolute below 1e-12). Exits non-zero otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { writeNpy } from '../src/core/data/index.js';
import { linalgBackendName } from '../src/core/linalg/index.js';
import { jointRoute, measureFeatures } from '../src/info/metrics.js';
import { ensurePython, runPython } from './peers.js';

const PY = String.raw`
import sys, json, numpy as np
def unit(z, center):
    z = z.astype(np.float64)
    if center: z = z - z.mean(0)
    return z / np.linalg.norm(z, axis=1, keepdims=True)
def ent(K, alpha):
    K = (K + K.T) / 2
    mu = np.linalg.eigvalsh(K / np.trace(K))
    mu = np.clip(mu, 0, None); mu = mu / mu.sum(); mu = mu[mu > 1e-15]
    if abs(alpha - 1) < 1e-8: return float(-(mu * np.log(mu)).sum())
    return float(np.log((mu ** alpha).sum()) / (1 - alpha))
out = []
for case in json.loads(sys.argv[1]):
    X = unit(np.load(case['x']), case['center']); Y = unit(np.load(case['y']), case['center'])
    K1 = X @ X.T; K2 = Y @ Y.T
    h1 = ent(K1, case['alpha']); h2 = ent(K2, case['alpha']); hj = ent(K1 * K2, case['alpha'])
    mi = h1 + h2 - hj
    out.append({'entropy_x': h1, 'entropy_y': h2, 'mi': mi, 'mir': mi / min(h1, h2), 'hdr': abs(h1 - h2) / max(h1, h2)})
print(json.dumps(out))
`;

interface Case { n: number; d1: number; d2: number; alpha: number; center: boolean }
const cases: Case[] = [
  { n: 64, d1: 8, d2: 4, alpha: 1, center: false },
  { n: 64, d1: 100, d2: 3, alpha: 2, center: false },
  { n: 300, d1: 40, d2: 3, alpha: 0.5, center: true },
  { n: 500, d1: 600, d2: 20, alpha: 1, center: false },
  { n: 1024, d1: 5, d2: 6, alpha: 1, center: false },
  { n: 2048, d1: 4, d2: 6, alpha: 1, center: false },
  { n: 2048, d1: 64, d2: 32, alpha: 1, center: false },
  { n: 2048, d1: 48, d2: 10, alpha: 3, center: true },
];

if (!ensurePython('numpy', 'python3-numpy')) {
  process.stderr.write('info reference: numpy is not available\n');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'perennial-info-ref-'));
let failed = 0;
try {
  const rng = new Rng(20240603, 'info-reference');
  const files = cases.map((c, i) => {
    // Low-rank-plus-noise features so the spectra are neither flat nor degenerate.
    const mk = (d: number, name: string): Float64Array => {
      const r = rng.split(`${i}-${name}`);
      const k = Math.min(d, 6);
      const A = r.fillNormal(new Float64Array(c.n * k)), B = r.fillNormal(new Float64Array(k * d));
      const out = r.fillNormal(new Float64Array(c.n * d), 0.3);
      for (let a = 0; a < c.n; a++) for (let b = 0; b < d; b++) for (let t = 0; t < k; t++) out[a * d + b] += A[a * k + t]! * B[t * d + b]!;
      return out;
    };
    const x = mk(c.d1, 'x'), y = mk(c.d2, 'y');
    const fx = join(dir, `x${i}.npy`), fy = join(dir, `y${i}.npy`);
    writeNpy(fx, x, [c.n, c.d1]);
    writeNpy(fy, y, [c.n, c.d2]);
    return { x, y, fx, fy };
  });
  const ref = JSON.parse(runPython(PY, [JSON.stringify(cases.map((c, i) => ({ x: files[i]!.fx, y: files[i]!.fy, alpha: c.alpha, center: c.center })))])) as Record<string, number>[];
  process.stdout.write(`linalg backend: ${linalgBackendName()}\n`);
  cases.forEach((c, i) => {
    const t = performance.now();
    const m = measureFeatures({ rows: c.n, cols: c.d1, data: files[i]!.x }, { rows: c.n, cols: c.d2, data: files[i]!.y }, { alpha: c.alpha, center: c.center }) as unknown as Record<string, number>;
    const secs = (performance.now() - t) / 1000;
    let worst = 0, bad = false;
    for (const k of ['entropy_x', 'entropy_y', 'mi', 'mir', 'hdr']) {
      const a = m[k]!, b = ref[i]![k]!;
      const abs = Math.abs(a - b);
      const rel = abs / Math.max(Math.abs(b), 1e-300);
      if (!(rel <= 1e-8 || abs < 1e-12)) bad = true;
      worst = Math.max(worst, rel);
    }
    const ok = !bad;
    if (!ok) failed++;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} n=${c.n} d=${c.d1},${c.d2} alpha=${c.alpha} center=${c.center} joint=${jointRoute(c.n, c.d1, c.d2)} worst rel err ${worst.toExponential(2)} (${secs.toFixed(1)} s)\n`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`info reference: ${cases.length - failed}/${cases.length} cases agree with numpy float64 to 1e-8\n`);
process.exit(failed ? 1 : 0);
