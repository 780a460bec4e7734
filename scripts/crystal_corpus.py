#!/usr/bin/env python3
"""Crystal corpus generator (dev tool, needs Debian's python3-rdkit and rdkit-data; never run by npm test).

Real molecules (RDKit's NCI example set) get an ETKDG conformer optimised by MMFF (UFF where MMFF has
no parameters), are packed with Z' = 1 in a common small-molecule space group at a packing coefficient
near a real crystal's without short contacts, get anisotropic ADPs and riding-geometry hydrogens, and
are written as SHELX .res files. Reflections, noise and peaks are made by perennial's own TypeScript
(scripts/crystal-corpus.ts), so the corpus sees the same structure factors and maps as real data.

Molecules are drawn stratified by their rarest element (I, Br, P, Cl, S, F, metals and others, then
C/N/O-only) so that rare elements appear; the held-out split is by molecule (canonical SMILES).

Unless --plain is given, some structures also carry what real small-molecule crystals have and an ordered
Z' = 1 molecule does not (shares fixed before any corpus was made, see REALISM): solvent molecules or
counter-ions from a fixed list (some half occupied), a two-part disorder of a terminal group (CF3, tBu,
a ring, a chain end: the group rotated about its bond, PART 1 / PART 2 at occupancies p and 1 - p tied to
free variable 2, p from 0.5 to 0.9), and a second independent molecule (Z' = 2). UNIT is the cell's
content with each site counted at its occupancy, as in a real .res, so formula counts scaled to the
number of sites are off for these structures as they are for real ones. The extra draws come from a
stream of their own, so --plain (and every structure drawn without extras) is the corpus of the first
shipped model.

With --trigonal, 8 % of the realistic corpus's structures are drawn into P-3, R-3 or P31c instead (from a
stream of their own, so the others stay as without it), and 60 % of those carry a solvent molecule or ion of
C3v symmetry on a 3-fold axis: atoms on the axis at site occupancy 1/3 with U invariant under the axis, one
atom written for each orbit of three off it.
"""
import argparse
import hashlib
import json
import math
import os
import sys

# One BLAS thread: the arrays are tiny, and threads only contend on a shared machine.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np  # noqa: E402
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
from scipy.spatial import cKDTree

RDLogger.DisableLog('rdApp.*')

DEFAULT_SMILES = '/usr/share/RDKit/Data/NCI/first_5K.smi'

# Space groups: SHELX LATT, SYMM cards (without identity), and relative frequency in small-molecule crystals.
GROUPS = {
    'P21/c': (1, ['-X, 1/2+Y, 1/2-Z'], 0.36),
    'P-1': (1, [], 0.24),
    'P212121': (-1, ['1/2-X, -Y, 1/2+Z', '-X, 1/2+Y, 1/2-Z', '1/2+X, 1/2-Y, -Z'], 0.12),
    'C2/c': (7, ['-X, Y, 1/2-Z'], 0.10),
    'Pbca': (1, ['1/2-X, -Y, 1/2+Z', '-X, 1/2+Y, 1/2-Z', '1/2+X, 1/2-Y, -Z'], 0.08),
    'P21': (-1, ['-X, 1/2+Y, -Z'], 0.10),
}
SYSTEM = {'P21/c': 'mono', 'P-1': 'tri', 'P212121': 'ortho', 'C2/c': 'mono', 'Pbca': 'ortho', 'P21': 'mono'}
# Trigonal groups with 3-fold rotation axes (site symmetry 3), where a solvent molecule or ion of C3v
# symmetry can lie on the axis as in real trigonal data sets: LATT, SYMM, relative frequency among
# the trigonal structures, and the (x, y) of one such axis. Hexagonal axes (a = b, gamma = 120).
TRIGONAL = {
    'P-3': (1, ['-Y, X-Y, Z', '-X+Y, -X, Z'], 0.35, (1 / 3, 2 / 3)),
    'R-3': (3, ['-Y, X-Y, Z', '-X+Y, -X, Z'], 0.40, (0.0, 0.0)),
    'P31c': (-1, ['-Y, X-Y, Z', '-X+Y, -X, Z', 'Y, X, 1/2+Z', 'X-Y, -Y, 1/2+Z', '-X, -X+Y, 1/2+Z'], 0.25, (1 / 3, 2 / 3)),
}
# Species put on a 3-fold axis (ideal geometry, axis along z, A): name, relative frequency, atoms as
# (element, distance from the axis, height along it, parent index for H); an atom off the axis stands
# for the three the axis makes of it.
AXIS_SPECIES = [
    ('acetonitrile', 0.30, [('C', 0.0, 0.0, None), ('C', 0.0, 1.46, None), ('N', 0.0, 2.60, None), ('H', 0.924, -0.327, 0)]),
    ('chloroform', 0.15, [('C', 0.0, 0.0, None), ('H', 0.0, 1.00, 0), ('Cl', 1.674, -0.544, None)]),
    ('perchlorate', 0.15, [('Cl', 0.0, 0.0, None), ('O', 0.0, 1.43, None), ('O', 1.348, -0.477, None)]),
    ('tetrafluoroborate', 0.10, [('B', 0.0, 0.0, None), ('F', 0.0, 1.39, None), ('F', 1.310, -0.463, None)]),
    ('nitrate', 0.10, [('N', 0.0, 0.0, None), ('O', 1.25, 0.0, None)]),
    ('chloride', 0.12, [('Cl', 0.0, 0.0, None)]),
    ('bromide', 0.08, [('Br', 0.0, 0.0, None)]),
]

# Bondi van der Waals radii (Å); 2.0 for elements without one.
VDW = {'H': 1.10, 'B': 1.92, 'C': 1.70, 'N': 1.55, 'O': 1.52, 'F': 1.47, 'Si': 2.10, 'P': 1.80, 'S': 1.80,
       'Cl': 1.75, 'As': 1.85, 'Se': 1.90, 'Br': 1.85, 'Sn': 2.17, 'Sb': 2.06, 'I': 1.98, 'Hg': 1.55}
