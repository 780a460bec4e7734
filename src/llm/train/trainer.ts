// The training loop: batches of chat examples drawn from (seed, step), padded on the right to the
// longest in the batch, the loss on answer tokens only, AdamW with warm-up and cosine decay,
// global-norm clipping, checkpoints every `checkpointEvery` steps (resumable), progress with
// tokens/s, and the GGUF at the end.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { InputError, warn } from '../../core/errors.js';
import { assignValues, countParams, disposeParams, lossAndGrads, disposeGrads, type Params } from '../../core/nn.js';
import { progress, seconds } from '../../core/progress.js';
import { Rng } from '../../core/rng.js';
import { initTf, tf } from '../../core/tensor.js';
import { assertAllocatable } from '../../core/limits.js';
import type { TrainConfig } from './config.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { ChatData, TrainExample } from './data.js';
import { writeTrainedGguf } from './export.js';
import { forward, initParams, maskedLoss, parameterCount, type LlamaShape } from './model.js';
import { AdamW, clipFactor, lrAt } from './optim.js';
import { byteTokenizer, TOKEN_EOS } from './tokenizer.js';

export interface TrainRunOptions {
  readonly config: TrainConfig;
  readonly data: ChatData;
  /** Identifies the data in checkpoints (e.g. the file's SHA-256). */
  readonly dataId: string;
  /** Where the GGUF goes (null: keep the weights in memory only, as tests do). */
  readonly out: string | null;
  /** Checkpoint file (null: none). */
  readonly checkpoint: string | null;
  /** Continue from `checkpoint` when it exists. */
  readonly resume?: boolean;
  /** Stop after this many steps in this call (the run can be resumed); default: all. */
  readonly stopAfter?: number;
  readonly quiet?: boolean;
  /** Start from these weights (a fine-tune; `readTrainedGguf`) instead of a random init; shapes must match the config. */
  readonly init?: { readonly shape: LlamaShape; readonly values: ReadonlyMap<string, Float32Array>; readonly from: string };
  /** Called with the parameters before they are disposed (tests read them). */
  readonly onParams?: (p: Params, shape: LlamaShape) => void | Promise<void>;
}

export interface TrainResult {
  readonly parameters: number;
  readonly examples: number;
  readonly steps: number;
  readonly resumedFrom: number | null;
  /** Tokens in the batches (padding excluded) per second of training steps. */
  readonly tokens_per_s: number;
  readonly tokens: number;
  /** Answer (loss) tokens in the training data, each counted once. */
  readonly target_tokens: number;
  /** Answer tokens in the batches of this call's steps (a token drawn twice counts twice). */
  readonly trained_target_tokens: number;
  /** Mean loss over the last 10 % of the steps run (at least one). */
  readonly final_loss: number;
  /** Loss every `every` steps (mean over the window). */
  readonly loss_curve: { readonly every: number; readonly values: readonly number[] };
  readonly grad_norm_last: number;
  readonly train_seconds: number;
  readonly gguf: { readonly path: string; readonly bytes: number; readonly sha256: string } | null;
}

