import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunRecorder } from '../../src/core/record.js';
import { InputError } from '../../src/core/errors.js';
import { checkSelfknowOptions, runSelfknowCommand, type SelfknowCommandOptions } from '../../src/llm/index.js';

const base: SelfknowCommandOptions = {
  models: ['echo:numbers'], tasks: 'word_count,arithmetic', items: 3, repeats: 2, seed: 4, temperature: 0.7, contextMode: 'fresh', split: 'test',
  constrained: true, evalConcurrency: 1, cachePath: null, provider: {},
};

test('runSelfknowCommand: one console line per task plus the overall line, a record body with the tasks, and no failure for a working model', async () => {
  const r = await runSelfknowCommand(base, new RunRecorder('llm selfknow', {}, 4));
  assert.equal(r.results.length, 1);
  assert.deepEqual(r.stdout.map((l) => l.split(' ')[0]), ['word_count', 'arithmetic', 'overall']);
  const tasks = (r.body as { tasks: Record<string, { k: number }> }).tasks;
  assert.deepEqual(Object.keys(tasks).sort(), ['arithmetic', 'word_count']);
  assert.equal(tasks.word_count.k, 2);
  assert.equal(r.allFailed, false);
  assert.ok(r.first, 'the first model report is there for a fine-tuning export');
  assert.equal(r.sections.length, 1);
});

test('runSelfknowCommand: two models give a comparison (first in the sections) and a console header per model', async () => {
  const r = await runSelfknowCommand({ ...base, models: ['echo:numbers', 'echo'] }, new RunRecorder('llm selfknow', {}, 4));
  assert.equal(r.stdout.filter((l) => l.startsWith('== ')).length, 2);
  const body = r.body as { models: unknown[]; comparison: { models: string[] } };
  assert.equal(body.models.length, 2);
  assert.equal(body.comparison.models.length, 2);
  assert.equal(r.sections.length, 3);
});

test('checkSelfknowOptions: each bad option is one InputError naming the flag', () => {
  const bad: [Partial<SelfknowCommandOptions>, RegExp][] = [
    [{ models: [] }, /needs --model/],
    [{ models: ['echo', 'echo'] }, /given twice/],
    [{ models: ['echo', 'echo:numbers'], exportFinetune: true }, /--export-finetune takes one --model/],
    [{ contextMode: 'stale' }, /--context-mode/],
    [{ split: 'train' }, /--split/],
    [{ temperature: -1 }, /--temperature/],
  ];
  for (const [o, re] of bad) assert.throws(() => checkSelfknowOptions({ ...base, ...o }), (e: unknown) => e instanceof InputError && re.test(e.message));
});