# X-H distances of SHELXL's riding model (Å, 100 K values).
XH = {'C': 0.98, 'N': 0.88, 'O': 0.84, 'B': 1.10, 'S': 1.20, 'P': 1.30, 'Si': 1.40}
STRATA = ['I', 'Br', 'P', 'Cl', 'S', 'F', 'other', 'CNO']
ORGANIC = {'H', 'C', 'N', 'O', 'S', 'P', 'F', 'Cl', 'Br', 'I'}
MAX_Z = 83
# Extras of the realistic corpus (fixed a priori from what small-molecule data sets commonly hold,
# not from any evaluation): the share of structures with solvent/counter-ions, with a two-part disorder
# (of those with a rotatable terminal group), and with Z' = 2.
REALISM = {'solvent': 0.35, 'two_solvent': 0.3, 'half_occupied_solvent': 0.35, 'disorder': 0.3,
           'disorder_occupancy': (0.5, 0.9), 'z_prime_2': 0.1, 'z_prime_2_max_heavy': 30,
           'special_position': 0.15, 'trigonal': 0.08, 'axis_species': 0.6}
# Ions put on an inversion centre (centrosymmetric groups, site occupancy 1/2): element, relative frequency.
SPECIAL_IONS = [('Cl', 0.6), ('Br', 0.25), ('I', 0.15)]
# Solvents and counter-ions: name, SMILES, relative frequency.
SOLVENTS = [
    ('water', 'O', 0.22), ('methanol', 'CO', 0.09), ('ethanol', 'CCO', 0.04), ('dichloromethane', 'ClCCl', 0.09),
    ('chloroform', 'ClC(Cl)Cl', 0.05), ('acetonitrile', 'CC#N', 0.05), ('acetone', 'CC(C)=O', 0.04),
    ('tetrahydrofuran', 'C1CCOC1', 0.04), ('dimethyl sulfoxide', 'CS(C)=O', 0.03), ('toluene', 'Cc1ccccc1', 0.03),
    ('chloride', '[Cl-]', 0.08), ('bromide', '[Br-]', 0.03), ('perchlorate', '[O-]Cl(=O)(=O)=O', 0.05),
    ('tetrafluoroborate', 'F[B-](F)(F)F', 0.04), ('hexafluorophosphate', 'F[P-](F)(F)(F)(F)F', 0.03),
    ('nitrate', '[O-][N+]([O-])=O', 0.02), ('triflate', 'O=S(=O)([O-])C(F)(F)F', 0.02),
]
# Largest contact threshold (twice the largest van der Waals radius less 0.5 Å).
THR_MAX = 2 * 2.2 - 0.5


def parse_op(card):
    """'1/2-X, -Y, 1/2+Z' -> (R 3x3, t 3)."""
    R = np.zeros((3, 3))
    t = np.zeros(3)
    for row, part in enumerate(card.replace(' ', '').upper().split(',')):
        tok = ''
        terms = []
        for ch in part:
            if ch in '+-' and tok:
                terms.append(tok)
                tok = ''
            tok += ch
        terms.append(tok)
        for term in terms:
            sign = -1.0 if term.startswith('-') else 1.0
            term = term.lstrip('+-')
            if term in 'XYZ' and term:
                R[row, 'XYZ'.index(term)] = sign
            elif '/' in term:
                n, d = term.split('/')
                t[row] += sign * float(n) / float(d)
            elif term:
                t[row] += sign * float(term)
    return R, t


def all_ops(latt, symm):
    ops = [(np.eye(3), np.zeros(3))] + [parse_op(c) for c in symm]
    if latt > 0:
        ops = ops + [(-R, -t) for R, t in ops]
    cent = {1: [np.zeros(3)], 7: [np.zeros(3), np.array([0.5, 0.5, 0.0])],
            3: [np.zeros(3), np.array([2 / 3, 1 / 3, 1 / 3]), np.array([1 / 3, 2 / 3, 2 / 3])]}[abs(latt)]
    return [(R, t + c) for R, t in ops for c in cent]


def cell_matrix(a, b, c, al, be, ga):
    """Orthogonalisation matrix (frac -> Cartesian), a along x, b in the xy plane."""
    al, be, ga = map(math.radians, (al, be, ga))
    v = math.sqrt(1 - math.cos(al) ** 2 - math.cos(be) ** 2 - math.cos(ga) ** 2 + 2 * math.cos(al) * math.cos(be) * math.cos(ga))
    return np.array([
        [a, b * math.cos(ga), c * math.cos(be)],
        [0, b * math.sin(ga), c * (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)],
        [0, 0, c * v / math.sin(ga)],
    ])


def random_rotation(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def random_shape(system, rng):
    r = np.exp(rng.normal(0, 0.35, size=3))
    if system == 'tri':
        while True:
            ang = rng.uniform(70, 115, size=3)
            al, be, ga = np.radians(ang)
            if 1 - np.cos(al) ** 2 - np.cos(be) ** 2 - np.cos(ga) ** 2 + 2 * np.cos(al) * np.cos(be) * np.cos(ga) > 0.3:
                return r, tuple(ang)
    if system == 'mono':
        return r, (90.0, rng.uniform(91, 118), 90.0)
    if system == 'hex':
        r[1] = r[0]
        return r, (90.0, 90.0, 120.0)
    return r, (90.0, 90.0, 90.0)


def images(F, ops):
    """Fractional coordinates of every symmetry and lattice copy of the molecule except itself, (k, n, 3)."""
    out = []
    trans = [np.array([dx, dy, dz]) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)]
    for oi, (R, t) in enumerate(ops):
        G = F @ R.T + t
        G = G - np.floor(np.mean(G, axis=0))
        for T in trans:
            if oi == 0 and not T.any():
                continue
            out.append(G + T)
    return np.stack(out)


