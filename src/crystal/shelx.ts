// SHELX .ins/.res reader and writer, and the HKLF 4 reflection reader.
import { ParseError } from '../core/errors.js';
import { UnitCell, type CellParams } from './cell.js';
import { checkWavelength, LIMITS, stripBom } from './limits.js';
import { parseTriplet } from './symmetry.js';

export interface ShelxAtom {
  readonly name: string;
  /** 1-based index into SFAC. */
  readonly sfac: number;
  /** Decoded fractional coordinates (free-variable codes resolved). */
  readonly xyz: readonly [number, number, number];
  /** Decoded site occupancy factor (crystallographic, as SHELXL uses it). */
  readonly sof: number;
  /** The sof as written (free-variable code), kept so a rewrite preserves it. */
  readonly sofCode: number;
  /** Isotropic U, or the negative riding factor (-1.2, -1.5) as written; null when anisotropic. */
  readonly uiso: number | null;
  /** U11 U22 U33 U23 U13 U12 (SHELX order) when anisotropic. */
  readonly uani: readonly [number, number, number, number, number, number] | null;
  readonly afix: number;
  readonly part: number;
  readonly line: number;
  /** Q-peak height (electrons/Å^3) for peaks listed after PLAN. */
  readonly peakHeight: number | null;
}

export interface ShelxModel {
  readonly title: string;
  readonly wavelength: number;
  readonly cell: CellParams;
  readonly z: number;
  readonly latt: number;
  readonly symm: readonly string[];
  readonly sfac: readonly string[];
  readonly unit: readonly number[];
  readonly fvar: readonly number[];
  readonly wght: readonly number[] | null;
  readonly atoms: readonly ShelxAtom[];
  readonly qpeaks: readonly ShelxAtom[];
  /** HFIX instructions found (code and target atom names). */
  readonly hfix: readonly { readonly code: number; readonly atoms: readonly string[] }[];
  /** Instructions between UNIT and the atoms that the reader does not interpret, verbatim. */
  readonly extra: readonly string[];
  readonly hklf: number | null;
  readonly hklfScale: number;
  /** The file it was read from, and the lines of CELL, LATT, each SYMM and each SFAC entry, for errors found later. */
  readonly file?: string;
  readonly lines?: { readonly cell: number; readonly latt: number; readonly symm: readonly number[]; readonly sfac: readonly number[] };
}

const KEYWORDS = new Set(('TITL CELL ZERR LATT SYMM SFAC DISP UNIT LAUE REM MORE TIME END HKLF OMIT SHEL BASF TWIN EXTI SWAT HOPE MERG ' +
  'SPEC RESI MOVE ANIS AFIX HFIX FRAG FEND EXYZ EADP EQIV CONN PART BIND FREE DFIX DANG BUMP SAME SADI CHIV FLAT DELU SIMU DEFS ' +
  'ISOR NCSY SUMP L.S. CGLS BLOC DAMP STIR WGHT FVAR BOND CONF MPLA RTAB HTAB LIST ACTA SIZE TEMP WPDB FMAP GRID PLAN MOLE RIGU ' +
  'XNPD NEUT ABIN ANSC ANSR NOTR WIGL BEDE LONE PRIG OMIT SHEL DELU ZERR').split(' '));

/** Decode a SHELX free-variable coded parameter (10m + p). */
export function decodeFreeVariable(v: number, fvar: readonly number[]): number {
  if (Math.abs(v) < 5) return v;
  const m = Math.round(v / 10);
  const p = v - 10 * m;
  if (m === 1 || m === -1) return p;
  const fv = fvar[Math.abs(m) - 1];
  if (fv === undefined) return NaN;
  return m > 1 ? p * fv : p * (fv - 1);
}

interface Card { readonly text: string; readonly line: number }

