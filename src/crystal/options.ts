// Radiation options shared by the crystal commands (--wavelength, --dispersion), and the step that
// keeps non-finite numbers out of run records (each null gets a reason beside it).
import { InputError, warn } from '../core/errors.js';
import { formatNumber } from '../core/format.js';
import { dispersion, dispersionLine, dispersionSource, HENKE_WAVELENGTHS } from './dispersion.js';
import { checkWavelength } from './limits.js';
import type { Evaluation } from './refine.js';
import type { Structure } from './structure.js';

export const DISPERSION_MODES = ['auto', 'none'] as const;
export type DispersionMode = (typeof DISPERSION_MODES)[number];

export function parseDispersionMode(v: string): DispersionMode {
  if ((DISPERSION_MODES as readonly string[]).includes(v)) return v as DispersionMode;
  throw new InputError(`--dispersion must be one of ${DISPERSION_MODES.join(', ')}, got ${JSON.stringify(v)}`);
}

export function parseWavelengthOption(v: string): number {
  const t = v.trim();
  return checkWavelength(t === '' ? NaN : Number(t), '--wavelength');
}

export interface Radiation {
  readonly wavelength: number;
  readonly wavelength_source: 'file' | 'option' | 'assumed';
  readonly dispersion: DispersionMode;
  /** Whether f' and f'' are added (auto, and the wavelength is within the tables' range). */
  readonly anomalous: boolean;
  /** Mo or Cu when the wavelength is that Kα line (ITC values first), else null. */
  readonly line: 'Mo' | 'Cu' | null;
  /** Where f', f'' come from: ITC then Henke at Mo/Cu Kα, Henke interpolated elsewhere, null for none. */
  readonly dispersion_table: 'ITC+Henke' | 'Henke' | null;
}

/**
 * auto: f' and f'' for the structure's wavelength (ITC values at Mo/Cu Kα, Henke interpolated at
 * any wavelength from 0.413 to 3.54 Å), else f0 only with a warning (stderr and the record);
 * none: f0 only (IT92 form factors).
 */
export function resolveRadiation(st: Structure, mode: DispersionMode, file: string): Radiation {
  const line = dispersionLine(st.wavelength);
  const table = dispersionSource(st.wavelength);
  if (mode === 'auto' && !table) {
    warn('crystal-no-dispersion-table', `${file}: no f'/f'' table for ${st.wavelength} Å (Henke's tables cover ${formatNumber(HENKE_WAVELENGTHS[0], { digits: 3 })}-${formatNumber(HENKE_WAVELENGTHS[1], { digits: 3 })} Å); Fc uses f0 only`);
  } else if (mode === 'auto') {
    const missing = [...new Set(st.sites.map((s) => s.element))].filter((el) => dispersion(el, st.wavelength) === null);
    if (missing.length) warn('crystal-no-dispersion-table', `${file}: no f'/f'' for ${missing.join(', ')} at ${st.wavelength} Å; those atoms scatter with f0 only`);
  }
  const anomalous = mode === 'auto' && table !== null;
  return { wavelength: st.wavelength, wavelength_source: st.wavelengthSource ?? 'file', dispersion: mode, anomalous, line, dispersion_table: anomalous ? table : null };
}

/** Why an agreement value is undefined, by metric name (only the undefined ones). */
export function agreementReasons(ev: Evaluation, nParams: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(Number.isFinite(ev.scale) && ev.scale > 0)) {
    const why = 'the scale Fo^2/Fc^2 cannot be fitted: Fc is zero for every reflection (atoms with zero occupancy?)';
    for (const k of ['scale', 'r1', 'r1_all', 'wr2', 'goof']) out[k] = why;
    return out;
  }
  if (ev.nGt === 0) out.r1 = 'no reflection with Fo > 4 sigma(Fo)';
  if (ev.n <= nParams) out.goof = `no more reflections (${ev.n}) than parameters (${nParams})`;
  return out;
}

/**
 * A copy of `metrics` with every NaN or infinite number replaced by null and its reason in the
 * `reasons` map of the object holding it (core/record's convention: `reasons[key]` beside the
 * value; a number inside an array belongs to the array's key). A top-level key in `known` is set to
 * null with that reason whatever its value (GooF from n <= p is a number, but not a GooF).
 */
export function finiteMetrics<T extends Record<string, unknown>>(metrics: T, known: Record<string, string> = {}): T & { reasons?: Record<string, string> } {
  const scrub = (obj: Record<string, unknown>, top: boolean): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const reasons: Record<string, string> = {};
    const inArray = (v: unknown, key: string): unknown => {
      if (typeof v === 'number') {
        if (Number.isFinite(v)) return v;
        reasons[key] ??= `contains a value that is not a finite number (${String(v)}), written as null`;
        return null;
      }
      if (Array.isArray(v) || v instanceof Float64Array || v instanceof Float32Array) return Array.from(v as ArrayLike<unknown>, (x) => inArray(x, key));
      if (v && typeof v === 'object') return scrub(v as Record<string, unknown>, false);
      return v;
    };
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'reasons') continue;
      if (top && k in known) { out[k] = null; reasons[k] = known[k]; continue; }
      if (typeof v === 'number' && !Number.isFinite(v)) { out[k] = null; reasons[k] = `not a finite number (${String(v)})`; continue; }
      out[k] = inArray(v, k);
    }
    const prior = obj.reasons && typeof obj.reasons === 'object' ? (obj.reasons as Record<string, string>) : {};
    const all = { ...prior, ...reasons };
    if (Object.keys(all).length) out.reasons = all;
    return out;
  };
  return scrub(metrics, true) as T & { reasons?: Record<string, string> };
}

/** A number for a one-line summary: fixed decimals, or n/a. */
export function fmt(v: number | null | undefined, digits: number): string {
  return formatNumber(v, { digits, scientific: false, missing: 'n/a' });
}
