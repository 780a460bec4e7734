// Loaded before every test file (scripts/run-tests.mjs): property tests run from a fixed seed, so
// `npm test` is reproducible like every other run. FC_SEED=<n> picks another seed, FC_SEED=random
// a fresh one per run (fast-check prints the seed of any failure, to replay it).
import fc from 'fast-check';

const s = process.env.FC_SEED ?? '20261126';
if (s !== 'random') {
  const seed = Number(s);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${JSON.stringify(s)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}

// Every record a test writes is indexed (src/core/store): into a temp store per test process,
// never the repository's runs/perennial.db. Tests of the store set their own path.
import { mkdtempSync as mkdtempStore, rmSync as rmStore } from 'node:fs';
import { tmpdir as tmpdirStore } from 'node:os';
import { join as joinStore } from 'node:path';
if (!process.env.PERENNIAL_STORE) {
  const storeDir = mkdtempStore(joinStore(tmpdirStore(), 'perennial-test-store-'));
  process.env.PERENNIAL_STORE = joinStore(storeDir, 'perennial.db');
  process.on('exit', () => { try { rmStore(storeDir, { recursive: true, force: true }); } catch { /* best effort */ } });
}
