import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { writeNpy } from '../../src/core/data/index.js';
import { collapseSweep } from '../../src/info/collapse.js';
import { runGrokking, steepest } from '../../src/info/grokking.js';
import { runDynamics, runPruning, paired } from '../../src/info/experiments.js';
import { retrievalAccuracy, runAlign } from '../../src/info/align.js';
import { runSemisup } from '../../src/info/semisup.js';
import { mirNeuralCollapse } from '../../src/info/nc.js';
import { measureFeatures } from '../../src/info/metrics.js';
import { main } from '../../src/cli/index.js';
import { textOnly } from '../helpers/stdout.js';

test('NC sweep: MIR reaches the collapse value at zero noise and rises as noise falls; B < C misses it', () => {
  const r = collapseSweep({ seeds: 3, noise: [1, 0.5, 0.2, 0.05, 0] });
  assert.ok(Math.abs(r.mir.at(-1)! - mirNeuralCollapse(10)) < 1e-9);
  assert.ok(Math.abs(r.hdr.at(-1)!) < 1e-9);
  assert.ok(r.monotone.mir_rises);
  assert.ok(r.mir[0]! < r.mir.at(-1)! - 0.3);
  assert.ok(Math.abs(r.mir_small_batch.at(-1)! - r.mir_collapse) > 0.01);
  assert.ok(Math.abs(r.mir_unbalanced.at(-1)! - r.mir_collapse) > 1e-3);
  assert.throws(() => collapseSweep({ classes: 10, dim: 5 }), /dim/);
});

test('grokking runner: curves have one entry per evaluation and accuracies in [0, 1]', async () => {
  const r = await runGrokking({ p: 11, trainFraction: 0.5, embed: 8, hidden: 16, maxEpochs: 40, every: 10, lr: 1e-2, stopAfterGrok: 0 });
  assert.deepEqual(r.epochs, [1, 10, 20, 30, 40]);
  for (const k of ['train_acc', 'test_acc', 'mir', 'hdr', 'train_loss'] as const) assert.equal(r[k].length, r.epochs.length);
  assert.ok(r.transition.test_rise === null || r.epochs.includes(r.transition.test_rise));
  for (const a of [...r.train_acc, ...r.test_acc]) assert.ok(a >= 0 && a <= 1);
  assert.ok(r.train_acc.at(-1)! > r.train_acc[0]!, 'training makes progress');
  await assert.rejects(() => runGrokking({ p: 3 }), /p must be/);
  await assert.rejects(() => runGrokking({ epochs: 3 } as never), /unknown option "epochs"/);
});

test('dynamics and pruning on synthetic data: both variants learn; shapes and paired differences are consistent', async () => {
  const r = await runDynamics({ synthetic: true, seeds: 2, epochs: 2, trainSize: 640, testSize: 300, hidden: 32, features: 16 });
  assert.equal(r.variants.length, 2);
  for (const v of r.variants) {
    assert.equal(v.test_acc.mean.length, 2);
    for (const a of v.final_acc) assert.ok(a > 0.3, `accuracy ${a} should beat chance (0.1) clearly`);
  }
  const d = paired(r.variants[1]!.final_acc, r.variants[0]!.final_acc);
  assert.equal(d.mean, r.acc_diff.mean);
  const p = await runPruning({ synthetic: true, seeds: 1, epochs: 2, trainSize: 640, testSize: 300, hidden: 32, features: 16 }, [0.5, 0.9], 1);
  assert.equal(p.mir_before_after.length, 2);
  for (const m of p.mir_before_after) assert.ok(m.mean > 0 && m.mean <= 1 + 1e-9);
});

test('align and semisup smoke runs on synthetic images return finite, bounded metrics', async () => {
  const a = await runAlign({ synthetic: true, seeds: 1, epochs: 1, trainSize: 400, testSize: 200 });
  for (const v of a.variants) {
    assert.ok(v.acc.mean >= 0 && v.acc.mean <= 1);
    assert.ok(v.retrieval.mean >= 0 && v.retrieval.mean <= 1);
    assert.ok(Number.isFinite(v.mi.mean));
  }
  const s = await runSemisup({ synthetic: true, seeds: 1, steps: 15, unlabeled: 300, testSize: 200, labelsPerClass: 4 });
  assert.equal(s.variants.length, 2);
  for (const v of s.variants) assert.ok(v.error.mean >= 0 && v.error.mean <= 1);
});

