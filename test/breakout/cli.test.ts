import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { textOnly } from '../helpers/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-cli-'));
const f = (name: string): string => join(dir, name);

async function quietly(argv: string[]): Promise<number> {
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = textOnly();
  try { return await main(argv); } finally { process.stdout.write = w; }
}

test('breakout synth | label | eval rules/learned | export: files and the documented JSON shape', async () => {
  assert.equal(await quietly(['breakout', 'synth', '--n', '60', '--seed', '4', '--out', f('w.jsonl'), '--text', f('w.txt')]), 0);
  assert.equal(await quietly(['breakout', 'label', f('w.jsonl'), '--json', f('label.json'), '--out', f('labelled.jsonl')]), 0);
  const lab = JSON.parse(readFileSync(f('label.json'), 'utf8')) as { n: number; agreement_with_stored_gold: number };
  assert.equal(lab.n, 60);
  assert.equal(lab.agreement_with_stored_gold, 1);
  assert.equal(await quietly(['breakout', 'label', f('w.txt')]), 0);
  for (const pipeline of ['rules', 'learned']) {
    const out = f(`${pipeline}.json`);
    const extra = pipeline === 'learned' ? ['--seeds', '2', '--train-n', '300'] : [];
    assert.equal(await quietly(['breakout', 'eval', '--data', f('w.jsonl'), '--pipeline', pipeline, '--json', out, ...extra]), 0);
    const r = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    for (const k of ['n', 'pipeline', 'stage_acc', 'verdict_acc', 'rationale_consistency', 'errors', 'run']) assert.ok(k in r, `${pipeline}: ${k}`);
    assert.deepEqual(Object.keys(r.stage_acc as object), ['direction', 'level', 'side']);
    assert.equal(r.pipeline, pipeline);
  }
  assert.equal(await quietly(['breakout', 'export', '--data', f('w.jsonl'), '--out-dir', f('ft')]), 0);
  assert.ok(readFileSync(f('ft/single.train.jsonl'), 'utf8').length > 0);
});

test('breakout eval and ranges: bad input is a one-line error (exit 2), never a crash; inputs are not overwritten', async () => {
  const err = process.stderr.write.bind(process.stderr);
  const seen: string[] = [];
  process.stderr.write = ((s: string) => { seen.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    await quietly(['breakout', 'synth', '--n', '8', '--out', f('e.jsonl')]);
    assert.equal(await quietly(['breakout', 'eval', '--data', f('e.jsonl'), '--pipeline', 'multi']), 2);
    assert.equal(await quietly(['breakout', 'eval', '--data', f('e.jsonl'), '--pipeline', 'magic']), 2);
    assert.equal(await quietly(['breakout', 'eval', '--data', f('e.jsonl'), '--pipeline', 'rules', '--json', f('e.jsonl')]), 2);
    writeFileSync(f('bad.csv'), 'date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1,10\n2024-01-03,1,2,0.5,zz,10\n');
    assert.equal(await quietly(['breakout', 'ranges', '--csv', f('bad.csv')]), 2);
    assert.ok(seen.some((s) => s.includes('bad.csv:3 (close)')), seen.join(''));
  } finally {
    process.stderr.write = err;
  }
});

test('breakout candles | ranges with --json and --html', async () => {
  assert.equal(await quietly(['breakout', 'candles', '--n', '1500', '--seed', '2', '--out', f('c.csv'), '--planted', f('planted.json')]), 0);
  assert.equal(await quietly(['breakout', 'ranges', '--csv', f('c.csv'), '--json', f('ranges.json'), '--html', f('ranges.html')]), 0);
  const r = JSON.parse(readFileSync(f('ranges.json'), 'utf8')) as { n_candles: number; breakouts: number; events: { index: number; label: string }[] };
  const planted = JSON.parse(readFileSync(f('planted.json'), 'utf8')) as { index: number; label: string }[];
  assert.equal(r.n_candles, 1500);
  for (const p of planted) assert.equal(r.events.find((e) => e.index === p.index)?.label, p.label);
  assert.match(readFileSync(f('ranges.html'), 'utf8'), /<svg/);
});

test('breakout eval --model openai:URL#MODEL against a local OpenAI-compatible server', async () => {
  const { serveProvider } = await import('../../src/llm/index.js');
  const { FakeProvider, oracleAnswer } = await import('./helpers.js');
  const server = await serveProvider(new FakeProvider('oracle', (req) => oracleAnswer(req)), { port: 0, modelName: 'oracle' });
  try {
    await quietly(['breakout', 'synth', '--n', '10', '--seed', '6', '--out', f('o.jsonl')]);
    for (const pipeline of ['multi', 'single']) {
      const out = f(`openai-${pipeline}.json`);
      assert.equal(await quietly(['breakout', 'eval', '--data', f('o.jsonl'), '--pipeline', pipeline, '--model', `openai:${server.url}#oracle`, '--json', out, '--retries', '0']), 0);
      const r = JSON.parse(readFileSync(out, 'utf8')) as { verdict_acc: number; errors: number; model: string; stage_acc: Record<string, number | null> };
      assert.equal(r.errors, 0, pipeline);
      assert.equal(r.verdict_acc, 1, pipeline);
      assert.match(r.model, /^openai:/);
      if (pipeline === 'multi') assert.deepEqual(r.stage_acc, { direction: 1, level: 1, side: 1 });
    }
  } finally {
    await server.close();
  }
});

test('breakout eval killed with SIGKILL mid-run resumes from its cache without repeating calls', async () => {
  const { spawn } = await import('node:child_process');
  const { serveProvider } = await import('../../src/llm/index.js');
  const { FakeProvider, oracleAnswer } = await import('./helpers.js');
  let calls = 0;
  const seen = new Set<string>();
  let onCall: (() => void) | null = null;
  const slow = new FakeProvider('slow-oracle', (req) => { calls++; seen.add(JSON.stringify(req)); onCall?.(); return oracleAnswer(req); });
  const server = await serveProvider({ id: () => slow.id(), complete: async (req) => { await new Promise((r) => setTimeout(r, 30)); return slow.complete(req); } }, { port: 0, modelName: 'slow' });
  const data = f('k.jsonl'), out = f('k.json');
  await quietly(['breakout', 'synth', '--n', '16', '--seed', '12', '--out', data]);
  const script = `import { main } from ${JSON.stringify(new URL('../../src/cli/index.ts', import.meta.url).pathname)}; process.exitCode = await main(process.argv.slice(1));`;
  const args = ['--import', 'tsx', '--input-type=module', '-e', script, 'breakout', 'eval', '--data', data, '--pipeline', 'multi', '--model', `openai:${server.url}#slow`, '--json', out, '--retries', '0'];
  const run = (killAfter: number | null): Promise<number | null> => new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, PERENNIAL_QUIET: '1' } });
    const start = calls;
    onCall = killAfter === null ? null : () => { if (calls - start >= killAfter) { onCall = null; child.kill('SIGKILL'); } };
    child.on('exit', (code) => resolve(code));
  });
  try {
    assert.equal(await run(20), null, 'first run killed');
    const afterKill = calls;
    assert.ok(afterKill >= 20);
    assert.equal(await run(null), 0);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { verdict_acc: number; errors: number };
    assert.equal(r.verdict_acc, 1);
    assert.equal(r.errors, 0);
    // At most the call in flight at the kill is asked twice; everything else came from the cache.
    assert.ok(calls - seen.size <= 1, `${calls} calls for ${seen.size} distinct requests`);
    const keys = readFileSync(`${out}.cache.jsonl`, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    assert.equal(new Set(keys).size, keys.length);
  } finally {
    await server.close();
  }
});

