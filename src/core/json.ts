// JSON files read from users: a syntax error names the file and the line it is on. V8 reports a
// character position for some errors and none for others ("Unexpected token ..."), so where it
// gives none a small scanner finds the offset of the fault.
import { readFileSync } from 'node:fs';
import { InputError, ParseError } from './errors.js';

/** Line (1-based) of character offset `pos` in `text`. */
export function lineOfOffset(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Offset of the first syntax fault in `t`: a small recursive-descent scan that follows RFC 8259,
 * run only after JSON.parse has failed, to place errors V8 reports without a position.
 */
export function jsonFaultOffset(t: string): number {
  let i = 0;
  const ws = (): void => { while (i < t.length && ' \t\n\r'.includes(t[i])) i++; };
  const fail = (): never => { throw i; };
  const lit = (w: string): void => { for (const ch of w) { if (t[i] !== ch) fail(); i++; } };
  const str = (): void => {
    i++;
    while (i < t.length && t[i] !== '"') {
      const c = t.charCodeAt(i);
      if (c < 0x20) fail();
      if (t[i] === '\\') {
        i++;
        if (t[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) fail(); i += 5; continue; }
        if (!'"\\/bfnrt'.includes(t[i] ?? '')) fail();
      }
      i++;
    }
    if (i >= t.length) fail();
    i++;
  };
  const digit = (): boolean => i < t.length && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57;
  const num = (): void => {
    if (t[i] === '-') i++;
    if (!digit()) fail();
    if (t[i] === '0') i++;
    else while (digit()) i++;
    if (t[i] === '.') { i++; if (!digit()) fail(); while (digit()) i++; }
    if (t[i] === 'e' || t[i] === 'E') { i++; if (t[i] === '+' || t[i] === '-') i++; if (!digit()) fail(); while (digit()) i++; }
  };
  const value = (depth: number): void => {
    if (depth > 10000) fail();
    ws();
    const c = t[i];
    if (c === '{') {
      i++; ws();
      if (t[i] === '}') { i++; return; }
      for (;;) {
        ws(); if (t[i] !== '"') fail(); str(); ws();
        if (t[i] !== ':') fail(); i++;
        value(depth + 1); ws();
        if (t[i] === ',') { i++; continue; }
        if (t[i] === '}') { i++; return; }
        fail();
      }
    } else if (c === '[') {
      i++; ws();
      if (t[i] === ']') { i++; return; }
      for (;;) {
        value(depth + 1); ws();
        if (t[i] === ',') { i++; continue; }
        if (t[i] === ']') { i++; return; }
        fail();
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else num();
  };
  try {
    value(0); ws();
    return i < t.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : t.length;
  }
}

function errorLine(text: string, message: string): number {
  const m = /position (\d+)/.exec(message);
  if (m) return lineOfOffset(text, Number(m[1]));
  const at = jsonFaultOffset(text);
  return lineOfOffset(text, at >= 0 ? at : text.length);
}

/** Parse JSON text; a syntax error becomes a ParseError naming `file` and the line of the fault. */
export function parseJsonText(text: string, file: string, expected = 'JSON'): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    const msg = (e as Error).message;
    // V8 quotes the text itself and the offset; the line says where, so keep only the fault.
    const fault = msg.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    throw new ParseError(file, errorLine(body, msg), expected, fault, -1, 'json');
  }
}

/** Read and parse a JSON file; unreadable files and syntax errors are one-line errors. */
export function readJsonFile(path: string, expected = 'JSON'): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new InputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  return parseJsonText(text, path, expected);
}
