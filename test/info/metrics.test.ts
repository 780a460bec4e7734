import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng } from '../../src/core/rng.js';
import { eye64, fromRows, type Matrix64 } from '../../src/core/linalg/index.js';
import {
  cosineGram, entropyFromFeatures, hadamard, jointEntropyFromFeatures, matrixEntropy, measureFeatures, measureGrams,
  mir, hdr, mutualInformation, effectiveRank, jointRoute, featureHeadInfo,
} from '../../src/info/metrics.js';
import { blockExpand, etfGram, etfHead, mirNeuralCollapse, neuralCollapse } from '../../src/info/nc.js';
import { InputError } from '../../src/core/errors.js';

const close = (a: number, b: number, tol: number, what = ''): void => {
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
};

function ones(n: number): Matrix64 {
  return { rows: n, cols: n, data: new Float64Array(n * n).fill(1) };
}
function randn(rng: Rng, n: number, d: number): Matrix64 {
  return { rows: n, cols: d, data: rng.fillNormal(new Float64Array(n * d)) };
}

test('identity Gram has entropy ln n for every alpha', () => {
  for (const n of [1, 2, 4, 10, 37]) for (const alpha of [0.5, 1, 2, 3]) close(matrixEntropy(eye64(n), { alpha }), Math.log(n), 1e-12, `n=${n} a=${alpha}`);
  close(matrixEntropy(eye64(4)), 1.3862943611, 1e-10);
  close(matrixEntropy(eye64(10)), 2.3025850930, 1e-10);
});

test('reference values of the method note (natural log)', () => {
  assert.ok(matrixEntropy(ones(5)) < 1e-12);
  close(matrixEntropy(blockExpand(eye64(3), 4)), 1.0986122887, 1e-10, 'I3 ⊗ 1');
  const K = fromRows([[1, 0.5], [0.5, 1]]);
  close(matrixEntropy(K), 0.5623351446, 1e-10, 'H(K)');
  close(matrixEntropy(hadamard(K, K)), 0.6615632382, 1e-10, 'H(K⊙K)');
  close(mutualInformation(K, K), 0.4631070511, 1e-10, 'MI');
  close(mir(K, K), 0.8235427850, 1e-10, 'MIR');
  close(matrixEntropy(K, { alpha: 2 }), 0.4700036292, 1e-10, 'H2');
  assert.equal(hdr(K, K), 0);
  close(mutualInformation(K, ones(2)), 0, 1e-12, 'MI(K, 11ᵀ)');
  close(mutualInformation(eye64(6), eye64(6)), Math.log(6), 1e-12, 'MI(I, I)');
  close(mir(eye64(6), eye64(6)), 1, 1e-12, 'MIR(I, I)');
});

test('2x2 closed form: H is the binary entropy of (1+rho)/2', () => {
  fc.assert(fc.property(fc.double({ min: -0.999, max: 0.999, noNaN: true }), (rho) => {
    const p = (1 + rho) / 2;
    const hb = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    close(matrixEntropy(fromRows([[1, rho], [rho, 1]])), hb, 1e-12);
  }), { numRuns: 200 });
});

test('Renyi entropy approaches von Neumann continuously; alpha within 1e-8 of 1 is exact', () => {
  const rng = new Rng(3);
  const K = cosineGram(randn(rng, 12, 5));
  const h1 = matrixEntropy(K);
  close(matrixEntropy(K, { alpha: 1 + 1e-9 }), h1, 1e-14);
  close(matrixEntropy(K, { alpha: 1 + 1e-5 }), h1, 1e-4);
  assert.ok(Math.abs(matrixEntropy(K, { alpha: 1.01 }) - h1) > 1e-5, 'alpha = 1.01 is not Shannon');
  // Non-increasing in alpha.
  let prev = Infinity;
  for (const a of [0.3, 0.5, 1, 2, 3, 5]) { const h = matrixEntropy(K, { alpha: a }); assert.ok(h <= prev + 1e-12); prev = h; }
});

test('log base rescales H and MI but not the ratios', () => {
  const rng = new Rng(4);
  const X = randn(rng, 20, 6), Y = randn(rng, 20, 3);
  const e = measureFeatures(X, Y), b2 = measureFeatures(X, Y, { base: 2 });
  close(b2.entropy_x, e.entropy_x / Math.LN2, 1e-12);
  close(b2.mi!, e.mi! / Math.LN2, 1e-12);
  close(b2.mir!, e.mir!, 1e-12);
  close(b2.hdr!, e.hdr!, 1e-12);
});

test('Neural Collapse values: H(E_C) = ln(C-1), MIR_NC for C = 3, 4, 10, 100, invariant to block size', () => {
  for (const C of [3, 4, 10, 25]) close(matrixEntropy(etfGram(C)), Math.log(C - 1), 1e-9, `C=${C}`);
  close(mirNeuralCollapse(3), 0.5, 1e-10);
  close(mirNeuralCollapse(4), 0.7539531690, 1e-10);
  close(mirNeuralCollapse(10), 0.9523507825, 1e-10);
  close(mirNeuralCollapse(100), 0.9978129358, 1e-10);
  assert.ok(Number.isNaN(mirNeuralCollapse(2)));
  for (const C of [3, 4, 10]) {
    close(mir(etfGram(C), etfGram(C)), mirNeuralCollapse(C), 1e-9, `MIR(E_C) C=${C}`);
    for (const m of [2, 3]) {
      const G = blockExpand(etfGram(C), m);
      close(mir(G, G), mirNeuralCollapse(C), 1e-9, `C=${C} m=${m}`);
      assert.ok(hdr(G, G) === 0);
    }
  }
});