function joinContinuations(src: string, off: number, file: string): Card[] {
  const raw = src.split(/\r?\n/);
  // Index of the last line with content: a '=' continuation at or after it means the file was cut off.
  let last = raw.length - 1;
  while (last >= 0 && raw[last].trim() === '') last--;
  const out: Card[] = [];
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let text = raw[i];
    const up = text.trimStart().slice(0, 4).toUpperCase();
    if (up !== 'REM ' && up !== 'TITL' && !text.trimStart().toUpperCase().startsWith('REM')) {
      while (/=\s*$/.test(text)) {
        if (i >= last) throw new ParseError(file, i + 1 + off, "a continuation line after '=' (the file ends here: cut off?)", raw[i].trim(), -1, text.trim().split(/\s+/)[0]);
        text = text.replace(/=\s*$/, ' ') + raw[++i];
      }
    }
    out.push({ text, line: start + 1 + off });
  }
  return out;
}

function num(file: string, card: Card, tok: string | undefined, field: string): number {
  const v = tok === undefined ? NaN : Number(tok);
  if (!Number.isFinite(v)) throw new ParseError(file, card.line, 'a number', tok ?? 'end of line', -1, field);
  return v;
}

/** Parse a SHELX .ins or .res file. */
export function parseShelxIns(src: string, opts: { file?: string; lineOffset?: number } = {}): ShelxModel {
  const file = opts.file ?? '<res>';
  const off = opts.lineOffset ?? 0;
  src = stripBom(src);
  const lines = { cell: 0, latt: 0, symm: [] as number[], sfac: [] as number[] };
  let lastCard: Card | null = null;
  let title = '';
  let wavelength = NaN;
  let cell: CellParams | null = null;
  let z = 1;
  let latt = 1;
  const symm: string[] = [];
  const sfac: string[] = [];
  let unit: number[] = [];
  let fvar: number[] = [];
  let wght: number[] | null = null;
  const pending: { card: Card; toks: string[]; afix: number; part: number; afterEnd: boolean }[] = [];
  const hfix: { code: number; atoms: string[] }[] = [];
  const extra: string[] = [];
  let hklf: number | null = null;
  let hklfScale = 1;
  let afix = 0;
  let part = 0;
  let ended = false;
  let seenAtoms = false;
  for (const card of joinContinuations(src, off, file)) {
    const t = card.text.trim();
    if (t === '' || t.startsWith('!')) continue;
    lastCard = card;
    const toks = t.split(/\s+/);
    const kw = toks[0].toUpperCase();
    const k4 = kw.slice(0, 4);
    if (k4 === 'REM') continue;
    if (kw === 'END') { ended = true; continue; }
    if (ended) {
      if (/^Q\d+$/i.test(toks[0])) pending.push({ card, toks, afix: 0, part: 0, afterEnd: true });
      else if (k4 === 'WGHT' && !wght) wght = toks.slice(1).map((s) => num(file, card, s, 'WGHT'));
      continue;
    }
    if (KEYWORDS.has(k4) || KEYWORDS.has(kw)) {
      switch (k4) {
        case 'TITL': title = t.slice(4).trim(); break;
        case 'CELL': {
          if (toks.length < 8) throw new ParseError(file, card.line, 'CELL lambda a b c alpha beta gamma', t, -1, 'CELL');
          const v = toks.slice(1, 8).map((s, i) => num(file, card, s, `CELL ${['lambda', 'a', 'b', 'c', 'alpha', 'beta', 'gamma'][i]}`));
          try { wavelength = checkWavelength(v[0], 'CELL'); } catch { throw new ParseError(file, card.line, `a wavelength of ${LIMITS.wavelength[0]}-${LIMITS.wavelength[1]} Å (the first CELL number)`, toks[1], -1, 'CELL lambda'); }
          cell = { a: v[1], b: v[2], c: v[3], alpha: v[4], beta: v[5], gamma: v[6] };
          try { new UnitCell(cell); } catch (e) { throw new ParseError(file, card.line, 'a valid cell', (e as Error).message, -1, 'CELL'); }
          lines.cell = card.line;
          break;
        }
        case 'ZERR': z = num(file, card, toks[1], 'ZERR Z'); break;
        case 'LATT': latt = num(file, card, toks[1], 'LATT'); if (!Number.isInteger(latt) || latt === 0 || Math.abs(latt) > 7) throw new ParseError(file, card.line, 'LATT n with 1 <= |n| <= 7', t, -1, 'LATT'); lines.latt = card.line; break;
        case 'SYMM': {
          const op = t.slice(4).trim();
          try { parseTriplet(op); } catch (e) { throw new ParseError(file, card.line, `a symmetry operator such as -x, y+1/2, -z (${(e as Error).message})`, op, -1, 'SYMM'); }
          symm.push(op); lines.symm.push(card.line);
          break;
        }
        case 'SFAC': {
          const rest = toks.slice(1);
          if (rest.length > 1 && rest.slice(1).every((s) => Number.isFinite(Number(s)))) { sfac.push(rest[0]); lines.sfac.push(card.line); }
          else for (const s of rest) {
            if (!/^[A-Za-z]{1,2}$/.test(s)) throw new ParseError(file, card.line, 'an element symbol', s, -1, 'SFAC');
            sfac.push(s[0].toUpperCase() + s.slice(1).toLowerCase());
            lines.sfac.push(card.line);
          }
          break;
        }
        case 'UNIT': unit = toks.slice(1).map((s) => num(file, card, s, 'UNIT')); break;
        case 'FVAR': fvar = fvar.concat(toks.slice(1).map((s) => num(file, card, s, 'FVAR'))); break;
        case 'WGHT': wght = toks.slice(1).map((s) => num(file, card, s, 'WGHT')); break;
        case 'AFIX': afix = toks[1] === undefined ? 0 : num(file, card, toks[1], 'AFIX'); break;
        case 'PART': part = toks[1] === undefined ? 0 : num(file, card, toks[1], 'PART'); break;
        case 'HFIX': hfix.push({ code: num(file, card, toks[1], 'HFIX'), atoms: toks.slice(2) }); break;
        case 'HKLF': hklf = num(file, card, toks[1], 'HKLF'); if (toks[2] !== undefined) hklfScale = num(file, card, toks[2], 'HKLF scale'); break;
        default: if (!seenAtoms) extra.push(t);
      }
      continue;
    }
    // Lines before CELL that are not instructions are skipped: SHELXL writes the file name and date
    // on indented lines after TITL (FinalCif test-data/DK_Zucker2_0m.cif).
    if (!cell) continue;
    // Anything else must be an atom line: name sfac x y z [sof [U...]].
    if (pending.length >= LIMITS.atoms) throw new ParseError(file, card.line, `at most ${LIMITS.atoms} atoms`, t, -1, toks[0]);
    pending.push({ card, toks, afix, part, afterEnd: false });
    seenAtoms = true;
  }
  if (!cell) throw new ParseError(file, 0, 'a CELL instruction', 'none');
  if (sfac.length === 0) throw new ParseError(file, 0, 'an SFAC instruction', 'none');
  // SHELX files end with END; without it the text was cut off and later atoms or U values are lost.
  if (!ended) throw new ParseError(file, lastCard?.line ?? 0, 'END as the last instruction (the file ends without it: cut off?)', lastCard?.text.trim() ?? 'end of file', -1, 'END');
  const atoms: ShelxAtom[] = [];
  const qpeaks: ShelxAtom[] = [];
  for (const p of pending) {
    const { card, toks } = p;
    const name = toks[0];
    if (toks.length < 5) throw new ParseError(file, card.line, 'an atom: name sfac x y z [sof U]', card.text.trim(), -1, name);
    const sf = num(file, card, toks[1], `${name} sfac`);
    if (!Number.isInteger(sf) || sf < 1 || sf > sfac.length) throw new ParseError(file, card.line, `an SFAC number 1..${sfac.length}`, toks[1], -1, `${name} sfac`);
    const raw = toks.slice(2).map((s, i) => num(file, card, s, `${name} ${['x', 'y', 'z', 'sof', 'U11', 'U22', 'U33', 'U23', 'U13', 'U12'][i] ?? 'value'}`));
    const xyz = [decodeFreeVariable(raw[0], fvar), decodeFreeVariable(raw[1], fvar), decodeFreeVariable(raw[2], fvar)] as const;
    const sofCode = raw[3] ?? 11;
    const sof = decodeFreeVariable(sofCode, fvar);
    if (!Number.isFinite(sof) || xyz.some((v) => !Number.isFinite(v))) throw new ParseError(file, card.line, 'free variables defined by FVAR', card.text.trim(), -1, name);
    const isQ = p.afterEnd || /^Q\d+$/i.test(name);
    const nv = toks.length - 2;
    if (!isQ && nv !== 3 && nv !== 4 && nv !== 5 && nv !== 10) {
      throw new ParseError(file, card.line, 'an atom with x y z [sof [Uiso]] or x y z sof U11 U22 U33 U23 U13 U12', `${nv} numbers after the SFAC number`, -1, name);
    }
    let uiso: number | null = null;
    let uani: ShelxAtom['uani'] = null;
    let peakHeight: number | null = null;
    if (isQ) {
      uiso = raw[4] ?? 0.05;
      peakHeight = raw[5] ?? null;
    } else if (raw.length >= 10) {
      uani = raw.slice(4, 10).map((v) => decodeFreeVariable(v, fvar)) as unknown as ShelxAtom['uani'];
    } else {
      uiso = raw[4] === undefined ? 0.05 : raw[4] < -5 || raw[4] > 5 ? decodeFreeVariable(raw[4], fvar) : raw[4];
      // Negative values from -5 to -0.5 ride on the previous atom's Ueq (SHELXL); anything else below 0 is not a U.
      const riding = raw[4] !== undefined && raw[4] >= -5 && raw[4] <= -0.5;
      if (!Number.isFinite(uiso) || (uiso < 0 && !riding)) throw new ParseError(file, card.line, 'a Uiso >= 0, or a riding factor from -5 to -0.5', String(raw[4]), -1, `${name} Uiso`);
    }
    const atom: ShelxAtom = { name, sfac: sf, xyz, sof, sofCode, uiso, uani, afix: p.afix, part: p.part, line: card.line, peakHeight };
    (isQ ? qpeaks : atoms).push(atom);
  }
  return { title, wavelength, cell, z, latt, symm, sfac, unit, fvar, wght, atoms, qpeaks, hfix, extra, hklf, hklfScale, file, lines };
}

