// Training throughput of the llama trainer beside PyTorch CPU for the same architecture
// (bench/peers/llama_twin.py), measured in the same run: random token batches, loss on every
// position, AdamW and clipping as in training. Tokens/s = batch x sequence x steps / seconds,
// best of `rounds` chunks for each engine. `npm run bench -- llm-train [--quick]`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePythonModule, PEER_DIR, PythonWorker } from '../../core/bench/python.js';
import { lossAndGrads, disposeGrads, disposeParams } from '../../core/nn.js';
import { progress } from '../../core/progress.js';
import { RunRecorder, writeRecord } from '../../core/record.js';
import { Rng } from '../../core/rng.js';
import { initTf, tf } from '../../core/tensor.js';
import { forward, initParams, maskedLoss, parameterCount, type LlamaShape } from './model.js';
import { AdamW, clipFactor } from './optim.js';
import { byteTokenizer } from './tokenizer.js';

export interface LlamaBenchRow {
  readonly engine: string;
  readonly threads: number;
  readonly tokens_per_s: number;
}

export interface LlamaBenchResult {
  readonly shape: LlamaShape;
  readonly parameters: number;
  readonly batch: number;
  readonly seq: number;
  readonly rows: readonly LlamaBenchRow[];
  /** perennial's tokens/s over PyTorch's at one thread (null without PyTorch). */
  readonly ratio_vs_torch_1thread: number | null;
  readonly ratio_vs_torch_1thread_reason?: string;
}

export async function benchLlamaTrain(o: { quick?: boolean; json?: string } = {}): Promise<LlamaBenchResult> {
  await initTf();
  const quick = o.quick ?? false;
  const shape: LlamaShape = quick
    ? { vocab: byteTokenizer().size, dim: 64, layers: 2, heads: 2, ffn: 176, contextLength: 64, tiedEmbeddings: true, ropeBase: 10_000, rmsEps: 1e-5 }
    : { vocab: byteTokenizer().size, dim: 256, layers: 4, heads: 4, ffn: 704, contextLength: 256, tiedEmbeddings: true, ropeBase: 10_000, rmsEps: 1e-5 };
  const B = quick ? 4 : 16, T = shape.contextLength;
  const steps = quick ? 3 : 5, rounds = quick ? 2 : 3, warmup = quick ? 1 : 2;
  const rec = new RunRecorder('bench llm-train', { quick, shape, B, T, steps, rounds }, 0);
  const rows: LlamaBenchRow[] = [];
  const bar = progress('bench llm-train', 2);

  await rec.time('perennial', () => {
    const rng = new Rng(0, 'bench/llm-train');
    const p = initParams(shape, rng, 0.02);
    const opt = new AdamW({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 }, (v) => v.shape.length === 2);
    const ids = new Int32Array(B * (T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = rng.int(shape.vocab);
    const x = tf.tidy(() => tf.tensor2d(ids, [B, T + 1], 'int32').slice([0, 0], [B, T]) as tf.Tensor2D);
    const y = tf.tidy(() => tf.tensor2d(ids, [B, T + 1], 'int32').slice([0, 1], [B, T]) as tf.Tensor2D);
    const w = tf.ones([B, T]) as tf.Tensor2D;
    const vars = [...p.values()];
    const step = (): void => {
      const { grads } = lossAndGrads(() => maskedLoss(forward(p, shape, x), y, w), vars);
      const { factor } = clipFactor(grads, 1);
      opt.step(grads, 1e-3, factor);
      disposeGrads(grads);
    };
    for (let i = 0; i < warmup; i++) step();
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) step();
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    rows.push({ engine: 'perennial (tfjs-wasm)', threads: 1, tokens_per_s: (B * T * steps) / best });
    tf.dispose([x, y, w]);
    opt.dispose();
    disposeParams(p);
  });
  bar.tick();

  let reason: string | undefined;
  if (ensurePythonModule('torch', 'python3-torch')) {
    await rec.time('pytorch', async () => {
      const worker = new PythonWorker(readFileSync(join(PEER_DIR, 'llama_twin.py'), 'utf8'));
      try {
        const v = await worker.ready();
        for (const threads of [1, 2]) {
          const r = await worker.request({ ...shape, T, B, tied: shape.tiedEmbeddings, threads, steps, rounds, warmup });
          rows.push({ engine: `pytorch ${String(v.version)} CPU`, threads: Number(r.threads), tokens_per_s: (B * T * steps) / Number(r.s) });
        }
      } finally {
        worker.close();
      }
    });
  } else reason = 'PyTorch (python3-torch) not available';
  bar.done();

  const torch1 = rows.find((r) => r.engine.startsWith('pytorch') && r.threads === 1);
  const result: LlamaBenchResult = {
    shape, parameters: parameterCount(shape), batch: B, seq: T, rows,
    ratio_vs_torch_1thread: torch1 ? rows[0].tokens_per_s / torch1.tokens_per_s : null,
    ...(torch1 ? {} : { ratio_vs_torch_1thread_reason: reason ?? 'no PyTorch row' }),
  };
  for (const r of rows) process.stdout.write(`${r.engine.padEnd(28)} threads ${r.threads}: ${r.tokens_per_s.toFixed(0)} tokens/s\n`);
  if (result.ratio_vs_torch_1thread !== null) process.stdout.write(`perennial / pytorch (1 thread): ${result.ratio_vs_torch_1thread.toFixed(3)}\n`);
  if (o.json) writeRecord(o.json, rec.finish(result));
  return result;
}
