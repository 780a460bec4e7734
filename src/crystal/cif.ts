// A strict CIF 1.1 reader: data blocks, loops, quoted and text-field values, line numbers for every
// value, duplicate tags and malformed quotes reported as ParseError. Save frames (dictionary-only)
// are rejected. The single leniency is `strict: false`, which closes an unterminated quote at the
// end of its line (needed by FinalCif's test-data/twin4.cif, line 32).
import { ParseError } from '../core/errors.js';
import { stripBom } from './limits.js';

export interface CifValue {
  /** The raw text of the value (quotes stripped; text fields without the delimiting ';' lines). */
  readonly text: string;
  readonly line: number;
  /** True for `?` and `.` (unknown / inapplicable). */
  readonly missing: boolean;
}

export interface CifLoop {
  readonly tags: readonly string[];
  /** rows[r][c] is the value of tags[c] in row r. */
  readonly rows: readonly (readonly CifValue[])[];
  readonly line: number;
}

export interface CifBlock {
  readonly name: string;
  readonly line: number;
  /** Lower-cased tag -> value, for tags outside loops. */
  readonly items: ReadonlyMap<string, CifValue>;
  readonly loops: readonly CifLoop[];
}

export interface CifDocument {
  readonly file: string;
  readonly blocks: readonly CifBlock[];
}

export interface CifOptions {
  readonly file?: string;
  /** Default true. When false, an unterminated quote is closed at the end of its line. */
  readonly strict?: boolean;
}

interface Token {
  readonly kind: 'tag' | 'value' | 'data' | 'loop' | 'save' | 'global' | 'stop';
  readonly text: string;
  readonly line: number;
  readonly quoted: boolean;
}

function* tokenize(src: string, file: string, strict: boolean): Generator<Token> {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  const isWs = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === undefined;
  while (i < n) {
    const c = src[i];
    if (c === '\n') { line++; i++; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') { while (i < n && src[i] !== '\n') i++; continue; }
    if (c === ';' && i === lineStart) {
      // Text field: up to the next line that starts with ';'.
      const startLine = line;
      let j = src.indexOf('\n', i);
      if (j < 0) throw new ParseError(file, startLine, "text field closed by ';' at the start of a line", 'end of file');
      const body: string[] = [src.slice(i + 1, j)];
      let k = j + 1;
      line++;
      for (;;) {
        if (k >= n) throw new ParseError(file, startLine, "text field closed by ';' at the start of a line", 'end of file (unterminated text field)');
        if (src[k] === ';') break;
        let e = src.indexOf('\n', k);
        if (e < 0) e = n;
        body.push(src.slice(k, e));
        k = e + 1;
        line++;
      }
      i = k + 1;
      let text = body.join('\n');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.startsWith('\r')) text = text.slice(1);
      yield { kind: 'value', text: body[0].trim() === '' ? text.replace(/^[^\n]*\n?/, '') : text, line: startLine, quoted: true };
      continue;
    }
    if (c === "'" || c === '"') {
      // A quote closes only when followed by whitespace (CIF 1.1).
      let j = i + 1;
      for (;;) {
        if (j >= n || src[j] === '\n' || src[j] === '\r') {
          if (strict) {
            throw new ParseError(file, line, `closing ${c} (column ${i - lineStart + 1})`, src.slice(i, j), -1, 'quoted value');
          }
          yield { kind: 'value', text: src.slice(i + 1, j), line, quoted: true };
          i = j;
          break;
        }
        if (src[j] === c && isWs(src[j + 1])) {
          yield { kind: 'value', text: src.slice(i + 1, j), line, quoted: true };
          i = j + 1;
          break;
        }
        j++;
      }
      continue;
    }
    let j = i;
    while (j < n && !isWs(src[j])) j++;
    const word = src.slice(i, j);
    i = j;
    const lower = word.toLowerCase();
    if (word.startsWith('_')) yield { kind: 'tag', text: lower, line, quoted: false };
    else if (lower.startsWith('data_')) yield { kind: 'data', text: word.slice(5), line, quoted: false };
    else if (lower === 'loop_') yield { kind: 'loop', text: word, line, quoted: false };
    else if (lower.startsWith('save_')) yield { kind: 'save', text: word, line, quoted: false };
    else if (lower.startsWith('global_')) yield { kind: 'global', text: word, line, quoted: false };
    else if (lower.startsWith('stop_')) yield { kind: 'stop', text: word, line, quoted: false };
    else if (word.startsWith('[') || word.startsWith(']') || word.startsWith('$')) {
      throw new ParseError(file, line, 'a value (a bare value may not start with [, ] or $)', word);
    } else yield { kind: 'value', text: word, line, quoted: false };
  }
}

function mkValue(t: Token): CifValue {
  return { text: t.text, line: t.line, missing: !t.quoted && (t.text === '?' || t.text === '.') };
}

