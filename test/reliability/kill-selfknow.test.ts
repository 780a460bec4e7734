// `perennial llm selfknow` (tiny GGUF model) killed with SIGKILL at random points and resumed
// from its response cache: same record as an uninterrupted run, no duplicated cache entries.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyGguf } from '../../src/llm/tiny.js';
import { KILLS, assertUniqueKeys, jsonlLines, killAndResume, noteResult } from './kill-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-kill-llm-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test(`llm selfknow: ${KILLS} random SIGKILLs, resumed, equals an uninterrupted run`, { timeout: 3_600_000 }, async () => {
  const model = join(dir, 'tiny.gguf');
  writeTinyGguf(model);
  // Enough calls that every kill lands after fresh progress (about 3 calls per kill and more).
  const items = Math.max(4, Math.ceil((KILLS + 2) / 2));
  const r = await killAndResume({
    name: 'llm selfknow',
    args: (out) => ['llm', 'selfknow', '--model', `gguf:${model}`, '--tasks', 'word_count,arithmetic,theorem', '--items', String(items), '--repeats', '2', '--seed', '1', '--threads', '1', '--json', join(out, 'sk.json')],
    progress: (out) => jsonlLines(join(out, 'sk.json.cache.jsonl')),
    finals: (out) => [join(out, 'sk.json')],
    // Throughput counts calls and cache hits, which a resumed run has differently by design.
    volatile: /^(throughput)$/,
    after: (out) => assertUniqueKeys(join(out, 'sk.json.cache.jsonl')),
  }, dir);
  noteResult(r);
});
