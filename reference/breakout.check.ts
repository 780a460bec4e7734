// Reference check for the breakout area, computing the same labels two ways:
//  1. the rule labeller against an independent Python implementation that reads our text tables
//     (so the writer is checked too) on generated windows: the default set and a shift set (tick
//     0.01, prices near 4300, wider bands), both aggregations;
//  2. OHLCV range detection and follow-through labels against a numpy/Python implementation of
//     the same algorithm on generated candles read back from CSV (events must be identical).
// The upstream agreement figures of the method note need a local copy of the unlicensed upstream
// files, which is never fetched or committed here; that part is not run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candlesToCsv, detectRanges, generateFootprintSet, generateOhlcv, labelFootprint, loadOhlcvCsv, renderFootprintText, DEFAULT_RANGE_OPTIONS } from '../src/breakout/index.js';
import { ensurePython, runPython } from './peers.js';

let failed = 0;
function check(name: string, ok: boolean, detail: string): void {
  if (!ok) failed++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
}

if (!ensurePython('numpy', 'python3-numpy')) {
  process.stderr.write('numpy unavailable: cannot run the breakout reference check\n');
  process.exit(1);
}

const LABELLER = String.raw`
import json, sys
from fractions import Fraction
data = json.loads(sys.stdin.read())
out = []
for item in data:
    tick = Fraction(item['tick']).limit_denominator(10**6)
    tables = []
    for line in item['text'].split('\n'):
        head, _, rest = line.partition('Sell Buy Price')
        nums = rest.split()
        rows = {}
        for j in range(0, len(nums), 3):
            p = Fraction(nums[j + 2]) / tick
            assert p.denominator == 1, p
            rows[int(p)] = (int(nums[j]), int(nums[j + 1]))
        tables.append(rows)
    rng, last = tables[:-1], tables[-1]
    rh = max(max(t) for t in rng); rl = min(min(t) for t in rng)
    up, down = max(last) > rh, min(last) < rl
    d = 'upward' if up and not down else 'downward' if down and not up else 'none'
    res = {'direction': d}
    if d != 'none':
        L = rh if d == 'upward' else rl
        pairs = [(last[p][0], last[p + 1][1]) for p in sorted(last) if (p >= L if d == 'upward' else p <= L) and (p + 1) in last]
        for agg in ('volume', 'count'):
            if agg == 'volume':
                s = sum(a for a, b in pairs); b = sum(b for a, b in pairs)
            else:
                s = sum(1 for a, b in pairs if a > b); b = sum(1 for a, b in pairs if b > a)
            side = 'buyer' if b > s else 'seller' if s > b else 'none'
            verdict = None if side == 'none' else (side == 'buyer') == (d == 'upward')
            res[agg] = [side, verdict]
        res['level'] = L
    out.append(res)
print(json.dumps(out))
`;

const RANGES = String.raw`
import sys, json
import numpy as np
cfg = json.loads(sys.stdin.read())
d = np.loadtxt(cfg['path'], delimiter=',', skiprows=1, usecols=(1, 2, 3, 4), dtype=np.float64)
Hh, L, C = d[:, 1], d[:, 2], d[:, 3]
n = len(C); p = cfg['atr']; W = cfg['lookback']; kappa = cfg['kappa']; touches = cfg['touches']; eps = cfg['epsilon']
delta = cfg['delta']; Hz = cfg['horizon']; m = cfg['targetAtr']
tr = [Hh[0] - L[0]] + [max(Hh[i] - L[i], abs(Hh[i] - C[i - 1]), abs(L[i] - C[i - 1])) for i in range(1, n)]
a = [float('nan')] * n; s = 0.0
for i in range(n):
    s += tr[i]
    if i < p - 1: continue
    a[i] = s / p if i == p - 1 else (a[i - 1] * (p - 1) + tr[i]) / p
Hl, Ll, Cl = Hh.tolist(), L.tolist(), C.tolist()
events = []; active = False; min_start = 0; res = sup = 0.0
def label(i, up, level, ar):
    sg = 1 if up else -1; target = level + sg * m * ar
    for k in range(1, Hz + 1):
        j = i + k
        if j >= n: break
        if sg * (Cl[j] - level) <= 0: return 'false'
        if (Hl[j] >= target) if up else (Ll[j] <= target): return 'true'
    return 'undetermined'
for i in range(n):
    if active:
        ar = a[i - 1]
        up = Cl[i] > res + delta * ar; down = Cl[i] < sup - delta * ar
        if up or down:
            level = res if up else sup
            events.append([i, 'up' if up else 'down', level, label(i, up, level, ar)])
            active = False; min_start = i + 1
            continue
        nr = max(res, Hl[i]); ns = min(sup, Ll[i])
        if nr - ns <= kappa * a[i]:
            res, sup = nr, ns
            continue
        active = False
    ws = i - W + 1
    if ws < min_start or ws < 0 or not (a[i] > 0): continue
    hi = max(Hl[ws:i + 1]); lo = min(Ll[ws:i + 1]); ai = a[i]
    if hi - lo > kappa * ai: continue
    e = eps * ai
    th = sum(1 for k in range(ws, i + 1) if Hl[k] >= hi - e)
    tl = sum(1 for k in range(ws, i + 1) if Ll[k] <= lo + e)
    if th < touches or tl < touches: continue
    active = True; res, sup = hi, lo
print(json.dumps(events))
`;

