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
