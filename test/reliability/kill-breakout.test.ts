// `perennial breakout eval` (multi-stage pipeline over a local OpenAI-compatible server) killed
// with SIGKILL at random points and resumed from its completion cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { serveProvider } from '../../src/llm/server.js';
import { FakeProvider, oracleAnswer } from '../breakout/helpers.js';
import { KILLS, assertUniqueKeys, jsonlLines, killAndResume, noteResult } from './kill-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-kill-bo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test(`breakout eval: ${KILLS} random SIGKILLs, resumed, equals an uninterrupted run`, { timeout: 3_600_000 }, async () => {
  const oracle = new FakeProvider('oracle', (req) => oracleAnswer(req));
  // A little latency per call, as a real server has, so kills land between calls and inside them.
  const server = await serveProvider({ id: () => oracle.id(), complete: async (req) => { await new Promise((r) => setTimeout(r, 15)); return oracle.complete(req); } }, { port: 0, modelName: 'oracle' });
  try {
    const data = join(dir, 'windows.jsonl');
    const prev = process.env.PERENNIAL_QUIET;
    process.env.PERENNIAL_QUIET = '1';
    assert.equal(await main(['breakout', 'synth', '--n', String(Math.max(8, 3 * (KILLS + 2))), '--seed', '4', '--out', data]), 0);
    process.env.PERENNIAL_QUIET = prev;
    const r = await killAndResume({
      name: 'breakout eval',
      args: (out) => ['breakout', 'eval', '--data', data, '--pipeline', 'multi', '--model', `openai:${server.url}#oracle`, '--retries', '0', '--json', join(out, 'eval.json'), '--html', join(out, 'eval.html')],
      progress: (out) => jsonlLines(join(out, 'eval.json.cache.jsonl')),
      finals: (out) => [join(out, 'eval.json'), join(out, 'eval.html')],
      volatile: /^(cache|calls|wall_s|latency|throughput)$/,
      after: (out) => assertUniqueKeys(join(out, 'eval.json.cache.jsonl')),
    }, dir);
    noteResult(r);
  } finally {
    await server.close();
  }
});
