// Seeded synthetic data, so tests and demos never need a download.
import type { Rng } from '../rng.js';
import { makeDataset, type Dataset } from './dataset.js';

export interface MixtureOptions {
  readonly classes: number;
  readonly perClass: number;
  /** Dimension of the latent Gaussian mixture. */
  readonly latentDim?: number;
  /** Output dimension after the fixed random nonlinear map. */
  readonly dim?: number;
  /** Distance scale between class means relative to unit within-class noise. */
  readonly separation?: number;
}

/**
 * Gaussian-mixture classes in a latent space, pushed through a fixed random map
 * x = tanh(W z + b) (W, b drawn from `rng.split('map')`), so the classes are not linearly placed.
 * The map and class means depend only on the seed, so train and test drawn with
 * `rng.split('train')` / `rng.split('test')` of the same parent share them.
 */
export function gaussianMixture(opts: MixtureOptions, rng: Rng, sampleStream = 'samples'): Dataset {
  const C = opts.classes, k = opts.latentDim ?? 16, d = opts.dim ?? 64, sep = opts.separation ?? 2.5;
  const mapRng = rng.split('map');
  const means = mapRng.fillNormal(new Float64Array(C * k), sep / Math.sqrt(2));
  const W = mapRng.fillNormal(new Float64Array(d * k), 1 / Math.sqrt(k));
  const b = mapRng.fillNormal(new Float64Array(d), 0.1);
  const s = rng.split(sampleStream);
  const n = C * opts.perClass;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const z = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    y[i] = c;
    for (let j = 0; j < k; j++) z[j] = means[c * k + j] + s.normal();
    for (let r = 0; r < d; r++) {
      let acc = b[r];
      for (let j = 0; j < k; j++) acc += W[r * k + j] * z[j];
      x[i * d + r] = Math.tanh(acc);
    }
  }
  return makeDataset({ x, y, d, source: `synthetic:mixture(C=${C},k=${k},d=${d},seed=${rng.seed},${sampleStream})` });
}

export interface PatternOptions {
  readonly classes: number;
  readonly perClass: number;
  readonly size?: number;
  readonly noise?: number;
}

/**
 * Image-like 28x28 (by default) grayscale classes: each class is a fixed random composition of
 * strokes and blobs; samples are shifted by up to 2 px, scaled in contrast and noised.
 */
export function imagePatterns(opts: PatternOptions, rng: Rng, sampleStream = 'samples'): Dataset {
  const C = opts.classes, S = opts.size ?? 28, noise = opts.noise ?? 0.15;
  const protoRng = rng.split('prototypes');
  const protos: Float32Array[] = [];
  for (let c = 0; c < C; c++) {
    const img = new Float32Array(S * S);
    const parts = 3 + protoRng.int(3);
    for (let p = 0; p < parts; p++) {
      const cx = protoRng.uniform(0.2, 0.8) * S, cy = protoRng.uniform(0.2, 0.8) * S;
      const angle = protoRng.uniform(0, Math.PI), len = protoRng.uniform(0.15, 0.45) * S, width = protoRng.uniform(1, 3);
      const blob = protoRng.next() < 0.35;
      for (let yy = 0; yy < S; yy++) for (let xx = 0; xx < S; xx++) {
        const dx = xx - cx, dy = yy - cy;
        let v: number;
        if (blob) v = Math.exp(-(dx * dx + dy * dy) / (2 * (len / 3) ** 2));
        else {
          const along = dx * Math.cos(angle) + dy * Math.sin(angle);
          const across = -dx * Math.sin(angle) + dy * Math.cos(angle);
          v = Math.abs(along) < len / 2 ? Math.exp(-(across * across) / (2 * width * width)) : 0;
        }
        img[yy * S + xx] = Math.max(img[yy * S + xx], v);
      }
    }
    protos.push(img);
  }
  const s = rng.split(sampleStream);
  const n = C * opts.perClass;
  const x = new Float32Array(n * S * S);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    y[i] = c;
    const sx = s.int(5) - 2, sy = s.int(5) - 2, contrast = s.uniform(0.7, 1.2);
    const o = i * S * S;
    for (let yy = 0; yy < S; yy++) for (let xx = 0; xx < S; xx++) {
      const X = xx - sx, Y = yy - sy;
      const base = X >= 0 && X < S && Y >= 0 && Y < S ? protos[c][Y * S + X] : 0;
      x[o + yy * S + xx] = Math.min(1, Math.max(0, contrast * base + noise * s.normal()));
    }
  }
  return makeDataset({ x, y, d: S * S, shape: [S, S, 1], source: `synthetic:patterns(C=${C},S=${S},seed=${rng.seed},${sampleStream})` });
}
