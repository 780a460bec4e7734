// CSV through csv-parse (RFC 4180 quoting, BOMs, CRLF), with line numbers kept so a bad field
// can be reported as file:line (column).
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ParseError } from '../errors.js';

export interface CsvTable {
  readonly file: string;
  readonly header: readonly string[];
  /** Data rows (header excluded), each with the 1-based line it ends on (its only line unless a quoted field spans lines). */
  readonly rows: readonly { readonly line: number; readonly values: readonly string[] }[];
}

export function parseCsv(text: string, file = '<text>', opts: { delimiter?: string } = {}): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, delimiter: opts.delimiter ?? ',', relax_column_count: false, skip_empty_lines: true, info: true, trim: true }) as never;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new ParseError(file, err.lines ?? 0, 'well-formed CSV', err.message);
  }
  if (records.length === 0) throw new ParseError(file, 1, 'a header row', 'an empty file');
  const header = records[0].record;
  return { file, header, rows: records.slice(1).map((r) => ({ line: r.info.lines, values: r.record })) };
}

export function readCsv(path: string, opts: { delimiter?: string } = {}): CsvTable {
  return parseCsv(readFileSync(path, 'utf8'), path, opts);
}

/** A numeric field, or a ParseError naming file, line and column. */
export function csvNumber(t: CsvTable, row: CsvTable['rows'][number], col: number): number {
  const s = row.values[col] ?? '';
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) throw new ParseError(t.file, row.line, 'a number', s, -1, t.header[col]);
  return v;
}

/** Rows of numbers to CSV text (header first); values written with full precision. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const esc = (v: string | number): string => {
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header.map(esc).join(','), ...rows.map((r) => r.map(esc).join(','))].join('\n') + '\n';
}
