// Reference check for f', f'' at any wavelength (src/crystal/dispersion.ts): the Henke
// interpolation against cctbx's own (`cctbx.eltbx.henke.table(el).at_ev(hc/λ)`, Debian
// python3-cctbx) for every element H-U at Ag Kα 0.5594 Å, Ga Kα 1.3414 Å, 0.7 Å, 1.0 Å, Mo and Cu
// Kα, and at 300 wavelengths drawn uniformly in 1/λ over the table's range (edges included by
// chance); and `dispersion()` at the ITC lines keeps the ITC values. Needs no data folder.
import { ensurePython, runPython } from './peers.js';
import { rng } from '../src/core/rng.js';
import { dispersion, DISPERSION_ITC, henkeDispersion, HENKE_WAVELENGTHS, KEV_ANGSTROM } from '../src/crystal/dispersion.js';
import { SYMBOLS } from '../src/crystal/elements.js';
import henke from '../src/crystal/henke-fpfdp.json' with { type: 'json' };

let failures = 0;
const fail = (msg: string) => { failures++; console.log(`FAIL ${msg}`); };
if (!ensurePython('cctbx', 'python3-cctbx')) { console.log('FAIL cctbx not available'); process.exit(1); }

const PY = `
import sys, json
from cctbx.eltbx import henke
req = json.load(sys.stdin)
out = []
K = 6.6260755 * 2.99792458 / 1.60217733
for el, lam in req:
    # at_ev with the energy in double precision: at_angstrom converts in single precision, which
    # moves f' by up to 1e-3 e on the steep side of an edge
    f = henke.table(el).at_ev(1000 * K / lam)
    out.append([f.fp(), f.fdp()] if f.is_valid() else None)
json.dump(out, sys.stdout)
`;
const ELEMENTS = SYMBOLS.slice(0, SYMBOLS.indexOf('U') + 1);
const NAMED: [string, number][] = [['Ag Kα', 0.5594], ['Ga Kα', 1.3414], ['0.7 Å', 0.7], ['1.0 Å', 1.0], ['Mo Kα', 0.71073], ['Cu Kα', 1.54184]];
const r = rng(20261207, 'crystal-dispersion-check');
const [lo, hi] = HENKE_WAVELENGTHS;
const random: [string, number][] = Array.from({ length: 300 }, (_, i) => [`random ${i}`, 1 / r.uniform(1 / hi, 1 / lo)]);
const req: [string, number][] = [];
for (const [, lam] of [...NAMED, ...random]) for (const el of ELEMENTS) req.push([el, lam]);
const ref = JSON.parse(runPython(PY, [], JSON.stringify(req))) as ([number, number] | null)[];

// cctbx interpolates in single precision and the table points were recovered from it: allow 2e-4 e
// + 5e-5 relative; inside the 0.2 eV step across an absorption edge, where cctbx's single-precision
// energy moves its own value by up to 1 %, allow 1 %.
const onEdgeStep = (el: string, lam: number) => {
  const t = (henke.elements as Record<string, number[]>)[el]!, e = (1000 * KEV_ANGSTROM) / lam;
  for (let i = 3; i < t.length; i += 3) if (t[i - 3]! <= e && e <= t[i]!) return t[i]! - t[i - 3]! < 0.25;
  return false;
};
const tol = (v: number, el: string, lam: number) => (onEdgeStep(el, lam) ? 0.01 * Math.abs(v) + 2e-4 : 2e-4 + 5e-5 * Math.abs(v));
let k = 0, worstRandom = 0, worstRandomAt = '';
for (const [name, lam] of [...NAMED, ...random]) {
  let worst = 0, worstAt = '', n = 0;
  for (const el of ELEMENTS) {
    const theirs = ref[k++];
    const ours = henkeDispersion(el, lam);
    if (!theirs) { if (ours) fail(`${el} at ${lam} Å: cctbx has no value, ours ${ours.join(', ')}`); continue; }
    if (!ours) { fail(`${el} at ${lam} Å: no value, cctbx ${theirs.join(', ')}`); continue; }
    n++;
    for (let c = 0; c < 2; c++) {
      const d = Math.abs(ours[c] - theirs[c]), a = tol(theirs[c], el, lam);
      if (d / a > worst) { worst = d / a; worstAt = `${el} ${c ? "f''" : "f'"} ${ours[c].toFixed(5)} vs ${theirs[c].toFixed(5)}`; }
      if (d > a) fail(`${el} at ${lam} Å (${name}) ${c ? "f''" : "f'"}: ours ${ours[c]}, cctbx ${theirs[c]}`);
    }
  }
  if (name.startsWith('random')) { if (worst > worstRandom) { worstRandom = worst; worstRandomAt = `${lam.toFixed(4)} Å ${worstAt}`; } }
  else console.log(`Henke f', f'' vs cctbx at ${name.padEnd(6)} ${lam.toFixed(5)} Å (${(KEV_ANGSTROM / lam).toFixed(3)} keV): ${n} elements, largest difference ${(100 * worst).toFixed(0)} % of the allowance (${worstAt})`);
}
console.log(`Henke f', f'' vs cctbx at 300 random wavelengths ${lo.toFixed(3)}-${hi.toFixed(3)} Å: largest difference ${(100 * worstRandom).toFixed(0)} % of the allowance (${worstRandomAt})`);
// Outside the table: none.
for (const lam of [0.3, 4.0]) if (henkeDispersion('C', lam) !== null) fail(`henkeDispersion at ${lam} Å should be null (outside ${lo.toFixed(3)}-${hi.toFixed(3)} Å)`);
// At the ITC lines the ITC values stay.
for (const [line, lam] of [['Mo', 0.71073], ['Cu', 1.54184]] as const) for (const [el, v] of Object.entries(DISPERSION_ITC[line])) {
  const got = dispersion(el, lam);
  if (!got || got[0] !== v[0] || got[1] !== v[1]) fail(`dispersion(${el}, ${lam}) = ${got?.join(', ')}, ITC ${v.join(', ')}`);
}
console.log(failures ? `${failures} check(s) failed` : 'crystal dispersion checks passed');
process.exit(failures ? 1 : 0);
