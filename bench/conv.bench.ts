// `npm run bench -- conv [--quick]` (or `node --import tsx bench/conv.bench.ts --json F [--quick] [--threads T]`):
// the two convolution-bound training steps of the continual miniatures, perennial vs PyTorch in
// the same run:
//   co2l_step: one Co2L step: encoder conv3x3 1->32 s2, BN, ReLU, conv3x3 32->64 s2, BN, ReLU, GAP,
//              linear 64->128 + ReLU, projector 128-128-64, asymmetric SupCon, Adam (FusedAdam, as
//              the Co2L learner); 512 images
//              28x28x1 (batch 256 x 2 views; augmentation excluded on both sides).
//   safe_step: one SSF step of SAFE: frozen 16-32-64 CNN (strides 1-2-2, BN in eval mode), SSF
//              scale/shift after each block, cosine head, SGD; batch 48 and 256.
// Each step is timed three ways in the same process, the three taking turns step by step:
// `legacy` (the earlier conv: tf.conv2d inside tf.customGrad, the stride-2 input gradient as a conv
// over a dilated dy; stock Sum/Mean/Identity/Cast and their gradients), `im2col` (perennial's conv
// kernels, stock engine) and `perennial` (conv kernels + kernels/engine.ts, and in the SAFE step the
// fused frozen batch norm + ReLU + SSF kernel of core/bn and the cosine-head kernel of core/nn, which run with the engine kernels
// only; the fused cross-entropy runs in all three). Wall and CPU seconds
// (all threads) per step are both reported; CPU time is the steadier one on a loaded machine.
// ratio_torch = torch seconds / perennial seconds (>= 1: perennial at least as fast). Medians of
// repeated steps on a shared 2-core machine: expect noise; compare numbers from the same run only.
// --threads T sets both sides' thread count (OpenBLAS's for perennial; torch.set_num_threads and its
// OpenBLAS's for torch). Without
// it the full run measures 1 and then 2 threads on both sides (`by_threads`; the top-level rows are
// the 2-thread ones) and --quick measures 2 for torch against OpenBLAS's own default for perennial.
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { initTf, tf, useEngineKernels } from '../src/core/tensor.js';
import { setConvMode } from '../src/core/conv.js';
import { linalgBackendName, nativeAddon } from '../src/core/linalg/index.js';
import { ensurePythonModule, runPythonJson, PEER_DIR, PY_SET_TORCH_THREADS } from '../src/core/bench/python.js';
import { CO2L_IMAGES, co2l, co2lBatch, co2lNet, co2lStep as step, safeSteps } from './continual-steps.js';
import { fusedAdam } from '../src/core/nn.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const co2lReps = quick ? 3 : 10, safeReps = quick ? 6 : 20;
const ti = args.indexOf('--threads');
const threads = ti >= 0 ? Number(args[ti + 1]) : null;
if (threads !== null && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) throw new Error(`--threads: expected an integer 1-64, got ${args[ti + 1]}`);

await initTf();
const addon = nativeAddon();
// Thread counts to measure, each on both sides; null: OpenBLAS's own default against torch at 2.
const counts: (number | null)[] = threads !== null ? [threads] : quick || !addon?.setThreads ? [null] : [1, 2];
function setThreads(t: number | null): void {
  if (t === null) return;
  if (addon?.setThreads) addon.setThreads(t);
  else if (t !== 1) throw new Error('--threads above 1 needs the OpenBLAS addon with setThreads (npm run build:native)');
}
const rec = new RunRecorder('bench conv', { quick, co2lReps, safeReps, threads: threads ?? (counts.length > 1 ? counts.join(',') : 'default') }, 0);
const rng = new Rng(0, 'bench/conv');

type Config = { conv: 'im2col' | 'tfjs'; engine: boolean };
const CONFIGS: Record<'legacy' | 'im2col' | 'perennial', Config> = {
  legacy: { conv: 'tfjs', engine: false }, im2col: { conv: 'im2col', engine: false }, perennial: { conv: 'im2col', engine: true },
};

function withConfig<T>(c: Config, f: () => T): T {
  setConvMode(c.conv);
  useEngineKernels(c.engine);
  try {
    return f();
  } finally {
    setConvMode('im2col');
    useEngineKernels(true);
  }
}

/**
 * The three configurations take turns, one step each per round, so that load changes on a shared
 * machine hit them alike. Median wall seconds and median CPU seconds (all threads) per step.
 */
function timeRounds(f: () => void, rounds: number): Record<keyof typeof CONFIGS, { wall: number; cpu: number }> {
  const names = Object.keys(CONFIGS) as (keyof typeof CONFIGS)[];
  for (const k of names) withConfig(CONFIGS[k], f); // warm-up
  const wall: Record<string, number[]> = {}, cpu: Record<string, number[]> = {};
  for (const k of names) { wall[k] = []; cpu[k] = []; }
  for (let r = 0; r < rounds; r++) for (const k of names) {
    const c0 = process.cpuUsage(), t = performance.now();
    withConfig(CONFIGS[k], f);
    const c = process.cpuUsage(c0);
    wall[k]!.push((performance.now() - t) / 1000);
    cpu[k]!.push((c.user + c.system) / 1e6);
  }
  return Object.fromEntries(names.map((k) => [k, { wall: median(wall[k]!), cpu: median(cpu[k]!) }])) as Record<keyof typeof CONFIGS, { wall: number; cpu: number }>;
}

