// Cross-modal alignment in miniature. Modality A: images (Fashion-MNIST when present, synthetic
// patterns otherwise) through an MLP encoder. Modality B, through a second small encoder, is either
// a stand-in (`text: 'attributes'`: a fixed random attribute vector per class plus Gaussian noise)
// or real text (`text: 'use'`): a caption per image composed from its class noun and attributes
// read off its pixels (brightness, size, width), embedded by the Universal Sentence Encoder lite.
// Both encoders feed one shared linear head (cross-entropy on both). The "+align" variant adds the
// cross-modal alignment loss over each class's group of features from both modalities.
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { quantile } from '../core/stats.js';
import type { Dataset } from '../core/data/index.js';
import { loadUse, type TextEmbedder } from './use.js';
import { progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { initTf, tf } from '../core/tensor.js';
import { measureFeatures } from './metrics.js';
import { crossModalAlignmentLoss } from './losses.js';
import { paired, type Paired } from './experiments.js';
import { accuracy, balancedIndices, featureMatrix, InfoMlp, supervisedData } from './train.js';

export interface AlignOptions {
  readonly seeds: number;
  readonly seed: number;
  readonly epochs: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly attrDim: number;
  /** Noise scale of the attribute modality (attributes have unit-variance entries). */
  readonly attrNoise: number;
  readonly features: number;
  readonly lambdaAlign: number;
  readonly batch: number;
  readonly lr: number;
  /** Modality B: the random-attribute stand-in, or captions embedded by USE lite. */
  readonly text: 'attributes' | 'use';
  readonly synthetic: boolean;
}

export const ALIGN_DEFAULTS: AlignOptions = {
  seeds: 5, seed: 0, epochs: 6, trainSize: 4000, testSize: 1000, attrDim: 16, attrNoise: 1.5, features: 32, lambdaAlign: 0.5, batch: 64, lr: 1e-3, text: 'attributes', synthetic: false,
};
export const ALIGN_QUICK: Partial<AlignOptions> = { seeds: 3, epochs: 3, trainSize: 2000 };

export interface AlignVariant {
  readonly name: string;
  readonly acc: { mean: number; std: number };
  readonly retrieval: { mean: number; std: number };
  readonly mi: { mean: number; std: number };
  /** Text only: test images classified by the nearest class description (through the text encoder). */
  readonly text_classification?: { mean: number; std: number };
  readonly per_seed: { acc: number[]; retrieval: number[]; mi: number[]; text_classification?: number[] };
}

export interface AlignResult {
  readonly stand_in: string;
  /** Which modality B is: the random-attribute stand-in or real text embedded by USE lite. */
  readonly text: 'attributes' | 'use';
  readonly data: string;
  readonly variants: AlignVariant[];
  readonly diff: { acc: Paired; retrieval: Paired; mi: Paired; text_classification?: Paired };
  /** Text only: the class descriptions and a few captions, as embedded. */
  readonly texts?: { descriptions: string[]; caption_examples: string[]; distinct_captions: number; encoder: string };
  readonly lambda_align: number;
  readonly seeds: number;
}

function attributes(C: number, k: number, rng: Rng): Float32Array {
  return rng.fillNormal(new Float32Array(C * k));
}
function attrSamples(labels: ArrayLike<number>, attr: Float32Array, k: number, noise: number, rng: Rng): tf.Tensor2D {
  const out = new Float32Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) for (let j = 0; j < k; j++) out[i * k + j] = attr[labels[i] * k + j] + noise * rng.normal();
  return tf.tensor2d(out, [labels.length, k]);
}

/** Modality B for one seed: training rows, a retrieval pool and rows paired with test images. */
interface ModalityB {
  readonly dim: number;
  train(rows: ArrayLike<number>, labels: Int32Array): tf.Tensor2D;
  /** Retrieval pool drawn from the test split (labels beside). */
  pool(): { x: tf.Tensor2D; y: Int32Array };
  /** Rows paired with these test images (the same order). */
  paired(testRows: ArrayLike<number>, labels: Int32Array): tf.Tensor2D;
  /** One row per class (text only): the class descriptions. */
  readonly descriptions?: tf.Tensor2D;
}

function attributeModality(C: number, o: AlignOptions, rng: Rng): ModalityB {
  const attr = attributes(C, o.attrDim, rng.split('attributes'));
  const noiseRng = rng.split('attr-noise'), evalRng = rng.split('eval');
  const poolLabels = Int32Array.from({ length: 20 * C }, (_, i) => i % C);
  return {
    dim: o.attrDim,
    train: (_rows, y) => attrSamples(y, attr, o.attrDim, o.attrNoise, noiseRng),
    pool: () => ({ x: attrSamples(poolLabels, attr, o.attrDim, o.attrNoise, evalRng.split('pool')), y: poolLabels }),
    paired: (_rows, y) => attrSamples(y, attr, o.attrDim, o.attrNoise, evalRng.split('mi-attr')),
  };
}

