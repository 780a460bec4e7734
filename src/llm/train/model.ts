// The llama architecture on tfjs, laid out the way llama.cpp computes it, so a GGUF of these
// weights gives the same logits: RMSNorm (x / sqrt(mean x^2 + eps) * w), rotary embeddings on
// adjacent pairs (llama.cpp's "normal" rope for LLM_ARCH_LLAMA: pair (2i, 2i+1) of each head
// turns by pos * base^(-2i/headDim)), causal softmax attention scaled by 1/sqrt(headDim), a
// SwiGLU block down(silu(gate x) * up x), and an output layer tied to the token embedding or
// its own. Parameters are keyed by their GGUF tensor names and stored [out, in] (PyTorch
// layout); the GGUF dims are the same shape reversed.
import { tf } from '../../core/tensor.js';
import { getParam, normalInit, constInit, variable, type Params } from '../../core/nn.js';
import type { Rng } from '../../core/rng.js';

export interface LlamaShape {
  readonly vocab: number;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly ffn: number;
  readonly contextLength: number;
  readonly tiedEmbeddings: boolean;
  readonly ropeBase: number;
  readonly rmsEps: number;
}

/** Every parameter's name and [out, in] shape, in GGUF order. */
export function parameterShapes(s: LlamaShape): [string, number[]][] {
  const out: [string, number[]][] = [['token_embd.weight', [s.vocab, s.dim]], ['output_norm.weight', [s.dim]]];
  if (!s.tiedEmbeddings) out.push(['output.weight', [s.vocab, s.dim]]);
  for (let l = 0; l < s.layers; l++) {
    const b = `blk.${l}.`;
    out.push(
      [`${b}attn_norm.weight`, [s.dim]], [`${b}attn_q.weight`, [s.dim, s.dim]], [`${b}attn_k.weight`, [s.dim, s.dim]],
      [`${b}attn_v.weight`, [s.dim, s.dim]], [`${b}attn_output.weight`, [s.dim, s.dim]], [`${b}ffn_norm.weight`, [s.dim]],
      [`${b}ffn_gate.weight`, [s.ffn, s.dim]], [`${b}ffn_up.weight`, [s.ffn, s.dim]], [`${b}ffn_down.weight`, [s.dim, s.ffn]],
    );
  }
  return out;
}

export function parameterCount(s: LlamaShape): number {
  return parameterShapes(s).reduce((a, [, sh]) => a + sh.reduce((x, y) => x * y, 1), 0);
}

/** Norm weights 1; matrices N(0, std); the two projections into the residual scaled by 1/sqrt(2 layers). */
export function initParams(s: LlamaShape, rng: Rng, std: number): Params {
  const p: Params = new Map();
  for (const [name, shape] of parameterShapes(s)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const residual = name.endsWith('attn_output.weight') || name.endsWith('ffn_down.weight');
    const data = shape.length === 1 ? constInit(n, 1) : normalInit(rng.split(name), n, residual ? std / Math.sqrt(2 * s.layers) : std);
    p.set(name, variable(name, shape, data));
  }
  return p;
}

export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(w);
}

/** cos and sin of pos * base^(-2i/headDim), shape [T, headDim/2] each. */
export function ropeTables(T: number, headDim: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    // llama.cpp's float32 recurrence (theta *= theta_scale from theta = pos), so the angles round alike.
    const thetaScale = Math.fround(Math.pow(base, -2 / headDim));
    let theta = Math.fround(t);
    for (let i = 0; i < half; i++) {
      cos[t * half + i] = Math.cos(theta);
      sin[t * half + i] = Math.sin(theta);
      theta = Math.fround(theta * thetaScale);
    }
  }
  return { cos, sin };
}

/**
 * x [B, T, H, hd] rotated pairwise: (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos), written as
 * x * cos2 + swap(x) * sin2 with swap(x0, x1) = (x1, x0) a permutation matmul and cos2, sin2 the
 * angles repeated per pair (sin2 = (-sin, +sin)): a split on the last axis costs far more in wasm.
 */
function applyRope(x: tf.Tensor, r: RopeTensors): tf.Tensor {
  const [B, T, H, hd] = x.shape as [number, number, number, number];
  const swapped = tf.matMul(x.reshape([-1, hd]), r.swap).reshape([B, T, H, hd]);
  return x.mul(r.cos2).add(swapped.mul(r.sin2));
}

