// `npm run bench -- continual [--quick]` (or `node --import tsx bench/continual.bench.ts --json F [--quick]`):
// the two costs of the reference miniature, measured for perennial and PyTorch/numpy in the same run:
//   ridge:    one RanPAC phase-2 session update at M = 2048 (3200 rows): Gram + targets, lambda search
//             over 9 values on an 80/20 split, final Cholesky solve — perennial (core/linalg) vs numpy
//             and vs torch (float64, the reference code's solve).
//   ssf_step: one SSF training step (batch 48, 28x28x1, frozen 16-32-64 CNN, cosine head) — perennial
//             tfjs vs PyTorch (torch threads = 2).
// ratio = peer seconds / perennial seconds (>= 1: perennial at least as fast). Medians of repeated
// runs on a shared 2-core machine: expect noise, and compare only numbers from the same run.
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { initTf, tf } from '../src/core/tensor.js';
import { linalgBackendName } from '../src/core/linalg/index.js';
import { ensurePythonModule, runPythonJson, PEER_DIR } from '../src/core/bench/python.js';
import { RidgeBranch } from '../src/continual/parts/ridge-branch.js';
import { SmallCnn, REFERENCE_CNN } from '../src/continual/backbones/cnn.js';
import { createCosineHead, cosineLogits, initRowsFromMeans } from '../src/continual/pet-train.js';
import { Sgd, lossAndGrads, disposeGrads } from '../src/core/nn.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const M = quick ? 512 : 2048, rows = quick ? 800 : 3200, reps = quick ? 2 : 3, stepReps = quick ? 5 : 20;

await initTf();
const rec = new RunRecorder('bench continual', { quick, M, rows }, 0);
const rng = new Rng(0, 'bench/continual');
const feats = new Float32Array(rows * 64);
for (let i = 0; i < feats.length; i++) feats[i] = Math.max(0, rng.normal());
const y = Int32Array.from({ length: rows }, (_, i) => i % 2);

function timeIt(f: () => void, n: number): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); f(); ts.push((performance.now() - t) / 1000); }
  return median(ts);
}

const oursRidge = timeIt(() => new RidgeBranch(64, M, 1, 10).update({ x: feats, n: rows, d: 64 }, y, new Rng(1)), reps);

// The same session update in numpy and torch: projection, Gram, lambda search by solve on 80 %, final solve.
const PEER_RIDGE = `
import sys, json, time, numpy as np
d = json.load(sys.stdin)
n, M, reps = d['rows'], d['M'], d['reps']
rng = np.random.default_rng(0)
F = np.maximum(rng.standard_normal((n, 64)), 0).astype(np.float32)
Y = np.zeros((n, 10)); Y[np.arange(n), np.arange(n) % 2] = 1
W = rng.standard_normal((64, M)).astype(np.float32)
def numpy_update():
    H = np.maximum(F @ W, 0).astype(np.float64)
    k = int(0.8 * n)
    Gf = H[:k].T @ H[:k]; Qf = H[:k].T @ Y[:k]
    best = None
    for lam in 10.0 ** np.arange(-4, 5):
        Wo = np.linalg.solve(Gf + lam * np.eye(M), Qf)
        mse = ((H[k:] @ Wo - Y[k:]) ** 2).mean()
        best = (lam, mse) if best is None or mse <= best[1] else best
    G = H.T @ H; Q = H.T @ Y
    return np.linalg.solve(G + 1.0 * np.eye(M), Q)
out = {}
def med(f):
    f(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return float(np.median(ts))
out['numpy'] = med(numpy_update)
try:
    import torch
    torch.set_num_threads(2)
    Ft, Wt, Yt = torch.from_numpy(F), torch.from_numpy(W), torch.from_numpy(Y)
    def torch_update():
        H = torch.relu(Ft @ Wt).double()
        k = int(0.8 * n)
        Gf = H[:k].T @ H[:k]; Qf = H[:k].T @ Yt[:k]
        for lam in 10.0 ** np.arange(-4, 5):
            Wo = torch.linalg.solve(Gf + lam * torch.eye(M, dtype=torch.float64), Qf)
            ((H[k:] @ Wo - Yt[k:]) ** 2).mean()
        G = H.T @ H; Q = H.T @ Yt
        return torch.linalg.solve(G + torch.eye(M, dtype=torch.float64), Q)
    out['torch'] = med(torch_update)
except ImportError:
    out['torch'] = None
print(json.dumps(out))
`;

// SSF training step.
const cnn = new SmallCnn(REFERENCE_CNN, 0);
const pet = cnn.createPet({ ssf: true }, new Rng(0));
const head = createCosineHead(10, 64);
const xb = new Float32Array(48 * 784);
for (let i = 0; i < xb.length; i++) xb[i] = rng.next();
const yb = Int32Array.from({ length: 48 }, (_, i) => i % 2);
const x = tf.tensor2d(xb, [48, 784]), yt = tf.tensor1d(yb, 'int32');
initRowsFromMeans(head, { x: cnn.forward(x).dataSync() as Float32Array, n: 48, d: 64 }, yb, [0, 1]);
const opt = new Sgd({ lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
const vars = [...pet.values(), head.weight, head.scale];
const oursStep = timeIt(() => {
  const { grads } = lossAndGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(yt, 2), cosineLogits(head, cnn.forward(x, { pet }), 2)) as tf.Scalar, vars);
  opt.step(grads);
  disposeGrads(grads);
}, stepReps);

const PEER_STEP = `
import sys, json, time, numpy as np
d = json.load(sys.stdin)
try:
    import torch, torch.nn as nn, torch.nn.functional as Fn
except ImportError:
    print(json.dumps({'torch': None})); sys.exit(0)
torch.set_num_threads(2); torch.manual_seed(0)
sys.path.insert(0, d['peer_dir'])
from torch_ssf import frozen_ssf_net, make_ssf_step
step = make_ssf_step(frozen_ssf_net(), 48)
step(); ts = []
for _ in range(d['reps']):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(json.dumps({'torch': float(np.median(ts))}))
`;

const haveTorch = ensurePythonModule('torch', 'python3-torch');
const peerRidge = runPythonJson<{ numpy: number; torch: number | null }>(PEER_RIDGE, { rows, M, reps });
const peerStep = haveTorch ? runPythonJson<{ torch: number | null }>(PEER_STEP, { reps: stepReps, peer_dir: PEER_DIR }) : { torch: null };

const ratio = (peer: number | null, ours: number): number | null => (peer === null ? null : peer / ours);
const results = {
  linalg: linalgBackendName(),
  ridge: { M, rows, perennial_s: oursRidge, numpy_s: peerRidge.numpy, torch_s: peerRidge.torch, ratio_numpy: ratio(peerRidge.numpy, oursRidge), ratio_torch: ratio(peerRidge.torch, oursRidge) },
  ssf_step: { batch: 48, perennial_s: oursStep, torch_s: peerStep.torch, ratio_torch: ratio(peerStep.torch, oursStep) },
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
if (json) writeRecord(json, rec.finish(results));
