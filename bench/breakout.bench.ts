// `npm run bench -- breakout [--quick]` (or `node --import tsx bench/breakout.bench.ts --json F [--quick]`):
// `breakout ranges` on 1,000,000 synthetic candles (200,000 with --quick): CSV load + ATR + range
// detection + follow-through labels, against a numpy peer that loads the same CSV (np.loadtxt) and
// runs the same algorithm (vectorised ATR inputs and rolling extremes, a Python loop for the state
// machine) in the same run. The peer's events must equal ours (same arithmetic, same order).
// Target: perennial's whole `ranges` path under 10 s for 1e6 candles. ratio = peer s / perennial s
// (>= 1: perennial at least as fast). Timings are single runs on a shared machine: expect noise.
// Also times the footprint labeller and window generator (no peer).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { ensurePythonModule, runPythonJson } from '../src/core/bench/python.js';
import { candlesToCsv, detectRanges, generateFootprintSet, generateOhlcv, labelFootprint, loadOhlcvCsv, DEFAULT_RANGE_OPTIONS } from '../src/breakout/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const N = quick ? 200_000 : 1_000_000;

const PEER = String.raw`
import sys, json, time
import numpy as np
cfg = json.loads(sys.stdin.read())
t0 = time.perf_counter()
d = np.loadtxt(cfg['path'], delimiter=',', skiprows=1, usecols=(1, 2, 3, 4, 5), dtype=np.float64)
t1 = time.perf_counter()
O, Hh, L, C, V = d[:, 0], d[:, 1], d[:, 2], d[:, 3], d[:, 4]
n = len(C); p = cfg['atr']; W = cfg['lookback']; kappa = cfg['kappa']; touches = cfg['touches']; eps = cfg['epsilon']
delta = cfg['delta']; nu = cfg['volumeFactor']; Hz = cfg['horizon']; m = cfg['targetAtr']
tr = np.empty(n); tr[0] = Hh[0] - L[0]
tr[1:] = np.maximum(Hh[1:] - L[1:], np.maximum(np.abs(Hh[1:] - C[:-1]), np.abs(L[1:] - C[:-1])))
trl = tr.tolist(); a = [float('nan')] * n; s = 0.0
for i in range(n):
    s += trl[i]
    if i < p - 1: continue
    a[i] = s / p if i == p - 1 else (a[i - 1] * (p - 1) + trl[i]) / p
from numpy.lib.stride_tricks import sliding_window_view
mx = np.full(n, np.nan); mn = np.full(n, np.nan)
mx[W - 1:] = sliding_window_view(Hh, W).max(axis=1); mn[W - 1:] = sliding_window_view(L, W).min(axis=1)
Hl, Ll, Cl, Vl, mxl, mnl = Hh.tolist(), L.tolist(), C.tolist(), V.tolist(), mx.tolist(), mn.tolist()
events = []; active = False; min_start = 0; rs = re_ = 0; res = sup = 0.0
def label(i, up, level, ar):
    sg = 1 if up else -1; target = level + sg * m * ar
    for k in range(1, Hz + 1):
        j = i + k
        if j >= n: break
        if sg * (Cl[j] - level) <= 0: return 0
        if (Hl[j] >= target) if up else (Ll[j] <= target): return 1
    return 2
for i in range(n):
    if active:
        ar = a[i - 1]
        up = Cl[i] > res + delta * ar; down = Cl[i] < sup - delta * ar
        if up or down:
            level = res if up else sup
            events.append([i, 1 if up else -1, label(i, up, level, ar)])
            active = False; min_start = i + 1
            continue
        nr = max(res, Hl[i]); ns = min(sup, Ll[i])
        if nr - ns <= kappa * a[i]:
            res, sup, re_ = nr, ns, i
            continue
        active = False
    ws = i - W + 1
    if ws < min_start or ws < 0 or not (a[i] > 0): continue
    hi, lo, ai = mxl[i], mnl[i], a[i]
    if hi - lo > kappa * ai: continue
    e = eps * ai
    th = sum(1 for k in range(ws, i + 1) if Hl[k] >= hi - e)
    tl = sum(1 for k in range(ws, i + 1) if Ll[k] <= lo + e)
    if th < touches or tl < touches: continue
    active = True; rs, re_, res, sup = ws, i, hi, lo
t2 = time.perf_counter()
print(json.dumps({'load_s': t1 - t0, 'detect_s': t2 - t1, 'events': events, 'numpy': np.__version__}))
`;

