// `node --import tsx bench/gemm-gap.ts [--n 1024,2048] [--reps R]`: where float32 GEMM time goes
// against numpy's, before changing anything. For each size and each OpenBLAS thread count (1 and
// the default) it times, alternating with numpy rep by rep (numpy in a worker that sets
// the thread count through OpenBLAS's own openblas_set_num_threads, found with ctypes):
//   alloc  la.gemm, which allocates the result every call (what `bench linalg` times),
//   into   gemmInto a result buffer allocated once (no allocation, no fresh pages),
// and reports the median wall and CPU seconds and the minor page faults per call. numpy's `alloc`
// is a @ b, its `into` np.matmul(a, b, out=c).
import { linalg, nativeAddon } from '../src/core/linalg/index.js';
import { Rng } from '../src/core/rng.js';
import { PythonWorker, ensurePythonModule } from '../src/core/bench/python.js';
import os from 'node:os';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const sizes = arg('--n', '1024,2048').split(',').map(Number);
const reps = Number(arg('--reps', '7'));

const NUMPY = String.raw`
import json, sys, time, resource, ctypes, ctypes.util
import numpy as np
# numpy links the system OpenBLAS; loading it by soname gives the copy numpy already holds.
lib = None
for cand in ['libopenblas.so.0', 'libblas.so.3']:
    try:
        l = ctypes.CDLL(cand)
        if hasattr(l, 'openblas_set_num_threads'):
            lib = l; break
    except OSError:
        pass
print(json.dumps({"ok": True, "setter": lib is not None}), flush=True)
mats = {}
for line in sys.stdin:
    c = json.loads(line)
    n = c["n"]
    if n not in mats:
        rng = np.random.default_rng(0)
        mats[n] = (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32), np.empty((n, n), np.float32))
    a, b, out = mats[n]
    if lib is not None: lib.openblas_set_num_threads(c["threads"])
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter(); cpu = time.process_time()
    if c["mode"] == "alloc":
        r = a @ b; del r
    else:
        np.matmul(a, b, out=out)
    s = time.perf_counter() - t; cs = time.process_time() - cpu
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"s": s, "cpu": cs, "faults": r1.ru_minflt - r0.ru_minflt}), flush=True)
`;

const addon = nativeAddon();
if (!addon?.setThreads) throw new Error('bench/gemm-gap.ts needs the OpenBLAS addon with setThreads (npm run build:native)');
const la = linalg();
const dflt = addon.threads();
const threadCounts = [...new Set([1, dflt])];
const worker = ensurePythonModule('numpy', 'python3-numpy') ? new PythonWorker(NUMPY) : null;
const info = worker ? await worker.ready() : null;
const med = (x: number[]): number => { const s = x.slice().sort((a, b) => a - b); return s[s.length >> 1]!; };
process.stdout.write(`load ${os.loadavg()[0].toFixed(1)}; OpenBLAS default threads ${dflt}; numpy thread setter ${info ? String(info['setter']) : 'n/a'}; median of ${reps}\n`);
process.stdout.write('n\tthreads\tmode\tperennial wall s\tcpu s\tfaults\tnumpy wall s\tcpu s\tfaults\tnumpy/perennial (wall)\n');
try {
  for (const n of sizes) {
    const rng = new Rng(0, 'gemm-gap');
    const a = { rows: n, cols: n, data: rng.fillNormal(new Float32Array(n * n)) };
    const b = { rows: n, cols: n, data: rng.fillNormal(new Float32Array(n * n)) };
    const out = { rows: n, cols: n, data: new Float32Array(n * n) };
    for (const t of threadCounts) {
      for (const mode of ['alloc', 'into'] as const) {
        const ours: { s: number; cpu: number; faults: number }[] = [], peer: { s: number; cpu: number; faults: number }[] = [];
        for (let r = -1; r < reps; r++) {
          addon.setThreads(t);
          const f0 = process.resourceUsage().minorPageFault, c0 = process.cpuUsage(), w0 = performance.now();
          if (mode === 'alloc') la.gemm(a, b); else la.gemmInto(a, b, out);
          const w = (performance.now() - w0) / 1000, c = process.cpuUsage(c0), f = process.resourceUsage().minorPageFault - f0;
          if (r >= 0) ours.push({ s: w, cpu: (c.user + c.system) / 1e6, faults: f });
          if (worker) {
            const ans = await worker.request({ n, threads: t, mode });
            if (r >= 0) peer.push({ s: Number(ans['s']), cpu: Number(ans['cpu']), faults: Number(ans['faults']) });
          }
        }
        const o = { s: med(ours.map((x) => x.s)), cpu: med(ours.map((x) => x.cpu)), f: med(ours.map((x) => x.faults)) };
        const p = peer.length ? { s: med(peer.map((x) => x.s)), cpu: med(peer.map((x) => x.cpu)), f: med(peer.map((x) => x.faults)) } : null;
        process.stdout.write(`${n}\t${t}\t${mode}\t${o.s.toFixed(4)}\t${o.cpu.toFixed(4)}\t${o.f}\t${p ? p.s.toFixed(4) : 'n/a'}\t${p ? p.cpu.toFixed(4) : 'n/a'}\t${p ? p.f : 'n/a'}\t${p ? (p.s / o.s).toFixed(2) : 'n/a'}\n`);
      }
    }
  }
} finally {
  addon.setThreads(dflt);
  worker?.close();
}
