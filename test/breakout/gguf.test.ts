// The pipelines end to end with the project's tiny GGUF model (in-process llama.cpp, JSON-schema
// constrained decoding). The tiny model cannot read tables; the test checks the plumbing: every
// stage either answers within the schema or is counted as an error, and a rerun is served from
// the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateWindows, generateFootprintSet, parseWindowsJsonl, recordFromGenerated, recordToJson } from '../../src/breakout/index.js';
import { parseModelSpec, writeTinyGguf } from '../../src/llm/index.js';

test('multi- and single-stage pipelines run end to end on the tiny GGUF and resume from the cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-gguf-'));
  const path = join(dir, 'tiny.gguf');
  writeTinyGguf(path, { contextLength: 4096 });
  // Short windows keep the character-level prompts small.
  const recs = generateFootprintSet(21, 2, { rangeBars: 3, bandTicks: [4, 5], nearShare: 0, hardShare: 0, tieShare: 0, noDirectionShare: 0 }).map((g) => recordFromGenerated(g));
  const items = parseWindowsJsonl(recs.map((r) => JSON.stringify(recordToJson(r))).join('\n'));
  const provider = parseModelSpec(`gguf:${path}`, { gguf: { threads: 1, contextSize: 4096 } });
  const cachePath = join(dir, 'cache.jsonl');
  const opts = { provider, quiet: true, maxTokens: 80, reasonMaxLength: 24 };
  try {
    const multi = (await evaluateWindows(items, 'multi', { ...opts, cache: cachePath })).summary;
    assert.equal(multi.n, 2);
    assert.equal(multi.model, `gguf:${path}`);
    for (const v of [multi.stage_acc.direction, multi.stage_acc.level, multi.stage_acc.side, multi.verdict_acc, multi.rationale_consistency]) {
      assert.ok(v !== null && v >= 0 && v <= 1);
    }
    // With the reason capped, constrained decoding closes the JSON: answers parse.
    assert.equal(multi.error_kinds.parse ?? 0, 0, JSON.stringify(multi.error_kinds));
    const single = (await evaluateWindows(items, 'single', { ...opts, cache: cachePath })).summary;
    assert.equal(single.n, 2);
    assert.equal(single.confusion.tp + single.confusion.fp + single.confusion.tn + single.confusion.fn, 2);
    const again = (await evaluateWindows(items, 'multi', { ...opts, cache: cachePath })).summary;
    assert.equal(again.cache!.misses, 0);
    assert.deepEqual({ ...again, cache: null }, { ...multi, cache: null });
  } finally {
    await provider.close?.();
  }
});
