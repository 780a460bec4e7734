// Strict answer parsing: the whole trimmed text must be JSON and must satisfy the schema. No
// "last number in the text" fallback and no code-fence stripping: a format failure is its own
// outcome, counted by kind. Supports the JSON-schema subset the tasks use.
import type { JsonSchema } from './provider.js';

export type FailureKind = 'empty' | 'not_json' | 'schema' | 'provider_error';

export type StrictResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly kind: FailureKind; readonly message: string };

/** Validate `v` against a schema subset (type, properties, required, additionalProperties, enum, items, minimum, maximum, minLength, maxLength). Returns the first violation or null. */
export function validateSchema(v: unknown, schema: JsonSchema, path = '$'): string | null {
  const s = schema as Record<string, unknown>;
  const type = s.type as string | undefined;
  if (s.enum && Array.isArray(s.enum) && !s.enum.some((e) => e === v)) return `${path}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`;
  if (s.const !== undefined && s.const !== v) return `${path}: expected ${JSON.stringify(s.const)}`;
  switch (type) {
    case undefined: break;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return `${path}: expected an integer, got ${JSON.stringify(v)}`;
      break;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${path}: expected a number, got ${JSON.stringify(v)}`;
      break;
    case 'string':
      if (typeof v !== 'string') return `${path}: expected a string`;
      if (typeof s.minLength === 'number' && v.length < s.minLength) return `${path}: shorter than ${s.minLength}`;
      if (typeof s.maxLength === 'number' && v.length > s.maxLength) return `${path}: longer than ${s.maxLength}`;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return `${path}: expected a boolean`;
      break;
    case 'null':
      if (v !== null) return `${path}: expected null`;
      break;
    case 'array': {
      if (!Array.isArray(v)) return `${path}: expected an array`;
      if (s.items) for (let i = 0; i < v.length; i++) {
        const e = validateSchema(v[i], s.items as JsonSchema, `${path}[${i}]`);
        if (e) return e;
      }
      break;
    }
    case 'object': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return `${path}: expected an object`;
      const o = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in o)) return `${path}: missing ${r}`;
      for (const [k, x] of Object.entries(o)) {
        if (props[k]) {
          const e = validateSchema(x, props[k], `${path}.${k}`);
          if (e) return e;
        } else if (s.additionalProperties === false) return `${path}: unexpected key ${k}`;
      }
      break;
    }
    default: return `${path}: schema type ${type} is not supported`;
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) return `${path}: below ${s.minimum}`;
    if (typeof s.maximum === 'number' && v > s.maximum) return `${path}: above ${s.maximum}`;
  }
  return null;
}

/** Parse the whole trimmed text as JSON and check it against `schema`. */
export function parseStrictJson<T = unknown>(text: string, schema: JsonSchema): StrictResult<T> {
  const t = text.trim();
  if (t === '') return { ok: false, kind: 'empty', message: 'empty answer' };
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { ok: false, kind: 'not_json', message: (e as Error).message };
  }
  const err = validateSchema(v, schema);
  if (err) return { ok: false, kind: 'schema', message: err };
  return { ok: true, value: v as T };
}
