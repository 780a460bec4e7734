"""Extract the Henke f', f'' knots that crystal/dispersion.ts interpolates, from cctbx.

Henke, Gullikson & Davis, At. Data Nucl. Data Tables 54 (1993), as compiled into cctbx
(Debian python3-cctbx, cctbx.eltbx.henke): for Z = 1-92, 500 energies on a uniform logarithmic
mesh from 10 to 30,000 eV, E_k = 10 * 3000**(k/499), plus points 0.1 eV either side of sharp
absorption edges; cctbx interpolates linearly in energy between neighbouring points
(cctbx/eltbx/fp_fdp.cpp) and returns f' = f1 - Z.

cctbx does not expose the points themselves, so they are recovered: the function is read at the
mesh energies (exactly the tabulated values there), and each mesh interval on which it is not a
straight line is searched for its extra points by bisection (where the function leaves the
straight piece at either end of the interval). Only energies from 3,500 eV up are kept (wavelengths
below 3.54 Angstrom: every X-ray source used for structure analysis).

Run once with Debian's python3 (python3-cctbx installed):
    /usr/bin/python3 scripts/crystal_henke.py > src/crystal/henke-fpfdp.json
"""
import json
import sys

from cctbx.eltbx import henke

E_MIN = 3500.0
MESH = [float(f'{10.0 * 3000.0 ** (k / 499.0):.6g}') for k in range(500)]  # printed to 6 digits in the table
SYMBOLS = ('H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr '
           'Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb '
           'Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U').split()


def values(table, e):
    f = table.at_ev(e)
    return (f.fp(), f.fdp())


def on_line(p, q, e, v, tol):
    """Whether v (fp, fdp) at e lies on the straight line through points p and q (each (e, fp, fdp))."""
    t = (e - p[0]) / (q[0] - p[0])
    return all(abs(v[i] - (p[1 + i] + t * (q[1 + i] - p[1 + i]))) <= tol * (1 + abs(v[i])) for i in range(2))


TOL = 1e-5  # relative: cctbx interpolates in single precision


def bend(table, a, b, from_left):
    """The bend nearest to a (from_left) or b inside (a, b): the end of the straight piece there."""
    s = 1 if from_left else -1
    x0 = a if from_left else b
    p0 = (x0,) + values(table, x0)
    h = (b - a) / 32
    # a second point on the end piece, far enough for single precision, close enough to be on it
    while h > 0.02:
        q = (x0 + s * h,) + values(table, x0 + s * h)
        if on_line(p0, q, x0 + s * h / 2, values(table, x0 + s * h / 2), TOL):
            break
        h /= 4
    q = (x0 + s * h,) + values(table, x0 + s * h)
    lo, hi = h, b - a  # distances from x0: on the piece at lo, off it at hi
    for _ in range(60):
        m = 0.5 * (lo + hi)
        if on_line(p0, q, x0 + s * m, values(table, x0 + s * m), TOL):
            lo = m
        else:
            hi = m
    return x0 + s * lo


def extra_points(table, a, b, depth=0):
    """Points strictly inside (a, b) (tuples (e, fp, fdp)) where the piecewise-linear function bends."""
    pa, pb = (a,) + values(table, a), (b,) + values(table, b)
    # cctbx computes in single precision: inside a piece narrower than 0.5 eV (the steep step
    # across an edge, 0.2 eV wide) the function is too coarse to find further bends in.
    if b - a < 0.5:
        return []
    if all(on_line(pa, pb, a + f * (b - a), values(table, a + f * (b - a)), TOL) for f in (0.13, 0.5, 0.87)):
        return []
    if depth > 6:
        raise SystemExit(f'{table.label()}: no straight pieces found in ({a}, {b})')
    left, right = bend(table, a, b, True), bend(table, a, b, False)
    pts = [(left,) + values(table, left)]
    if right - left > 0.01:
        pts += extra_points(table, left, right, depth + 1)
        pts.append((right,) + values(table, right))
    return pts


def knot_values(table, e, d=0.02):
    """The function's value at a table point, extrapolated from the side whose piece is less steep.

    cctbx stores energies in single precision, so an energy read "at" a point may fall a few meV
    into the neighbouring piece; on the 0.2 eV step across an edge that moves f'' by up to 1 %.
    """
    l1, l2 = values(table, e - d), values(table, e - 2 * d)
    r1, r2 = values(table, e + d), values(table, e + 2 * d)
    if e + 2 * d > 30000.0:
        left = True
    elif e - 2 * d < 10.0:
        left = False
    else:
        left = abs(l1[1] - l2[1]) + abs(l1[0] - l2[0]) <= abs(r2[1] - r1[1]) + abs(r2[0] - r1[0])
    a, b = (l1, l2) if left else (r1, r2)
    return tuple(2 * a[i] - b[i] for i in range(2))


def main():
    out = {'source': 'Henke, Gullikson & Davis, At. Data Nucl. Data Tables 54 (1993) 181, as compiled into cctbx.eltbx.henke (python3-cctbx); '
                     'knots recovered by scripts/crystal_henke.py',
           'e_min_ev': E_MIN, 'e_max_ev': 30000.0, 'units': 'energy eV; fp, fdp electrons', 'elements': {}}
    for z, el in enumerate(SYMBOLS, start=1):
        t = henke.table(el)
        assert t.atomic_number() == z, el
        # The formula gives the mesh to about 0.01 eV; the table's own energies (rounded differently)
        # are found as the bend within 0.3 eV of each.
        mesh = []
        for m in (e for e in MESH if e >= E_MIN * 0.98):
            near = extra_points(t, m - 0.3, m + 0.3) if m + 0.3 < 30000.0 else []
            mesh.append(float(f'{min(near, key=lambda p: abs(p[0] - m))[0]:.6g}') if near else m)
        pts = []
        for i, e in enumerate(mesh):
            pts.append((e,) + values(t, e))
            if i + 1 < len(mesh):
                pts += extra_points(t, e, mesh[i + 1])
        # Energies to the table's own 6 significant digits (the bisection finds a point to about
        # 1e-3 eV, sometimes from both sides: one point), values at each point from its gentler side.
        # A point found within 0.05 eV of another is the same point (edge points are 0.2 eV apart;
        # a mesh energy read a hair past its single-precision value shows a spurious bend beside it):
        # the mesh energy is kept.
        es = []
        for e in sorted({float(f'{e:.6g}') for e, _, _ in pts}, key=lambda x: (x not in mesh, x)):
            if all(abs(e - x) > 0.05 for x in es):
                es.append(e)
        es.sort()
        pts = [(e,) + knot_values(t, e) for e in es]
        rows = [float(f'{x:.7g}') for p in pts for x in p]
        out['elements'][el] = rows  # flat: e, fp, fdp, e, fp, fdp, ...
        print(f'{el}: {len(rows)} points', file=sys.stderr)
    json.dump(out, sys.stdout, separators=(',', ':'))
    sys.stdout.write('\n')


main()
