// "Refactors keep results": the evaluation configurations of parity-configs.ts give the metrics
// captured from the pre-harness code (fixtures/pre-harness-metrics.json, see its `commit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parityMetrics } from './parity-configs.js';

test('selfknow and breakout eval give the pre-harness metrics on fixed configurations and seeds', async () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/pre-harness-metrics.json', import.meta.url), 'utf8')) as { metrics: Record<string, unknown> };
  const tmp = mkdtempSync(join(tmpdir(), 'perennial-parity-'));
  try {
    const now = JSON.parse(JSON.stringify(await parityMetrics(tmp))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(now), Object.keys(fixture.metrics));
    for (const k of Object.keys(fixture.metrics)) assert.deepEqual(now[k], fixture.metrics[k], k);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
