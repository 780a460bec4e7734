// Peers for reference checks and benchmarks: Debian's python3 with numpy / torch / gemmi / cctbx.
// Missing packages are installed with apt when running as root; otherwise reported as missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter, not a pyenv or venv one: the apt packages live there. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function pythonHas(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

const aptDone = new Set<string>();
/**
 * Make sure `module` imports in Debian's python, installing `aptPackage` as root if needed.
 * Returns false (with a message on stderr) when it cannot be had.
 */
export function ensurePython(module: string, aptPackage: string): boolean {
  if (pythonHas(module)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    process.stderr.write(`peer ${module} missing and not root: apt-get install ${aptPackage}\n`);
    return false;
  }
  if (!aptDone.has('update')) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
    aptDone.add('update');
  }
  process.stderr.write(`installing ${aptPackage} with apt ...\n`);
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', aptPackage], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 && pythonHas(module);
}

/** Run a Python script with Debian's interpreter; returns stdout, throws with stderr on failure. */
export function runPython(script: string, args: readonly string[] = [], input?: string): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
