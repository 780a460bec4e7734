import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { initTf } from '../../src/core/tensor.js';
import { gaussianMixture } from '../../src/core/data/index.js';
import { evalInfo, InfoMlp, trainClassifier } from '../../src/info/train.js';
import { evaluatePath, interpolate, lossAndError, rocAuc, runLmc, spearman, summarisePath, type PathPoint } from '../../src/info/lmc.js';

test('lmc path: the endpoints reproduce each network exactly; a network with itself has no barrier', async () => {
  await initTf();
  const base = new Rng(3, 'lmc-test');
  const train = gaussianMixture({ classes: 4, perClass: 40, dim: 12, separation: 2 }, base, 'train');
  const test = gaussianMixture({ classes: 4, perClass: 20, dim: 12, separation: 2 }, base, 'test');
  const shape = { input: 12, hidden: 16, features: 8, classes: 4 };
  const a = new InfoMlp(shape, new Rng(1)), b = new InfoMlp(shape, new Rng(2));
  await trainClassifier(a, train, { epochs: 2, batch: 32 }, new Rng(5));
  await trainClassifier(b, train, { epochs: 2, batch: 32 }, new Rng(6));
  const evalIdx = Int32Array.from({ length: 40 }, (_, i) => i * 2);
  const own = [a, b].map((m) => ({ tr: lossAndError(m, train), te: lossAndError(m, test), info: evalInfo(m, test, evalIdx) }));
  const wa = a.snapshot(), wb = b.snapshot();
  assert.deepEqual(interpolate(wa, wb, 0), wa);
  assert.deepEqual(interpolate(wa, wb, 1), wb);
  const probe = new InfoMlp(shape, new Rng(9));
  const path = evaluatePath(probe, wa, wb, { train, test, evalIdx }, 11);
  assert.equal(path.length, 11);
  for (const [p, o] of [[path[0], own[0]], [path[10], own[1]]] as const) {
    assert.equal(p.train_loss, o.tr.loss); assert.equal(p.test_loss, o.te.loss); assert.equal(p.test_error, o.te.error);
    assert.equal(p.mir, o.info.mir); assert.equal(p.hdr, o.info.hdr);
  }
  const self = summarisePath(evaluatePath(probe, wa, wa, { train, test, evalIdx }, 5), 0.02);
  assert.ok(Math.abs(self.train_loss_barrier) < 1e-5 && Math.abs(self.test_error_barrier) < 1e-9 && Math.abs(self.mir_dip) < 1e-5, JSON.stringify(self));
  assert.ok(self.connected);
  assert.throws(() => evaluatePath(probe, wa, wb, { train, test, evalIdx }, 2), /points/);
  [a, b, probe].forEach((m) => m.dispose());
});

test('lmc summaries: barrier, MIR dip and along-path agreement on a hand-made path; rank statistics', () => {
  // Train loss 1, 2, 1 (chord 1): barrier 1 at the middle; MIR 0.5, 0.3, 0.5: dip 0.2 at the same point.
  const pts: PathPoint[] = [0, 0.5, 1].map((alpha, i) => ({ alpha, train_loss: [1, 2, 1][i], test_loss: [1, 1.5, 2][i], test_error: [0.1, 0.4, 0.2][i], mir: [0.5, 0.3, 0.5][i], hdr: [0.2, 0.2, 0.4][i] }));
  const s = summarisePath(pts, 0.02);
  assert.equal(s.train_loss_barrier, 1);
  assert.equal(s.test_loss_barrier, 0);
  assert.ok(Math.abs(s.test_error_barrier - 0.25) < 1e-12);
  assert.ok(Math.abs(s.mir_dip - 0.2) < 1e-12);
  assert.ok(Math.abs(s.hdr_excursion + 0.1) < 1e-12);
  assert.ok(s.mir_dip_at_barrier && !s.connected);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.equal(rocAuc([0.9, 0.8, 0.1], [true, true, false]), 1);
  assert.equal(rocAuc([0.5, 0.5], [true, false]), 0.5);
  assert.ok(Number.isNaN(rocAuc([1, 2], [true, true])));
});

test('lmc runner: three pairs per seed on synthetic data, paths of the asked length, an answer for the record', async () => {
  const r = await runLmc({ synthetic: true, seeds: 1, epochs: 2, warmupEpochs: 1, trainSize: 320, testSize: 200, trainEvalSize: 200, hidden: 16, features: 8, points: 5, evalPerClass: 4 });
  assert.equal(r.pairs.length, 3);
  assert.deepEqual(r.pairs.map((p) => p.kind), ['different-init', 'same-init', 'warm-up']);
  for (const p of r.pairs) { assert.equal(p.path.length, 5); assert.ok(p.train_loss_barrier >= 0); }
  assert.deepEqual(r.alphas, [0, 0.25, 0.5, 0.75, 1]);
  await assert.rejects(() => runLmc({ synthetic: true, epochs: 2, warmupEpochs: 2 }), /warmup-epochs/);
});
