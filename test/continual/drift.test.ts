import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { initTf } from '../../src/core/tensor.js';
import { stratifiedSplit, type Dataset } from '../../src/core/data/dataset.js';
import { readNpy } from '../../src/core/data/npy.js';
import { ClassMoments, accumulateFromMoments, fitDriftMap } from '../../src/continual/parts/drift.js';
import { AnalyticRidgeHead, RandomReluProjection, gramAndTargets, type FeatureRows } from '../../src/continual/heads.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { exportMiniature, runCil, seedData, type CilRunOptions } from '../../src/continual/trainer.js';

function randomRows(n: number, d: number, rng: Rng, shift = 0): FeatureRows {
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() + shift;
  return { x, n, d };
}

function affine(f: FeatureRows, A: Float64Array, b: Float64Array): FeatureRows {
  const { n, d } = f;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) {
    let s = b[a]!;
    for (let k = 0; k < d; k++) s += A[a * d + k]! * f.x[i * d + k]!;
    x[i * d + a] = s;
  }
  return { x, n, d };
}

test('fitDriftMap recovers an exact affine map, and carried moments equal the moments of the mapped rows', () => {
  const rng = new Rng(3, 'drift-test');
  const d = 6;
  const A = Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0) + 0.2 * rng.normal());
  const b = Float64Array.from({ length: d }, () => rng.normal());
  const before = randomRows(400, d, rng.split('rows'));
  const map = fitDriftMap(before, affine(before, A, b));
  for (let i = 0; i < d * d; i++) assert.ok(Math.abs(map.A[i]! - A[i]!) < 1e-4, `A[${i}] ${map.A[i]} vs ${A[i]}`);
  for (let i = 0; i < d; i++) assert.ok(Math.abs(map.b[i]! - b[i]!) < 1e-4);
  assert.ok(map.residualShare < 1e-8, `residual share ${map.residualShare}`);

  // Old class rows (never seen by the map fit) carried through the exact map.
  const old = randomRows(300, d, rng.split('old'), 2);
  const y = new Int32Array(300).fill(1);
  const mom = new ClassMoments(d, 3);
  mom.set(old, y);
  mom.transport(map, [1]);
  const direct = new ClassMoments(d, 3);
  direct.set(affine(old, A, b), y);
  for (let i = 0; i < d; i++) assert.ok(Math.abs(mom.mean(1)[i]! - direct.mean(1)[i]!) < 1e-3);
  for (let i = 0; i < d * d; i++) assert.ok(Math.abs(mom.cov(1)[i]! - direct.cov(1)[i]!) < 1e-3, `cov ${i}`);
  assert.equal(mom.counts[1], 300);
});

test('ridge statistics rebuilt from class moments approach the exact ones (M = 0, Gaussian classes)', () => {
  const rng = new Rng(5, 'moments-test');
  const d = 4, n = 4000;
  const f = randomRows(n, d, rng, 1);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const mom = new ClassMoments(d, 2);
  mom.set(f, y);
  const proj = new RandomReluProjection(d, 0, 1);
  const head = new AnalyticRidgeHead(d, 2);
  accumulateFromMoments(head, proj, mom, [0, 1], 20000, rng.split('draws'));
  const exact = gramAndTargets(f, y, 2);
  let num = 0, den = 0;
  for (let i = 0; i < d * d; i++) { num += (head.G.data[i]! - exact.G.data[i]!) ** 2; den += exact.G.data[i]! ** 2; }
  assert.ok(Math.sqrt(num / den) < 0.03, `relative Gram error ${Math.sqrt(num / den)}`);
  for (let i = 0; i < d * 2; i++) assert.ok(Math.abs(head.Q.data[i]! - exact.Q.data[i]!) < 0.03 * n, `Q[${i}]`);
});

test('SAFE with drift compensation: outputs, identical to the fast branch in session 1, resumable', async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 2 } });
  const opts: CilRunOptions = {
    split: 'B4Inc4', seeds: [2], methods: ['safe'],
    methodOptions: { safe: { M: 64, trainFirst: { epochs: 1 }, trainLater: { epochs: 1 }, driftCompensation: true, dcSamplesPerClass: 64 } },
  };
  const full = await runCil(mini, backbone, opts);
  const get = (m: string) => full.runs.find((r) => r.method === m)!;
  for (const m of ['safe', 'safe-fast', 'safe-dc', 'safe-fast-dc', 'safe-fast-gauss']) assert.ok(get(m), `missing ${m}`);
  assert.deepEqual(get('safe-fast-dc').acc_matrix[0], get('safe-fast').acc_matrix[0]);
  const diag = (full.diagnostics['seed-2'] as { safe: { sessions: { driftResidualShare?: number }[] } }).safe.sessions;
  for (const s of diag.slice(1)) assert.ok(typeof s.driftResidualShare === 'number' && s.driftResidualShare >= 0 && s.driftResidualShare < 1);
  const dir = mkdtempSync(join(tmpdir(), 'cil-dc-'));
  try {
    await assert.rejects(runCil(mini, backbone, { ...opts, checkpointDir: dir, onSession: (_s, t) => { if (t === 2) throw new Error('interrupted'); } }), /interrupted/);
    const resumed = await runCil(mini, backbone, { ...opts, checkpointDir: dir, resume: true });
    for (const r of full.runs) assert.deepEqual(resumed.runs.find((x) => x.method === r.method)!.acc_matrix, r.acc_matrix, r.method);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exportMiniature writes the rows a seed trains on: the same split as stratifiedSplit', () => {
  const mini = loadMiniature('synthetic', { quick: true });
  const dir = mkdtempSync(join(tmpdir(), 'cil-export-'));
  try {
    exportMiniature(mini, 'B4Inc4', [0, 3], dir);
    for (const f of ['pretrain_x.npy', 'pretrain_y.npy', 'cil_x.npy', 'cil_y.npy', 'test_x.npy', 'test_y.npy', 'seeds.json']) assert.ok(existsSync(join(dir, f)), f);
    const meta = JSON.parse(readFileSync(join(dir, 'seeds.json'), 'utf8')) as { seeds: { seed: number; class_order: number[]; train_idx: number[]; val_idx: number[] }[] };
    const s3 = meta.seeds.find((s) => s.seed === 3)!;
    const [train, val] = stratifiedSplit(mini.cilPool, [mini.perClassTrain, mini.perClassVal], new Rng(3, 'cil-train-val')) as [Dataset, Dataset];
    const cx = readNpy(join(dir, 'cil_x.npy')).data as Float32Array;
    const d = mini.cilPool.d;
    assert.equal(s3.train_idx.length, train.n);
    assert.equal(s3.val_idx.length, val.n);
    s3.train_idx.forEach((r, i) => assert.deepEqual(cx.subarray(r * d, (r + 1) * d), train.x.subarray(i * d, (i + 1) * d)));
    const sd = seedData(mini, 'B4Inc4', 3);
    assert.deepEqual(sd.scenario.classOrder, s3.class_order);
    assert.equal(sd.train.n, train.n);
    const py = readNpy(join(dir, 'pretrain_y.npy')).data as Int32Array;
    assert.ok(py.every((c) => mini.pretrainClasses.includes(c)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cil run --drift-compensation turns the variant on for SAFE only', async () => {
  const { methodOptionsFor } = await import('../../src/continual/index.js');
  assert.equal(methodOptionsFor({ driftCompensation: true }).safe!.driftCompensation, true);
  assert.equal(methodOptionsFor({}).safe!.driftCompensation, undefined);
});
