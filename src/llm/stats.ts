// Estimators for repeated runs: unbiased pass@k and pass^k from c successes in n runs, and
// Wilson score intervals for proportions.

function binom(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function check(n: number, c: number, k: number): void {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new RangeError(`need integers 0 <= c <= n, 1 <= k <= n; got n=${n}, c=${c}, k=${k}`);
  }
}

/** P(at least one of k runs drawn without replacement from the n succeeds) = 1 - C(n-c,k)/C(n,k). */
export function passAtK(n: number, c: number, k: number): number {
  check(n, c, k);
  if (n - c < k) return 1;
  // Product form avoids large binomials: prod_{i=n-c+1}^{n} (1 - k/i).
  let r = 1;
  for (let i = n - c + 1; i <= n; i++) r *= 1 - k / i;
  return 1 - r;
}

/** P(all k runs drawn without replacement from the n succeed) = C(c,k)/C(n,k). */
export function passHatK(n: number, c: number, k: number): number {
  check(n, c, k);
  if (c < k) return 0;
  return binom(c, k) / binom(n, k);
}

/** 95 % (z = 1.96) Wilson score interval of x successes in n; [0, 1] for n = 0. */
export function wilson(x: number, n: number, z = 1.959963984540054): [number, number] {
  if (n === 0) return [0, 1];
  const p = x / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
