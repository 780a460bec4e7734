// `npm run bench -- linalg [--quick]` (or `node --import tsx bench/linalg.bench.ts --json F [--quick]`):
// GEMM, eigh and Cholesky solve with the active backend against numpy in the same run, then the
// pure-TypeScript fallback's targets (GEMM GFLOPS, eigh 512 seconds) into F's sibling
// `<name>.typescript.json`.
import { writeJsonAtomic } from '../src/core/fsx.js';
import { benchLinalg, fallbackTargets } from '../src/core/bench/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;

await benchLinalg({ quick, json });
const fb = fallbackTargets(quick);
process.stdout.write(`typescript fallback: gemm ${fb.gemm_n} float32 ${fb.gemm_float32_s.toFixed(3)} s = ${fb.gemm_gflops.toFixed(2)} GFLOPS (target >= 5); eigh ${fb.eigh_n} values ${fb.eigh_values_s.toFixed(3)} s (target < 2 s at 512)\n`);
if (json) writeJsonAtomic(json.replace(/(\.json)?$/, '.typescript.json'), fb);