// 1. Labeller.
type PyLabel = { direction: string; level?: number; volume?: [string, boolean | null]; count?: [string, boolean | null] };
const sets = [
  { name: 'default', spec: {} },
  { name: 'shift (tick 0.01, price 4300, band 20-30)', spec: { tick: 0.01, basePrice: 4300, bandTicks: [20, 30] as const, hardShare: 0.3, tieShare: 0.1, noDirectionShare: 0.1 } },
];
for (const s of sets) {
  const gen = generateFootprintSet(77, 1500, s.spec);
  const py = JSON.parse(runPython(LABELLER, [], JSON.stringify(gen.map((g) => ({ tick: g.window.tick, text: renderFootprintText(g.window) }))))) as PyLabel[];
  let mismatches = 0;
  let first = '';
  gen.forEach((g, i) => {
    const p = py[i]!;
    const v = labelFootprint(g.window), c = labelFootprint(g.window, { aggregation: 'count' });
    const ok = p.direction === v.direction && (v.direction === 'none'
      || (p.level === v.levelTicks && p.volume![0] === v.strongerSide && p.volume![1] === v.verdict && p.count![0] === c.strongerSide && p.count![1] === c.verdict));
    if (!ok) { mismatches++; if (!first) first = `${g.window.id}: ours ${JSON.stringify([v.direction, v.levelTicks, v.strongerSide, c.strongerSide])} python ${JSON.stringify(p)}`; }
  });
  check(`labeller vs python, ${s.name}`, mismatches === 0, `${gen.length - mismatches}/${gen.length} windows agree on direction, level, side and verdict under both aggregations${first ? `; first mismatch ${first}` : ''}`);
}

// 2. Ranges.
const dir = mkdtempSync(join(tmpdir(), 'perennial-ref-breakout-'));
try {
  for (const seed of [1, 2, 3]) {
    const { candles, planted } = generateOhlcv(seed, { n: 30_000 });
    const path = join(dir, `c${seed}.csv`);
    writeFileSync(path, candlesToCsv(candles));
    const loaded = loadOhlcvCsv(path);
    const r = detectRanges(loaded);
    const o = DEFAULT_RANGE_OPTIONS;
    const py = JSON.parse(runPython(RANGES, [], JSON.stringify({ path, atr: o.atrPeriod, lookback: o.lookback, kappa: o.kappa, touches: o.touches, epsilon: o.epsilon, delta: o.delta, horizon: o.horizon, targetAtr: o.targetAtr }))) as [number, string, number, string][];
    const ours = r.events.map((e) => [e.index, e.direction, e.level, e.label]);
    check(`ranges vs python, seed ${seed}`, JSON.stringify(ours) === JSON.stringify(py), `${ours.length} breakouts ours, ${py.length} python`);
    const at = new Map(r.events.map((e) => [e.index, e]));
    const found = planted.filter((p) => at.get(p.index)?.direction === p.direction && at.get(p.index)?.label === p.label).length;
    check(`planted breakouts recovered, seed ${seed}`, found === planted.length, `${found}/${planted.length} with the intended direction and label; ${r.events.length - found} other events`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write('upstream agreement (method note section 2): not run; it needs a local copy of the unlicensed upstream files, which this project does not fetch\n');
process.exit(failed ? 1 : 0);