/** Class nouns (a few synonyms each) and one description per class, for Fashion-MNIST and MNIST. */
const FASHION_TEXT: readonly { nouns: string[]; description: string }[] = [
  { nouns: ['t-shirt', 'top', 'tee'], description: 'a short-sleeved t-shirt, a casual top for the upper body' },
  { nouns: ['pair of trousers', 'pair of pants', 'pair of slacks'], description: 'a pair of trousers, long pants with two legs' },
  { nouns: ['pullover', 'sweater', 'jumper'], description: 'a pullover, a knitted sweater with long sleeves' },
  { nouns: ['dress', 'gown', 'frock'], description: 'a dress, a one-piece garment with a skirt' },
  { nouns: ['coat', 'jacket', 'overcoat'], description: 'a coat, an outer jacket with sleeves and buttons' },
  { nouns: ['sandal', 'flip-flop', 'strappy sandal'], description: 'a sandal, an open summer shoe with straps' },
  { nouns: ['shirt', 'blouse', 'button-down shirt'], description: 'a shirt with a collar and buttons down the front' },
  { nouns: ['sneaker', 'trainer', 'running shoe'], description: 'a sneaker, a low sports shoe for running' },
  { nouns: ['bag', 'handbag', 'purse'], description: 'a bag, a handbag with a handle' },
  { nouns: ['ankle boot', 'boot', 'short boot'], description: 'an ankle boot, a shoe that covers the ankle' },
];
const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function classText(ds: Dataset): { nouns: string[]; description: string }[] {
  const names = ds.classNames;
  if (names.length === 10 && names[0] === 'T-shirt/top') return FASHION_TEXT.map((t) => ({ nouns: [...t.nouns], description: t.description }));
  if (names.length === 10 && names.every((n, i) => n === String(i))) return DIGITS.map((d, i) => ({ nouns: [`handwritten ${d}`, `digit ${d}`, `number ${i}`], description: `the handwritten digit ${d}` }));
  return names.map((n) => ({ nouns: [`${n}`, `${n} pattern`], description: `an image of ${n}` }));
}

/** Brightness of the lit pixels, lit area, and bounding-box width over height of one image. */
function pixelAttributes(ds: Dataset, r: number): [number, number, number] {
  const [h, w] = ds.shape ? [ds.shape[0], ds.shape[1]] : [1, ds.d];
  let lit = 0, sum = 0, r0 = h, r1 = -1, c0 = w, c1 = -1;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const v = ds.x[r * ds.d + i * w + j];
    if (v > 0.1) { lit++; sum += v; r0 = Math.min(r0, i); r1 = Math.max(r1, i); c0 = Math.min(c0, j); c1 = Math.max(c1, j); }
  }
  return [lit ? sum / lit : 0, lit / (h * w), lit ? (c1 - c0 + 1) / (r1 - r0 + 1) : 1];
}

const WORDS = [['dark', 'grey', 'bright'], ['small', 'medium-sized', 'large'], ['narrow', 'regular', 'wide']] as const;
const TEMPLATES = [
  (a: string[], n: string) => `a ${a[0]} ${a[1]} ${a[2]} ${n}`,
  (a: string[], n: string) => `a photo of a ${a[1]}, ${a[2]}, ${a[0]} ${n}`,
  (a: string[], n: string) => `a ${a[1]} ${n}, ${a[2]} in shape and ${a[0]} in colour`,
];

/**
 * Captions for every row of `ds`: a template, a class noun and three words read off the pixels
 * (terciles fixed on the training split). The template and noun are drawn per image from `rng`.
 */
export function composeCaptions(ds: Dataset, cuts: readonly (readonly [number, number])[], rng: Rng): string[] {
  const text = classText(ds);
  const out: string[] = [];
  for (let r = 0; r < ds.n; r++) {
    const a = pixelAttributes(ds, r).map((v, k) => WORDS[k][v < cuts[k][0] ? 0 : v < cuts[k][1] ? 1 : 2]);
    const nouns = text[ds.y[r]].nouns;
    out.push(TEMPLATES[rng.int(TEMPLATES.length)](a, nouns[rng.int(nouns.length)]));
  }
  return out;
}
export function attributeCuts(ds: Dataset): [number, number][] {
  const vals = [[], [], []] as number[][];
  for (let r = 0; r < ds.n; r++) pixelAttributes(ds, r).forEach((v, k) => vals[k].push(v));
  return vals.map((v) => [quantile(v, 1 / 3), quantile(v, 2 / 3)] as [number, number]);
}

interface TextData {
  readonly dim: number;
  readonly train: Float32Array;
  readonly test: Float32Array;
  readonly descriptions: Float32Array;
  readonly info: NonNullable<AlignResult['texts']>;
}

