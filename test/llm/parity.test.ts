// "Refactors keep results": the evaluation configurations of parity-configs.ts give the metrics
// captured from the pre-harness code (fixtures/pre-harness-metrics.json, see its `commit`).
// One intended difference: breakout's own Wilson interval used z = 1.96, the shared stats module
// uses the exact 97.5 % normal quantile 1.959963984540054, so breakout's `verdict_ci95` moves by
// less than 1e-5; it is compared to 1e-4, everything else exactly. Fields added to a record since
// the capture are allowed; a captured field that goes or changes fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parityMetrics } from './parity-configs.js';

function compare(now: unknown, then: unknown, path: string): void {
  if (path.endsWith('.summary.verdict_ci95') && Array.isArray(then) && Array.isArray(now)) {
    assert.equal(now.length, then.length, path);
    then.forEach((x, i) => assert.ok(Math.abs((now[i] as number) - (x as number)) < 1e-4, `${path}[${i}]: ${now[i]} vs ${x}`));
    return;
  }
  if (then && typeof then === 'object' && now && typeof now === 'object' && !Array.isArray(then)) {
    // Fields added since the capture are allowed (e.g. breakout's n_answered); none may go or change.
    for (const k of Object.keys(then)) assert.ok(k in now, `${path}.${k} is missing`);
    for (const k of Object.keys(then)) compare((now as Record<string, unknown>)[k], (then as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  assert.deepEqual(now, then, path);
}

test('selfknow and breakout eval give the pre-harness metrics on fixed configurations and seeds', async () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/pre-harness-metrics.json', import.meta.url), 'utf8')) as { metrics: Record<string, unknown> };
  const tmp = mkdtempSync(join(tmpdir(), 'perennial-parity-'));
  try {
    const now = JSON.parse(JSON.stringify(await parityMetrics(tmp))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(now), Object.keys(fixture.metrics));
    for (const k of Object.keys(fixture.metrics)) compare(now[k], fixture.metrics[k], k);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
