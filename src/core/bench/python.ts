// Debian's python3 as a benchmark peer (numpy, torch). Missing modules are installed with apt when
// running as root; otherwise the peer is reported missing. Nothing here sets OPENBLAS_* variables:
// numpy and the addon both use the system OpenBLAS with its default threads.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter (the apt packages live there), not a pyenv or venv one. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

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
  return JSON.parse(lines[lines.length - 1]!) as T;
}
