import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('llm make-tiny, inspect and selfknow write the model, the record (documented shape), the report, the cache and the export', async () => {
  const model = join(dir, 'm.gguf');
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, 'one two three\n{"answer": 3}\n');
  assert.equal(await main(['llm', 'make-tiny', '--out', model, '--corpus', corpus]), 0);
  assert.equal(await main(['llm', 'make-tiny', '--out', corpus, '--corpus', corpus]), 2, 'never overwrites the input');
  assert.equal(readFileSync(corpus, 'utf8'), 'one two three\n{"answer": 3}\n');
  assert.equal(await main(['llm', 'inspect', model, '--json', join(dir, 'inspect.json')]), 0);
  const json = join(dir, 'sk.json');
  const code = await main(['llm', 'selfknow', '--model', `gguf:${model}`, '--tasks', 'word_count,theorem', '--items', '2', '--repeats', '2', '--seed', '3',
    '--json', json, '--html', join(dir, 'sk.html'), '--export-finetune', join(dir, 'ft.jsonl'), '--thresholds', 'theorem=0.75']);
  assert.equal(code, 0);
  const rec = JSON.parse(readFileSync(json, 'utf8')) as { model: string; tasks: Record<string, Record<string, unknown>>; overall: Record<string, unknown>; run: { command: string } };
  assert.equal(rec.model, `gguf:${model}`);
  assert.deepEqual(Object.keys(rec.tasks), ['word_count', 'theorem']);
  for (const k of ['n', 'self_consistency', 'generation_correct', 'verification_correct', 'pass_k', 'parse_failures']) assert.ok(k in rec.tasks.word_count!, k);
  assert.equal(rec.tasks.theorem!.threshold, 0.75);
  assert.equal(rec.tasks.word_count!.n, 2);
  assert.equal(rec.run.command, 'llm selfknow');
  assert.ok(existsSync(`${json}.cache.jsonl`), 'default cache beside the record');
  assert.ok(readFileSync(join(dir, 'sk.html'), 'utf8').includes('<svg'));
  assert.ok(existsSync(join(dir, 'ft.jsonl')));
  assert.equal(await main(['llm', 'selfknow', '--model', `gguf:${model}`, '--tasks', 'nope']), 2);
  assert.equal(await main(['llm', 'selfknow', '--model', 'llama:x']), 2);
});
