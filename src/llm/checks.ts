// Mechanical checkers: the true value of a property of model-made content, computed exactly.
// Counting conventions here are the ones the prompts state. Arithmetic is exact rational
// arithmetic over BigInt by a small parser (never `eval`); polynomial identities are decided
// exactly by evaluating both sides at deg+1 points; propositional claims by truth table; code
// runs in a separate Node process with a timeout, an empty folder, an empty environment and
// Node's permission model (no file system writes, no child processes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Words: split on Unicode whitespace; a token counts if it has a letter or digit; a hyphenated compound is one word. */
export function countWords(text: string): number {
  return text.split(/\s+/u).filter((t) => /[\p{L}\p{N}]/u.test(t)).length;
}

/** Sentences: runs of `.`, `!` or `?` followed by whitespace or the end of the text. */
export function countSentences(text: string): number {
  return (text.match(/[.!?]+(?=\s|$)/gu) ?? []).length;
}

/** Characters: Unicode code points after NFC normalisation, spaces included. */
export function countChars(text: string): number {
  return [...text.normalize('NFC')].length;
}

/** Lower-case, NFC, punctuation removed, whitespace collapsed: for exact-match Q&A answers. */
export function normaliseAnswer(s: string): string {
  return s.normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, ' ').replace(/\s+/gu, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Exact rationals

export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

const babs = (a: bigint): bigint => (a < 0n ? -a : a);
function gcd(a: bigint, b: bigint): bigint {
  a = babs(a); b = babs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}
export function rat(n: bigint, d: bigint = 1n): Rational {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) { n = -n; d = -d; }
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}
const add = (a: Rational, b: Rational): Rational => rat(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Rational, b: Rational): Rational => rat(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Rational, b: Rational): Rational => rat(a.n * b.n, a.d * b.d);
const div = (a: Rational, b: Rational): Rational => rat(a.n * b.d, a.d * b.n);
export const ratEquals = (a: Rational, b: Rational): boolean => a.n === b.n && a.d === b.d;
export function ratToString(a: Rational): string {
  return a.d === 1n ? a.n.toString() : `${a.n}/${a.d}`;
}

type Expr =
  | { k: 'num'; v: Rational }
  | { k: 'x' }
  | { k: 'neg'; a: Expr }
  | { k: 'bin'; op: '+' | '-' | '*' | '/'; a: Expr; b: Expr }
  | { k: 'pow'; a: Expr; e: number };

export class ExprError extends Error {
  override readonly name = 'ExprError';
}

const MAX_EXPR_CHARS = 400;
const MAX_POW = 12;

/** Parse an arithmetic expression: integers/decimals, x (when allowed), + - * / ^, parentheses, unary minus. */
export function parseExpr(src: string, allowX = false): Expr {
  if (src.length > MAX_EXPR_CHARS) throw new ExprError(`expression longer than ${MAX_EXPR_CHARS} characters`);
  const s = src.replace(/[×·]/g, '*').replace(/÷/g, '/').replace(/[−–]/g, '-').replace(/\*\*/g, '^');
  let i = 0;
  const ws = (): void => { while (i < s.length && /\s/.test(s[i])) i++; };
  const peek = (): string => { ws(); return s[i] ?? ''; };
  const expr = (): Expr => {
    let a = term();
    for (;;) {
      const c = peek();
      if (c === '+' || c === '-') { i++; a = { k: 'bin', op: c, a, b: term() }; } else return a;
    }
  };
  const term = (): Expr => {
    let a = unary();
    for (;;) {
      const c = peek();
      if (c === '*' || c === '/') { i++; a = { k: 'bin', op: c, a, b: unary() }; }
      else if (allowX && (c === 'x' || c === '(')) a = { k: 'bin', op: '*', a, b: unary() }; // implicit 2x, 3(x+1)
      else return a;
    }
  };
  const unary = (): Expr => {
    const c = peek();
    if (c === '-') { i++; return { k: 'neg', a: unary() }; }
    if (c === '+') { i++; return unary(); }
    return power();
  };
  const power = (): Expr => {
    const a = primary();
    if (peek() === '^') {
      i++;
      ws();
      const m = /^\d+/.exec(s.slice(i));
      if (!m) throw new ExprError(`exponent must be a non-negative integer at ${i}`);
      i += m[0].length;
      const e = Number(m[0]);
      if (e > MAX_POW) throw new ExprError(`exponent ${e} above ${MAX_POW}`);
      return { k: 'pow', a, e };
    }
    return a;
  };
  const primary = (): Expr => {
    const c = peek();
    if (c === '(') {
      i++;
      const e = expr();
      if (peek() !== ')') throw new ExprError(`missing ) at ${i}`);
      i++;
      return e;
    }
    if (allowX && c === 'x') { i++; return { k: 'x' }; }
    const m = /^(\d+)(?:\.(\d+))?/.exec(s.slice(i));
    if (!m) throw new ExprError(`expected a number${allowX ? ' or x' : ''} at ${i}, found ${JSON.stringify(s.slice(i, i + 10))}`);
    i += m[0].length;
    const frac = m[2] ?? '';
    return { k: 'num', v: rat(BigInt(m[1] + frac), 10n ** BigInt(frac.length)) };
  };
  const e = expr();
  if (peek() !== '') throw new ExprError(`unexpected ${JSON.stringify(s.slice(i, i + 10))} at ${i}`);
  return e;
}

/** Polynomial degree bound in x; throws when dividing by a non-constant. */
export function degree(e: Expr): number {
  switch (e.k) {
    case 'num': return 0;
    case 'x': return 1;
    case 'neg': return degree(e.a);
    case 'pow': return degree(e.a) * e.e;
    case 'bin': {
      const a = degree(e.a), b = degree(e.b);
      if (e.op === '+' || e.op === '-') return Math.max(a, b);
      if (e.op === '*') return a + b;
      if (b > 0) throw new ExprError('division by an expression in x is not a polynomial');
      return a;
    }
  }
}