def fixed_clash(F, M, ops, fixed):
    """Whether an atom on a special position (fractional f0 with coordinates 0 or 1/2) comes closer to any
    copy of the molecule than its per-atom threshold."""
    f0, thr_fixed = fixed
    n = len(F)
    allF = np.concatenate([F[None], images(F, ops)]).reshape(-1, 3)
    corners = f0 + np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=float)
    pairs = cKDTree(corners @ M.T).sparse_distance_matrix(cKDTree(allF @ M.T), THR_MAX, output_type='ndarray')
    return bool(len(pairs) and np.any(pairs['v'] < thr_fixed[pairs['j'] % n]))


def draw_axis_species(rng):
    """A species for a 3-fold axis (AXIS_SPECIES's frequencies), turned about the axis by a random angle
    and flipped along it half the time: name, the asymmetric atoms as (element, Cartesian offset from
    the axis point, on the axis, parent), and the whole species' offsets and elements."""
    w = np.array([x[1] for x in AXIS_SPECIES])
    name, _, atoms = AXIS_SPECIES[rng.choice(len(AXIS_SPECIES), p=w / w.sum())]
    phi = rng.uniform(0, 2 * math.pi)
    sign = 1.0 if rng.uniform() < 0.5 else -1.0
    asym, full, full_els = [], [], []
    for el, rad, h, parent in atoms:
        on = rad == 0.0
        pts = [np.array([rad * math.cos(phi + 2 * math.pi * q / 3), rad * math.sin(phi + 2 * math.pi * q / 3), sign * h]) for q in range(1 if on else 3)]
        asym.append((el, pts[0], on, parent))
        full += pts
        full_els += [el] * len(pts)
    return name, asym, np.array(full), full_els


def axis_copies(axis, M, ops):
    """Fractional coordinates of every copy of the axis species in the cell, one (m, 3) array per copy.
    The axis point's own site symmetry maps the species onto itself (its offsets are 3-fold symmetric
    about Cartesian z, which is c for hexagonal axes), so a copy is known by where the point goes."""
    P0 = np.array([axis['xy'][0], axis['xy'][1], axis['z0']])
    Ffull = P0 + axis['full'] @ np.linalg.inv(M).T
    out, anchors = [], []
    for R, t in ops:
        a = R @ P0 + t
        shift = np.floor(a + 1e-9)
        a = a - shift
        if any(np.all(np.abs(((a - b) + 0.5) % 1.0 - 0.5) < 1e-6) for b in anchors):
            continue
        anchors.append(a)
        out.append(Ffull @ R.T + t - shift)
    return out