export function shapeOf(c: TrainConfig): LlamaShape {
  return { vocab: byteTokenizer().size, dim: c.dim, layers: c.layers, heads: c.heads, ffn: c.ffn, contextLength: c.contextLength, tiedEmbeddings: c.tiedEmbeddings, ropeBase: c.ropeBase, rmsEps: c.rmsEps };
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface Batch { ids: Int32Array; targets: Int32Array; weights: Float32Array; B: number; T: number; tokens: number; answerTokens: number }

/** The batch of `step`: examples drawn with replacement from a stream named by the step. */
export function batchAt(examples: readonly TrainExample[], c: TrainConfig, step: number): Batch {
  const rng = new Rng(c.seed, `llm-train/batch/${step}`);
  const picked = Array.from({ length: c.batchSize }, () => examples[rng.int(examples.length)]);
  const T = Math.max(...picked.map((e) => e.ids.length)) - 1;
  const B = picked.length;
  const ids = new Int32Array(B * T).fill(TOKEN_EOS), targets = new Int32Array(B * T).fill(TOKEN_EOS), weights = new Float32Array(B * T);
  let tokens = 0, answerTokens = 0;
  picked.forEach((e, b) => {
    const n = e.ids.length - 1;
    tokens += e.ids.length;
    answerTokens += e.ids.length - e.lossFrom;
    for (let j = 0; j < n; j++) {
      ids[b * T + j] = e.ids[j];
      targets[b * T + j] = e.ids[j + 1];
      // Position j predicts token j + 1: it counts when that token belongs to the answer.
      if (j + 1 >= e.lossFrom) weights[b * T + j] = 1;
    }
  });
  return { ids, targets, weights, B, T, tokens, answerTokens };
}

/** Bytes a step needs, roughly: logits and their gradient, attention maps, activations, weights x 4. */
function stepBytes(s: LlamaShape, c: TrainConfig): number {
  const BT = c.batchSize * c.contextLength;
  const perLayer = BT * (8 * s.dim + 3 * s.ffn) + c.batchSize * s.heads * c.contextLength * c.contextLength * 2;
  return 4 * (3 * BT * s.vocab + s.layers * perLayer * 2 + 4 * parameterCount(s));
}

export async function trainLlama(o: TrainRunOptions): Promise<TrainResult> {
  await initTf();
  const c = o.config;
  const s = shapeOf(c);
  assertAllocatable(stepBytes(s, c), `training (batch ${c.batchSize} x context ${c.contextLength}, dim ${c.dim}, ${c.layers} layers)`, 'llm train');
  if (o.data.examples.length === 0) throw new InputError('llm train: no training examples');
  const p = initParams(s, new Rng(c.seed, 'llm-train/init'), c.initStd);
  if (o.init) {
    const a = o.init.shape;
    const diff = (Object.keys(s) as (keyof LlamaShape)[]).filter((k) => k !== 'contextLength' && a[k] !== s[k]);
    if (diff.length) { disposeParams(p); throw new InputError(`${o.init.from}: its ${diff.map((k) => `${k} ${a[k]}`).join(', ')} differ from the config's ${diff.map((k) => s[k]).join(', ')}; a fine-tune keeps the model's shape`); }
    for (const [name, v] of p) assignValues(v, o.init.values.get(name)!);
  }
  const opt = new AdamW({ beta1: c.beta1, beta2: c.beta2, eps: c.adamEps, weightDecay: c.weightDecay }, (v) => v.shape.length === 2);
  try {
    let start = 0;
    let resumedFrom: number | null = null;
    const losses: number[] = [];
    if (o.resume && o.checkpoint && existsSync(o.checkpoint)) {
      for (const v of p.values()) opt.state(v);
      const h = loadCheckpoint(o.checkpoint, p, opt, (v) => opt.state(v));
      if (JSON.stringify(h.config) !== JSON.stringify(c)) throw new InputError(`${o.checkpoint}: the checkpoint was written with another config; remove it or train with the same config`);
      if (h.dataSha256 !== o.dataId) throw new InputError(`${o.checkpoint}: the checkpoint was written for other training data; remove it or train on the same file`);
      start = h.step;
      resumedFrom = h.step;
      losses.push(...h.lossHistory);
    } else if (o.resume && o.checkpoint) warn('llm.train.no-checkpoint', `${o.checkpoint} does not exist yet; training from step 0`);
    const end = Math.min(c.steps, o.stopAfter === undefined ? c.steps : start + o.stopAfter);
    const vars = [...p.values()];
    const bar = progress('llm train', end - start, { quiet: o.quiet });
    let tokens = 0, answerTokens = 0, trainTime = 0, gradNorm = 0;
    const save = (step: number): void => {
      if (o.checkpoint) saveCheckpoint(o.checkpoint, p, opt, { config: c, dataSha256: o.dataId, step, lossHistory: losses });
    };
    for (let step = start; step < end; step++) {
      const t0 = seconds();
      const b = batchAt(o.data.examples, c, step);
      const ids = tf.tensor2d(b.ids, [b.B, b.T], 'int32');
      const targets = tf.tensor2d(b.targets, [b.B, b.T], 'int32');
      const weights = tf.tensor2d(b.weights, [b.B, b.T], 'float32');
      const { loss, grads } = lossAndGrads(() => maskedLoss(forward(p, s, ids), targets, weights), vars);
      ids.dispose(); targets.dispose(); weights.dispose();
      if (!Number.isFinite(loss)) { disposeGrads(grads); throw new InputError(`llm train: the loss became ${loss} at step ${step}; lower lr (now ${c.lr})`); }
      const { norm, factor } = clipFactor(grads, c.gradClip);
      gradNorm = norm;
      opt.step(grads, lrAt(step, c.steps, c.lr, c.warmupSteps, c.minLrRatio), factor);
      disposeGrads(grads);
      losses.push(loss);
      tokens += b.tokens;
      answerTokens += b.answerTokens;
      trainTime += seconds() - t0;
      bar.tick(1, `loss ${loss.toFixed(3)} ${(tokens / trainTime).toFixed(0)} tok/s`);
      if (c.checkpointEvery > 0 && (step + 1) % c.checkpointEvery === 0 && step + 1 < end) save(step + 1);
    }
    bar.done(`loss ${losses.length ? losses[losses.length - 1].toFixed(3) : 'n/a'}`);
    save(end);
    let gguf: TrainResult['gguf'] = null;
    if (o.out && end >= c.steps) {
      const e = writeTrainedGguf(o.out, s, p, c.name);
      gguf = { path: o.out, bytes: e.bytes.length, sha256: e.sha256 };
    }
    await o.onParams?.(p, s);
    const ran = losses.slice(start);
    const tail = ran.slice(-Math.max(1, Math.floor(ran.length / 10)));
    const every = Math.max(1, Math.ceil(losses.length / 50));
    const curve: number[] = [];
    for (let i = 0; i < losses.length; i += every) {
      const w = losses.slice(i, i + every);
      curve.push(w.reduce((a, x) => a + x, 0) / w.length);
    }
    return {
      parameters: countParams(p), examples: o.data.examples.length, steps: end, resumedFrom,
      tokens_per_s: trainTime > 0 ? tokens / trainTime : 0, tokens, target_tokens: o.data.targetTokens, trained_target_tokens: answerTokens,
      final_loss: tail.length ? tail.reduce((a, x) => a + x, 0) / tail.length : losses[losses.length - 1] ?? 0,
      loss_curve: { every, values: curve }, grad_norm_last: gradNorm, train_seconds: trainTime, gguf,
    };
  } finally {
    opt.dispose();
    disposeParams(p);
  }
}