export function evalExpr(e: Expr, x: Rational = rat(0n)): Rational {
  switch (e.k) {
    case 'num': return e.v;
    case 'x': return x;
    case 'neg': return rat(-evalExpr(e.a, x).n, evalExpr(e.a, x).d);
    case 'pow': {
      const b = evalExpr(e.a, x);
      return rat(b.n ** BigInt(e.e), b.d ** BigInt(e.e));
    }
    case 'bin': {
      const a = evalExpr(e.a, x), b = evalExpr(e.b, x);
      if (e.op === '+') return add(a, b);
      if (e.op === '-') return sub(a, b);
      if (e.op === '*') return mul(a, b);
      if (b.n === 0n) throw new ExprError('division by zero');
      return div(a, b);
    }
  }
}

/** Exact value of an arithmetic expression without variables. */
export function evaluateArithmetic(src: string): Rational {
  return evalExpr(parseExpr(src, false));
}

/** Decide `lhs = rhs` for all x exactly: both sides are polynomials of degree <= D, compared at D+1 points. */
export function polynomialIdentityHolds(identity: string): boolean {
  const parts = identity.split('=');
  if (parts.length !== 2) throw new ExprError('an identity needs exactly one "="');
  const l = parseExpr(parts[0], true), r = parseExpr(parts[1], true);
  const D = Math.max(degree(l), degree(r));
  for (let k = 0; k <= D; k++) {
    const x = rat(BigInt(k - Math.floor(D / 2)));
    if (!ratEquals(evalExpr(l, x), evalExpr(r, x))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Propositional logic

type Prop = { k: 'var'; v: string } | { k: 'not'; a: Prop } | { k: 'op'; op: 'and' | 'or' | 'imp' | 'iff'; a: Prop; b: Prop };

/** Parse a formula over single-letter variables with not/and/or/->/<-> (words or symbols). */
export function parseProp(src: string): Prop {
  const toks = src.replace(/<->|<=>|↔/g, ' iff ').replace(/->|=>|→/g, ' imp ').replace(/[∧&]/g, ' and ').replace(/[∨|]/g, ' or ').replace(/[¬~!]/g, ' not ')
    .replace(/([()])/g, ' $1 ').trim().split(/\s+/).filter(Boolean).map((t) => t.toLowerCase());
  if (toks.length > 200) throw new ExprError('formula too long');
  let i = 0;
  const iff = (): Prop => { let a = imp(); while (toks[i] === 'iff') { i++; a = { k: 'op', op: 'iff', a, b: imp() }; } return a; };
  const imp = (): Prop => { const a = or(); if (toks[i] === 'imp') { i++; return { k: 'op', op: 'imp', a, b: imp() }; } return a; };
  const or = (): Prop => { let a = and(); while (toks[i] === 'or') { i++; a = { k: 'op', op: 'or', a, b: and() }; } return a; };
  const and = (): Prop => { let a = not(); while (toks[i] === 'and') { i++; a = { k: 'op', op: 'and', a, b: not() }; } return a; };
  const not = (): Prop => {
    if (toks[i] === 'not') { i++; return { k: 'not', a: not() }; }
    if (toks[i] === '(') { i++; const e = iff(); if (toks[i] !== ')') throw new ExprError('missing )'); i++; return e; }
    const t = toks[i];
    if (t && /^[a-z]$/.test(t)) { i++; return { k: 'var', v: t }; }
    throw new ExprError(`expected a variable, found ${JSON.stringify(t ?? 'end')}`);
  };
  const e = iff();
  if (i !== toks.length) throw new ExprError(`unexpected ${JSON.stringify(toks[i])}`);
  return e;
}

function propVars(p: Prop, out: Set<string>): Set<string> {
  if (p.k === 'var') out.add(p.v);
  else if (p.k === 'not') propVars(p.a, out);
  else { propVars(p.a, out); propVars(p.b, out); }
  return out;
}

function propEval(p: Prop, env: Map<string, boolean>): boolean {
  switch (p.k) {
    case 'var': return env.get(p.v)!;
    case 'not': return !propEval(p.a, env);
    case 'op': {
      const a = propEval(p.a, env), b = propEval(p.b, env);
      return p.op === 'and' ? a && b : p.op === 'or' ? a || b : p.op === 'imp' ? !a || b : a === b;
    }
  }
}

/** True iff the formula holds under every assignment (at most 8 variables). */
export function isTautology(src: string): boolean {
  const p = parseProp(src);
  const vars = [...propVars(p, new Set())].sort();
  if (vars.length > 8) throw new ExprError('more than 8 variables');
  for (let m = 0; m < 1 << vars.length; m++) {
    const env = new Map(vars.map((v, j) => [v, ((m >> j) & 1) === 1] as const));
    if (!propEval(p, env)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Code

export interface CodeRun {
  readonly stdout: string;
  readonly status: number | null;
  readonly timedOut: boolean;
}

/**
 * Run a JavaScript program in a separate Node process: empty temporary working folder, empty
 * environment, Node's permission model (no file-system access, no child processes, no workers),
 * a wall-clock timeout and an output cap. Network access is not blocked by Node 20's permission
 * model; the programs asked for only print a number.
 */
export function runJavaScript(code: string, timeoutMs = 2000): CodeRun {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-code-'));
  try {
    const r = spawnSync(process.execPath, ['--experimental-permission', '--no-warnings', '-e', code], {
      cwd: dir, env: {}, timeout: timeoutMs, maxBuffer: 64 * 1024, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM';
    return { stdout: r.stdout ?? '', status: r.status, timedOut };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