def axis_clash(F, M, ops, axis):
    """Whether the species on the 3-fold axis comes closer to any copy of the molecule, or to another copy
    of itself, than the van der Waals sum less 0.5 A (H...H 2.0 A)."""
    copies = axis_copies(axis, M, ops)
    m, n = len(axis['els']), len(F)
    rs = np.array([VDW.get(e, 2.0) for e in axis['els']])
    hs = np.array([e == 'H' for e in axis['els']])
    S = np.concatenate(copies)
    trans = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=float)
    St = (S[None] + trans[:, None]).reshape(-1, 3)
    allF = np.concatenate([F[None], images(F, ops)]).reshape(-1, 3)
    pairs = cKDTree(St @ M.T).sparse_distance_matrix(cKDTree(allF @ M.T), THR_MAX, output_type='ndarray')
    if len(pairs):
        i, j = pairs['i'] % m, pairs['j'] % n
        thr = np.where(hs[i] & axis['mol_h'][j], 2.0, rs[i] + axis['mol_r'][j] - 0.5)
        if np.any(pairs['v'] < thr):
            return True
    pairs = cKDTree(S @ M.T).sparse_distance_matrix(cKDTree(St @ M.T), THR_MAX, output_type='ndarray')
    if len(pairs):
        cs = len(S)
        same = (pairs['j'] // cs == 13) & ((pairs['j'] % cs) // m == pairs['i'] // m)
        i, j = pairs['i'] % m, pairs['j'] % m
        thr = np.where(hs[i] & hs[j], 2.0, rs[i] + rs[j] - 0.5)
        if np.any((pairs['v'] < thr) & ~same):
            return True
    return False


def clash(Xr, centre, lengths, angles, ops, thr, rmax, fixed=None):
    M = cell_matrix(*lengths, *angles)
    F = Xr @ np.linalg.inv(M).T + centre
    C = images(F, ops) @ M.T
    C0 = F @ M.T
    hit = False
    near = np.linalg.norm(C.mean(axis=1) - C0.mean(axis=0), axis=1) < 2 * rmax
    if near.any():
        n = len(C0)
        other = C[near].reshape(-1, 3)
        pairs = cKDTree(C0).sparse_distance_matrix(cKDTree(other), THR_MAX, output_type='ndarray')
        if len(pairs):
            hit = bool(np.any(pairs['v'] < thr[pairs['i'], pairs['j'] % n]))
    if not hit and fixed is not None:
        hit = axis_clash(F, M, ops, fixed) if isinstance(fixed, dict) else fixed_clash(F, M, ops, fixed)
    return hit, F, M


def pack(X, els, ops, system, vmol, rng, attempts=3, fixed=None):
    """Place the molecule (Cartesian, centred) at a general position in a loose cell, then squeeze the
    cell axis by axis while no intermolecular contact is shorter than the sum of van der Waals radii
    less 0.5 Å (H...H 2.0 Å); `fixed` = (f0, per-atom thresholds) adds an atom on the special position
    f0 that must keep its contacts too. Returns (cell params, fractional coordinates, packing
    coefficient) of the densest of `attempts` orientations."""
    z = len(ops)
    radius = np.array([VDW.get(e, 2.0) for e in els])
    isH = np.array([e == 'H' for e in els])
    thr = radius[:, None] + radius[None, :] - 0.5
    thr[np.ix_(isH, isH)] = 2.0
    rmax = np.max(np.linalg.norm(X, axis=1)) + 2.0
    best = None
    for _ in range(attempts):
        Xr = X @ random_rotation(rng).T
        ratios, angles = random_shape(system, rng)
        centre = rng.uniform(0.05, 0.95, size=3)
        unit_v = abs(np.linalg.det(cell_matrix(1, 1, 1, *angles) * ratios[None, :]))
        lengths = None
        for s in (1.0, 1.4, 2.0, 3.0, 4.5):
            trial = np.maximum(ratios * (z * vmol / 0.7 * s / unit_v) ** (1 / 3), 3.5)
            if not clash(Xr, centre, trial, angles, ops, thr, rmax, fixed)[0]:
                lengths = trial
                break
        if lengths is None:
            continue
        for step in (0.85, 0.94, 0.98):
            moved = True
            while moved:
                moved = False
                # Hexagonal axes keep a = b: a and b shrink together.
                for ax in (rng.permutation(2) if system == 'hex' else rng.permutation(3)):
                    tied = ([0, 1], [2])[ax] if system == 'hex' else [ax]
                    trial = lengths.copy()
                    trial[tied] *= step
                    if trial[tied[0]] >= 3.5 and not clash(Xr, centre, trial, angles, ops, thr, rmax, fixed)[0]:
                        lengths = trial
                        moved = True
        _, F, M = clash(Xr, centre, lengths, angles, ops, thr, rmax, fixed)
        pc = z * vmol / abs(np.linalg.det(M))
        if best is None or pc > best[2]:
            best = ((*lengths, *angles), F, pc)
    return best


def stratum(elements):
    for e in STRATA[:6]:
        if e in elements:
            return e
    return 'other' if any(e not in ORGANIC for e in elements) else 'CNO'


def load_molecules(path):
    out = []
    seen = set()
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            m = Chem.MolFromSmiles(parts[0])
            if m is None:
                continue
            frags = Chem.GetMolFrags(m, asMols=True)
            m = max(frags, key=lambda x: x.GetNumHeavyAtoms())
            n = m.GetNumHeavyAtoms()
            els = set(a.GetSymbol() for a in m.GetAtoms())
            if n < 5 or n > 40 or any(a.GetAtomicNum() > MAX_Z for a in m.GetAtoms()) or 'C' not in els:
                continue
            smi = Chem.MolToSmiles(m)
            if smi in seen:
                continue
            seen.add(smi)
            out.append((smi, m, stratum(els)))
    return out


def embed(m, seed):
    mh = Chem.AddHs(m)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mh, params) != 0:
        return None
    try:
        if AllChem.MMFFHasAllMoleculeParams(mh):
            AllChem.MMFFOptimizeMolecule(mh, maxIters=500)
        elif AllChem.UFFHasAllMoleculeParams(mh):
            AllChem.UFFOptimizeMolecule(mh, maxIters=500)
        else:
            return None
    except Exception:
        return None
    return mh


def riding_h(mh, X):
    """Move each H along its bond to SHELXL's riding distance for its parent."""
    X = X.copy()
    for a in mh.GetAtoms():
        if a.GetSymbol() != 'H' or a.GetDegree() != 1:
            continue
        p = a.GetNeighbors()[0]
        d = XH.get(p.GetSymbol(), 1.0)
        if p.GetSymbol() == 'C':
            nh = sum(1 for n in p.GetNeighbors() if n.GetSymbol() == 'H')
            d = 0.95 if p.GetIsAromatic() or p.GetHybridization() == Chem.HybridizationType.SP2 else {1: 1.00, 2: 0.99, 3: 0.98}.get(nh, 0.98)
        v = X[a.GetIdx()] - X[p.GetIdx()]
        X[a.GetIdx()] = X[p.GetIdx()] + v / np.linalg.norm(v) * d
    return X


def mol_atoms(mh, X, kind='main', part=0, occ=1.0):
    """Atom records of a molecule: element, Cartesian position, PART, site occupancy (SHELX sof; UNIT
    counts z x sof), number of non-H neighbours, parent (H only, index within the molecule), the H Uiso
    factor, and the kind ('main', 'disorder' for a PART 1/2 atom, 'solvent')."""
    out = []
    for a in mh.GetAtoms():
        el = a.GetSymbol()
        nheavy = sum(1 for n in a.GetNeighbors() if n.GetSymbol() != 'H')
        parent, hk = None, 1.2
        if el == 'H' and a.GetDegree() == 1:
            p = a.GetNeighbors()[0]
            parent = p.GetIdx()
            nh = sum(1 for n in p.GetNeighbors() if n.GetSymbol() == 'H')
            hk = 1.5 if (p.GetSymbol() == 'O' or (p.GetSymbol() == 'C' and nh == 3)) else 1.2
        out.append({'el': el, 'x': np.array(X[a.GetIdx()], dtype=float), 'part': part, 'occ': occ, 'nheavy': nheavy,
                    'parent': parent, 'hk': hk, 'kind': kind})
    return out


def join_atoms(groups):
    """Concatenate atom-record lists, shifting parent indices to the joined list."""
    out = []
    for g in groups:
        off = len(out)
        for a in g:
            b = dict(a)
            if b['parent'] is not None:
                b['parent'] += off
            out.append(b)
    return out


