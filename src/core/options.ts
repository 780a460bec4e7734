// Option objects: one place that merges a caller's options over the defaults and turns a typo or a
// wrong type into an InputError naming the function, the key and what it accepts, so no area
// writes its own unknown-key loop.
import { InputError } from './errors.js';

type Kind = 'number' | 'boolean' | 'string' | 'array';

function kindOf(v: unknown): Kind | null {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return 'array';
  const t = typeof v;
  return t === 'number' || t === 'boolean' || t === 'string' ? t : null;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning a into b. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key a typo most likely meant: same letters ignoring case, or within a third of its length in edits. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestD) { best = k; bestD = d; }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Throws an InputError for the first key of `given` that is not in `known`:
 * `where: unknown option "key" (did you mean "k"?); known: a, b, c`.
 */
export function checkOptionKeys(given: object | undefined, known: readonly string[], where: string): void {
  if (given === undefined || given === null) return;
  for (const k of Object.keys(given)) {
    if (known.includes(k)) continue;
    const near = nearestKey(k, known);
    const hint = near !== undefined ? ` (did you mean ${JSON.stringify(near)}?)` : '';
    throw new InputError(`${where}: unknown option ${JSON.stringify(k)}${hint}; known: ${known.join(', ')}`);
  }
}

/**
 * `defaults` overridden by the keys `given` sets. A key that `defaults` lacks is an error; so is a
 * value whose type (number, boolean, string, array) differs from a default that is not
 * undefined or null. A given value of `undefined` leaves the default in place, so callers can pass
 * `{ epochs: flags.epochs }` straight through.
 */
export function withDefaults<T extends object>(defaults: T, given: Partial<T> | Record<string, unknown> | undefined, where: string): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (given === undefined || given === null) return out as T;
  checkOptionKeys(given, Object.keys(defaults), where);
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    const d = (defaults as Record<string, unknown>)[k];
    const want = d === undefined || d === null ? null : kindOf(d);
    if (want !== null && kindOf(v) !== want) {
      throw new InputError(`${where}: option ${JSON.stringify(k)} must be a${want === 'array' ? 'n' : ''} ${want}, got ${describe(v)}`);
    }
    out[k] = v;
  }
  return out as T;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : String(v);
  return `${typeof v} ${s}`;
}
