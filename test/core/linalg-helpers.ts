// Shared helpers for the linear-algebra tests: random matrices and a float64 reference product.
import type { Matrix, Matrix32, Matrix64 } from '../../src/core/linalg/index.js';
import type { Rng } from '../../src/core/rng.js';

export function randn(rows: number, cols: number, rng: Rng): Matrix64 {
  return { rows, cols, data: rng.fillNormal(new Float64Array(rows * cols)) };
}

export function to32(m: Matrix64): Matrix32 {
  return { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}

/** alpha * a b in float64 whatever the input dtype. */
export function naive(a: Matrix, b: Matrix, alpha = 1): Matrix64 {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < b.cols; j++) {
    let s = 0;
    for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[k * b.cols + j]!;
    out[i * b.cols + j] = alpha * s;
  }
  return { rows: a.rows, cols: b.cols, data: out };
}
