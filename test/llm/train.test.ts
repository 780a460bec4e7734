// The small llama trainer: examples rendered as the provider asks, loss on the answer only,
// training lowers the loss, a resumed run equals an unbroken one, config errors name the key,
// and the train command writes a GGUF that the in-process provider loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBareNonFinite, RunRecorder } from '../../src/core/record.js';
import { LlamaCppProvider } from '../../src/llm/llamacpp.js';
import { countWords, evaluateArithmetic, ratToString } from '../../src/llm/checks.js';
import { arithmeticControl, familyCorpus } from '../../src/llm/train/selfknow-finetune.js';
import { runSelfKnowledge } from '../../src/llm/selfknow.js';
import { arithmeticTask } from '../../src/llm/tasks.js';
import { ParseError } from '../../src/core/errors.js';
import { renderPlain } from '../../src/llm/llamacpp.js';
import { batchAt, byteTokenizer, chatExamples, readTrainedGguf, runTrainCommand, shapeOf, lrAt, parseChatJsonl, readTrainConfig, resolveTrainConfig, trainLlama, type TrainConfigInput } from '../../src/llm/train/index.js';

const TINY: TrainConfigInput = { dim: 16, layers: 1, heads: 2, ffn: 32, contextLength: 64, batchSize: 4, steps: 8, warmupSteps: 2, lr: 1e-2, checkpointEvery: 0 };

function addition(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const a = i % 7, b = (3 * i) % 5;
    s += JSON.stringify({ messages: [{ role: 'user', content: `${a}+${b}=?` }, { role: 'assistant', content: String(a + b) }] }) + '\n';
  }
  return s;
}

test('chat examples: BOS + the plain-v1 prompt, then " " + the answer + EOS, loss from the answer on', () => {
  const tok = byteTokenizer();
  const conv = parseChatJsonl(JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }, { role: 'assistant', content: 'é' }] }) + '\n', 'x.jsonl');
  const d = chatExamples(conv, 256);
  assert.equal(d.examples.length, 2, 'one example per assistant turn');
  const second = d.examples[1];
  const prompt = renderPlain([{ role: 'system', content: 'S' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }]);
  assert.equal(second.ids[0], 1);
  assert.equal(tok.decode([...second.ids.slice(1, second.lossFrom)]), prompt);
  assert.equal(tok.decode([...second.ids.slice(second.lossFrom, -1)]), ' é');
  assert.equal(second.ids[second.ids.length - 1], 2, 'ends in EOS');
  assert.equal(d.targetTokens, 4 + 4, "' a1' + EOS and ' é' (2 bytes) + EOS");
  assert.equal(chatExamples(conv, 20).tooLong, 2, 'sequences over the context are dropped and counted');
  assert.throws(() => parseChatJsonl('{"messages": [{"role": "user", "content": "q"}]}\n', 'f.jsonl'), (e: Error) => e instanceof ParseError && /f\.jsonl:1/.test(e.message) && /assistant/.test(e.message));
  assert.throws(() => parseChatJsonl('{"messages": [{"role": "bot", "content": "q"}]}\n', 'f.jsonl'), /messages\[0\]\.role/);
});

test('warm-up then cosine: rises to lr, ends at lr x minRatio', () => {
  assert.ok(Math.abs(lrAt(0, 100, 1, 10, 0.1) - 0.1) < 1e-12);
  assert.ok(Math.abs(lrAt(9, 100, 1, 10, 0.1) - 1) < 1e-12);
  assert.ok(Math.abs(lrAt(10, 100, 1, 10, 0.1) - 1) < 1e-12);
  assert.ok(Math.abs(lrAt(100, 100, 1, 10, 0.1) - 0.1) < 1e-12);
  assert.ok(lrAt(55, 100, 1, 10, 0.1) < lrAt(30, 100, 1, 10, 0.1));
});