/** Captions of both splits and the class descriptions, each distinct string embedded once. */
async function embedTexts(train: Dataset, test: Dataset, embedder: TextEmbedder, rng: Rng): Promise<TextData> {
  const cuts = attributeCuts(train);
  const capTrain = composeCaptions(train, cuts, rng.split('train-captions')), capTest = composeCaptions(test, cuts, rng.split('test-captions'));
  const descriptions = classText(train).map((t) => t.description);
  const distinct = [...new Set([...capTrain, ...capTest, ...descriptions])];
  const at = new Map(distinct.map((t, i) => [t, i]));
  const E = await embedder.embed(distinct);
  const d = embedder.dim;
  const rows = (texts: string[]): Float32Array => {
    const out = new Float32Array(texts.length * d);
    texts.forEach((t, i) => out.set(E.subarray(at.get(t)! * d, (at.get(t)! + 1) * d), i * d));
    return out;
  };
  return {
    dim: d, train: rows(capTrain), test: rows(capTest), descriptions: rows(descriptions),
    info: { descriptions, caption_examples: capTrain.slice(0, 5), distinct_captions: distinct.length - descriptions.length, encoder: embedder.name },
  };
}

function textModality(t: TextData, test: Dataset, C: number, rng: Rng): ModalityB {
  const take = (src: Float32Array, rows: ArrayLike<number>): tf.Tensor2D => {
    const out = new Float32Array(rows.length * t.dim);
    for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i] * t.dim, (rows[i] + 1) * t.dim), i * t.dim);
    return tf.tensor2d(out, [rows.length, t.dim]);
  };
  const poolIdx = balancedIndices(test, 20, rng.split('eval').split('pool'));
  return {
    dim: t.dim,
    train: (rows) => take(t.train, rows),
    pool: () => ({ x: take(t.test, poolIdx), y: Int32Array.from(poolIdx, (r) => test.y[r]) }),
    paired: (rows) => take(t.test, rows),
    descriptions: tf.tensor2d(t.descriptions, [C, t.dim]),
  };
}

/** Optional dependencies of a run: the text encoder (default: USE lite from the optional package). */
export interface AlignDeps { readonly embedder?: TextEmbedder }

