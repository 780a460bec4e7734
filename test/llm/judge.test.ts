import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JUDGE_VERSION, ResponseCache, ScriptedProvider, judgeRequest, parseJudge, parseTaskFile, runSelfKnowledge, runUserTasks, selectTasks,
  type CompletionRequest,
} from './helpers.js';

const props = (r: CompletionRequest): string[] => Object.keys((r.jsonSchema as { properties?: object } | undefined)?.properties ?? {});

test('judge on the qa family: claim and verifier answer graded apart from the mechanical G, agreement counted, verdicts cached', async () => {
  const good = { passage: 'The river is 40 km long. It ends in the sea.', question: 'How long is the river?', answer: '40' };
  const bad = { passage: 'echo', question: 'echo', answer: 'echo' };
  // A run's creation is well-formed or degenerate by its sampling seed; the verifier repeats the claim.
  const model = new ScriptedProvider((req) => {
    if (props(req).includes('passage')) return JSON.stringify(req.seed! % 2 === 0 ? good : bad);
    const claim = /Question: How long/.test(req.messages[req.messages.length - 1]!.content) ? '40' : 'echo';
    return JSON.stringify({ answer: claim });
  });
  // The judge: correct exactly when the graded answer is "40".
  let judgeCalls = 0;
  const judge = new ScriptedProvider((req) => {
    judgeCalls++;
    const answer = /Answer to grade:\n(.*)$/s.exec(req.messages[1]!.content)![1]!;
    return JSON.stringify({ reason: 'checked', verdict: answer === '40' ? 'correct' : 'incorrect' });
  }, { id: 'judge:scripted' });
  const cache = new ResponseCache(null);
  const opts = { items: 6, repeats: 2, quiet: true, judge, cache } as const;
  const r = await runSelfKnowledge(selectTasks('qa'), model, opts);
  const t = r.tasks.qa!;
  assert.equal(t.verification_correct, null, 'V stays n/a among the mechanical numbers');
  assert.ok(t.judge, 'judge block present');
  const outs = r.outcomes.filter((o) => o.judge);
  assert.equal(outs.length, 12);
  const claimCorrect = outs.filter((o) => o.claim === '40').length;
  assert.ok(claimCorrect > 0 && claimCorrect < 12, `a mix of good and degenerate creations (${claimCorrect})`);
  assert.equal(t.judge!.claim.correct, claimCorrect);
  assert.equal(t.judge!.claim.n, 12);
  assert.equal(t.judge!.claim.rubric, JUDGE_VERSION);
  // Mechanical G (the asked-for form) and the judge agree on every run here: good creations are correct, degenerate ones not.
  assert.equal(t.judge!.claim.agreement.n, 12);
  assert.equal(t.judge!.claim.agreement.agree, outs.filter((o) => (o.claim === '40') === o.generationCorrect).length);
  assert.equal(t.judge!.answer.agreement.n, 0, 'no mechanical V to agree with');
  const first = judgeCalls;
  assert.ok(first > 0);
  await runSelfKnowledge(selectTasks('qa'), model, opts);
  assert.equal(judgeCalls, first, 'judge verdicts come from the cache on a rerun');
  // Without a judge the record has no judge block and V stays n/a.
  const plain = await runSelfKnowledge(selectTasks('qa'), model, { items: 2, repeats: 1, quiet: true });
  assert.equal(plain.tasks.qa!.judge, undefined);
});

test('judge checker in a task file: reported apart from mechanical checks with their agreement; unparsable verdicts are failures', async () => {
  const tasks = parseTaskFile(`tasks:
  - id: t
    prompt: '{{q}}'
    items: [{ q: '40', ref: '40' }, { q: '41', ref: '40' }, { q: 'never parse', ref: '40' }]
    checks:
      - { type: exact, expected: '{{ref}}' }
      - { type: judge, reference: '{{ref}}', rubric: 'Numbers must match exactly.' }
`, 't.yaml');
  const echo = new ScriptedProvider((req) => req.messages[req.messages.length - 1]!.content);
  const seen: string[] = [];
  const judge = new ScriptedProvider((req) => {
    seen.push(req.messages[0]!.content);
    const answer = /Answer to grade:\n(.*)$/s.exec(req.messages[1]!.content)![1]!;
    if (answer === 'never parse') return 'maybe';
    return JSON.stringify({ reason: 'r', verdict: answer === '40' || answer === '41' ? 'correct' : 'incorrect' });
  }, { id: 'judge:lenient' });
  const r = await runUserTasks(tasks, echo, { judge, quiet: true });
  const s = r.tasks.t!;
  assert.equal(s.checks.exact!.value, 1 / 3);
  assert.equal(s.judge!.n, 3);
  assert.equal(s.judge!.failures, 1);
  assert.equal(s.judge!.correct, 2);
  assert.equal(s.judge!.rate, 1);
  assert.deepEqual([s.judge!.agreement.n, s.judge!.agreement.agree], [2, 1], 'the lenient judge disagrees with exact on 41');
  assert.ok(seen.every((x) => x.endsWith('Also: Numbers must match exactly.')));
  const noJudge = await runUserTasks(tasks, echo, { quiet: true });
  assert.equal(noJudge.tasks.t!.judge, undefined);
  assert.match(noJudge.warnings[0]!, /judge checker but no --judge/);
  // The request is frozen: temperature 0, seed 0, a schema with the verdict enum.
  const req = judgeRequest({ question: 'q', answer: 'a', reference: 'b' });
  assert.deepEqual([req.temperature, req.seed], [0, 0]);
  assert.deepEqual(parseJudge('{"reason": "x", "verdict": "correct"}'), { ok: true, correct: true, reason: 'x' });
  assert.equal(parseJudge('{"verdict": "yes"}').ok, false);
});