test('training lowers the answer loss; a resumed run equals an unbroken one', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-train-'));
  try {
    const data = chatExamples(parseChatJsonl(addition(40), 'a.jsonl'), 64);
    const config = resolveTrainConfig({ ...TINY, steps: 24 });
    const full = await trainLlama({ config, data, dataId: 'x', out: join(dir, 'full.gguf'), checkpoint: null, quiet: true });
    assert.ok(full.loss_curve.values[0] > 4, `starts near ln(354) = 5.9: ${full.loss_curve.values[0]}`);
    assert.ok(full.final_loss < full.loss_curve.values[0] - 1.5, `loss falls: ${full.loss_curve.values[0]} -> ${full.final_loss}`);
    assert.ok(full.tokens_per_s > 0 && Number.isFinite(full.tokens_per_s));
    // The answer tokens trained are the loss positions of the batches drawn.
    let weighted = 0;
    for (let step = 0; step < 24; step++) weighted += batchAt(data.examples, config, step).weights.reduce((a, w) => a + w, 0);
    assert.equal(full.trained_target_tokens, weighted);
    assert.ok(full.trained_target_tokens < full.tokens);
    const back = readTrainedGguf(join(dir, 'full.gguf'));
    assert.deepEqual(back.shape, shapeOf(config), 'the GGUF gives back the shape');
    const tuned = await trainLlama({ config: resolveTrainConfig({ ...TINY, steps: 1, lr: 1e-9 }), data, dataId: 'x', out: null, checkpoint: null, quiet: true, init: { ...back, from: 'full.gguf' } });
    assert.ok(Math.abs(tuned.loss_curve.values[0] - full.final_loss) < 0.6, `a fine-tune starts where the model ended: ${tuned.loss_curve.values[0]} vs ${full.final_loss}`);
    await assert.rejects(trainLlama({ config: resolveTrainConfig({ ...TINY, dim: 32 }), data, dataId: 'x', out: null, checkpoint: null, quiet: true, init: { ...back, from: 'full.gguf' } }), /full\.gguf: its dim 16 differ/);

    const short = resolveTrainConfig({ ...TINY, steps: 6 });
    const ckpt = join(dir, 'run.ckpt');
    const straight = await trainLlama({ config: short, data, dataId: 'x', out: join(dir, 'a.gguf'), checkpoint: null, quiet: true });
    const first = await trainLlama({ config: short, data, dataId: 'x', out: join(dir, 'b.gguf'), checkpoint: ckpt, stopAfter: 3, quiet: true });
    assert.equal(first.gguf, null, 'no GGUF before the last step');
    const rest = await trainLlama({ config: short, data, dataId: 'x', out: join(dir, 'b.gguf'), checkpoint: ckpt, resume: true, quiet: true });
    assert.equal(rest.resumedFrom, 3);
    assert.equal(rest.gguf!.sha256, straight.gguf!.sha256, 'same weights after 3 + 3 steps as after 6');
    await assert.rejects(trainLlama({ config: short, data, dataId: 'other', out: null, checkpoint: ckpt, resume: true, quiet: true }), /other training data/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train config: an unknown key or a bad shape is one error naming the file, line and key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-train-cfg-'));
  try {
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'dim: 32\nlayerz: 2\n');
    assert.throws(() => readTrainConfig(f), (e: Error) => e instanceof ParseError && /c\.yaml:2/.test(e.message) && /layerz/.test(e.message));
    writeFileSync(f, 'dim: 30\nheads: 4\n');
    assert.throws(() => readTrainConfig(f), /multiple of heads/);
    writeFileSync(f, 'dim: 24\nheads: 2\nsteps: 5\n');
    assert.equal(readTrainConfig(f).steps, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the train command writes a GGUF and a record body; the in-process provider loads it and selfknow runs on it', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-train-cli-'));
  try {
    const data = join(dir, 'd.jsonl'), cfg = join(dir, 'c.yaml'), out = join(dir, 'm.gguf');
    writeFileSync(data, addition(12));
    writeFileSync(cfg, Object.entries({ ...TINY, steps: 3, contextLength: 512 }).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
    const rec = new RunRecorder('llm train', {}, 0);
    const r = await runTrainCommand({ data, out, config: cfg, overrides: { seed: 4 }, checkpoint: join(dir, 'm.ckpt'), quiet: true }, rec);
    assert.equal(r.result.steps, 3);
    assert.equal(r.config.seed, 4, 'overrides apply after the file');
    assert.equal(r.data.examples, 12);
    const body = rec.finish({ config: r.config, data: r.data, ...r.result });
    assert.deepEqual(findBareNonFinite(body), []);
    const provider = new LlamaCppProvider({ modelPath: out, threads: 1 });
    try {
      const c = await provider.complete({ messages: [{ role: 'user', content: '1+2=?' }], maxTokens: 3, temperature: 0 });
      assert.equal(c.error, undefined, c.error?.message);
      // The selfknow prompts (about 250 tokens, answers up to 160) fit the 512-token context.
      const sk = await runSelfKnowledge([arithmeticTask], provider, { items: 1, repeats: 1, quiet: true });
      assert.equal(sk.errors.length, 0, sk.errors[0]?.message);
    } finally {
      await provider.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the family corpus answers each task prompt correctly (the checker agrees with every answer)', () => {
  const conv = familyCorpus(3, 6);
  assert.equal(conv.length, 24);
  for (const c of conv) {
    const a = JSON.parse(c[1].content) as { problem?: string; answer?: number; text?: string };
    const u = c[0].content;
    if (a.problem !== undefined) assert.equal(String(a.answer), ratToString(evaluateArithmetic(a.problem)));
    else if (u.startsWith('Compute the exact value of this expression: ')) {
      assert.equal(String(a.answer), ratToString(evaluateArithmetic(u.slice(44, u.indexOf('\n')))));
    } else if (a.text !== undefined) assert.equal(countWords(a.text), Number(/exactly (\d+) words/.exec(u)![1]));
    else assert.equal(a.answer, countWords(u.slice(u.indexOf('Text: ') + 6, u.lastIndexOf('\n'))));
  }
});

test('the control fine-tune data are correct arithmetic exchanges in the shape of the --export-finetune lines', () => {
  const conv = arithmeticControl(5, 7);
  assert.equal(conv.length, 7);
  for (const c of conv) {
    assert.deepEqual(c.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    const g = JSON.parse(c[1].content) as { problem: string; answer: number };
    assert.equal(String(g.answer), ratToString(evaluateArithmetic(g.problem)));
    assert.ok(c[2].content.startsWith(`Compute the exact value of this expression: ${g.problem}\n`));
    assert.deepEqual(JSON.parse(c[3].content), { answer: g.answer });
  }
  assert.notDeepEqual(arithmeticControl(6, 7), conv);
});