export async function runAlign(partial: Partial<AlignOptions> = {}, deps: AlignDeps = {}): Promise<AlignResult> {
  const o = withDefaults(ALIGN_DEFAULTS, partial, 'align');
  if (o.text !== 'attributes' && o.text !== 'use') throw new InputError(`align: --text must be attributes or use (got ${String(o.text)})`);
  await initTf();
  // The encoder first: an absent optional package fails before any data is read.
  const embedder = o.text === 'use' ? deps.embedder ?? await loadUse() : null;
  const data = supervisedData({ trainSize: o.trainSize, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed, images: true });
  const C = data.train.classNames.length;
  const text = embedder ? await embedTexts(data.train, data.test, embedder, new Rng(o.seed, 'info-align-text')) : null;
  const bar = progress('info align', 2 * o.seeds * o.epochs);
  type Acc = { acc: number[]; retrieval: number[]; mi: number[]; text_classification: number[] };
  const results: Record<string, Acc> = { baseline: { acc: [], retrieval: [], mi: [], text_classification: [] }, '+align': { acc: [], retrieval: [], mi: [], text_classification: [] } };
  for (const variant of ['baseline', '+align'] as const) {
    for (let s = 0; s < o.seeds; s++) {
      const rng = new Rng(o.seed + s, 'info-align');
      const mod = text ? textModality(text, data.test, C, rng) : attributeModality(C, o, rng);
      const A = new InfoMlp({ input: data.train.d, hidden: 128, features: o.features, classes: C }, rng.split('encA'));
      const B = new InfoMlp({ input: mod.dim, hidden: 32, features: o.features, classes: C }, rng.split('encB'));
      const params = [...A.parameters(), B.W1, B.b1, B.W2, B.b2];
      const opt = tf.train.adam(o.lr);
      const order = rng.split('order');
      const steps = Math.floor(data.train.n / o.batch);
      for (let e = 0; e < o.epochs; e++) {
        const perm = order.permutation(data.train.n);
        for (let st = 0; st < steps; st++) {
          const idx = perm.subarray(st * o.batch, (st + 1) * o.batch);
          const y = Int32Array.from(idx, (r) => data.train.y[r]);
          const xa = tf.tensor2d(Float32Array.from(Array.from(idx).flatMap((r) => Array.from(data.train.x.subarray(r * data.train.d, (r + 1) * data.train.d)))), [idx.length, data.train.d]);
          const xb = mod.train(idx, y);
          const target = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), C), 'float32'));
          const loss = opt.minimize(() => {
            const fa = A.features(xa), fb = B.features(xb);
            let l = tf.add(tf.losses.softmaxCrossEntropy(target, A.logits(fa)), tf.losses.softmaxCrossEntropy(target, A.logits(fb))) as tf.Scalar;
            if (variant === '+align') l = tf.add(l, tf.mul(o.lambdaAlign, crossModalAlignmentLoss(fa, fb, y, y))) as tf.Scalar;
            return l;
          }, true, params);
          tf.dispose([loss!, xa, xb, target]);
        }
        bar.tick();
      }
      opt.dispose();
      // Held-out evaluation.
      const evalRng = rng.split('eval');
      results[variant].acc.push(accuracy(A, data.test));
      const pool = mod.pool();
      const fbT = B.features(pool.x);
      const fb = { rows: pool.y.length, cols: o.features, data: Float64Array.from(fbT.dataSync()) };
      tf.dispose([pool.x, fbT]);
      const all = Int32Array.from({ length: data.test.n }, (_, i) => i);
      const fa = featureMatrix(A, data.test, all);
      results[variant].retrieval.push(retrievalAccuracy(fa.data, Int32Array.from(data.test.y), fb.data, pool.y, o.features));
      if (mod.descriptions) {
        const fdT = B.features(mod.descriptions);
        results[variant].text_classification.push(retrievalAccuracy(fa.data, Int32Array.from(data.test.y), Float64Array.from(fdT.dataSync()), Int32Array.from({ length: C }, (_, c) => c), o.features));
        tf.dispose([fdT, mod.descriptions]);
      }
      // MI between modalities on paired rows: 10 test images per class and their modality-B rows, same order.
      const eIdx = balancedIndices(data.test, 10, evalRng.split('mi'));
      const faE = featureMatrix(A, data.test, eIdx);
      const yE = Int32Array.from(eIdx, (r) => data.test.y[r]);
      const xbE = mod.paired(eIdx, yE);
      const fbE = B.features(xbE);
      const fbM = { rows: yE.length, cols: o.features, data: Float64Array.from(fbE.dataSync()) };
      tf.dispose([xbE, fbE]);
      let mi = NaN;
      try { mi = measureFeatures(faE, fbM).mi!; } catch { /* dead feature rows */ }
      results[variant].mi.push(mi);
      A.dispose(); B.dispose();
    }
  }
  bar.done();
  const ms = (xs: number[]): { mean: number; std: number } => ({ mean: mean(xs.filter(Number.isFinite)), std: std(xs.filter(Number.isFinite)) });
  const v = (name: string): AlignVariant => {
    const r = results[name];
    return {
      name, acc: ms(r.acc), retrieval: ms(r.retrieval), mi: ms(r.mi), ...(text ? { text_classification: ms(r.text_classification) } : {}),
      per_seed: { acc: r.acc, retrieval: r.retrieval, mi: r.mi, ...(text ? { text_classification: r.text_classification } : {}) },
    };
  };
  const b = results.baseline!, a = results['+align'];
  return {
    stand_in: text
      ? `Real text: A = ${data.source} images; B = one caption per image (a class noun and brightness, size and width words read off its pixels), embedded by ${text.info.encoder} (512-d); retrieval pool: captions of 20 held-out images per class; text classification: nearest class description`
      : `Stand-in modalities: A = ${data.source} images; B = a fixed random ${o.attrDim}-D attribute vector per class plus N(0, ${o.attrNoise}²) noise (a stand-in for text embeddings, not real text)`,
    text: o.text, data: data.source, variants: [v('baseline'), v('+align')], seeds: o.seeds, lambda_align: o.lambdaAlign,
    diff: { acc: paired(a.acc, b.acc), retrieval: paired(a.retrieval, b.retrieval), mi: paired(a.mi, b.mi), ...(text ? { text_classification: paired(a.text_classification, b.text_classification) } : {}) },
    ...(text ? { texts: text.info } : {}),
  };
}

/** Fraction of query rows whose nearest pool row (cosine) has the same label. */
export function retrievalAccuracy(q: Float64Array, qy: Int32Array, pool: Float64Array, py: Int32Array, d: number): number {
  const norm = (x: Float64Array, i: number): number => Math.sqrt(Array.from({ length: d }, (_, k) => x[i * d + k] ** 2).reduce((s, v) => s + v, 0)) || 1;
  const pn = Array.from({ length: py.length }, (_, j) => norm(pool, j));
  let right = 0;
  for (let i = 0; i < qy.length; i++) {
    let best = -Infinity, arg = -1;
    for (let j = 0; j < py.length; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += q[i * d + k] * pool[j * d + k];
      const c = dot / pn[j];
      if (c > best) { best = c; arg = j; }
    }
    if (py[arg] === qy[i]) right++;
  }
  return right / qy.length;
}
