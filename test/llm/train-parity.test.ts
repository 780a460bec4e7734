// The trainer's forward pass and llama.cpp agree on the same weights: the GGUF our exporter
// writes gives llama.cpp the same tokens and the same next-token distribution at every position.
// llama.cpp runs with an f32 KV cache and no flash attention here; its defaults (the provider's)
// keep K and V in f16, which moves log-probabilities by about 1e-2 on these deliberately large
// random weights. Tolerance: |log p_ours - log p_llama.cpp| <= 1e-4 wherever p > 1e-6, and the
// whole distribution within 1e-5 in total variation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { disposeParams } from '../../src/core/nn.js';
import { renderPlain } from '../../src/llm/llamacpp.js';
import { forward, initParams, writeTrainedGguf, byteTokenizer, type LlamaShape } from '../../src/llm/train/index.js';

const PROMPTS = [
  renderPlain([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Zähle die Wörter: naïve café 日本' }, { role: 'assistant', content: '{"answer": 4}' }, { role: 'user', content: 'Sure? print(3 + 4)\n[1, 2]\t{"a": "b"}' }]),
];

test('same weights, same next-token distribution in our forward pass and in llama.cpp (tied and untied)', { timeout: 60_000 }, async () => {
  await initTf();
  const dir = mkdtempSync(join(tmpdir(), 'perennial-train-parity-'));
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
  const tok = byteTokenizer();
  try {
    for (const tied of [true, false]) {
      const s: LlamaShape = { vocab: tok.size, dim: 32, layers: 2, heads: 4, ffn: 48, contextLength: 256, tiedEmbeddings: tied, ropeBase: 10_000, rmsEps: 1e-5 };
      const p = initParams(s, new Rng(tied ? 1 : 2), 0.3);
      const path = join(dir, `m-${tied}.gguf`);
      writeTrainedGguf(path, s, p, 'parity');
      const model = await llama.loadModel({ modelPath: path });
      const ctx = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
      const seq = ctx.getSequence();
      try {
        for (const text of PROMPTS) {
          await seq.clearHistory();
          const ids = [1, ...tok.encode(text)];
          assert.deepEqual([...model.tokenize(text)], ids.slice(1), `llama.cpp tokenizes ${JSON.stringify(text)} as we do`);
          const lp = tf.tidy(() => tf.logSoftmax(forward(p, s, tf.tensor2d([ids], [1, ids.length], 'int32'))).arraySync() as number[][][]);
          const out = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]));
          let worstLog = 0, worstTv = 0;
          for (let t = 0; t < ids.length; t++) {
            const probs = out[t]?.next?.probabilities;
            assert.ok(probs, `probabilities at position ${t}`);
            let tv = 0;
            for (let v = 0; v < s.vocab; v++) {
              const q = probs.get(v) ?? 0;
              const mine = lp[0][t][v];
              tv += Math.abs(q - Math.exp(mine)) / 2;
              if (q > 1e-6) worstLog = Math.max(worstLog, Math.abs(Math.log(q) - mine));
            }
            worstTv = Math.max(worstTv, tv);
          }
          assert.ok(worstLog <= 1e-4, `tied=${tied}: max |dlogp| ${worstLog} over ${ids.length} positions`);
          assert.ok(worstTv <= 1e-5, `tied=${tied}: max total variation ${worstTv}`);
        }
      } finally {
        await ctx.dispose();
        await model.dispose();
        disposeParams(p);
      }
    }
  } finally {
    await llama.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
