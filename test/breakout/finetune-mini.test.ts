import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { combineStaged, stagedFinetuneMini, TRAIN_SEED0, type StagedPart } from '../../src/breakout/finetune-mini.js';

const part = (seed: number, multi: Record<string, number>, single: Record<string, number>, config: Record<string, unknown> = { tokenBudget: 10 }): StagedPart => ({
  config: { ...config, seeds: [seed] }, baselines: {}, per_seed: [{ seed, verdict_hits: { multi, single } }],
});

test('combineStaged pools windows over seeds and pairs multi with single window by window', () => {
  const r = combineStaged([
    part(1, { a: 1, b: 1, c: 0, d: 1 }, { a: 0, b: 1, c: 0, d: 0 }),
    part(0, { a: 0, b: 1, c: 1, d: 1 }, { a: 0, b: 1, c: 1, d: 1 }),
  ]) as unknown as { config: { seeds: number[] }; pooled: Record<string, { windows: number; verdict_acc: number; per_seed: number[] }>; multi_minus_single: { windows: { n: number; mean: number; wins: number; losses: number }; seeds: { n: number; mean: number; ci95: [number, number] } } };
  assert.deepEqual(r.config.seeds, [0, 1]);
  assert.equal(r.pooled.multi.windows, 8);
  assert.equal(r.pooled.multi.verdict_acc, 6 / 8);
  assert.equal(r.pooled.single.verdict_acc, 4 / 8);
  assert.deepEqual(r.pooled.multi.per_seed, [0.75, 0.75]);
  assert.deepEqual(r.pooled.single.per_seed, [0.75, 0.25]);
  assert.equal(r.multi_minus_single.windows.n, 8);
  assert.equal(r.multi_minus_single.windows.mean, 2 / 8);
  assert.equal(r.multi_minus_single.windows.wins, 2);
  assert.equal(r.multi_minus_single.windows.losses, 0);
  assert.equal(r.multi_minus_single.seeds.n, 2);
  assert.equal(r.multi_minus_single.seeds.mean, 0.25);
  // t interval over two seeds with differences 0 and 0.5: 0.25 +- 12.706 * 0.3536 / sqrt 2.
  assert.ok(Math.abs(r.multi_minus_single.seeds.ci95[1] - (0.25 + 12.706 * Math.sqrt(0.125) / Math.SQRT2)) < 1e-9);
});

test('combineStaged refuses runs with other settings or a repeated seed', () => {
  assert.throws(() => combineStaged([part(0, {}, {}), part(1, {}, {}, { tokenBudget: 11 })]), /differ in their settings/);
  assert.throws(() => combineStaged([part(0, {}, {}), part(0, {}, {})]), /seed 0 appears in more than one run/);
});

test('stagedFinetuneMini trains both designs on one token budget and scores them on held-out windows', async () => {
  const base = {
    dir: mkdtempSync(join(tmpdir(), 'perennial-staged-')), trainWindows: 8, evalWindows: 2, evalSeed: 42, tokenBudget: 2500,
    model: { dim: 16, layers: 1, heads: 2, ffn: 32, contextLength: 2560, batchSize: 1 }, spec: { rangeBars: 2, bandTicks: [4, 5] as [number, number] },
    maxTokens: 8, reasonMaxLength: 40, baselineSeeds: 1, quiet: true,
  };
  await assert.rejects(stagedFinetuneMini({ ...base, seeds: [0, 42 - TRAIN_SEED0] }), /evaluation seed 42/);
  const r = await stagedFinetuneMini({ ...base, seeds: [0] }) as unknown as { per_seed: { multi: { train: { tokens: number; steps: number } }; single: { train: { tokens: number; steps: number } }; verdict_hits: Record<string, Record<string, number>> }[]; baselines: { rules: { verdict_acc: number } } };
  const row = r.per_seed[0];
  // Equal budgets: both designs see about 2500 tokens, the multi design in more, shorter sequences.
  for (const d of ['multi', 'single'] as const) assert.ok(Math.abs(row[d].train.tokens - 2500) < 1300, `${d}: ${row[d].train.tokens} tokens`);
  assert.ok(row.multi.train.steps > row.single.train.steps);
  assert.equal(Object.keys(row.verdict_hits.multi).length, 2);
  assert.equal(r.baselines.rules.verdict_acc, 1);
});
