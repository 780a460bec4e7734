// ATLAS stand-in: attributes, task sampling and the summaries (paired differences, gate selection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtlasWorld, atlasOptions, gateSummary, pairedVsScratch, DOWNSTREAM, UPSTREAM, type AtlasRunEntry } from '../../src/continual/atlas.js';
import { Rng } from '../../src/core/rng.js';

const o = atlasOptions();

function latents(n: number, seed: number): Float32Array[] {
  const r = new Rng(seed, 'test-z');
  return Array.from({ length: n }, () => r.fillNormal(new Float32Array(o.latentDim), 1));
}

/** Training accuracy of least squares from z (plus bias) to the +-1 attribute: how linear it is. */
function linearFit(world: AtlasWorld, a: string, zs: Float32Array[]): number {
  const L = o.latentDim + 1;
  const G = Array.from({ length: L }, () => new Float64Array(L)), g = new Float64Array(L);
  const row = (z: Float32Array): number[] => [...z, 1];
  for (const z of zs) {
    const x = row(z), t = 2 * world.attr(a, z) - 1;
    for (let i = 0; i < L; i++) { g[i]! += x[i]! * t; for (let j = 0; j < L; j++) G[i]![j]! += x[i]! * x[j]!; }
  }
  // Gaussian elimination (G is positive definite for n >> L).
  const A = G.map((r, i) => [...r, g[i]!]);
  for (let c = 0; c < L; c++) {
    for (let r = c + 1; r < L; r++) { const f = A[r]![c]! / A[c]![c]!; for (let k = c; k <= L; k++) A[r]![k]! -= f * A[c]![k]!; }
  }
  const w = new Float64Array(L);
  for (let r = L - 1; r >= 0; r--) { let s = A[r]![L]!; for (let k = r + 1; k < L; k++) s -= A[r]![k]! * w[k]!; w[r] = s / A[r]![r]!; }
  let ok = 0;
  for (const z of zs) { const x = row(z); const p = x.reduce((s, v, i) => s + v * w[i]!, 0); if ((p > 0 ? 1 : 0) === world.attr(a, z)) ok++; }
  return ok / zs.length;
}

test('attributes: quadratic ones are even in z and not linearly readable, linear ones are', () => {
  const world = new AtlasWorld(o, 3);
  const zs = latents(2000, 1);
  for (const z of zs.slice(0, 50)) {
    const neg = z.map((v) => -v);
    assert.equal(world.attr('q2', neg), world.attr('q2', z));
    assert.equal(world.attr('s1', neg), 1 - world.attr('s1', z));
  }
  const share = (a: string): number => zs.filter((z) => world.attr(a, z) === 1).length / zs.length;
  // P(q = 1) = 1 - angle(u, v) / pi: not exactly one half, but no class is rare.
  for (const a of ['q0', 'q4', 's0']) assert.ok(share(a) > 0.2 && share(a) < 0.8, `${a} share: ${share(a)}`);
  assert.ok(linearFit(world, 's0', zs) > 0.97);
  // A linear rule does no better than always answering the majority value.
  for (const a of ['q0', 'q3', 'q4']) {
    const majority = Math.max(share(a), 1 - share(a));
    assert.ok(linearFit(world, a, zs) < majority + 0.03, `${a} should not be linear: ${linearFit(world, a, zs)} vs majority ${majority}`);
  }
  assert.throws(() => world.attr('x1', zs[0]!), /expected q<j> or s<j>/);
  assert.throws(() => world.attr('q99', zs[0]!), /at most/);
});

test('task sampling: balanced classes, both modalities only where needed, deterministic per seed', () => {
  const world = new AtlasWorld(o, 5);
  const M = o.modalityDim, d = 2 * M;
  for (const spec of [...UPSTREAM['multimodal-first'], ...DOWNSTREAM]) {
    const t = world.sample(spec, 7, new Rng(1, spec.name));
    const expected = spec.kind === 'match' ? 2 : spec.kind === 'entail' ? 1 + spec.attrs.length : 1 << spec.attrs.length;
    assert.equal(t.outputs, expected, spec.name);
    assert.equal(t.n, 7 * expected);
    for (let c = 0; c < expected; c++) assert.equal(t.y.filter((v) => v === c).length, 7);
    let captionEnergy = 0;
    for (let r = 0; r < t.n; r++) for (let i = M; i < d; i++) captionEnergy += Math.abs(t.x[r * d + i]!);
    if (spec.kind === 'image-cls') assert.equal(captionEnergy, 0, `${spec.name}: caption zeroed`);
    else assert.ok(captionEnergy > 0, `${spec.name}: caption present`);
    assert.deepEqual(world.sample(spec, 7, new Rng(1, spec.name)).x, t.x);
  }
  // Every downstream task names an upstream task it is built to be related to, in both orders.
  for (const spec of DOWNSTREAM) for (const ups of Object.values(UPSTREAM)) assert.ok(ups.some((u) => u.name === spec.related), spec.name);
});

test('paired differences and gate selection from run entries', () => {
  const e = (seed: number, variant: AtlasRunEntry['variant'], acc: number, w?: number[]): AtlasRunEntry => ({
    seed, task: 'down-x', variant, acc, trainable_params: 1, order: 'o', related: 'up-b',
    ...(w ? { mix_weights: w, mix_adapters: ['up-a', 'up-b', 'up-c'] } : {}),
  });
  const runs = [
    e(0, 'scratch', 50), e(0, 'atlas', 60, [0.2, 0.9, 0.5]), e(0, 'experience', 55, [0.9, 0.9, 0.1]),
    e(1, 'scratch', 70), e(1, 'atlas', 66, [0.1, 0.8, 0.3]), e(1, 'experience', 71, [0.1, 0.2, 0.3]),
  ];
  const p = pairedVsScratch(runs);
  const atlas = p.find((x) => x.variant === 'atlas')!;
  assert.equal(atlas.diff_mean, 3);
  assert.equal(atlas.wins, 1);
  assert.equal(atlas.n, 2);
  const g = gateSummary(runs);
  const ga = g.find((x) => x.variant === 'atlas')!, ge = g.find((x) => x.variant === 'experience')!;
  assert.equal(ga.related_largest, 2);
  assert.ok(Math.abs(ga.weights['up-b']! - 0.85) < 1e-12);
  // A tie for the largest weight does not count as selecting the related adapter.
  assert.equal(ge.related_largest, 0);
});
