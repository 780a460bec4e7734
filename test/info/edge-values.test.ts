// Silent wrong results from info measure (issue 17, item 5): large Renyi orders, duplicate rows,
// rows of extreme norm. Each value is either right (checked against a float64 computation done
// another way) or null with the reason beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { Rng } from '../../src/core/rng.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { linalg } from '../../src/core/linalg/index.js';
import { InputError } from '../../src/core/errors.js';
import { featureSpectrum, matrixEntropy, measureFeatures, normalizeRows, spectrumEntropy } from '../../src/info/index.js';
import { textOnly } from '../helpers/stdout.js';

/** A spectrum of k values summing to 1, the largest about 0.2 (so mu^1000 underflows to 0). */
function spectrum(k: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const v = Float64Array.from(rng.fillNormal(new Float64Array(k)), (x) => Math.exp(0.3 * x));
  const s = v.reduce((a, b) => a + b, 0);
  return v.map((x) => x / s);
}

/** Renyi entropy computed directly in float64, rescaled by the largest eigenvalue (no log-sum-exp). */
function directRenyi(mu: Float64Array, alpha: number): number {
  const top = Math.max(...mu);
  let s = 0;
  for (const m of mu) s += (m / top) ** alpha;
  return (alpha * Math.log(top) + Math.log(s)) / (1 - alpha);
}

test('Renyi entropy in log space equals the plain float64 formula at moderate alpha', () => {
  const mu = spectrum(12, 1);
  for (const alpha of [0.3, 0.5, 2, 3, 10, 40]) {
    let s = 0;
    for (const m of mu) s += m ** alpha;
    const plain = Math.log(s) / (1 - alpha);
    const h = spectrumEntropy(mu, { alpha });
    assert.ok(Math.abs(h - plain) < 1e-12 * Math.max(1, plain), `alpha ${alpha}: ${h} vs ${plain}`);
  }
});

test('Renyi entropy at alpha 1000 is finite, matches the rescaled direct sum, and tends to -log(lambda_max)', () => {
  const mu = spectrum(12, 2);
  const top = Math.max(...mu), k = mu.length;
  let plainSum = 0;
  for (const m of mu) plainSum += m ** 1000;
  assert.equal(plainSum, 0, 'the naive sum underflows here, which is the case being tested');
  for (const alpha of [1000, 1e4, 1e6]) {
    const h = spectrumEntropy(mu, { alpha });
    assert.ok(Number.isFinite(h), `alpha ${alpha}: ${h}`);
    assert.ok(Math.abs(h - directRenyi(mu, alpha)) < 1e-12, `alpha ${alpha}: ${h} vs ${directRenyi(mu, alpha)}`);
    // -a/(a-1) log top - log(k)/(a-1) <= H_a <= -a/(a-1) log top.
    const upper = (-alpha / (alpha - 1)) * Math.log(top), lower = upper - Math.log(k) / (alpha - 1);
    assert.ok(h <= upper + 1e-12 && h >= lower - 1e-12, `alpha ${alpha}: ${h} not in [${lower}, ${upper}]`);
  }
  assert.ok(Math.abs(spectrumEntropy(mu, { alpha: 1e6 }) + Math.log(top)) < 1e-5);
  // Base 2 divides by log 2 as before.
  assert.ok(Math.abs(spectrumEntropy(mu, { alpha: 1000, base: 2 }) - directRenyi(mu, 1000) / Math.log(2)) < 1e-12);
});

function features(n: number, d: number, seed: number): Float64Array {
  return new Rng(seed).fillNormal(new Float64Array(n * d));
}

async function measure(dir: string, name: string, x: Float64Array, xd: number, y: Float64Array | null, yd: number, extra: string[] = []): Promise<Record<string, unknown>> {
  const n = x.length / xd;
  writeNpy(join(dir, `${name}-x.npy`), x, [n, xd]);
  if (y) writeNpy(join(dir, `${name}-y.npy`), y, [n, yd]);
  const json = join(dir, `${name}.json`);
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = textOnly();
  try {
    const code = await main(['info', 'measure', '--x', join(dir, `${name}-x.npy`), ...(y ? ['--y', join(dir, `${name}-y.npy`)] : []), '--json', json, ...extra]);
    assert.equal(code, 0, name);
  } finally { process.stdout.write = w; }
  return JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
}

