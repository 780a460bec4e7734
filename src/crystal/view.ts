// A self-contained 3-D structure view: an inline SVG projection of the asymmetric unit (atoms
// coloured by element, bonds, flagged atoms ringed in red) with a small inline script that rotates
// it on drag. No network, no external files.
import { escapeHtml } from '../core/report.js';
import { bondsByCovalentRadii } from './connect.js';
import type { Site, Structure } from './structure.js';

const COLOURS: Readonly<Record<string, string>> = {
  H: '#dddddd', C: '#555555', N: '#3050f8', O: '#ff0d0d', F: '#90e050', Cl: '#1ff01f', Br: '#a62929', S: '#e6c619',
  P: '#ff8000', B: '#ffb5b5', Si: '#f0c8a0', Al: '#bfa6a6', Ga: '#c28f8f', Fe: '#e06633', I: '#940094',
};

let viewCount = 0;

export function structureView(st: Structure, opts: { sites?: readonly Site[]; flagged?: readonly string[]; size?: number } = {}): string {
  const sites = opts.sites ?? st.sites;
  const flagged = new Set(opts.flagged ?? []);
  const xyz = sites.map((s) => st.cell.toCartesian(s.frac));
  const c = [0, 1, 2].map((k) => xyz.reduce((a, p) => a + p[k], 0) / Math.max(1, xyz.length));
  const pts = xyz.map((p) => [p[0] - c[0], p[1] - c[1], p[2] - c[2]]);
  const rmax = Math.max(1, ...pts.map((p) => Math.hypot(p[0], p[1], p[2])));
  const bonds: [number, number][] = [];
  const bl = bondsByCovalentRadii(st, { sites });
  bl.forEach((list, i) => list.forEach((b) => {
    // keep bonds inside the listed asymmetric unit (image equal to the stored position)
    const same = b.image.every((v, k) => Math.abs(v - sites[b.j].frac[k]) < 1e-6);
    if (same && b.j > i) bonds.push([i, b.j]);
  }));
  const size = opts.size ?? 420;
  const id = `xview${viewCount++}`;
  const atoms = sites.map((s, i) => ({ l: s.label, e: s.element, p: pts[i].map((v) => +(v / rmax).toFixed(4)), f: flagged.has(s.label) ? 1 : 0, c: COLOURS[s.element] ?? '#ff1493' }));
  const data = JSON.stringify({ atoms, bonds, size }).replace(/</g, '\\u003c');
  const legend = [...new Set(sites.map((s) => s.element))].map((e) => `<span style="color:${COLOURS[e] ?? '#ff1493'}">&#9679;</span> ${escapeHtml(e)}`).join(' &nbsp; ');
  // Static first frame (so the view shows without scripts), redrawn by the script on drag.
  const frame = render(atoms, bonds, size, 0.6, 0.4);
  return `<div class="xview"><svg id="${id}" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" style="border:1px solid #ccc;background:#fff;cursor:grab">${frame}</svg>` +
    `<div style="font-size:12px">${legend} &nbsp; <span style="color:red">&#9711;</span> flagged &nbsp; (drag to rotate)</div>` +
    `<script>(function(){var D=${data};var s=document.getElementById('${id}');var a=0.6,b=0.4,d=null;` +
    `${render.toString()};function draw(){s.innerHTML=render(D.atoms,D.bonds,D.size,a,b);}` +
    `s.addEventListener('mousedown',function(e){d=[e.clientX,e.clientY,a,b];});window.addEventListener('mouseup',function(){d=null;});` +
    `s.addEventListener('mousemove',function(e){if(!d)return;a=d[2]+(e.clientX-d[0])/100;b=d[3]+(e.clientY-d[1])/100;draw();});})();</script></div>`;
}

interface ViewAtom { l: string; e: string; p: number[]; f: number; c: string }

function render(atoms: ViewAtom[], bonds: [number, number][], size: number, a: number, b: number): string {
  var ca = Math.cos(a), sa = Math.sin(a), cb = Math.cos(b), sb = Math.sin(b);
  var q = atoms.map(function (t) {
    var x = t.p[0] * ca + t.p[2] * sa, z = -t.p[0] * sa + t.p[2] * ca;
    var y = t.p[1] * cb - z * sb, z2 = t.p[1] * sb + z * cb;
    return [size / 2 + x * size * 0.42, size / 2 - y * size * 0.42, z2];
  });
  var out = '';
  bonds.forEach(function (bd) {
    var p = q[bd[0]], r = q[bd[1]];
    out += '<line x1="' + p[0].toFixed(1) + '" y1="' + p[1].toFixed(1) + '" x2="' + r[0].toFixed(1) + '" y2="' + r[1].toFixed(1) + '" stroke="#999" stroke-width="2"/>';
  });
  var order = q.map(function (_, i) { return i; }).sort(function (i, j) { return q[i][2] - q[j][2]; });
  order.forEach(function (i) {
    var t = atoms[i], p = q[i], r = (t.e === 'H' ? 3 : 6) * (1 + 0.25 * p[2]);
    out += '<circle cx="' + p[0].toFixed(1) + '" cy="' + p[1].toFixed(1) + '" r="' + r.toFixed(1) + '" fill="' + t.c + '" stroke="#222" stroke-width="0.5"><title>' + t.l + '</title></circle>';
    if (t.f) out += '<circle cx="' + p[0].toFixed(1) + '" cy="' + p[1].toFixed(1) + '" r="' + (r + 4).toFixed(1) + '" fill="none" stroke="red" stroke-width="2"/>';
  });
  return out;
}
