// Line numbers inside YAML (and JSON) config files, so a schema error names the line of the key,
// and the one reader of schema-checked config files.
import { readFileSync, statSync } from 'node:fs';
import { isMap, isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError, ParseError } from './errors.js';

/**
 * 1-based line of the node at `path` in `doc`, or of its nearest ancestor that has one; a map
 * key's own line when its value is null or absent.
 */
export function lineOfPath(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number {
  for (let k = path.length; k >= 0; k--) {
    const node = k === 0 ? doc.contents : doc.getIn(path.slice(0, k), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
    if (k > 0) {
      const parent = k === 1 ? doc.contents : doc.getIn(path.slice(0, k - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === path[k - 1]);
        if (pair && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]).line;
      }
    }
  }
  return 1;
}

export interface ConfigTextOptions {
  /** What the file holds, for messages ("cil run config"). */
  readonly what: string;
  /** The keys a top-level mapping may have, listed when an unknown one is met. */
  readonly knownKeys?: readonly string[];
  /** How an unknown key's message names the keys ("cil run key"); default "known key". */
  readonly keyNoun?: string;
  /** The name errors use for the whole file when the fault has no key path; default "config". */
  readonly rootKey?: string;
}

export interface ConfigFileOptions extends ConfigTextOptions {
  /** Refused before reading when the file is larger. */
  readonly maxBytes: number;
}

/** A config read and schema-checked, with the means to report later checks at the right line. */
export interface ParsedConfig<T> {
  readonly data: T;
  /** 1-based line of the key at `path`. */
  line(path: readonly (string | number)[]): number;
  /** Throws a ParseError at `path` saying what was expected there (found: what the file holds there). */
  fail(path: readonly (string | number)[], expected: string, found?: string): never;
}

const shownValue = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));
// zod says "Invalid input: expected string, received number"; ParseError already says "expected".
const zodExpected = (message: string): string => message.replace(/^Invalid (?:input|discriminator value|option)[:.]?\s*(?:expected\s+)?/i, '') || message;

/**
 * Parse a YAML (or JSON) config text and check it with `schema`: a syntax error, a schema
 * mismatch or an unknown key is a ParseError naming `file`, the line and the key path.
 */
export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S, o: ConfigTextOptions): ParsedConfig<z.output<S>> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ParseError(file, lc.linePos(e.pos[0]).line || 1, `a YAML or JSON ${o.what}`, e.message.split('\n')[0], -1, 'yaml');
  }
  const raw = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  const line = (path: readonly (string | number)[]): number => lineOfPath(doc, lc, path);
  const fail = (path: readonly (string | number)[], expected: string, found?: string): never => {
    let at: unknown = raw;
    for (const p of path) at = (at as Record<string | number, unknown> | undefined)?.[p];
    throw new ParseError(file, line(path), expected, found ?? shownValue(at), -1, path.length ? path.join('.') : (o.rootKey ?? 'config'));
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) fail([], `a mapping of ${o.what} keys`, Array.isArray(raw) ? 'a list' : String(raw));
  const r = schema.safeParse(raw);
  if (r.success) return { data: r.data, line, fail };
  const issue = r.error.issues[0];
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  // An unknown key is reported at the key itself, not at the object holding it.
  if (issue.code === 'unrecognized_keys') {
    const key = (issue as { keys: string[] }).keys[0];
    const known = path.length === 0 && o.knownKeys ? ` (${o.knownKeys.join(', ')})` : ' (a typo, or a key this format does not have here)';
    fail([...path, key], `a ${o.keyNoun ?? 'known key'}${known}`, key);
  }
  return fail(path, zodExpected(issue.message));
}

/** Read a YAML or JSON config and check it with `schema`: every error names the file, the line and the key. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, o: ConfigFileOptions): z.output<S> {
  return readConfigText(file, o.maxBytes, o.what, (text) => parseConfigText(text, file, schema, o).data);
}

/** The size-capped read every config reader starts with; `parse` gets the text. */
export function readConfigText<T>(file: string, maxBytes: number, what: string, parse: (text: string) => T): T {
  let size: number;
  try { size = statSync(file).size; } catch (e) { throw new InputError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  if (size > maxBytes) throw new InputError(`${what} ${file} is ${size} bytes; at most ${maxBytes}`);
  return parse(readFileSync(file, 'utf8'));
}