test('steepest: the evaluation epoch that starts the largest rise / drop / change', () => {
  const e = [0, 10, 20, 30, 40];
  assert.equal(steepest(e, [0, 0.1, 0.2, 0.9, 1], 1), 20);
  assert.equal(steepest(e, [0.6, 0.6, 0.3, 0.25, 0.2], -1), 10);
  assert.equal(steepest(e, [0.1, 0.1, 0.1, 0.5, 0.45], 0), 20);
  assert.equal(steepest(e, [NaN, 1, 2, 2, 2], 1), 10);
  assert.equal(steepest([0], [1], 1), null);
});

test('retrieval accuracy: nearest pool row by cosine', () => {
  const q = Float64Array.from([1, 0, 0, 1]), qy = Int32Array.from([0, 1]);
  const pool = Float64Array.from([0.1, 2, 3, 0.2]), py = Int32Array.from([1, 0]);
  assert.equal(retrievalAccuracy(q, qy, pool, py, 2), 1);
  assert.equal(retrievalAccuracy(q, qy, pool, Int32Array.from([0, 1]), 2), 0);
});

test('CLI: info measure writes the documented JSON; bad input gives a clear error and exit code 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-info-cli-'));
  try {
    const rng = new Rng(21);
    const x = rng.fillNormal(new Float64Array(30 * 4)), y = Float32Array.from(rng.fillNormal(new Float64Array(30 * 3)));
    writeNpy(join(dir, 'x.npy'), x, [30, 4]);
    writeNpy(join(dir, 'y.npy'), y, [30, 3]);
    writeNpy(join(dir, 'short.npy'), x.subarray(0, 40), [10, 4]);
    const out = join(dir, 'm.json');
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = textOnly();
    let code: number, codeOnlyX: number;
    try {
      code = await main(['info', 'measure', '--x', join(dir, 'x.npy'), '--y', join(dir, 'y.npy'), '--alpha', '2', '--json', out]);
      codeOnlyX = await main(['info', 'measure', '--x', join(dir, 'x.npy'), '--json', join(dir, 'x-only.json')]);
    } finally { process.stdout.write = write; }
    assert.equal(code, 0);
    assert.equal(codeOnlyX, 0);
    const rec = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
    for (const k of ['n', 'entropy_x', 'entropy_y', 'mi', 'mir', 'hdr', 'alpha']) assert.ok(k in rec, `record has ${k}`);
    assert.equal(rec.n, 30);
    assert.equal(rec.alpha, 2);
    const direct = measureFeatures({ rows: 30, cols: 4, data: x }, { rows: 30, cols: 3, data: Float64Array.from(y) }, { alpha: 2 });
    assert.ok(Math.abs(rec.mi! - direct.mi!) < 1e-12);
    const only = JSON.parse(readFileSync(join(dir, 'x-only.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(!('entropy_y' in only) && !('mi' in only));
    const err = process.stderr.write.bind(process.stderr);
    let msg = '';
    process.stderr.write = ((s: string) => { msg += s; return true; }) as typeof process.stderr.write;
    let bad: number, notNpy: number, overwrite: number;
    try {
      bad = await main(['info', 'measure', '--x', join(dir, 'x.npy'), '--y', join(dir, 'short.npy'), '--json', join(dir, 'bad.json')]);
      notNpy = await main(['info', 'measure', '--x', out]);
      overwrite = await main(['info', 'measure', '--x', join(dir, 'x.npy'), '--json', join(dir, 'x.npy')]);
    } finally { process.stderr.write = err; }
    assert.equal(bad, 2);
    assert.match(msg, /30 rows .* 10/);
    assert.equal(notNpy, 2);
    assert.equal(overwrite, 2);
    assert.ok(!existsSync(join(dir, 'bad.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
