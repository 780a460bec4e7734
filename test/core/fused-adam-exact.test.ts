// FusedAdam gives tf.train.adam's values bit for bit (the compiled loop repeats its float32
// operations in its order; without the loop the updates go to a tf.train.adam), so a learner can
// move from one to the other without changing its results. Both see the same gradients here, over
// many steps (the bias corrections' float32 running products) and with a conv filter (rank 4: a
// fresh buffer per step). momentsOf / setMoments carry the state onto another set of variables (a
// cloned network) exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { FusedAdam, useNativeOptimisers, variable } from '../../src/core/nn.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { Rng } from '../../src/core/rng.js';

// 72, 35 and 561 values: whole groups of 16 (the AVX-512 loop where the CPU has it) and a scalar tail.
const SHAPES = [[3, 3, 2, 4], [7, 5], [5], [1], [33, 17]];

function params(tag: string): tf.Variable[] {
  const rng = new Rng(5, 'adam-exact-init');
  return SHAPES.map((s, i) => variable(`${tag}_${i}`, s, rng.fillNormal(new Float32Array(s.reduce((a, b) => a * b, 1)))));
}

/** Gradients of step `k`: varied scales, so that some moments are tiny and some large. */
function grads(vars: tf.Variable[], k: number): tf.NamedTensorMap {
  const rng = new Rng(k, 'adam-exact-grad');
  return Object.fromEntries(vars.map((v, i) => {
    const d = rng.fillNormal(new Float32Array(v.size));
    const scale = [1e-3, 1, 30, 1e-6][i]!;
    for (let j = 0; j < d.length; j++) d[j] *= scale;
    return [v.name, tf.tensor(d, v.shape, 'float32')];
  }));
}

function firstDifference(a: tf.Variable[], b: tf.Variable[]): string | null {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.dataSync(), y = b[i]!.dataSync();
    for (let j = 0; j < x.length; j++) if (!Object.is(x[j], y[j])) return `parameter ${i}[${j}]: ${x[j]} vs ${y[j]}`;
  }
  return null;
}

const loopKinds = nativeAddon()?.adamTfjs ? [true, false] : [false];

for (const nativeLoops of loopKinds) {
  const how = nativeLoops ? 'compiled loop' : 'handing updates to tf.train.adam';
  test(`FusedAdam (${how}) equals tf.train.adam bit for bit over 60 steps, conv filter included`, async () => {
    await initTf();
    useNativeOptimisers(nativeLoops);
    try {
      const a = params('stock'), b = params('fused');
      const stock = tf.train.adam(0.01), ours = new FusedAdam({ lr: 0.01 });
      const init = Float32Array.from(a[1]!.dataSync());
      for (let k = 0; k < 60; k++) {
        const ga = grads(a, k), gb = grads(b, k);
        stock.applyGradients(ga);
        ours.applyGradients(gb);
        tf.dispose([...Object.values(ga), ...Object.values(gb)]);
        const d = firstDifference(a, b);
        assert.equal(d, null, `step ${k + 1}: ${d}`);
      }
      let moved = 0;
      a[1]!.dataSync().forEach((v, j) => { moved = Math.max(moved, Math.abs(v - init[j]!)); });
      assert.ok(moved > 0.1, `the updates moved the parameters (${moved})`);
      assert.equal(ours.iterations, 60);
      tf.dispose([...a, ...b]);
      stock.dispose(); ours.dispose();
    } finally {
      useNativeOptimisers(true);
    }
  });

  test(`FusedAdam (${how}): momentsOf / setMoments onto other variables continue the run exactly`, async () => {
    await initTf();
    useNativeOptimisers(nativeLoops);
    try {
      const a = params('orig'), b = params('copy');
      const opt = new FusedAdam({ lr: 0.01 });
      for (let k = 0; k < 5; k++) {
        const g = grads(a, k);
        opt.applyGradients(g);
        tf.dispose(Object.values(g));
      }
      a.forEach((v, i) => b[i]!.assign(v));
      const st = opt.momentsOf(a);
      assert.equal(st.iterations, 5);
      assert.ok(st.m[2]!.some((x) => x !== 0) && st.s[2]!.some((x) => x !== 0));
      const copy = new FusedAdam({ lr: 0.01 });
      copy.setMoments(b, st);
      assert.equal(copy.iterations, 5);
      for (let k = 5; k < 12; k++) {
        const ga = grads(a, k), gb = grads(b, k);
        opt.applyGradients(ga);
        copy.applyGradients(gb);
        tf.dispose([...Object.values(ga), ...Object.values(gb)]);
      }
      assert.equal(firstDifference(a, b), null);
      assert.throws(() => copy.setMoments(b.slice(1), st), /moments do not match/);
      tf.dispose([...a, ...b]);
      opt.dispose(); copy.dispose();
    } finally {
      useNativeOptimisers(true);
    }
  });
}
