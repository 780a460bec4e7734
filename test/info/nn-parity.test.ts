// info/train.ts, info/grokking.ts and core/bench/train.ts make their weights through core/nn's
// `variable`, which frees the tensor each variable is made from. The initial values are the same
// Float32Arrays as before, so every metric must be bit-identical to the fixture captured from the
// old tf.variable(tf.tensor2d(...)) code; and repeated runs must not grow tfjs's tensor count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { InfoMlp } from '../../src/info/train.js';
import { runGrokking } from '../../src/info/grokking.js';
import { runDynamics } from '../../src/info/experiments.js';
import { makeLoop } from '../../src/core/bench/train.js';
import { nnParityMetrics, nnParityQuickMetrics } from './nn-parity-configs.js';
import { machineFixture } from '../helpers/machine-kind.js';

// Bit for bit only on the kind of machine a fixture was captured on (test/helpers/machine-kind.ts).
const machine = machineFixture(fileURLToPath(new URL('./fixtures', import.meta.url)), 'nn-parity-metrics');
const skip = machine.skip;
const fixture = (skip ? {} : JSON.parse(readFileSync(machine.path, 'utf8'))) as { metrics: unknown; quick: unknown };
// JSON round trip: the fixture holds doubles as JSON writes them (shortest round-trip form), so equal
// numbers compare equal and any changed bit shows as a differing value.
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test('small info runs give the metrics captured before core/nn, bit for bit', { skip }, async () => {
  assert.deepStrictEqual(asJson(await nnParityMetrics()), fixture.metrics);
});

test('info grokking --quick and info dynamics --quick --synthetic give the captured metrics, bit for bit', { skip, timeout: 300_000 }, async () => {
  assert.deepStrictEqual(asJson(await nnParityQuickMetrics()), fixture.quick);
});

test('no tensor count growth: InfoMlp build/load/dispose, grokking and dynamics runs, the bench loop', async () => {
  await initTf();
  const counts = async (f: () => Promise<void> | void, times = 3): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < times; i++) { await f(); out.push(tf.memory().numTensors); }
    return out;
  };
  const before = tf.memory().numTensors;
  const mlp = await counts(() => {
    const m = new InfoMlp({ input: 12, hidden: 8, features: 6, classes: 3 }, new Rng(1));
    m.load(m.snapshot());
    m.dispose();
  });
  assert.deepEqual(mlp, [before, before, before], 'InfoMlp leaves no tensor behind');
  const grok = await counts(async () => { await runGrokking({ p: 7, trainFraction: 0.5, embed: 4, hidden: 8, maxEpochs: 4, every: 2, stopAfterGrok: 0 }); });
  assert.equal(new Set(grok).size, 1, `grokking tensor counts ${grok.join(', ')}`);
  const dyn = await counts(async () => { await runDynamics({ synthetic: true, seeds: 1, epochs: 1, trainSize: 200, testSize: 100, hidden: 8, features: 4 }); }, 2);
  assert.equal(new Set(dyn).size, 1, `dynamics tensor counts ${dyn.join(', ')}`);
  const x = tf.zeros([128, 784]) as tf.Tensor2D, y = tf.oneHot(tf.zeros([128], 'int32') as tf.Tensor1D, 10).toFloat() as tf.Tensor2D;
  const withData = tf.memory().numTensors;
  const bench = await counts(() => { const l = makeLoop([{ x, y }], new Rng(2)); l.run(1); l.dispose(); });
  assert.deepEqual(bench, [withData, withData, withData], 'bench loop leaves no tensor behind');
  tf.dispose([x, y]);
});
