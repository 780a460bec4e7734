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

export interface ConfigFileOptions {
  /** Refused before reading when the file is larger. */
  readonly maxBytes: number;
  /** What the file holds, for messages ("run config"). */
  readonly what: string;
  /** The keys a top-level mapping may have, listed when an unknown one is met. */
  readonly knownKeys: readonly string[];
  /** How an unknown key's message names the keys ("cil run key"); default "known key". */
  readonly keyNoun?: string;
}

/** Read a YAML or JSON config and check it with `schema`: every error names the file, the line and the key. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, o: ConfigFileOptions): z.output<S> {
  let size: number;
  try { size = statSync(file).size; } catch (e) { throw new InputError(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  if (size > o.maxBytes) throw new InputError(`config ${file} is ${size} bytes; at most ${o.maxBytes}`);
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ParseError(file, lc.linePos(e.pos[0]).line || 1, `a YAML or JSON ${o.what}`, e.message.split('\n')[0], -1, 'yaml');
  }
  const raw = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ParseError(file, 1, `a mapping of ${o.what} keys`, Array.isArray(raw) ? 'a list' : String(raw), -1, 'config');
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  // An unknown key is reported at the key itself, not at the object holding it.
  const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
  const path = [...issue.path.map((p) => (typeof p === 'number' ? p : String(p))), ...keys.slice(0, 1)];
  let found: unknown = raw;
  for (const p of path) found = (found as Record<string | number, unknown> | undefined)?.[p];
  const key = path.length ? path.join('.') : 'config';
  if (keys.length) throw new ParseError(file, lineOfPath(doc, lc, path), `a ${o.keyNoun ?? 'known key'} (${o.knownKeys.join(', ')})`, keys[0], -1, key);
  const shown = found === undefined ? 'nothing' : typeof found === 'string' ? found : JSON.stringify(found) ?? String(found);
  throw new ParseError(file, lineOfPath(doc, lc, path), issue.message.replace(/^Invalid input: /, ''), shown, -1, key);
}
