// Typed errors shared by every area. A user-facing failure is one of these, never a bare Error,
// so the CLI can print a one-line message and tests can check the kind of failure.

/** A file could not be parsed. Names the file, where (line or byte offset) and what was expected. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly file: string,
    /** 1-based line for text formats; 0 when `offset` is used instead. */
    readonly line: number,
    readonly expected: string,
    readonly found: string,
    /** Byte offset for binary formats (-1 when not applicable). */
    readonly offset: number = -1,
    readonly field?: string,
  ) {
    const where = offset >= 0 ? `${file}@${offset}` : `${file}:${line}`;
    const fieldPart = field ? ` (${field})` : '';
    super(`${where}${fieldPart}: expected ${expected}, found ${JSON.stringify(truncate(found))}`);
  }
}

/** Bad arguments or configuration: a message a user can act on. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** `predict` (or similar) called before `fit`. */
export class NotFittedError extends Error {
  override readonly name = 'NotFittedError';
}

/** A numerical routine failed (matrix not positive definite, no convergence). */
export class NumericalError extends Error {
  override readonly name = 'NumericalError';
}

function truncate(s: string, n = 60): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

/** Warnings go to a process-wide list so run records can include them; stderr gets one line each. */
export interface Warning {
  readonly code: string;
  readonly message: string;
}
const warnings: Warning[] = [];
const seenCodes = new Set<string>();

export function warn(code: string, message: string, opts: { once?: boolean } = {}): void {
  if (opts.once && seenCodes.has(code)) return;
  seenCodes.add(code);
  warnings.push({ code, message });
  if (process.env.PERENNIAL_QUIET !== '1') process.stderr.write(`perennial: warning: ${message}\n`);
}

export function collectedWarnings(): readonly Warning[] {
  return warnings.slice();
}