test('CLI: info measure --alpha 1000 gives finite entropy, MI, MIR and HDR (not Infinity / NaN)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-info-edge-'));
  try {
    const x = features(50, 8, 3), y = features(50, 6, 4);
    for (let i = 0; i < 50; i++) for (let j = 0; j < 6; j++) y[i * 6 + j] += x[i * 8 + j]!; // some shared signal
    for (const alpha of ['1000', '250']) {
      const r = await measure(dir, `a${alpha}`, x, 8, y, 6, ['--alpha', alpha]);
      for (const k of ['entropy_x', 'entropy_y', 'mi', 'mir', 'hdr']) assert.equal(typeof r[k], 'number', `alpha ${alpha}: ${k} = ${String(r[k])}`);
      const mu = featureSpectrum(normalizeRows({ rows: 50, cols: 8, data: x }), 'gram', linalg());
      const kept = mu.filter((m) => m > 1e-15);
      assert.ok(Math.abs((r.entropy_x as number) - directRenyi(kept, Number(alpha))) < 1e-9, `alpha ${alpha}`);
      assert.ok((r.mir as number) >= -1e-9 && (r.mir as number) <= 1 + 1e-9);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('CLI: duplicate rows give MIR null with the reason in the record; HDR stays a number while defined', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-info-edge-'));
  try {
    const row = features(1, 5, 5);
    const dup = new Float64Array(40 * 5);
    for (let i = 0; i < 40; i++) dup.set(row, i * 5);
    const y = features(40, 4, 6);
    const r = await measure(dir, 'dup', dup, 5, y, 4);
    assert.equal(r.mir, null);
    const reasons = r.reasons as Record<string, string>;
    assert.match(reasons.mir!, /H\(X\) = 0/);
    assert.equal(typeof r.hdr, 'number');
    assert.ok(Math.abs((r.hdr as number) - 1) < 1e-9);
    // Both sides duplicated: HDR is 0/0 too, with its own reason.
    const dupY = new Float64Array(40 * 4);
    for (let i = 0; i < 40; i++) dupY.set(y.subarray(0, 4), i * 4);
    const both = await measure(dir, 'both', dup, 5, dupY, 4);
    assert.equal(both.mir, null);
    assert.equal(both.hdr, null);
    assert.match((both.reasons as Record<string, string>).hdr!, /HDR/);
    // Some duplicated rows (not all): everything is defined.
    const some = features(40, 5, 7);
    for (let i = 0; i < 20; i++) some.set(some.subarray(0, 5), i * 5);
    const partial = await measure(dir, 'some', some, 5, y, 4);
    assert.equal(typeof partial.mir, 'number');
    assert.equal(partial.reasons, undefined);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('rows with norms near 1e-300, 1e-310 or 1e300 give the same values as unscaled rows', async () => {
  const x = features(30, 6, 8), y = features(30, 4, 9);
  const ref = measureFeatures({ rows: 30, cols: 6, data: x }, { rows: 30, cols: 4, data: y }, { alpha: 2 });
  const refC = measureFeatures({ rows: 30, cols: 6, data: x }, { rows: 30, cols: 4, data: y }, { alpha: 2, center: true });
  for (const scale of [1e-300, 1e-310, 1e300, 1e307]) {
    const xs = x.map((v) => v * scale);
    const m = measureFeatures({ rows: 30, cols: 6, data: xs }, { rows: 30, cols: 4, data: y }, { alpha: 2 });
    for (const k of ['entropy_x', 'mi', 'mir', 'hdr'] as const) assert.ok(Math.abs(m[k]! - ref[k]!) < 1e-9, `scale ${scale}: ${k} ${m[k]} vs ${ref[k]}`);
    const c = measureFeatures({ rows: 30, cols: 6, data: xs }, { rows: 30, cols: 4, data: y }, { alpha: 2, center: true });
    assert.ok(Math.abs(c.mir! - refC.mir!) < 1e-9, `centred, scale ${scale}`);
  }
  // One row tiny and one huge beside ordinary rows: cosines do not change.
  const mixed = Float64Array.from(x);
  for (let j = 0; j < 6; j++) { mixed[j] *= 1e-300; mixed[6 + j] *= 1e300; }
  const m = measureFeatures({ rows: 30, cols: 6, data: mixed }, { rows: 30, cols: 4, data: y }, { alpha: 2 });
  assert.ok(Math.abs(m.mir! - ref.mir!) < 1e-9);
  // A Gram of tiny or huge entries has the same entropy (no "trace 0").
  const Z = normalizeRows({ rows: 30, cols: 6, data: x });
  const G = linalg().gemm(Z, Z, { transB: true });
  const h = matrixEntropy(G, { alpha: 3 });
  for (const s of [1e-300, 1e300]) assert.ok(Math.abs(matrixEntropy({ rows: 30, cols: 30, data: G.data.map((v) => v * s) }, { alpha: 3 }) - h) < 1e-9);
  // A truly zero row is still an error naming it.
  const zero = Float64Array.from(x);
  zero.fill(0, 12, 18);
  assert.throws(() => measureFeatures({ rows: 30, cols: 6, data: zero }), (e: unknown) => e instanceof InputError && /row 2 has zero norm/.test((e as Error).message));
});