// ---- Co2L step ----
const net = co2lNet();
const co2lStep = step(fusedAdam(co2l.lr), net, co2lBatch(rng));

// ---- SAFE SSF step ----
const safeStep = safeSteps(rng);
const safe48 = safeStep(48), safe256 = safeStep(256);

type T = { wall: number; cpu: number };
type Times = { co2l: T; safe48: T; safe256: T };

const PEER = PY_SET_TORCH_THREADS + `
import sys, json, time, numpy as np
d = json.load(sys.stdin)
try:
    import torch, torch.nn as nn, torch.nn.functional as Fn
except ImportError:
    print(json.dumps({'co2l': None, 'safe48': None, 'safe256': None})); sys.exit(0)
set_torch_threads(torch, d['threads']); torch.manual_seed(0)
def med(f, n):
    f(); ts = []; cs = []
    for _ in range(n):
        c = time.process_time(); t = time.perf_counter(); f()
        ts.append(time.perf_counter() - t); cs.append(time.process_time() - c)
    return {'wall': float(np.median(ts)), 'cpu': float(np.median(cs))}
# Co2L
enc = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                    nn.Conv2d(32, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 128), nn.ReLU())
head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
params = list(enc.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
V = 512
x = torch.rand(V, 1, 28, 28); lab = (torch.arange(V) % 256) % 10
pos = (lab[:, None] == lab[None, :]).float(); pos.fill_diagonal_(0)
w = 1.0 / pos.sum(1)
tau, tau_base = 0.5, 0.07
def co2l_step():
    z = Fn.normalize(head(enc(x)), dim=1)
    logits = z @ z.T / tau - torch.eye(V) * 1e9
    lp = torch.log_softmax(logits, 1)
    loss = -((lp * pos).sum(1) * w).sum() / V * (tau / tau_base)
    opt.zero_grad(); loss.backward(); opt.step()
out = {'co2l': med(co2l_step, d['co2l_reps'])}
# SAFE SSF step
sys.path.insert(0, d['peer_dir'])
from torch_ssf import frozen_ssf_net, make_ssf_step
net = frozen_ssf_net()
for batch, reps in ((48, d['safe_reps']), (256, (d['safe_reps'] + 1) // 2)):
    step = make_ssf_step(net, batch)
    out['safe%d' % batch] = med(step, reps)
print(json.dumps(out))
`;

const haveTorch = ensurePythonModule('torch', 'python3-torch');
const ratio = (p: number | null, o: number): number | null => (p === null ? null : p / o);

/** Both sides at `t` threads (null: OpenBLAS's default against torch at 2), perennial first. */
function measure(t: number | null) {
  setThreads(t);
  const co2lT = timeRounds(co2lStep, co2lReps);
  const safe48T = timeRounds(safe48, safeReps);
  const safe256T = timeRounds(safe256, Math.ceil(safeReps / 2));
  const pick = (k: keyof typeof CONFIGS): Times => ({ co2l: co2lT[k], safe48: safe48T[k], safe256: safe256T[k] });
  const legacy = pick('legacy'), im2colOnly = pick('im2col'), ours = pick('perennial');
  process.stdout.write(`threads ${t ?? 'default'}\nlegacy:    ${JSON.stringify(legacy)}\nim2col:    ${JSON.stringify(im2colOnly)}\nperennial: ${JSON.stringify(ours)}\n`);
  const peer = haveTorch
    ? runPythonJson<{ co2l: T | null; safe48: T | null; safe256: T | null }>(PEER, { co2l_reps: co2lReps, safe_reps: safeReps, peer_dir: PEER_DIR, threads: t ?? 2 })
    : { co2l: null, safe48: null, safe256: null };
  const row = (k: keyof Times) => ({
    perennial_s: ours[k].wall, im2col_only_s: im2colOnly[k].wall, legacy_s: legacy[k].wall, speedup_vs_legacy: legacy[k].wall / ours[k].wall,
    torch_s: peer[k]?.wall ?? null, ratio_torch: ratio(peer[k]?.wall ?? null, ours[k].wall), ratio_torch_legacy: ratio(peer[k]?.wall ?? null, legacy[k].wall),
    cpu: { perennial_s: ours[k].cpu, im2col_only_s: im2colOnly[k].cpu, legacy_s: legacy[k].cpu, torch_s: peer[k]?.cpu ?? null, ratio_torch: ratio(peer[k]?.cpu ?? null, ours[k].cpu) },
  });
  return {
    threads: { perennial_openblas: addon?.threads() ?? null, torch: t ?? 2 },
    co2l_step: { images: CO2L_IMAGES, ...row('co2l') },
    safe_step_48: { batch: 48, ...row('safe48') },
    safe_step_256: { batch: 256, ...row('safe256') },
  };
}

const runs = counts.map(measure);
const results = {
  linalg: linalgBackendName(),
  ...runs[runs.length - 1]!,
  ...(runs.length > 1 ? { by_threads: Object.fromEntries(runs.map((r, i) => [String(counts[i]), r])) } : {}),
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
if (json) writeRecord(json, rec.finish(results));