def adps(atoms, M, rng):
    """Anisotropic U (SHELX order U11 U22 U33 U23 U13 U12, reciprocal-axis basis) per non-H atom, Uiso per H.
    Thermal growth away from the centre of the main molecule(s); x1.35 for terminal atoms, x1.25 for
    disordered components, x1.4 for solvent."""
    base = rng.uniform(0.015, 0.05)
    X = np.array([a['x'] for a in atoms])
    main = np.array([a['kind'] != 'solvent' for a in atoms])
    cen = X[main].mean(axis=0)
    r = np.linalg.norm(X - cen, axis=1)
    rr = np.minimum(r / (r[main].max() + 1e-9), 1.5)
    Minv = np.linalg.inv(M)
    nrec = np.linalg.norm(Minv, axis=1)  # a*, b*, c*
    out = [None] * len(X)
    ueq = np.zeros(len(X))
    extra = {'main': 1.0, 'disorder': 1.25, 'solvent': 1.4}
    for i, a in enumerate(atoms):
        if a['el'] == 'H':
            continue
        u = base * (1 + 0.8 * a.get('rr', rr[i]) ** 2) * (1.35 if a['nheavy'] <= 1 else 1.0) * rng.uniform(0.9, 1.1) * extra[a['kind']]
        if a.get('axis'):
            # On a 3-fold axis along Cartesian z: U must be invariant under the axis (U11 = U22 = 2 U12, U13 = U23 = 0).
            ev = rng.uniform(0.55, 1.5, size=2)
            ev = ev / ((2 * ev[0] + ev[1]) / 3) * u
            Uc = np.diag([ev[0], ev[0], ev[1]])
        else:
            ev = rng.uniform(0.55, 1.5, size=3)
            ev = ev / ev.mean() * u
            Q = random_rotation(rng)
            Uc = Q @ np.diag(ev) @ Q.T
        Ustar = Minv @ Uc @ Minv.T
        U = Ustar / np.outer(nrec, nrec)
        out[i] = (U[0, 0], U[1, 1], U[2, 2], U[1, 2], U[0, 2], U[0, 1])
        ueq[i] = u
    for i, a in enumerate(atoms):
        if a['el'] == 'H':
            out[i] = a['hk'] * ueq[a['parent']] if a['parent'] is not None else 0.05
    return out


def rotate_about(Y, origin, axis, ang):
    """Rodrigues rotation of points Y about the line through origin along axis."""
    k = axis / np.linalg.norm(axis)
    V = Y - origin
    c, s_ = math.cos(ang), math.sin(ang)
    return origin + V * c + np.cross(k, V) * s_ + np.outer(V @ k, k) * (1 - c)


def disorder_groups(mh):
    """Terminal groups that can take a second orientation: a single non-ring bond P-A between non-H atoms
    whose A side has 2-10 non-H atoms and fewer atoms than the rest. Rotating the A side about the
    bond (A stays) moves everything on A but A itself. Weight 3 when all of A's other non-H neighbours
    are terminal and there are at least two (CF3, CCl3, tBu, iPr, NO2, CO2H, SO3), else 1 (rings, chain
    ends); 3-fold (second orientation 45-75 degrees away) for three alike."""
    out = []
    n = mh.GetNumAtoms()
    for b in mh.GetBonds():
        if b.GetBondType() != Chem.BondType.SINGLE or b.IsInRing():
            continue
        for P, A in ((b.GetBeginAtom(), b.GetEndAtom()), (b.GetEndAtom(), b.GetBeginAtom())):
            if P.GetSymbol() == 'H' or A.GetSymbol() == 'H':
                continue
            side, stack = {A.GetIdx()}, [A]
            while stack:
                x = stack.pop()
                for y in x.GetNeighbors():
                    if y.GetIdx() != P.GetIdx() and y.GetIdx() not in side:
                        side.add(y.GetIdx())
                        stack.append(y)
            if P.GetIdx() in side:
                continue
            heavy = [j for j in side if mh.GetAtomWithIdx(j).GetSymbol() != 'H']
            if not (2 <= len(heavy) <= 10) or len(side) >= n - len(side):
                continue
            term = [y for y in A.GetNeighbors() if y.GetIdx() != P.GetIdx() and y.GetSymbol() != 'H']
            ends = [y for y in term if sum(1 for z in y.GetNeighbors() if z.GetSymbol() != 'H') == 1]
            weight = 3 if len(ends) >= 2 and len(ends) == len(term) else 1
            threefold = len(ends) == 3 and len(term) == 3 and len({y.GetSymbol() for y in ends}) == 1
            out.append((P.GetIdx(), A.GetIdx(), sorted(side - {A.GetIdx()}), threefold, weight))
    return out


def contact_ok(Y, elsY, Z, elsZ, scale):
    """No distance between the two sets below scale x the van der Waals sum (H...H 2.0 x scale / 0.78)."""
    if len(Y) == 0 or len(Z) == 0:
        return True
    ry = np.array([VDW.get(e, 2.0) for e in elsY])
    rz = np.array([VDW.get(e, 2.0) for e in elsZ])
    thr = scale * (ry[:, None] + rz[None, :])
    d = np.linalg.norm(Y[:, None, :] - Z[None, :, :], axis=2)
    return bool(np.all(d >= thr))