test('breakout eval with two --model: one record with both summaries and their paired differences on the same windows', async () => {
  const { serveProvider } = await import('../../src/llm/index.js');
  const { FakeProvider, oracleAnswer } = await import('./helpers.js');
  const a = await serveProvider(new FakeProvider('oracle', (req) => oracleAnswer(req)), { port: 0, modelName: 'oracle' });
  const b = await serveProvider(new FakeProvider('flip', (req) => oracleAnswer(req, { flipDirection: true })), { port: 0, modelName: 'flip' });
  try {
    await quietly(['breakout', 'synth', '--n', '12', '--seed', '9', '--out', f('two.jsonl')]);
    const out = f('two-models.json');
    assert.equal(await quietly(['breakout', 'eval', '--data', f('two.jsonl'), '--pipeline', 'multi', '--model', `openai:${a.url}#oracle`, '--model', `openai:${b.url}#flip`,
      '--json', out, '--html', f('two-models.html'), '--samples', f('two-samples.jsonl'), '--retries', '0']), 0);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { models: { model: string; n: number; verdict_acc: number; stage_acc: { direction: number } }[]; comparison: { paired: { metric: string; n: number; mean: number; losses: number }[] } };
    assert.equal(r.models.length, 2);
    assert.deepEqual(r.models.map((m) => m.stage_acc.direction), [1, 0]);
    const dir = r.comparison.paired.find((p) => p.metric === 'direction')!;
    assert.equal(dir.n, r.models[0]!.n);
    assert.equal(dir.mean, -1, 'the flipping model loses every window on S1');
    assert.equal(dir.losses, dir.n);
    const v = r.comparison.paired.find((p) => p.metric === 'verdict')!;
    assert.ok(Math.abs(v.mean - (r.models[1]!.verdict_acc - r.models[0]!.verdict_acc)) < 1e-12);
    assert.equal(readFileSync(f('two-samples.jsonl'), 'utf8').trim().split('\n').length, 2 * 12);
    assert.match(readFileSync(f('two-models.html'), 'utf8'), /Models compared on the same windows/);
    assert.equal(await quietly(['breakout', 'eval', '--data', f('two.jsonl'), '--pipeline', 'rules', '--model', `openai:${a.url}#oracle`]), 2);
  } finally {
    await a.close();
    await b.close();
  }
});
