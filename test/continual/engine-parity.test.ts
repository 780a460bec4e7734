// The engine keeps every method's numbers: the quick settings of SimpleCIL / RanPAC / SAFE, Co2L /
// CILA (class-incremental and rotated) and ATLAS run here with fixed seeds, and their metrics must
// equal the records captured before the learners moved behind one trainer
// (test/fixtures/continual-before/records.json). Equality is exact (deepEqual on the numbers as
// JSON writes them): every run is seeded and single-threaded, so any difference is a change in what
// the engine computes, not noise.
//
// Exact only on one kind of machine (test/helpers/machine-kind.ts): each fixture belongs to a kind,
// machines.json maps kinds to files, and on a kind without a fixture the checks are skipped with
// the kind named. PERENNIAL_CAPTURE_PARITY=1 writes the current kind's fixture (only do that
// deliberately, with the reason in the commit, and only from code whose records on a kind that has
// a fixture still pass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { imagePatterns } from '../../src/core/data/synthetic.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil } from '../../src/continual/trainer.js';
import { co2lOptions, runCo2l } from '../../src/continual/methods/co2l.js';
import { atlasOptions, runAtlas } from '../../src/continual/atlas.js';
import { machineFixture } from '../helpers/machine-kind.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'continual-before');
const CAPTURE = process.env.PERENNIAL_CAPTURE_PARITY === '1';
const machine = machineFixture(DIR, 'records');
const FIXTURE = machine.path;
const skip = CAPTURE ? false : machine.skip;

/** Metrics only: timings differ run to run; top-5 fields were added after the fixture (they are checked in trainer-top5.test.ts). */
const LATER = new Set(['last_acc_top5', 'top5_per_session', 'top5_per_session_reason', 'last_acc_top5_mean', 'last_acc_top5_std']);
function metrics(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === 'time_s' || k === 'seconds' || k === 'time_per_seed_s' || LATER.has(k) ? undefined : x)));
}

const got: Record<string, unknown> = {};
const want: Record<string, unknown> = CAPTURE || skip ? {} : JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;

function check(name: string, value: unknown): void {
  got[name] = metrics(value);
  if (!CAPTURE) assert.deepEqual(got[name], want[name], `${name}: metrics differ from the fixture`);
}

// `cil run` quick: the synthetic miniature (quick), a 2-epoch backbone, B4Inc4, one seed.
test('parity: simplecil, ranpac, safe (with drift compensation) on the synthetic miniature', { skip }, async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 2 } });
  const r = await runCil(mini, backbone, {
    split: 'B4Inc4', seeds: [1], methods: ['simplecil', 'ranpac', 'safe'],
    methodOptions: {
      ranpac: { projections: { ranpac: 96, 'ranpac-m0': 0 }, train: { epochs: 1 } },
      safe: { M: 96, trainFirst: { epochs: 1 }, trainLater: { epochs: 1 }, driftCompensation: true },
    },
  });
  check('cil', { runs: r.runs, summary: r.summary });
});

function patterns(): { train: ReturnType<typeof imagePatterns>; test: ReturnType<typeof imagePatterns> } {
  const r = new Rng(11, 'co2l-test');
  return { train: imagePatterns({ classes: 6, perClass: 34, size: 12, noise: 0.1 }, r, 'train'), test: imagePatterns({ classes: 6, perClass: 15, size: 12, noise: 0.1 }, r, 'test') };
}

// `cil co2l` quick in miniature: a 6-class pattern stream B2Inc2; co2l, co2l-l0, a binding CILA
// (derived from co2l's run) and the pure CILA (trained).
test('parity: co2l, co2l-l0, cila, cila-pure on a class-incremental pattern stream', { skip }, async () => {
  await initTf();
  const { train, test: te } = patterns();
  const options = co2lOptions({ channels: [4, 8], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 2, epochsLater: 1, bufferSize: 12, probeEpochs: 8, probeLr: 1e-2, lr: 1e-2 });
  const r = await runCo2l({ train, test: te, dataset: 'patterns', split: 'B2Inc2', seeds: [1], methods: ['co2l', 'co2l-l0', 'cila', 'cila-pure'], options, perClassTrain: 24, perClassVal: 10, numClasses: 6 });
  check('co2l', { runs: r.runs, summary: r.summary });
});

// The trainer checkpoints the Co2L learner after every session (encoders, Adam moments, the replay
// buffer, a CILA run that still follows Co2L): a run killed after session 2 and resumed gives the
// uninterrupted run's metrics exactly.
test('co2l through the trainer: resume after an interruption gives the same metrics', async () => {
  await initTf();
  const { train, test: te } = patterns();
  const options = co2lOptions({ channels: [4, 8], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 2, epochsLater: 1, bufferSize: 12, probeEpochs: 8, probeLr: 1e-2, lr: 1e-2 });
  const args = { train, test: te, dataset: 'patterns', split: 'B2Inc2', seeds: [1], methods: ['co2l', 'cila', 'cila-pure'], options, perClassTrain: 24, perClassVal: 10, numClasses: 6 };
  const dir = mkdtempSync(join(tmpdir(), 'co2l-resume-'));
  try {
    const full = await runCo2l(args);
    await assert.rejects(runCo2l({ ...args, checkpointDir: dir, onSession: (_s, t) => { if (t === 1) throw new Error('interrupted'); } }), /interrupted/);
    const resumed = await runCo2l({ ...args, checkpointDir: dir, resume: true });
    assert.deepEqual(metrics(resumed.runs), metrics(full.runs));
    assert.equal(resumed.runs.find((r) => r.method === 'cila')!.derived_from, 'co2l');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The rotated (domain-incremental) stream with the MLP encoder and the lambda grid chosen on validation.
test('parity: co2l-val on a rotated stream', { skip }, async () => {
  await initTf();
  const r0 = new Rng(3, 'rot-test');
  const train = imagePatterns({ classes: 3, perClass: 40, size: 12, noise: 0.1 }, r0, 'train');
  const te = imagePatterns({ classes: 3, perClass: 12, size: 12, noise: 0.1 }, r0, 'test');
  const options = co2lOptions({ encoder: 'mlp', mlpHidden: [16], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 1, epochsLater: 1, bufferSize: 9, probeEpochs: 6, probeLr: 1e-2, lr: 1e-2 });
  const rotated = { tasks: 3, perClassTrain: 10, perClassVal: 4, perClassTest: 6, maxAngle: 180 };
  const r = await runCo2l({ train, test: te, dataset: 'patterns', split: 'rotated-3', seeds: [7], methods: ['co2l-val'], options, perClassTrain: 10, perClassVal: 4, numClasses: 3, rotated });
  check('co2l-rotated', { runs: r.runs, summary: r.summary });
});

// `cil atlas` quick in miniature: one seed, one order, with the orthogonality ablation.
test('parity: atlas (all variants) on the multimodal stand-in', { skip }, async () => {
  await initTf();
  const o = atlasOptions({ upstreamPerClass: 20, testPerClass: 10, upstreamEpochs: 2, downstreamSteps: 8, shots: 4 });
  const r = await runAtlas(o, [0], { orders: ['multimodal-first'], orthoAblation: true });
  check('atlas', r);
});

test('parity: fixture written (capture mode only)', () => {
  if (!CAPTURE) return;
  mkdirSync(DIR, { recursive: true });
  writeFileSync(FIXTURE, JSON.stringify(got, null, 1) + '\n');
  machine.register();
});