test('collapsed features against an ETF head: MIR at the collapse value, HDR 0, NC1-NC3 at 0', () => {
  const rng = new Rng(5);
  const C = 10, d = 16, m = 3;
  const W = etfHead(C, d, rng);
  const labels = Int32Array.from({ length: C * m }, (_, i) => i % C);
  const H: Matrix64 = { rows: labels.length, cols: d, data: new Float64Array(labels.length * d) };
  labels.forEach((y, i) => { for (let k = 0; k < d; k++) H.data[i * d + k] = 2.5 * W.data[y * d + k]!; });
  const info = featureHeadInfo(H, labels, W);
  close(info.mir, 0.9523507825, 1e-9);
  close(info.hdr, 0, 1e-9);
  const nc = neuralCollapse(H, labels, C, W);
  close(nc.nc1, 0, 1e-9, 'nc1');
  close(nc.nc2_equinorm_means, 0, 1e-9, 'equinorm');
  close(nc.nc2_equiangular_means, 0, 1e-9, 'equiangular');
  close(nc.nc2_equiangular_head, 0, 1e-9, 'equiangular head');
  close(nc.nc3, 0, 1e-9, 'nc3');
  // Noise moves every measure away from collapse.
  const noisy = { ...H, data: H.data.map((v) => v + 0.5 * rng.normal()) };
  const nn = neuralCollapse(noisy, labels, C, W);
  assert.ok(nn.nc1 > 0.01 && nn.nc3 > 0.01);
  assert.ok(featureHeadInfo(noisy, labels, W).mir < info.mir);
});

test('d < n covariance route and Khatri-Rao route agree with the direct Gram to 1e-12', () => {
  const rng = new Rng(6);
  for (const [n, d1, d2] of [[40, 3, 4], [30, 5, 5], [9, 12, 2]] as const) {
    const X = randn(rng, n, d1), Y = randn(rng, n, d2);
    for (const alpha of [1, 2, 0.5]) {
      const direct = matrixEntropy(cosineGram(X), { alpha });
      close(entropyFromFeatures(X, { alpha, route: 'covariance' }), direct, 1e-12, 'cov');
      close(entropyFromFeatures(X, { alpha, route: 'gram' }), direct, 1e-12, 'gram');
      const jd = matrixEntropy(hadamard(cosineGram(X), cosineGram(Y)), { alpha });
      close(jointEntropyFromFeatures(X, Y, { alpha, joint: 'khatri-rao' }), jd, 1e-12, 'kr');
      close(jointEntropyFromFeatures(X, Y, { alpha, joint: 'gram' }), jd, 1e-12, 'joint gram');
    }
  }
  assert.equal(jointRoute(1000, 4, 4), 'khatri-rao');
  assert.equal(jointRoute(2048, 512, 512), 'gram');
});

test('property: MIR and HDR lie in [0, 1] and H(K1⊙K2) >= max(H1, H2)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(0.5, 1, 2, 3), (seed, alpha) => {
    const rng = new Rng(seed);
    const n = 3 + rng.int(10);
    const K1 = cosineGram(randn(rng, n, 1 + rng.int(6))), K2 = cosineGram(randn(rng, n, 1 + rng.int(6)));
    const m = measureGrams(K1, K2, { alpha });
    assert.ok(m.entropy_joint >= Math.max(m.entropy_x, m.entropy_y) - 1e-10);
    if (!Number.isNaN(m.mir)) assert.ok(m.mir >= -1e-10 && m.mir <= 1 + 1e-10, `mir ${m.mir}`);
    if (!Number.isNaN(m.hdr)) assert.ok(m.hdr >= 0 && m.hdr <= 1 + 1e-12);
    const h = matrixEntropy(K1, { alpha });
    assert.ok(h >= 0 && h <= Math.log(n) + 1e-12);
  }), { numRuns: 60 });
});

test('degenerate inputs: MIR/HDR are NaN (never a silent 0); bad input raises InputError', () => {
  assert.ok(Number.isNaN(mir(ones(4), eye64(4))));
  assert.ok(Number.isNaN(hdr(ones(4), ones(4))));
  assert.throws(() => cosineGram({ rows: 2, cols: 2, data: Float64Array.from([1, 0, 0, 0]) }), InputError);
  assert.throws(() => matrixEntropy({ rows: 2, cols: 3, data: new Float64Array(6) }), InputError);
  assert.throws(() => matrixEntropy(eye64(2), { alpha: -1 }), InputError);
  assert.throws(() => matrixEntropy(eye64(2), { alhpa: 2 } as never), /matrixEntropy: unknown option "alhpa" \(did you mean "alpha"\?\); known: alpha/);
  assert.throws(() => measureFeatures(randn(new Rng(1), 4, 2), randn(new Rng(2), 5, 2)), /same samples/);
  assert.throws(() => cosineGram({ rows: 1, cols: 1, data: Float64Array.of(NaN) }), /non-finite/);
});

test('effective rank is exp(H): k orthogonal clusters give k', () => {
  close(effectiveRank(blockExpand(eye64(5), 3)), 5, 1e-10);
  close(effectiveRank(ones(6)), 1, 1e-10);
});