def add_disorder(mh, X, rng):
    """Main-molecule atom records with one terminal group in two orientations (PART 1 at occupancy p,
    PART 2 at 1 - p, the second rotated about the group's bond), or None when no group fits."""
    groups = disorder_groups(mh)
    if not groups:
        return None
    w = np.array([g[4] for g in groups], dtype=float)
    P, A, rot, threefold, _ = groups[rng.choice(len(groups), p=w / w.sum())]
    els = [a.GetSymbol() for a in mh.GetAtoms()]
    static = [j for j in range(len(els)) if j not in rot and j != P and j != A]
    for _ in range(12):
        ang = math.radians(rng.uniform(45, 75) if threefold else rng.uniform(35, 145)) * (1 if rng.uniform() < 0.5 else -1)
        Y = rotate_about(X[rot], X[A], X[A] - X[P], ang)
        heavy = [k for k, j in enumerate(rot) if els[j] != 'H']
        if np.max(np.linalg.norm(Y[heavy] - X[rot][heavy], axis=1)) < 0.7:
            return None
        if contact_ok(Y, [els[j] for j in rot], X[static], [els[j] for j in static], 0.78):
            break
    else:
        return None
    p = round(float(rng.uniform(*REALISM['disorder_occupancy'])), 4)
    base = mol_atoms(mh, X)
    keep = [j for j in range(len(els)) if j not in rot]
    idx = {}
    out = []
    for j in keep:
        idx[j] = len(out)
        out.append(dict(base[j]))
    for part, occ, pos in ((1, p, X[rot]), (2, 1 - p, Y)):
        local = {}
        for k, j in enumerate(rot):
            local[j] = len(out)
            out.append(dict(base[j], x=pos[k], part=part, occ=occ, kind='disorder'))
        for k, j in enumerate(rot):
            par = base[j]['parent']
            if par is not None:
                out[local[j]]['parent'] = local.get(par, idx.get(par))
    for j in keep:
        par = base[j]['parent']
        if par is not None:
            out[idx[j]]['parent'] = idx[par]
    info = {'bond': f'{els[P]}{P + 1}-{els[A]}{A + 1}', 'group': ''.join(sorted(els[j] for j in rot if els[j] != 'H')),
            'non_h_atoms_per_part': sum(1 for j in rot if els[j] != 'H'), 'occupancy': p, 'angle_deg': round(math.degrees(ang), 1)}
    return out, info, p


def place_beside(atoms, Y, elsY, rng):
    """Y (a molecule, centred) randomly rotated and moved out from the centroid of `atoms` along a random
    direction until no contact is shorter than the van der Waals sum less 0.4 Å (H...H 2.0 Å)."""
    X = np.array([a['x'] for a in atoms])
    els = [a['el'] for a in atoms]
    Y = Y @ random_rotation(rng).T
    u = rng.normal(size=3)
    u /= np.linalg.norm(u)
    rx = np.array([VDW.get(e, 2.0) for e in els])
    ry = np.array([VDW.get(e, 2.0) for e in elsY])
    thr = rx[:, None] + ry[None, :] - 0.4
    hh = np.array([e == 'H' for e in els])[:, None] & np.array([e == 'H' for e in elsY])[None, :]
    thr[hh] = 2.0
    c = X.mean(axis=0)
    for t in np.arange(0.0, 40.0, 0.25):
        Z = Y + c + t * u
        d = np.linalg.norm(X[:, None, :] - Z[None, :, :], axis=2)
        if np.all(d >= thr):
            return Z
    return None


def embed_solvent(smi, rng):
    m = Chem.MolFromSmiles(smi)
    if m.GetNumAtoms() == 1 and m.GetAtomWithIdx(0).GetTotalNumHs() == 0:
        return m, np.zeros((1, 3))
    mh = embed(m, int(rng.integers(1 << 30)))
    if mh is None:
        return None
    conf = mh.GetConformer()
    X = np.array([list(conf.GetAtomPosition(i)) for i in range(mh.GetNumAtoms())])
    X = riding_h(mh, X)
    return mh, X - X.mean(axis=0)


def extras(mh, X, vmol, rng):
    """The realistic corpus's additions to one molecule: (atom records, molecular volume of the unit,
    description). Draws only from `rng`."""
    atoms = mol_atoms(mh, X)
    info = {'z_prime': 1, 'disorder': None, 'solvent': []}
    units = [atoms]
    if rng.uniform() < REALISM['disorder']:
        d = add_disorder(mh, X, rng)
        if d is not None:
            atoms, info['disorder'], _ = d
            units = [atoms]
    if mh.GetNumHeavyAtoms() <= REALISM['z_prime_2_max_heavy'] and rng.uniform() < REALISM['z_prime_2']:
        Z = place_beside(join_atoms(units), X, [a.GetSymbol() for a in mh.GetAtoms()], rng)
        if Z is not None:
            units.append(mol_atoms(mh, Z))
            info['z_prime'] = 2
            vmol *= 2
    if rng.uniform() < REALISM['solvent']:
        w = np.array([s[2] for s in SOLVENTS])
        name, smi, _ = SOLVENTS[rng.choice(len(SOLVENTS), p=w / w.sum())]
        count = 2 if rng.uniform() < REALISM['two_solvent'] else 1
        for _ in range(count):
            occ = 0.5 if rng.uniform() < REALISM['half_occupied_solvent'] else 1.0
            e = embed_solvent(smi, rng)
            if e is None:
                break
            sm, SX = e
            Z = place_beside(join_atoms(units), SX, [a.GetSymbol() for a in sm.GetAtoms()], rng)
            if Z is None:
                break
            units.append(mol_atoms(sm, Z, kind='solvent', occ=occ))
            info['solvent'].append({'name': name, 'smiles': smi, 'occupancy': occ})
            vmol += occ * (AllChem.ComputeMolVolume(sm, gridSpacing=0.4) if sm.GetNumAtoms() > 1 else 4 / 3 * math.pi * VDW.get(sm.GetAtomWithIdx(0).GetSymbol(), 2.0) ** 3)
    atoms = join_atoms(units)
    # Parts in order (PART 0, 1, 2), solvent last, as SHELXL files usually have them.
    order = sorted(range(len(atoms)), key=lambda i: (atoms[i]['kind'] == 'solvent', atoms[i]['part']))
    if order != list(range(len(atoms))):
        pos = {o: k for k, o in enumerate(order)}
        atoms = [dict(atoms[o], parent=None if atoms[o]['parent'] is None else pos[atoms[o]['parent']]) for o in order]
    return atoms, vmol, info


