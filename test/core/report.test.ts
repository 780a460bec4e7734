// Reports: escaping and tables as HTML, and a real render in headless Chromium (every plot an SVG
// with marks, no console errors, a screenshot kept under tmp/test-artifacts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SectionBuilder, barChart, escapeHtml, lineChart, renderReport, renderSvg, writeReport } from '../../src/core/report.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tmp', 'test-artifacts');

function sections() {
  const curve = [1, 2, 4, 8, 16].flatMap((x) => [
    { x, acc: 1 - 0.5 / x, method: 'replay' },
    { x, acc: 1 - 0.8 / x, method: 'finetune' },
  ]);
  const bars = [
    { task: 'A', value: 0.9, method: 'replay' },
    { task: 'A', value: 0.7, method: 'finetune' },
    { task: 'B', value: 0.85, method: 'replay' },
    { task: 'B', value: 0.6, method: 'finetune' },
  ];
  return [
    new SectionBuilder('Curves <and> "quotes"')
      .text('First paragraph with <b>markup</b> & an ampersand.\n\nSecond paragraph.')
      .plot(lineChart(curve, { x: 'x', y: 'acc', series: 'method', logX: true, title: 'accuracy' }), 'a line chart')
      .build(),
    new SectionBuilder('Bars and a table')
      .plot(barChart(bars, { x: 'task', y: 'value', series: 'method' }), 'grouped bars')
      .table(['method', 'mean', 'std', 'note'], [['replay', 0.875, 0.025, '<ok>'], ['finetune', 0.65, null, 'x & y'], ['tiny', 1.5e-5, 1234567.5, ''], ['count', 42, 7, '']], 'summary')
      .build(),
  ];
}

test('escapeHtml escapes &, <, > and double quotes', () => {
  assert.equal(escapeHtml('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  assert.equal(escapeHtml('plain'), 'plain');
});

test('renderReport escapes titles, text and table cells, and formats numbers and nulls', async () => {
  const html = await renderReport('Title <script>', sections(), 'meta & more');
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.includes('<title>Title &lt;script&gt;</title>'));
  assert.ok(!html.includes('<script>'), 'no raw script tag');
  assert.ok(html.includes('<h2>Curves &lt;and&gt; &quot;quotes&quot;</h2>'));
  assert.ok(html.includes('<p>First paragraph with &lt;b&gt;markup&lt;/b&gt; &amp; an ampersand.</p>'));
  assert.ok(html.includes('<p>Second paragraph.</p>'));
  assert.ok(html.includes('<caption>summary</caption>'));
  assert.ok(html.includes('<th>method</th><th>mean</th><th>std</th><th>note</th>'));
  assert.ok(html.includes('<td>&lt;ok&gt;</td>'));
  assert.ok(html.includes('<td>0.875</td>'));
  assert.ok(html.includes('<td>—</td>'), 'null renders as a dash');
  assert.ok(html.includes('<td>1.500e-5</td>') && html.includes('<td>1.235e+6</td>') && html.includes('<td>42</td>'), 'tiny and huge numbers in exponent form, integers as is');
  assert.equal((html.match(/<figure class="plot"><svg/g) ?? []).length, 2, 'two inline SVG figures');
  assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/xmlns(:\w+)?="[^"]*"/g, '')), 'no external URLs');
});

test('renderSvg draws marks for a line chart', async () => {
  const svg = await renderSvg(lineChart([{ a: 1, b: 2 }, { a: 2, b: 3 }], { x: 'a', y: 'b' }));
  assert.ok(svg.startsWith('<svg'));
  assert.ok(/class="mark-line role-mark/.test(svg));
});

test('a report renders in headless Chromium: every plot has SVG marks, no console errors, screenshot kept', async (t) => {
  if (!existsSync(CHROMIUM)) {
    // .ci/run installs Chromium and sets this: there a missing browser fails the test.
    if (process.env.PERENNIAL_REQUIRE_BROWSER === '1') assert.fail(`${CHROMIUM} is missing and PERENNIAL_REQUIRE_BROWSER=1: apt-get install chromium`);
    t.skip(`${CHROMIUM} not installed (apt-get install chromium); CI installs it`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'perennial-report-'));
  const file = join(dir, 'report.html');
  await writeReport(file, 'Chromium check', sections(), 'rendered by the test suite');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const figures = await page.$$eval('figure.plot', (figs) => figs.map((f) => {
      const svg = f.querySelector('svg');
      const marks = svg ? svg.querySelectorAll('.role-mark path, .role-mark rect, .role-mark line, .role-mark symbol').length : 0;
      const box = svg ? svg.getBoundingClientRect() : null;
      return { hasSvg: Boolean(svg), marks, width: box ? box.width : 0, height: box ? box.height : 0 };
    }));
    assert.equal(figures.length, 2);
    for (const [i, f] of figures.entries()) {
      assert.ok(f.hasSvg, `figure ${i} has an svg`);
      assert.ok(f.marks > 0, `figure ${i} has marks`);
      assert.ok(f.width > 100 && f.height > 50, `figure ${i} is laid out (${f.width}x${f.height})`);
    }
    const cells = await page.$$eval('td', (tds) => tds.map((td) => td.textContent));
    assert.ok(cells.includes('<ok>') && cells.includes('x & y'), 'escaped cells read back as the original text');
    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(requests, [], 'the report is self-contained');
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 5000);
    assert.equal(readFileSync(shot).subarray(1, 4).toString('latin1'), 'PNG');
  } finally {
    await browser.close();
  }
});
