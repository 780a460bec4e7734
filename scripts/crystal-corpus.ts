// `npm run crystal-corpus -- --n N --seed S --out DIR [--plain] [--trigonal]`: the training corpus of the shipped
// assigner (--plain: ordered Z' = 1 molecules only, without the solvent, disorder and Z' = 2 structures;
// --trigonal: also trigonal groups with species on 3-fold axes).
// Step 1 (Python + RDKit, scripts/crystal_corpus.py): real molecules, conformers, packing, ADPs,
// riding H -> DIR/*.res and DIR/manifest.json. Step 2 (perennial's TypeScript): reflections with
// noise and missing data -> DIR/*.hkl. A dev tool: needs Debian's python3-rdkit and rdkit-data.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../src/core/errors.js';
import { outputGuard } from '../src/core/fsx.js';
import { rng } from '../src/core/rng.js';
import { simulateCorpusReflections } from '../src/crystal/corpus.js';

const MAX_N = 20_000;

function main(): void {
  const { values } = parseArgs({ options: { n: { type: 'string' }, seed: { type: 'string', default: '0' }, out: { type: 'string' }, smiles: { type: 'string' }, python: { type: 'string' }, plain: { type: 'boolean', default: false }, trigonal: { type: 'boolean', default: false } } });
  const n = Number(values.n), seed = Number(values.seed);
  if (!values.out) throw new InputError('--out DIR is required');
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw new InputError(`--n must be an integer 1-${MAX_N}, got ${values.n}`);
  if (!Number.isInteger(seed)) throw new InputError(`--seed must be an integer, got ${values.seed}`);
  outputGuard().outputFolder(values.out, '--out').check();
  // Debian's python3-rdkit lives in the system interpreter, which a pyenv shim on PATH may hide.
  const python = values.python ?? process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'crystal_corpus.py');
  const args = [script, '--n', String(n), '--seed', String(seed), '--out', values.out, ...(values.smiles ? ['--smiles', values.smiles] : []), ...(values.plain ? ['--plain'] : []), ...(values.trigonal ? ['--trigonal'] : [])];
  const r = spawnSync(python, args, { stdio: 'inherit' });
  if (r.error) throw new InputError(`${python}: ${r.error.message} (the generator needs Python 3 with RDKit: Debian python3-rdkit, rdkit-data)`);
  if (r.status !== 0) throw new InputError(`${script} exited with ${r.status}`);
  const done = simulateCorpusReflections(values.out, rng(seed, 'crystal-corpus'), { onFile: (name, m) => process.stdout.write(`${name}: ${m} reflections\n`) });
  process.stdout.write(`${values.out}: reflections simulated for ${done} structures\n`);
}

try { main(); } catch (e) {
  process.stderr.write(`crystal-corpus: ${(e as Error).message}\n`);
  process.exit(1);
}
