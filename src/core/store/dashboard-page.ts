// The dashboard's page and script, served as fixed strings (no files to find at run time, and
// nothing a request can point elsewhere). The script builds the DOM with textContent only, and
// renders Vega-Lite specs with the vega and vega-lite builds served from the package's own
// node_modules, so the page works offline. Numbers are written by core/format's formatNumber,
// whose source is served inside the script so the page and the terminal agree.

import { formatNumber } from '../format.js';

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perennial runs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/vega.min.js"></script>
<script src="/assets/vega-lite.min.js"></script>
<script src="/assets/app.js" defer></script>
</head><body>
<header><h1>perennial runs</h1><span id="store"></span></header>
<form id="filters">
  <label>command <select id="f-command"><option value="">(any)</option></select></label>
  <label>method <input id="f-method" size="12"></label>
  <label>dataset <input id="f-dataset" size="12"></label>
  <label>since <input id="f-since" type="date"></label>
  <button type="submit" id="apply">filter</button>
  <button type="button" id="compare" disabled>compare selected</button>
  <span id="count"></span>
</form>
<table id="runs"><thead><tr><th></th><th>id</th><th>created</th><th>command</th><th>seed</th><th>method</th><th>dataset</th><th>job</th><th>files</th></tr></thead><tbody></tbody></table>
<section id="comparison" hidden>
  <h2>comparison</h2>
  <table id="metrics"></table>
  <h3>paired differences over shared seeds</h3>
  <p id="paired-note"></p>
  <table id="paired"></table>
  <h3>plots</h3>
  <div id="plots"></div>
</section>
</body></html>
`;

export const APP_CSS = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
header{display:flex;gap:1em;align-items:baseline}#store{color:#666;font-size:12px}
form{display:flex;gap:.8em;flex-wrap:wrap;align-items:center;margin:1em 0}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}tr.sel{background:#eef5ff}.plot{display:inline-block;margin:.5em;vertical-align:top}
.err{color:#b00}`;

export const APP_JS = `'use strict';
const $ = (s) => document.querySelector(s);
const el = (tag, text, attrs) => { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
${formatNumber.toString()}
const fmt = (v) => typeof v === 'number' || v === null || v === undefined ? formatNumber(v) : String(v);
const seedText = (s) => s === null ? '—' : Array.isArray(s) ? s.join(',') : String(s);
const selected = new Set();

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status + ' ' + (await r.text()));
  return r.json();
}

async function loadRuns() {
  const q = new URLSearchParams();
  for (const k of ['command', 'method', 'dataset', 'since']) { const v = $('#f-' + k).value.trim(); if (v) q.set(k, v); }
  const data = await getJson('/api/runs?' + q.toString());
  const body = $('#runs tbody');
  body.replaceChildren();
  for (const r of data.runs) {
    const tr = el('tr', null, { 'data-id': r.id });
    const box = el('input', null, { type: 'checkbox', 'aria-label': 'select ' + r.id });
    box.checked = selected.has(r.id);
    if (box.checked) tr.classList.add('sel');
    box.addEventListener('change', () => { if (box.checked) selected.add(r.id); else selected.delete(r.id); tr.classList.toggle('sel', box.checked); updateCompare(); });
    const c0 = el('td'); c0.append(box); tr.append(c0);
    for (const v of [r.id, r.created.replace(/\\.\\d+Z$/, 'Z'), r.command, seedText(r.seed), r.method ?? '—', r.dataset ?? '—', r.job ?? '—']) tr.append(el('td', v));
    const files = el('td');
    files.append(el('a', 'record', { href: '/record/' + r.id }));
    if (r.report) { files.append(' '); files.append(el('a', 'report', { href: r.report })); }
    tr.append(files);
    body.append(tr);
  }
  $('#count').textContent = data.runs.length + ' run(s)';
  updateCompare();
}

function updateCompare() { $('#compare').disabled = selected.size < 2; }

function table(node, header, rows) {
  node.replaceChildren();
  const hr = el('tr'); for (const h of header) hr.append(el('th', h)); node.append(hr);
  for (const row of rows) { const tr = el('tr'); for (const c of row) tr.append(el('td', c)); node.append(tr); }
}

async function renderPlot(div, spec) {
  try {
    const vg = vegaLite.compile(spec).spec;
    const view = new vega.View(vega.parse(vg), { renderer: 'svg', container: div, hover: true });
    await view.runAsync();
    div.dataset.status = 'ok';
  } catch (e) {
    div.dataset.status = 'error';
    div.append(el('p', 'plot failed: ' + e.message, { class: 'err' }));
    console.error('plot failed', e);
  }
}

async function compare() {
  const ids = [...selected];
  const c = await getJson('/api/compare?ids=' + encodeURIComponent(ids.join(',')));
  $('#comparison').hidden = false;
  table($('#metrics'), ['metric', ...c.comparison.runs.map((r) => r.id + ' (' + r.variant + ', seed ' + seedText(r.seed) + ')')],
    c.comparison.metrics.slice(0, 200).map((m) => [m.metric, ...m.values.map(fmt)]));
  const p = c.comparison.paired;
  $('#paired-note').textContent = p.length ? 'variant - ' + p[0].baseline + ', mean over shared seeds with a 95% t interval' : 'no paired differences: the selected runs share no seed across variants';
  table($('#paired'), ['metric', 'variant', 'seeds', 'mean diff', '95% interval'],
    p.slice(0, 400).map((d) => [d.metric, d.variant, d.seeds.join(','), fmt(d.mean), d.lo === null ? '(one seed)' : '[' + fmt(d.lo) + ', ' + fmt(d.hi) + ']']));
  const plots = $('#plots');
  plots.replaceChildren();
  const jobs = [];
  for (const pl of c.plots) {
    const div = el('div', null, { class: 'plot', 'data-title': pl.title });
    plots.append(div);
    jobs.push(renderPlot(div, pl.spec));
  }
  await Promise.all(jobs);
  plots.dataset.done = String(c.plots.length);
}

window.addEventListener('DOMContentLoaded', async () => {
  const info = await getJson('/api/info');
  $('#store').textContent = info.store + ' (' + info.runs + ' runs)';
  const sel = $('#f-command');
  for (const c of info.commands) sel.append(el('option', c, { value: c }));
  $('#filters').addEventListener('submit', (e) => { e.preventDefault(); loadRuns().catch((err) => console.error(err)); });
  $('#compare').addEventListener('click', () => { compare().catch((err) => { console.error(err); }); });
  await loadRuns();
});
`;
