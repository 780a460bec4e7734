import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checks, parseStrictJson, passAtK, passHatK, wilson } from '../../src/llm/index.js';

const { countWords, countSentences, countChars, evaluateArithmetic, ratToString, polynomialIdentityHolds, isTautology, runJavaScript, normaliseAnswer } = checks;

test('word count follows the stated convention', () => {
  assert.equal(countWords('The well-known cat sat.'), 4);
  assert.equal(countWords('  one\ttwo\nthree  '), 3);
  assert.equal(countWords('a - b — c 42'), 4, 'lone dashes are not words; numbers are');
  assert.equal(countWords(''), 0);
  assert.equal(countWords('naïve café'), 2);
});

test('sentence and character counts', () => {
  assert.equal(countSentences('One. Two! Three? Four'), 3);
  assert.equal(countSentences('Wait... really?! Yes.'), 3);
  assert.equal(countSentences('3.5 is a number.'), 1);
  assert.equal(countChars('e\u0301a'), 2, 'NFC joins e + combining accent');
  assert.equal(countChars('a b'), 3);
  assert.equal(countChars('😀'), 1);
});

test('exact rational arithmetic (no floating point, no eval)', () => {
  assert.equal(ratToString(evaluateArithmetic('2 + 3 * (4 - 1)')), '11');
  assert.equal(ratToString(evaluateArithmetic('-(7 - 10) * 2')), '6');
  assert.equal(ratToString(evaluateArithmetic('1/3 + 1/6')), '1/2');
  assert.equal(ratToString(evaluateArithmetic('0.1 + 0.2')), '3/10');
  assert.equal(ratToString(evaluateArithmetic('2^10 - 24')), '1000');
  assert.equal(ratToString(evaluateArithmetic('99999999999 * 99999999999')), '9999999999800000000001');
  for (const bad of ['1 +', '(2', 'process.exit()', '1/0', 'x + 1', '2^99']) assert.throws(() => evaluateArithmetic(bad), bad);
});

test('arithmetic evaluation agrees with integer evaluation on random expressions', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 2, maxLength: 6 }), fc.array(fc.constantFrom('+', '-', '*'), { minLength: 5, maxLength: 5 }), (nums, ops) => {
    let src = String(nums[0]);
    let terms: bigint[] = [BigInt(nums[0]!)];
    let signs: bigint[] = [1n];
    for (let i = 1; i < nums.length; i++) {
      const op = ops[i - 1]!;
      src += ` ${op} ${nums[i]}`;
      if (op === '*') terms[terms.length - 1]! *= BigInt(nums[i]!);
      else { terms.push(BigInt(nums[i]!)); signs.push(op === '+' ? 1n : -1n); }
    }
    const want = terms.reduce((a, t, i) => a + signs[i]! * t, 0n);
    assert.equal(ratToString(evaluateArithmetic(src)), want.toString());
    terms = []; signs = [];
  }), { numRuns: 200 });
});

test('polynomial identities are decided exactly', () => {
  assert.equal(polynomialIdentityHolds('(x+1)^2 = x^2 + 2*x + 1'), true);
  assert.equal(polynomialIdentityHolds('(x+1)^2 = x^2 + 1'), false);
  assert.equal(polynomialIdentityHolds('(x-1)(x+1) = x^2 - 1'), true);
  assert.equal(polynomialIdentityHolds('x^3 - x = x(x-1)(x+1)'), true);
  assert.equal(polynomialIdentityHolds('x^3 = x'), false, 'agrees at -1, 0, 1 but is not an identity');
  assert.equal(polynomialIdentityHolds('x/2 + x/2 = x'), true);
  assert.throws(() => polynomialIdentityHolds('1/x = x'));
  assert.throws(() => polynomialIdentityHolds('x + 1'));
});

test('propositional tautologies by truth table', () => {
  assert.equal(isTautology('p or not p'), true);
  assert.equal(isTautology('(p and q) -> p'), true);
  assert.equal(isTautology('p -> q'), false);
  assert.equal(isTautology('(p -> q) <-> (not q -> not p)'), true);
  assert.equal(isTautology('p ∧ ¬p → q'), true);
  assert.throws(() => isTautology('p and'));
});

test('code runs in a separate process with a timeout and without file-system access', () => {
  assert.equal(runJavaScript('console.log(6 * 7)').stdout.trim(), '42');
  const t = runJavaScript('for(;;){}', 500);
  assert.equal(t.timedOut, true);
  const fsTry = runJavaScript('require("fs").writeFileSync("x.txt", "1"); console.log(1)');
  assert.notEqual(fsTry.status, 0, 'writing a file is refused by the permission model');
});

test('Q&A normalisation', () => {
  assert.equal(normaliseAnswer('  The  Moon! '), 'the moon');
});

test('strict JSON parsing never falls back', () => {
  const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
  assert.deepEqual(parseStrictJson(' {"answer": 12} ', schema), { ok: true, value: { answer: 12 } });
  const kinds = ['', 'The answer is 12', '```json\n{"answer": 12}\n```', '{"answer": 12.5}', '{"answer": "12"}', '{"answer": 1, "x": 2}', '{}', '[12]']
    .map((t) => { const r = parseStrictJson(t, schema); return r.ok ? 'ok' : r.kind; });
  assert.deepEqual(kinds, ['empty', 'not_json', 'not_json', 'schema', 'schema', 'schema', 'schema', 'schema']);
  const e = parseStrictJson('{"answer": "maybe"}', { type: 'object', properties: { answer: { enum: ['true', 'false'] } } });
  assert.equal(e.ok, false);
});

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

test('pass@k and pass^k match enumeration over all k-subsets', () => {
  for (let n = 1; n <= 7; n++) for (let c = 0; c <= n; c++) for (let k = 1; k <= n; k++) {
    // Enumerate subsets of size k of n runs where the first c succeed.
    let any = 0, all = 0, total = 0;
    for (let m = 0; m < 1 << n; m++) {
      let bits = 0, succ = 0;
      for (let i = 0; i < n; i++) if ((m >> i) & 1) { bits++; if (i < c) succ++; }
      if (bits !== k) continue;
      total++;
      if (succ > 0) any++;
      if (succ === k) all++;
    }
    assert.equal(total, choose(n, k));
    assert.ok(Math.abs(passAtK(n, c, k) - any / total) < 1e-12, `pass@k n=${n} c=${c} k=${k}`);
    assert.ok(Math.abs(passHatK(n, c, k) - all / total) < 1e-12, `pass^k n=${n} c=${c} k=${k}`);
  }
  assert.throws(() => passHatK(3, 4, 1));
});

test('Wilson interval contains the estimate and shrinks with n', () => {
  const [a, b] = wilson(5, 10);
  assert.ok(a < 0.5 && b > 0.5 && a > 0.2 && b < 0.8);
  const [c, d] = wilson(50, 100);
  assert.ok(d - c < b - a);
  assert.deepEqual(wilson(0, 0), [0, 1]);
  assert.equal(wilson(0, 20)[0], 0);
});
