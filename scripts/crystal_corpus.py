#!/usr/bin/env python3
"""Crystal corpus generator (dev tool, needs Debian's python3-rdkit and rdkit-data; never run by npm test).

Real molecules (RDKit's NCI example set) get an ETKDG conformer optimised by MMFF (UFF where MMFF has
no parameters), are packed with Z' = 1 in a common small-molecule space group at a packing coefficient
near a real crystal's without short contacts, get anisotropic ADPs and riding-geometry hydrogens, and
are written as SHELX .res files. Reflections, noise and peaks are made by perennial's own TypeScript
(scripts/crystal-corpus.ts), so the corpus sees the same structure factors and maps as real data.

Molecules are drawn stratified by their rarest element (I, Br, P, Cl, S, F, metals and others, then
C/N/O-only) so that rare elements appear; the held-out split is by molecule (canonical SMILES).
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

# Bondi van der Waals radii (Å); 2.0 for elements without one.
VDW = {'H': 1.10, 'B': 1.92, 'C': 1.70, 'N': 1.55, 'O': 1.52, 'F': 1.47, 'Si': 2.10, 'P': 1.80, 'S': 1.80,
       'Cl': 1.75, 'As': 1.85, 'Se': 1.90, 'Br': 1.85, 'Sn': 2.17, 'Sb': 2.06, 'I': 1.98, 'Hg': 1.55}
# X-H distances of SHELXL's riding model (Å, 100 K values).
XH = {'C': 0.98, 'N': 0.88, 'O': 0.84, 'B': 1.10, 'S': 1.20, 'P': 1.30, 'Si': 1.40}
STRATA = ['I', 'Br', 'P', 'Cl', 'S', 'F', 'other', 'CNO']
ORGANIC = {'H', 'C', 'N', 'O', 'S', 'P', 'F', 'Cl', 'Br', 'I'}
MAX_Z = 83
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
    cent = {1: [np.zeros(3)], 7: [np.zeros(3), np.array([0.5, 0.5, 0.0])]}[abs(latt)]
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


def clash(Xr, centre, lengths, angles, ops, thr, rmax):
    M = cell_matrix(*lengths, *angles)
    F = Xr @ np.linalg.inv(M).T + centre
    C = images(F, ops) @ M.T
    C0 = F @ M.T
    near = np.linalg.norm(C.mean(axis=1) - C0.mean(axis=0), axis=1) < 2 * rmax
    if not near.any():
        return False, F, M
    n = len(C0)
    other = C[near].reshape(-1, 3)
    pairs = cKDTree(C0).sparse_distance_matrix(cKDTree(other), THR_MAX, output_type='ndarray')
    if len(pairs) == 0:
        return False, F, M
    return bool(np.any(pairs['v'] < thr[pairs['i'], pairs['j'] % n])), F, M


def pack(X, els, ops, system, vmol, rng, attempts=3):
    """Place the molecule (Cartesian, centred) at a general position in a loose cell, then squeeze the
    cell axis by axis while no intermolecular contact is shorter than the sum of van der Waals radii
    less 0.5 Å (H...H 2.0 Å). Returns (cell params, fractional coordinates, packing coefficient) of
    the densest of `attempts` orientations."""
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
            if not clash(Xr, centre, trial, angles, ops, thr, rmax)[0]:
                lengths = trial
                break
        if lengths is None:
            continue
        for step in (0.85, 0.94, 0.98):
            moved = True
            while moved:
                moved = False
                for ax in rng.permutation(3):
                    trial = lengths.copy()
                    trial[ax] *= step
                    if trial[ax] >= 3.5 and not clash(Xr, centre, trial, angles, ops, thr, rmax)[0]:
                        lengths = trial
                        moved = True
        _, F, M = clash(Xr, centre, lengths, angles, ops, thr, rmax)
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


def adps(mh, X, M, rng):
    """Anisotropic U (SHELX order U11 U22 U33 U23 U13 U12, reciprocal-axis basis) per non-H atom, Uiso per H."""
    base = rng.uniform(0.015, 0.05)
    cen = X.mean(axis=0)
    r = np.linalg.norm(X - cen, axis=1)
    rr = r / (r.max() + 1e-9)
    Minv = np.linalg.inv(M)
    nrec = np.linalg.norm(Minv, axis=1)  # a*, b*, c*
    out = [None] * len(X)
    ueq = np.zeros(len(X))
    heavy = [a for a in mh.GetAtoms() if a.GetSymbol() != 'H']
    for a in heavy:
        i = a.GetIdx()
        nheavy = sum(1 for n in a.GetNeighbors() if n.GetSymbol() != 'H')
        u = base * (1 + 0.8 * rr[i] ** 2) * (1.35 if nheavy <= 1 else 1.0) * rng.uniform(0.9, 1.1)
        ev = rng.uniform(0.55, 1.5, size=3)
        ev = ev / ev.mean() * u
        Q = random_rotation(rng)
        Uc = Q @ np.diag(ev) @ Q.T
        Ustar = Minv @ Uc @ Minv.T
        U = Ustar / np.outer(nrec, nrec)
        out[i] = (U[0, 0], U[1, 1], U[2, 2], U[1, 2], U[0, 2], U[0, 1])
        ueq[i] = u
    for a in mh.GetAtoms():
        if a.GetSymbol() == 'H':
            p = a.GetNeighbors()[0]
            nh = sum(1 for n in p.GetNeighbors() if n.GetSymbol() == 'H')
            k = 1.5 if (p.GetSymbol() == 'O' or (p.GetSymbol() == 'C' and nh == 3)) else 1.2
            out[a.GetIdx()] = k * ueq[p.GetIdx()]
    return out


def write_res(path, name, cell, wavelength, latt, symm, z, els, F, U):
    sfac = ['C', 'H'] + sorted(set(els) - {'C', 'H'})
    unit = [z * els.count(e) for e in sfac]
    lines = [f'TITL {name}', 'CELL %.5f %.4f %.4f %.4f %.3f %.3f %.3f' % ((wavelength,) + tuple(cell)),
             'ZERR %d 0.001 0.001 0.001 0.01 0.01 0.01' % z, f'LATT {latt}']
    lines += [f'SYMM {s}' for s in symm]
    lines += ['SFAC ' + ' '.join(sfac), 'UNIT ' + ' '.join(str(u) for u in unit), 'L.S. 4', 'FMAP 2', 'FVAR 1.00000']
    counter = {}
    for i, e in enumerate(els):
        counter[e] = counter.get(e, 0) + 1
        lab = f'{e}{counter[e]}'
        if len(lab) > 4:
            lab = f'{e[0]}{counter[e]:X}'[:4]
        x, y, zz = F[i]
        head = '%-4s %d %9.6f %9.6f %9.6f 11.00000' % (lab, sfac.index(e) + 1, x, y, zz)
        if isinstance(U[i], tuple):
            u = U[i]
            lines.append(head + ' %8.5f %8.5f =' % (u[0], u[1]))
            lines.append('    %8.5f %8.5f %8.5f %8.5f' % (u[2], u[3], u[4], u[5]))
        else:
            lines.append(head + ' %8.5f' % U[i])
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
        els = [at.GetSymbol() for at in mh.GetAtoms()]
        vmol = AllChem.ComputeMolVolume(mh, gridSpacing=0.4)
        g = names[r.choice(len(names), p=probs)]
        latt, symm, _ = GROUPS[g]
        ops = all_ops(latt, symm)
        packed = pack(X, els, ops, SYSTEM[g], vmol, r)
        if packed is None:
            continue
        cell, F, pc = packed
        M = cell_matrix(*cell)
        U = adps(mh, X, M, r)
        wavelength = 0.71073 if r.uniform() < 0.8 else 1.54184
        h = int(hashlib.sha256(f'{a.seed}:{smi}'.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        split = 'heldout' if h < a.heldout else 'train'
        write_res(os.path.join(a.out, f'{name}.res'), name, cell, wavelength, latt, symm, len(ops), els, F, U)
        entry = {'name': name, 'smiles': smi, 'stratum': st, 'split': split, 'space_group': g, 'z': len(ops),
                 'packing_coefficient': round(float(pc), 4), 'wavelength': wavelength,
                 'heavy_atoms': int(m.GetNumHeavyAtoms()), 'elements': sorted(set(els))}
        with open(side, 'w') as f:
            json.dump(entry, f)
        manifest.append(entry)
        print(f'{name} {g} {st} pc {pc:.3f} {smi}', flush=True)
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump({'generator': 'scripts/crystal_corpus.py', 'seed': a.seed, 'n': len(manifest), 'smiles': os.path.basename(a.smiles),
                   'heldout_fraction': a.heldout, 'structures': manifest}, f, indent=1)


if __name__ == '__main__':
    main()
