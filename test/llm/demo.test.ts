// llm/demo.ts: the demo's self-knowledge run on the tiny bigram GGUF, called without the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfKnowledgeDemo } from '../../src/llm/index.js';

test('selfKnowledgeDemo: writes the model, three seeds, a leak check far from 1, the first seed as the record', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-demo-'));
  process.env.PERENNIAL_QUIET = '1';
  try {
    const model = join(dir, 'tiny.gguf');
    const d = await selfKnowledgeDemo(model, 5, true);
    assert.ok(existsSync(model));
    assert.equal(d.metrics.model_bytes, statSync(model).size);
    assert.deepEqual(d.metrics.seeds, [5, 6, 7]);
    const leak = d.metrics.leak_baseline_self_consistency_fixed_claims as number;
    assert.ok(leak >= 0 && leak < 0.5, `echo stub S ${leak} on prompt-fixed claims`);
    assert.equal(d.record.config.seed, 5);
    assert.equal(d.record.overall.generation_correct, d.metrics.generation_correct);
    assert.equal(d.sections.length, 2);
    assert.match(JSON.stringify(d.sections[1]), /Mean ± std over seeds 5, 6, 7 \(3 items x 2 repeats/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
