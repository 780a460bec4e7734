// Builds the optional OpenBLAS addon at install. Never fails the install: when the compiler,
// node-gyp or libopenblas-dev is missing it says so once and perennial uses pure TypeScript.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
if (!existsSync(join(nativeDir, 'binding.gyp'))) process.exit(0);
if (process.env.PERENNIAL_SKIP_NATIVE === '1') {
  console.error('perennial: PERENNIAL_SKIP_NATIVE=1, linear algebra will use pure TypeScript');
  process.exit(0);
}
const hasHeader = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'].some(existsSync);
if (!hasHeader) {
  console.error('perennial: libopenblas-dev not found (no cblas.h); linear algebra will use pure TypeScript. apt-get install libopenblas-dev, then npm run build:native');
  process.exit(0);
}
// node-gyp cannot download Node's headers here: point it at the installed ones when present.
const nodedir = existsSync(join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h')) ? join(dirname(process.execPath), '..') : null;
let gyp;
try {
  gyp = join(dirname(fileURLToPath(import.meta.resolve('node-gyp/package.json'))), 'bin', 'node-gyp.js');
} catch {
  const npmGyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  gyp = existsSync(npmGyp) ? npmGyp : null;
}
if (!gyp) {
  console.error('perennial: node-gyp not found; linear algebra will use pure TypeScript');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', nativeDir, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  console.error(`perennial: the OpenBLAS addon did not build; linear algebra will use pure TypeScript.\n${(r.stderr || '').split('\n').slice(-15).join('\n')}`);
  process.exit(0);
}
console.error('perennial: OpenBLAS addon built');