interface RopeTensors { cos2: tf.Tensor; sin2: tf.Tensor; swap: tf.Tensor2D }

function ropeTensors(T: number, hd: number, base: number): RopeTensors {
  const { cos, sin } = ropeTables(T, hd, base);
  const half = hd / 2;
  const c2 = new Float32Array(T * hd), s2 = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
    c2[t * hd + 2 * i] = c2[t * hd + 2 * i + 1] = cos[t * half + i];
    s2[t * hd + 2 * i] = -sin[t * half + i];
    s2[t * hd + 2 * i + 1] = sin[t * half + i];
  }
  const sw = new Float32Array(hd * hd);
  for (let i = 0; i < half; i++) { sw[(2 * i) * hd + 2 * i + 1] = 1; sw[(2 * i + 1) * hd + 2 * i] = 1; }
  return { cos2: tf.tensor(c2, [1, T, 1, hd]), sin2: tf.tensor(s2, [1, T, 1, hd]), swap: tf.tensor2d(sw, [hd, hd]) };
}

function mm(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const y = tf.matMul(x.reshape([-1, inDim]), w as tf.Tensor2D, false, true);
  return y.reshape([...x.shape.slice(0, -1), w.shape[0]!]);
}

/** Logits [B, T, V] for token ids [B, T] (int32), positions 0..T-1. Call inside tf.tidy or a gradient. */
export function forward(p: Params, s: LlamaShape, ids: tf.Tensor2D): tf.Tensor3D {
  const [B, T] = ids.shape;
  const hd = s.dim / s.heads;
  const rope = ropeTensors(T, hd, s.ropeBase);
  // -1e9 above the diagonal: exp underflows to exactly 0, as llama.cpp's -inf mask gives.
  const maskData = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskData[i * T + j] = -1e9;
  const mask = tf.tensor(maskData, [1, 1, T, T]);
  const embd = getParam(p, 'token_embd.weight');
  // One-hot times the table rather than tf.gather: gather's gradient (UnsortedSegmentSum) has no wasm kernel.
  let x: tf.Tensor = tf.matMul(tf.oneHot(ids.reshape([-1]) as tf.Tensor1D, s.vocab), embd as tf.Tensor2D).reshape([B, T, s.dim]);
  const scale = 1 / Math.sqrt(hd);
  for (let l = 0; l < s.layers; l++) {
    const w = (n: string): tf.Tensor => getParam(p, `blk.${l}.${n}.weight`);
    const h = rmsNorm(x, w('attn_norm'), s.rmsEps);
    const q = applyRope(mm(h, w('attn_q')).reshape([B, T, s.heads, hd]), rope).transpose([0, 2, 1, 3]);
    const k = applyRope(mm(h, w('attn_k')).reshape([B, T, s.heads, hd]), rope).transpose([0, 2, 1, 3]);
    const v = mm(h, w('attn_v')).reshape([B, T, s.heads, hd]).transpose([0, 2, 1, 3]);
    const att = tf.softmax(tf.matMul(q, k, false, true).mul(scale).add(mask));
    const o = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, T, s.dim]);
    x = x.add(mm(o, w('attn_output')));
    const f = rmsNorm(x, w('ffn_norm'), s.rmsEps);
    const g = mm(f, w('ffn_gate'));
    x = x.add(mm(g.mul(tf.sigmoid(g)).mul(mm(f, w('ffn_up'))), w('ffn_down')));
  }
  x = rmsNorm(x, getParam(p, 'output_norm.weight'), s.rmsEps);
  return mm(x, s.tiedEmbeddings ? embd : getParam(p, 'output.weight')) as tf.Tensor3D;
}

/**
 * Mean cross-entropy over the target positions: `targets` [B, T] holds the next token at each
 * position and `weights` [B, T] is 1 where the loss counts (answer tokens), 0 elsewhere.
 */
export function maskedLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  const V = logits.shape[2];
  const lse = tf.logSumExp(logits, -1);
  const picked = logits.mul(tf.oneHot(targets, V)).sum(-1);
  const nll = lse.sub(picked);
  return nll.mul(weights).sum().div(weights.sum().maximum(1)) as tf.Scalar;
}
