// Anomalous dispersion f', f'' at any wavelength from 0.413 to 3.54 Å. At Mo Kα and Cu Kα the
// primary source is ITC Vol. C Table 4.2.6.8 (Creagh & McAuley), the values SHELXL writes into its
// CIFs. Everywhere else, and for elements missing there, Henke, Gullikson & Davis, At. Data Nucl.
// Data Tables 54 (1993) 181, for Z = 1-92: the table points as compiled into cctbx
// (`cctbx.eltbx.henke`, Debian python3-cctbx 2022.9), recovered once by
// `scripts/crystal_henke.py` into `henke-fpfdp.json` (energies from 3.5 to 30 keV), and
// interpolated linearly in energy between neighbouring points, as cctbx does. The Henke tables end
// at 30 keV: shorter wavelengths get no f', f''.
// `reference/crystal-dispersion.check.ts` compares the interpolation with cctbx at several
// wavelengths, `reference/crystal.check.ts` the ITC values with cctbx's Henke and Sasaki tables and
// with the values in the data's CIFs.
import { normalizeElement } from './elements.js';
import henke from './henke-fpfdp.json' with { type: 'json' };

/** ITC Vol. C Table 4.2.6.8 values for the elements met in the data. */
export const DISPERSION_ITC: Readonly<Record<'Mo' | 'Cu', Readonly<Record<string, readonly [number, number]>>>> = {
  Mo: {
    H: [0, 0], B: [0.0013, 0.0007], C: [0.0033, 0.0016], N: [0.0061, 0.0033], O: [0.0106, 0.0060], F: [0.0171, 0.0103],
    Na: [0.0362, 0.0249], Al: [0.0645, 0.0514], Si: [0.0817, 0.0704], P: [0.1023, 0.0942], S: [0.1246, 0.1234],
    Cl: [0.1484, 0.1585], Fe: [0.3463, 0.8444], Cu: [0.3201, 1.2651], Ga: [0.2307, 1.6083], Br: [-0.2901, 2.4595],
  },
  Cu: {
    H: [0, 0], B: [0.0090, 0.0039], C: [0.0181, 0.0091], N: [0.0311, 0.0180], O: [0.0492, 0.0322], F: [0.0727, 0.0534],
    Al: [0.2130, 0.2455], Si: [0.2541, 0.3302], P: [0.2955, 0.4335], S: [0.3331, 0.5567], Cl: [0.3639, 0.7018],
    Fe: [-1.1336, 3.1974], Br: [-0.6763, 1.2805],
  },
};


/** Which tabulated wavelength a wavelength is (Mo Kα ~0.7107 Å, Cu Kα ~1.5418 Å), or null. */
export function dispersionLine(wavelength: number): 'Mo' | 'Cu' | null {
  return Math.abs(wavelength - 0.71073) < 0.01 ? 'Mo' : Math.abs(wavelength - 1.54184) < 0.02 ? 'Cu' : null;
}

/** hc in keV Å, with the constants cctbx converts wavelengths to energies with. */
export const KEV_ANGSTROM = (6.6260755 * 2.99792458) / 1.60217733;

/** The wavelengths (Å) the Henke tables cover: 30 keV down to 3.5 keV. */
export const HENKE_WAVELENGTHS: readonly [number, number] = [KEV_ANGSTROM / (henke.e_max_ev / 1000), KEV_ANGSTROM / (henke.e_min_ev / 1000)];

const HENKE = henke.elements as Readonly<Record<string, readonly number[]>>;

/**
 * Henke f', f'' for an element at a wavelength: linear interpolation in energy between the two
 * table points around it (flat triples e, f', f''); null outside 0.413-3.54 Å or beyond U.
 */
export function henkeDispersion(element: string, wavelength: number): readonly [number, number] | null {
  const t = HENKE[normalizeElement(element)];
  if (!t || !(wavelength > 0)) return null;
  const e = (1000 * KEV_ANGSTROM) / wavelength;
  const n = t.length / 3;
  if (e < henke.e_min_ev || e > henke.e_max_ev || e < t[0] || e > t[3 * (n - 1)]) return null;
  let lo = 0, hi = n - 1; // t[3 lo] <= e <= t[3 hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[3 * mid] <= e) lo = mid; else hi = mid;
  }
  const e1 = t[3 * lo], e2 = t[3 * hi];
  const f = e2 > e1 ? (e - e1) / (e2 - e1) : 0;
  return [t[3 * lo + 1] + f * (t[3 * hi + 1] - t[3 * lo + 1]), t[3 * lo + 2] + f * (t[3 * hi + 2] - t[3 * lo + 2])];
}

/**
 * f', f'' for an element at a wavelength: ITC values at Mo and Cu Kα where tabulated, else Henke
 * interpolated at the wavelength; null outside Henke's range or beyond U.
 */
export function dispersion(element: string, wavelength: number): readonly [number, number] | null {
  const line = dispersionLine(wavelength);
  const itc = line ? DISPERSION_ITC[line][normalizeElement(element)] : undefined;
  return itc ?? henkeDispersion(element, wavelength);
}

/** Which table f', f'' come from at a wavelength: ITC (then Henke) at Mo/Cu Kα, Henke elsewhere in its range, or none. */
export function dispersionSource(wavelength: number): 'ITC+Henke' | 'Henke' | null {
  if (dispersionLine(wavelength)) return 'ITC+Henke';
  return wavelength >= HENKE_WAVELENGTHS[0] && wavelength <= HENKE_WAVELENGTHS[1] ? 'Henke' : null;
}
