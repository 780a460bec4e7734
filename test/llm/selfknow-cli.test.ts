import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { textOnly } from '../helpers/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-skcli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string): string => join(dir, n);
const quietly = async (argv: string[]): Promise<number> => {
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = textOnly();
  try { return await main(argv); } finally { process.stdout.write = w; }
};

const TASKS = `tasks:
  - id: cities
    prompt: '{"city": "{{city}}", "n": {{n}}}'
    field: city
    items:
      - { city: Paris, n: 3 }
      - { city: Rome, n: 4 }
    checks:
      - { type: regex, pattern: '^P' }
      - { type: json_schema, schema: { type: object, properties: { city: { type: string }, n: { type: integer, maximum: 3 } }, required: [city, n] } }
      - { type: judge, reference: '{{city}}' }
`;

interface Rec {
  models: { model: string; tasks: Record<string, { self_consistency: number | null; judge?: { claim: { n: number; rate: number | null; agreement: { n: number } } } }>; user_tasks: { tasks: Record<string, { checks: Record<string, { value: number }>; pass: { value: number }; judge?: { rate: number; agreement: { n: number; agree: number } } }> } }[];
  comparison: { models: string[]; matrix: Record<string, Record<string, Record<string, number | null>>>; paired: { task: string; metric: string; model: string; n: number; mean: number | null }[] };
  judge: string;
  samples: { lines: number; written: number };
}

test('two models in one selfknow run with a task file, a judge and a samples log: one record with both, the matrix and paired differences', async () => {
  writeFileSync(f('tasks.yaml'), TASKS);
  const json = f('two.json');
  const args = ['llm', 'selfknow', '--model', 'echo:numbers', '--model', 'echo', '--tasks', 'word_count,qa', '--items', '3', '--repeats', '2', '--seed', '5',
    '--tasks-file', f('tasks.yaml'), '--judge', 'echo:numbers', '--samples', f('samples.jsonl'), '--json', json, '--html', f('two.html')];
  assert.equal(await quietly(args), 0);
  const rec = JSON.parse(readFileSync(json, 'utf8')) as Rec;
  assert.deepEqual(rec.models.map((m) => m.model), ['echo:numbers', 'echo:text']);
  assert.deepEqual(rec.comparison.models, ['echo:numbers', 'echo:text']);
  for (const m of rec.models) assert.deepEqual(Object.keys(m.tasks), ['word_count', 'qa']);
  assert.deepEqual(Object.keys(rec.comparison.matrix).sort(), ['cities', 'qa', 'word_count']);
  assert.equal(rec.comparison.matrix.word_count!['echo:text']!.S, rec.models[1]!.tasks.word_count!.self_consistency);
  assert.ok(rec.comparison.paired.some((p) => p.task === 'word_count' && p.metric === 'S' && p.model === 'echo:text' && p.n === 3));
  // echo:text returns the prompt itself: the task file's JSON prompt passes the schema for Paris only.
  const cities = rec.models[1]!.user_tasks.tasks.cities!;
  assert.equal(cities.checks.regex!.value, 0.5);
  assert.equal(cities.checks['json_schema#1']!.value, 0.5);
  assert.equal(cities.pass.value, 0.5);
  // The judge (echo:numbers answers the first enum value, "correct") is reported apart, with agreement.
  assert.equal(rec.judge, 'echo:numbers');
  assert.equal(cities.judge!.rate, 1);
  assert.deepEqual([cities.judge!.agreement.n, cities.judge!.agreement.agree], [4, 2]);
  assert.ok(rec.models[0]!.tasks.qa!.judge!.claim.n > 0);
  // One samples line per model, item and repeat: 2 models x (2 tasks x 3 items + 2 task-file items) x 2 repeats.
  const lines = readFileSync(f('samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; task: string; calls: { stage: string }[] });
  assert.equal(lines.length, 2 * (2 * 3 + 2) * 2);
  assert.equal(rec.samples.written, lines.length);
  assert.ok(lines.some((l) => l.task === 'cities' && l.calls.some((c) => c.stage === 'judge')));
  const html = readFileSync(f('two.html'), 'utf8');
  assert.ok(html.includes('Model x task') && html.includes('Paired differences') && html.includes('echo:text'));
  // The rerun resumes: every call (judge included) from the cache, no samples line written twice.
  assert.equal(await quietly(args), 0);
  const again = JSON.parse(readFileSync(json, 'utf8')) as Rec & { models: { throughput: { calls: number }; user_tasks: { throughput: { calls: number } } }[] };
  for (const m of again.models) { assert.equal(m.throughput.calls, 0); assert.equal(m.user_tasks.throughput.calls, 0); }
  assert.equal(again.samples.written, 0);
  assert.equal(readFileSync(f('samples.jsonl'), 'utf8').trim().split('\n').length, lines.length);
  // Bad inputs: one line, exit 2.
  assert.equal(await quietly(['llm', 'selfknow', '--model', 'echo', '--model', 'echo']), 2);
  assert.equal(await quietly(['llm', 'selfknow', '--tasks', 'word_count']), 2);
  writeFileSync(f('bad.yaml'), TASKS.replace('pattern:', 'patern:'));
  assert.equal(await quietly(['llm', 'selfknow', '--model', 'echo', '--tasks', 'none', '--tasks-file', f('bad.yaml')]), 2);
  assert.equal(await quietly(['llm', 'selfknow', '--model', 'echo', '--tasks', 'none']), 2);
});