/** Parse a CIF 1.1 document. */
export function parseCif(src: string, opts: CifOptions = {}): CifDocument {
  const file = opts.file ?? '<cif>';
  const strict = opts.strict ?? true;
  // A UTF-8 byte-order mark is not part of the text (editors on Windows write one).
  src = stripBom(src);
  const blocks: CifBlock[] = [];
  const blockLines = new Map<string, number>();
  let cur: { name: string; line: number; items: Map<string, CifValue>; loops: CifLoop[]; seen: Set<string> } | null = null;
  const toks = tokenize(src, file, strict);
  let pending: Token | null = null;
  const next = (): Token | null => {
    if (pending) { const p = pending; pending = null; return p; }
    const r = toks.next();
    return r.done ? null : r.value;
  };
  const finish = () => { if (cur) blocks.push({ name: cur.name, line: cur.line, items: cur.items, loops: cur.loops }); };
  for (let t = next(); t; t = next()) {
    if (t.kind === 'data') {
      finish();
      if (t.text === '') throw new ParseError(file, t.line, 'a block name after data_', 'data_');
      const first = blockLines.get(t.text.toLowerCase());
      if (first !== undefined) throw new ParseError(file, t.line, `a block name not used before (data_${t.text} is already at line ${first})`, `data_${t.text}`, -1, 'data_');
      blockLines.set(t.text.toLowerCase(), t.line);
      cur = { name: t.text, line: t.line, items: new Map(), loops: [], seen: new Set() };
      continue;
    }
    if (!cur) throw new ParseError(file, t.line, 'data_ block header', t.text);
    if (t.kind === 'save' || t.kind === 'global' || t.kind === 'stop') {
      throw new ParseError(file, t.line, 'tag, loop_ or data_ (save frames only belong in dictionaries)', t.text);
    }
    if (t.kind === 'tag') {
      if (cur.seen.has(t.text)) throw new ParseError(file, t.line, 'a tag not already in this block', t.text, -1, t.text);
      cur.seen.add(t.text);
      const v = next();
      if (!v || v.kind !== 'value') throw new ParseError(file, v?.line ?? t.line, `a value for ${t.text}`, v ? v.text : 'end of file', -1, t.text);
      cur.items.set(t.text, mkValue(v));
      continue;
    }
    if (t.kind === 'loop') {
      const tags: string[] = [];
      let u = next();
      while (u && u.kind === 'tag') {
        if (cur.seen.has(u.text)) throw new ParseError(file, u.line, 'a tag not already in this block', u.text, -1, u.text);
        cur.seen.add(u.text);
        tags.push(u.text);
        u = next();
      }
      if (tags.length === 0) throw new ParseError(file, t.line, 'tags after loop_', u ? u.text : 'end of file');
      const vals: CifValue[] = [];
      while (u && u.kind === 'value') { vals.push(mkValue(u)); u = next(); }
      pending = u;
      if (vals.length === 0) throw new ParseError(file, u?.line ?? t.line, `values for the loop of ${tags[0]} (a loop needs at least one row)`, u ? u.text : 'end of file', -1, tags[0]);
      if (vals.length % tags.length !== 0) {
        throw new ParseError(file, vals[vals.length - 1]?.line ?? t.line, `a multiple of ${tags.length} values in the loop of ${tags[0]}`, `${vals.length} values`, -1, tags[0]);
      }
      const rows: CifValue[][] = [];
      for (let r = 0; r < vals.length; r += tags.length) rows.push(vals.slice(r, r + tags.length));
      cur.loops.push({ tags, rows, line: t.line });
      continue;
    }
    throw new ParseError(file, t.line, 'a tag or loop_', t.text);
  }
  finish();
  return { file, blocks };
}

/** `7.2057(3)` -> { value: 7.2057, su: 0.0003 }; `?`/`.` -> null value. */
export function parseCifNumber(s: string): { value: number; su: number | null } | null {
  const t = s.trim();
  if (t === '?' || t === '.') return null;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\((\d+)\))?$/.exec(t);
  if (!m) return null;
  const value = Number(m[1]);
  if (m[2] === undefined) return { value, su: null };
  const mant = m[1].replace(/[eE].*$/, '');
  const dot = mant.indexOf('.');
  const decimals = dot < 0 ? 0 : mant.length - dot - 1;
  const exp = /[eE]([+-]?\d+)/.exec(m[1]);
  const su = Number(m[2]) * 10 ** (-decimals + (exp ? Number(exp[1]) : 0));
  return { value, su };
}

/** Helpers to read a block. */
export function cifItem(block: CifBlock, tag: string): CifValue | undefined {
  return block.items.get(tag.toLowerCase());
}

export function cifNumber(block: CifBlock, tag: string, file = '<cif>'): number | null {
  const v = cifItem(block, tag);
  if (!v || v.missing) return null;
  const n = parseCifNumber(v.text);
  if (!n) throw new ParseError(file, v.line, 'a number', v.text, -1, tag);
  return n.value;
}

/** The loop holding `tag`, with a column accessor. */
export function cifLoop(block: CifBlock, tag: string): { loop: CifLoop; col: (t: string) => number } | null {
  const low = tag.toLowerCase();
  const loop = block.loops.find((l) => l.tags.includes(low));
  if (!loop) return null;
  return { loop, col: (t: string) => loop.tags.indexOf(t.toLowerCase()) };
}

/**
 * SHELXL's checksum of a file it embeds in a CIF (`_shelx_res_checksum`, `_shelx_hkl_checksum`):
 * s = the sum of the codes of all characters above space, then ((s mod 714025) * 1366 + 150889)
 * mod 714025 mod 100000 (the algorithm as FinalCif implements it; "hello world" gives 3583). Only
 * ASCII characters are summed: the codes of others depend on the file's encoding.
 */
export function shelxChecksum(text: string): number {
  let s = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 32 && c < 128) s += c;
  }
  return (((s % 714025) * 1366 + 150889) % 714025) % 100000;
}