function f(v: number, d = 5): string {
  return v.toFixed(d).padStart(d + 5);
}

/** Write a model as an .ins file. Atom lines longer than 80 columns are continued with `=`. */
export function writeShelxIns(m: ShelxModel): string {
  const L: string[] = [];
  L.push(`TITL ${m.title}`);
  const c = m.cell;
  L.push(`CELL ${m.wavelength.toFixed(5)} ${[c.a, c.b, c.c].map((v) => v.toFixed(4)).join(' ')} ${[c.alpha, c.beta, c.gamma].map((v) => v.toFixed(3)).join(' ')}`);
  L.push(`ZERR ${m.z} 0 0 0 0 0 0`);
  L.push(`LATT ${m.latt}`);
  for (const s of m.symm) L.push(`SYMM ${s}`);
  L.push(`SFAC ${m.sfac.join(' ')}`);
  L.push(`UNIT ${m.unit.map((u) => (Number.isInteger(u) ? String(u) : u.toFixed(2))).join(' ')}`);
  for (const e of m.extra) L.push(e);
  for (const h of m.hfix) L.push(`HFIX ${h.code} ${h.atoms.join(' ')}`);
  if (m.wght) L.push(`WGHT ${m.wght.map((v) => v.toFixed(6)).join(' ')}`);
  L.push(`FVAR ${(m.fvar.length ? m.fvar : [1]).map((v) => v.toFixed(5)).join(' ')}`);
  let afix = 0, part = 0;
  for (const a of m.atoms) {
    if (a.part !== part) { L.push(`PART ${a.part}`); part = a.part; }
    if (a.afix !== afix) { L.push(`AFIX ${a.afix}`); afix = a.afix; }
    const head = `${a.name.padEnd(5)} ${String(a.sfac).padStart(2)} ${f(a.xyz[0], 6)} ${f(a.xyz[1], 6)} ${f(a.xyz[2], 6)} ${f(a.sofCode)}`;
    if (a.uani) {
      L.push(`${head} ${a.uani.slice(0, 2).map((v) => f(v)).join(' ')} =`);
      L.push(`      ${a.uani.slice(2).map((v) => f(v)).join(' ')}`);
    } else L.push(`${head} ${f(a.uiso ?? 0.05)}`);
  }
  if (afix) L.push('AFIX 0');
  if (part) L.push('PART 0');
  for (const q of m.qpeaks) L.push(`${q.name.padEnd(5)} 1 ${f(q.xyz[0], 4)} ${f(q.xyz[1], 4)} ${f(q.xyz[2], 4)} 11.00000 0.05 ${(q.peakHeight ?? 0).toFixed(2)}`);
  L.push(`HKLF ${m.hklf ?? 4}${m.hklfScale !== 1 ? ' ' + m.hklfScale : ''}`);
  L.push('END');
  return L.join('\n') + '\n';
}

