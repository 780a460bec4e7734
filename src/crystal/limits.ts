// Caps on every size a crystallographic file or option can choose, checked before anything is
// allocated. The values are far above real small-molecule (and most macromolecular) data, and low
// enough that the largest allowed input fits in a few hundred MB.
import { statSync, readFileSync } from 'node:fs';
import { InputError } from '../core/errors.js';

export const LIMITS = {
  /** Bytes of one input file (.cif, .res, .hkl). */
  fileBytes: 512 * 1024 * 1024,
  /** Atom sites in one model (.res atom lines, CIF _atom_site rows). */
  atoms: 100_000,
  /** Reflection records in one HKLF 4 text. */
  reflections: 5_000_000,
  /** Unique reflections times symmetry operations in one structure-factor table (about 40 bytes each). */
  reflectionOps: 20_000_000,
  /** Fourier grid points (16 bytes each: real and imaginary part). */
  gridPoints: 1 << 24,
  /** Cell lengths, Å (the largest known cells are about 1500 Å). */
  cellLength: [0.5, 10_000] as const,
  /** Wavelengths, Å: hard X-rays to very soft ones. */
  wavelength: [0.01, 10] as const,
} as const;

/** A wavelength from a file or an option, checked against LIMITS.wavelength; `what` names its source. */
export function checkWavelength(v: number, what: string): number {
  const [lo, hi] = LIMITS.wavelength;
  if (!Number.isFinite(v) || v <= 0) throw new InputError(`${what}: wavelength must be a positive number of Å, got ${v}`);
  if (v < lo || v > hi) throw new InputError(`${what}: wavelength ${v} Å is outside ${lo}-${hi} Å`);
  return v;
}

/** Read a text input after checking its size; a UTF-8 byte-order mark is dropped. */
export function readTextFile(path: string): string {
  const size = statSync(path).size;
  if (size > LIMITS.fileBytes) throw new InputError(`${path}: ${size} bytes is over the ${LIMITS.fileBytes}-byte limit for crystallographic inputs`);
  return stripBom(readFileSync(path, 'utf8'));
}

export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}
