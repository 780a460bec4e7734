// Debian's python3 as a benchmark peer (numpy, torch). Missing modules are installed with apt when
// running as root; otherwise the peer is reported missing. Nothing here sets OPENBLAS_* variables:
// numpy and the addon both use the system OpenBLAS with its default threads; a torch peer at a set
// thread count sets OpenBLAS's count with it (PY_SET_TORCH_THREADS).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../fsx.js';

/** Debian's interpreter (the apt packages live there), not a pyenv or venv one. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Python modules shared by the benchmarks' peer scripts (`bench/peers/`); scripts add it to sys.path. */
export const PEER_DIR = fileURLToPath(new URL('../../../bench/peers/', import.meta.url));

/**
 * Python defining `set_torch_threads(torch, n)`: torch.set_num_threads(n) and the same count for the
 * system OpenBLAS that Debian's torch does its products with. torch.set_num_threads leaves OpenBLAS
 * at its own default, so a "1-thread" torch step ran its GEMMs on every core (an MLP step: CPU time
 * 4.7 ms in 2.35 ms wall at set_num_threads(1), 2.35 in 2.35 with both set).
 */
export const PY_SET_TORCH_THREADS = String.raw`
import ctypes as _ct
_openblas = None
for _cand in ('libopenblas.so.0', 'libblas.so.3'):
    try:
        _l = _ct.CDLL(_cand)
        if hasattr(_l, 'openblas_set_num_threads'):
            _openblas = _l
            break
    except OSError:
        pass
def set_torch_threads(torch, n):
    torch.set_num_threads(n)
    if _openblas is not None:
        _openblas.openblas_set_num_threads(n)
`;

export function pythonHas(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;
/** Make `module` importable, installing `aptPackage` with apt as root; false when it cannot be had. */
export function ensurePythonModule(module: string, aptPackage: string): boolean {
  if (pythonHas(module)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    process.stderr.write(`peer ${module} missing and not root: apt-get install ${aptPackage}\n`);
    return false;
  }
  if (!aptUpdated) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
    aptUpdated = true;
  }
  process.stderr.write(`installing ${aptPackage} with apt ...\n`);
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', aptPackage], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 && pythonHas(module);
}

/** Run a script with Debian's python; its last stdout line must be JSON. */
export function runPythonJson<T>(script: string, input: unknown): T {
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python peer failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-5).join('\n')}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/**
 * A python script driven line by line: each request is one JSON line on its stdin, each answer one
 * JSON line on its stdout (the script first prints one line when it is ready). Lets a benchmark
 * alternate perennial and its peer step by step so both see the same machine load.
 */
export class PythonWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private buf = '';
  private stderr = '';
  private exited: Error | null = null;

  constructor(script: string) {
    this.proc = spawn(PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiting;
        if (w) {
          this.waiting = null;
          w.resolve(line);
        } else this.lines.push(line);
      }
    });
    this.proc.stderr.on('data', (c: Buffer) => { this.stderr += c.toString(); });
    this.proc.on('exit', (code) => {
      this.exited = new Error(`python worker exited (${code}): ${this.stderr.trim().split('\n').slice(-3).join(' ')}`);
      this.waiting?.reject(this.exited);
      this.waiting = null;
    });
    this.proc.stdin.on('error', () => { /* reported through 'exit' */ });
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise<string>((resolve, reject) => {
      const l = this.lines.shift();
      if (l !== undefined) resolve(l);
      else if (this.exited) reject(this.exited);
      else this.waiting = { resolve, reject };
    }).then((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`python worker wrote ${JSON.stringify(line)}; stderr: ${this.stderr.trim()}`);
      }
    });
  }

  /** The script's first line. */
  ready(): Promise<Record<string, unknown>> {
    return this.next();
  }

  request(msg: unknown): Promise<Record<string, unknown>> {
    this.proc.stdin.write(JSON.stringify(msg) + '\n');
    return this.next();
  }

  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

/**
 * For benchmarks on real data against PyTorch: when Fashion-MNIST or torch is missing, write
 * `{skipped: reason}` to `json` (when given) and exit 0, so `npm run bench` goes on.
 */
export function skipUnlessFashionMnistAndTorch(json: string | undefined, haveFashionMnist: boolean): void {
  const reason = !haveFashionMnist ? 'Fashion-MNIST not found (Debian dataset-fashion-mnist)'
    : !ensurePythonModule('torch', 'python3-torch') ? 'PyTorch (python3-torch) not available' : null;
  if (!reason) return;
  if (json) writeJsonAtomic(json, { skipped: reason });
  process.stdout.write(`skipped: ${reason}\n`);
  process.exit(0);
}