const dir = mkdtempSync(join(tmpdir(), 'perennial-bench-breakout-'));
try {
  const rec = new RunRecorder('bench breakout', { n: N, quick }, 7);
  const { candles } = generateOhlcv(7, { n: N });
  const path = join(dir, 'candles.csv');
  writeFileSync(path, candlesToCsv(candles));

  const t0 = performance.now();
  const loaded = loadOhlcvCsv(path);
  const t1 = performance.now();
  const r = detectRanges(loaded);
  const t2 = performance.now();
  const ours = { load_s: (t1 - t0) / 1000, detect_s: (t2 - t1) / 1000, total_s: (t2 - t0) / 1000, events: r.events.length, ranges: r.ranges.length };
  process.stdout.write(`perennial ranges on ${N} candles: load ${ours.load_s.toFixed(2)} s + detect ${ours.detect_s.toFixed(2)} s = ${ours.total_s.toFixed(2)} s (${ours.events} breakouts); target < 10 s for 1e6: ${N === 1_000_000 ? (ours.total_s < 10 ? 'met' : 'NOT met') : 'n/a (quick)'}\n`);

  let peer: { load_s: number; detect_s: number; total_s: number; events_equal: boolean; numpy: string } | null = null;
  if (ensurePythonModule('numpy', 'python3-numpy')) {
    const o = DEFAULT_RANGE_OPTIONS;
    const p = runPythonJson<{ load_s: number; detect_s: number; events: [number, number, number][]; numpy: string }>(PEER, {
      path, atr: o.atrPeriod, lookback: o.lookback, kappa: o.kappa, touches: o.touches, epsilon: o.epsilon, delta: o.delta, volumeFactor: o.volumeFactor, horizon: o.horizon, targetAtr: o.targetAtr,
    });
    const code = { false: 0, true: 1, undetermined: 2 } as const;
    const mine = r.events.map((e) => [e.index, e.direction === 'up' ? 1 : -1, code[e.label]]);
    const equal = JSON.stringify(mine) === JSON.stringify(p.events);
    peer = { load_s: p.load_s, detect_s: p.detect_s, total_s: p.load_s + p.detect_s, events_equal: equal, numpy: p.numpy };
    process.stdout.write(`numpy peer: load ${p.load_s.toFixed(2)} s + detect ${p.detect_s.toFixed(2)} s; events equal: ${equal} (${p.events.length} vs ${mine.length})\n`);
    if (!equal) process.exitCode = 1;
  }

  // Footprint labeller and generator throughput (no peer).
  const tg = performance.now();
  const windows = generateFootprintSet(1, quick ? 2000 : 20000);
  const tl = performance.now();
  for (const g of windows) labelFootprint(g.window);
  const te = performance.now();
  const footprint = { windows: windows.length, generate_per_s: windows.length / ((tl - tg) / 1000), label_per_s: windows.length / ((te - tl) / 1000) };
  process.stdout.write(`footprint: generate ${footprint.generate_per_s.toFixed(0)} windows/s, label ${footprint.label_per_s.toFixed(0)} windows/s\n`);

  const ratios = peer ? { load: peer.load_s / ours.load_s, detect: peer.detect_s / ours.detect_s, total: peer.total_s / ours.total_s } : null;
  if (ratios) process.stdout.write(`ratio (numpy / perennial): load ${ratios.load.toFixed(2)}, detect ${ratios.detect.toFixed(2)}, total ${ratios.total.toFixed(2)}\n`);
  if (json) writeRecord(json, rec.finish({ candles: N, perennial: ours, peer, ratios, target_total_s: 10, target_met: N === 1_000_000 ? ours.total_s < 10 : null, footprint }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
