import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateWindows, generateFootprintSet, parseWindowsJsonl, recordFromGenerated, recordToJson } from '../../src/breakout/index.js';
import { SampleLog } from '../../src/llm/index.js';
import { FakeProvider, oracleAnswer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-samples-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('breakout samples: one line per window and repeat with every stage call and per-stage verdicts; resumable after a torn tail', async () => {
  const lines = generateFootprintSet(14, 5).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
  const its = parseWindowsJsonl([...lines, 'not json'].join('\n'), 'w.jsonl');
  const path = join(dir, 's.jsonl');
  const p = new FakeProvider('flip', (req) => oracleAnswer(req, { flipDirection: true }));
  const s = new SampleLog(path);
  const { outcomes } = await evaluateWindows(its, 'multi', { provider: p, repeats: 2, samples: s, quiet: true });
  s.close();
  const read = (): { item: number; repeat: number; verdicts: Record<string, unknown>; calls: { stage: string; cache_hit: boolean }[]; error_kind: string | null }[] =>
    readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const ls = read();
  assert.equal(ls.length, its.length * 2);
  const scored = outcomes.findIndex((o) => o.gold !== null);
  const first = ls.find((l) => l.item === scored && l.repeat === 0)!;
  assert.deepEqual(first.calls.map((c) => c.stage), ['direction', 'level', 'side', 'report', 'direction', 'level', 'side', 'report']);
  assert.equal(first.calls[4]!.cache_hit, true, 'the chained run shares the gold-fed direction call');
  assert.deepEqual(first.verdicts, { direction: false, level: true, side: true, verdict: outcomes[scored]!.verdictCorrect, rationale: outcomes[scored]!.rationaleConsistent, report_gold_fed: true });
  assert.equal(ls.find((l) => l.item === 5)!.error_kind, 'input:malformed');
  assert.equal(ls.find((l) => l.item === scored && l.repeat === 1)!.calls.length, 4, 'repeat 1 runs the chained pipeline only');
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.slice(0, text.length - 40));
  const s2 = new SampleLog(path);
  await evaluateWindows(its, 'multi', { provider: p, repeats: 2, samples: s2, quiet: true });
  s2.close();
  assert.equal(s2.written, 1);
  assert.equal(read().length, its.length * 2);
});