export interface HklData {
  readonly h: Int32Array; readonly k: Int32Array; readonly l: Int32Array;
  readonly fo2: Float64Array; readonly sigma: Float64Array;
  readonly batch: Int32Array;
  /** Line of each record (1-based, with the reader's line offset), for errors found after reading. */
  readonly line?: Int32Array;
  readonly file?: string;
}

/**
 * HKLF 4: fixed columns (3I4, 2F8.2, I4). Fields can touch ("-10-11"), so columns are read by
 * position. Stops at a 0 0 0 record or the end of the text; `scale` multiplies Fo^2 and sigma.
 */
export function parseHklf4(src: string, opts: { file?: string; scale?: number; lineOffset?: number } = {}): HklData {
  const off = opts.lineOffset ?? 0;
  const file = opts.file ?? '<hkl>';
  const scale = opts.scale ?? 1;
  const H: number[] = [], K: number[] = [], Lh: number[] = [], F: number[] = [], S: number[] = [], B: number[] = [], N: number[] = [];
  const lines = stripBom(src).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const fields: [string, number, number][] = [['h', 0, 4], ['k', 4, 8], ['l', 8, 12], ['Fo2', 12, 20], ['sigma', 20, 28]];
    const v: number[] = [];
    for (const [name, a, b] of fields) {
      const s = line.slice(a, b).trim();
      const x = Number(s);
      if (s === '' || !Number.isFinite(x) || (name.length === 1 && !Number.isInteger(x))) throw new ParseError(file, i + 1 + off, `${name} in columns ${a + 1}-${b}`, line.slice(a, b), -1, name);
      v.push(x);
    }
    if (v[0] === 0 && v[1] === 0 && v[2] === 0) break;
    const bs = line.slice(28, 32).trim();
    const batch = bs === '' ? 0 : Number(bs);
    if (!Number.isInteger(batch)) throw new ParseError(file, i + 1 + off, 'batch number in columns 29-32', bs, -1, 'batch');
    if (H.length >= LIMITS.reflections) throw new ParseError(file, i + 1 + off, `at most ${LIMITS.reflections} reflections`, line, -1, 'hkl');
    H.push(v[0]); K.push(v[1]); Lh.push(v[2]); F.push(v[3] * scale); S.push(v[4] * scale); B.push(batch); N.push(i + 1 + off);
  }
  return { h: Int32Array.from(H), k: Int32Array.from(K), l: Int32Array.from(Lh), fo2: Float64Array.from(F), sigma: Float64Array.from(S), batch: Int32Array.from(B), line: Int32Array.from(N), file };
}