def write_res(path, name, cell, wavelength, latt, symm, z, atoms, F, U, fvar2=None):
    els = [a['el'] for a in atoms]
    sfac = ['C', 'H'] + sorted(set(els) - {'C', 'H'})
    # The cell's content, each site at its chemical occupancy (Z' = 1 molecule: z x formula).
    unit = [int(round(z * sum(a['occ'] for a in atoms if a['el'] == e))) for e in sfac]
    lines = [f'TITL {name}', 'CELL %.5f %.4f %.4f %.4f %.3f %.3f %.3f' % ((wavelength,) + tuple(cell)),
             'ZERR %d 0.001 0.001 0.001 0.01 0.01 0.01' % z, f'LATT {latt}']
    lines += [f'SYMM {s}' for s in symm]
    lines += ['SFAC ' + ' '.join(sfac), 'UNIT ' + ' '.join(str(u) for u in unit), 'L.S. 4', 'FMAP 2',
              'FVAR 1.00000' + ('' if fvar2 is None else ' %.5f' % fvar2)]
    counter = {}
    part = 0
    for i, e in enumerate(els):
        if atoms[i]['part'] != part:
            part = atoms[i]['part']
            lines.append(f'PART {part}')
        counter[e] = counter.get(e, 0) + 1
        lab = f'{e}{counter[e]}'
        if len(lab) > 4:
            lab = f'{e[0]}{counter[e]:X}'[:4]
        sof = {1: 21.0, 2: -21.0}.get(part, 10.0 + atoms[i]['occ'])
        x, y, zz = F[i]
        head = '%-4s %d %9.6f %9.6f %9.6f %.5f' % (lab, sfac.index(e) + 1, x, y, zz, sof)
        if isinstance(U[i], tuple):
            u = U[i]
            lines.append(head + ' %8.5f %8.5f =' % (u[0], u[1]))
            lines.append('    %8.5f %8.5f %8.5f %8.5f' % (u[2], u[3], u[4], u[5]))
        else:
            lines.append(head + ' %8.5f' % U[i])
    if part:
        lines.append('PART 0')
    lines += ['HKLF 4', 'END']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return sfac


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--n', type=int, required=True)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', required=True)
    ap.add_argument('--smiles', default=DEFAULT_SMILES)
    ap.add_argument('--heldout', type=float, default=0.2)
    ap.add_argument('--plain', action='store_true', help='ordered Z\' = 1 molecules only (no solvent, disorder or Z\' = 2): the first shipped model\'s corpus')
    ap.add_argument('--trigonal', action='store_true', help='also draw trigonal groups (P-3, R-3, P31c), some with a C3v solvent or ion on a 3-fold axis (REALISM trigonal, axis_species); without it the corpus is the shipped model\'s')
    a = ap.parse_args()
    if not os.path.exists(a.smiles):
        sys.exit(f'{a.smiles}: not found (Debian package rdkit-data, or pass --smiles)')
    rng = np.random.default_rng(a.seed)
    mols = load_molecules(a.smiles)
    by = {s: [m for m in mols if m[2] == s] for s in STRATA}
    for s in STRATA:
        rng.shuffle(by[s])
    # Round-robin over strata (C/N/O-only molecules take two turns per round).
    order = []
    turns = STRATA + ['CNO']
    pos = {s: 0 for s in STRATA}
    while len(order) < len(mols):
        moved = False
        for s in turns:
            if pos[s] < len(by[s]):
                order.append(by[s][pos[s]])
                pos[s] += 1
                moved = True
        if not moved:
            break
    os.makedirs(a.out, exist_ok=True)
    names = list(GROUPS)
    probs = np.array([GROUPS[g][2] for g in names])
    probs /= probs.sum()
    manifest = []
    for k, (smi, m, st) in enumerate(order):
        if len(manifest) >= a.n:
            break
        name = f'm{k:05d}'
        side = os.path.join(a.out, f'{name}.json')
        if os.path.exists(side) and os.path.exists(os.path.join(a.out, f'{name}.res')):
            with open(side) as f:
                manifest.append(json.load(f))
            continue
        # One stream per molecule (seed, position): a resumed or partial run makes the same structures.
        r = np.random.default_rng([a.seed, k])
        try:
            mh = embed(m, int(r.integers(1 << 30)))
        except RuntimeError:
            mh = None
        if mh is None:
            continue
        conf = mh.GetConformer()
        X = np.array([list(conf.GetAtomPosition(i)) for i in range(mh.GetNumAtoms())])
        X = riding_h(mh, X)
        X = X - X.mean(axis=0)
        vmol = AllChem.ComputeMolVolume(mh, gridSpacing=0.4)
        if a.plain:
            atoms, info = mol_atoms(mh, X), {'z_prime': 1, 'disorder': None, 'solvent': []}
        else:
            # The extras draw from their own stream, so the molecule's own draws below stay as in --plain.
            r2 = np.random.default_rng([a.seed, k, 1])
            atoms, vmol, info = extras(mh, X, vmol, r2)
            X = np.array([t['x'] for t in atoms])
            X = X - X.mean(axis=0)
            for t, x in zip(atoms, X):
                t['x'] = x
        els = [t['el'] for t in atoms]
        g = names[r.choice(len(names), p=probs)]
        latt, symm, _ = GROUPS[g]
        system = SYSTEM[g]
        axis = None
        if not a.plain and a.trigonal:
            # The trigonal draws come from a stream of their own: every structure they leave alone is as without them.
            r3 = np.random.default_rng([a.seed, k, 2])
            info['axis_species'] = None
            if r3.uniform() < REALISM['trigonal']:
                tn = list(TRIGONAL)
                tw = np.array([TRIGONAL[t][2] for t in tn])
                g = tn[r3.choice(len(tn), p=tw / tw.sum())]
                latt, symm, _, xy = TRIGONAL[g]
                system = 'hex'
                if r3.uniform() < REALISM['axis_species']:
                    sp_name, asym, full, full_els = draw_axis_species(r3)
                    z0 = r3.uniform(0.15, 0.35) if g == 'R-3' else r3.uniform(0, 1)
                    radius = np.array([VDW.get(e, 2.0) for e in els])
                    axis = {'xy': xy, 'z0': z0, 'full': full, 'els': full_els, 'mol_r': radius, 'mol_h': np.array([e == 'H' for e in els])}
                    # One species per three molecules (the axis site's multiplicity is a third of a general
                    # one's); its volume as van der Waals spheres, 0.6 of their sum where bonded ones overlap.
                    spheres = sum(4 / 3 * math.pi * VDW.get(e, 2.0) ** 3 for e in full_els)
                    vmol += spheres * (0.6 if len(full_els) > 1 else 1.0) / 3
        ops = all_ops(latt, symm)
        fixed = axis
        if not a.plain:
            info['special_position'] = None
            if axis is None and g not in TRIGONAL and latt > 0 and r2.uniform() < REALISM['special_position']:
                w = np.array([x[1] for x in SPECIAL_IONS])
                ion = SPECIAL_IONS[r2.choice(len(SPECIAL_IONS), p=w / w.sum())][0]
                f0 = 0.5 * r2.integers(2, size=3).astype(float)
                fixed = (f0, np.array([VDW.get(e, 2.0) for e in els]) + VDW[ion] - 0.5)
                vmol += 0.5 * 4 / 3 * math.pi * VDW[ion] ** 3
        packed = pack(X, els, ops, system, vmol, r, fixed=fixed)
        if packed is None:
            continue
        cell, F, pc = packed
        if axis is not None:
            # On the 3-fold axis: site occupancy 1/3 (chemical occupancy 1); an atom off the axis is written
            # once for the three the axis makes.
            Minv = np.linalg.inv(cell_matrix(*cell))
            P0 = np.array([xy[0], xy[1], axis['z0']])
            start = len(atoms)
            fullX = full
            for el, off, on, parent in asym:
                d = np.linalg.norm(fullX - off, axis=1)
                nheavy = sum(1 for q, e in enumerate(full_els) if e != 'H' and 0.1 < d[q] < 1.9)
                atoms = atoms + [{'el': el, 'x': np.zeros(3), 'part': 0, 'occ': 1 / 3 if on else 1.0, 'nheavy': nheavy,
                                  'parent': None if parent is None else start + parent, 'hk': 1.5 if sp_name == 'acetonitrile' else 1.2,
                                  'kind': 'solvent', 'rr': 1.0, 'axis': on}]
                F = np.concatenate([F, (P0 + off @ Minv.T)[None]])
                els = els + [el]
            info['axis_species'] = {'name': sp_name, 'site': [round(float(v), 5) for v in P0], 'site_symmetry': '3'}
        elif fixed is not None:
            # An inversion centre: site occupancy 1/2, the atom's own U (inversion leaves U free).
            atoms = atoms + [{'el': ion, 'x': np.zeros(3), 'part': 0, 'occ': 0.5, 'nheavy': 0, 'parent': None, 'hk': 1.2,
                              'kind': 'solvent', 'rr': 1.0}]
            F = np.concatenate([F, f0[None]])
            els = els + [ion]
            info['special_position'] = {'element': ion, 'site': f0.tolist(), 'site_occupancy': 0.5}
        M = cell_matrix(*cell)
        U = adps(atoms, M, r)
        wavelength = 0.71073 if r.uniform() < 0.8 else 1.54184
        h = int(hashlib.sha256(f'{a.seed}:{smi}'.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        split = 'heldout' if h < a.heldout else 'train'
        fvar2 = info['disorder']['occupancy'] if info['disorder'] else None
        write_res(os.path.join(a.out, f'{name}.res'), name, cell, wavelength, latt, symm, len(ops), atoms, F, U, fvar2)
        entry = {'name': name, 'smiles': smi, 'stratum': st, 'split': split, 'space_group': g, 'z': len(ops),
                 'packing_coefficient': round(float(pc), 4), 'wavelength': wavelength,
                 'heavy_atoms': int(m.GetNumHeavyAtoms()), 'elements': sorted(set(els))}
        if not a.plain:
            entry.update({'sites': sum(1 for e in els if e != 'H'), **info})
        with open(side, 'w') as f:
            json.dump(entry, f)
        manifest.append(entry)
        tags = '' if a.plain else ''.join([f" Z'={info['z_prime']}" if info['z_prime'] > 1 else '',
                                            f" +{info['special_position']['element']}@inversion-centre" if info['special_position'] else '', f" +{info['axis_species']['name']}@3-fold-axis" if info.get('axis_species') else '', f" disorder {info['disorder']['group']} {info['disorder']['occupancy']:.2f}" if info['disorder'] else '', ''.join(f" +{x['name']}@{x['occupancy']:g}" for x in info['solvent'])])
        print(f'{name} {g} {st} pc {pc:.3f} {smi}{tags}', flush=True)
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump({'generator': 'scripts/crystal_corpus.py', 'seed': a.seed, 'n': len(manifest), 'smiles': os.path.basename(a.smiles),
                   'heldout_fraction': a.heldout, 'plain': a.plain, **({} if a.plain else {'realism': {key: v for key, v in REALISM.items() if a.trigonal or key not in ('trigonal', 'axis_species')}, 'solvents': SOLVENTS, 'special_ions': SPECIAL_IONS,
                                                  **({'trigonal_groups': {t: v[2] for t, v in TRIGONAL.items()}, 'axis_species': [(x[0], x[1]) for x in AXIS_SPECIES]} if a.trigonal else {})}), 'structures': manifest}, f, indent=1)


if __name__ == '__main__':
    main()
