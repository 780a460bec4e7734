/// <reference lib="dom" />
// The dashboard in a real browser: `perennial serve` (the CLI, as a child process) over a store
// of records this test writes, driven by headless Chromium (playwright-core with Debian's
// /usr/bin/chromium). It filters, selects, compares, checks the metrics and paired-difference
// tables against the records, checks that every Vega-Lite plot drew its marks, that the page
// logged no errors and asked for nothing off the server, and keeps screenshots in test-results/.
// Every step is bounded: launch, each page action, the whole test, and the cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunRecorder, writeRecord } from '../../src/core/record.js';
import { recordId } from '../../src/core/store/extract.js';
import { closeIndexStore } from '../../src/core/store/hook.js';
import { cliSpawn, tempDir, waitFor, type Proc } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');
const truthy = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
// CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
const REQUIRED = truthy(process.env.CI) || truthy(process.env.PERENNIAL_REQUIRE_BROWSER);

interface Made { id: string; path: string; command: string; method: string; seed: number; record: Record<string, unknown> }

/** Records in `dir`, indexed into the store at `storePath` by the same hook every command uses. */
function writeRuns(dir: string, storePath: string): Made[] {
  const prev = process.env.PERENNIAL_STORE;
  process.env.PERENNIAL_STORE = storePath;
  const made: Made[] = [];
  const put = (command: string, config: Record<string, unknown>, seed: number, results: Record<string, unknown>, name: string): void => {
    const path = join(dir, name);
    writeRecord(path, new RunRecorder(command, config, seed).finish(results));
    const text = readFileSync(path, 'utf8');
    made.push({ id: recordId(text), path, command, method: String(config.method), seed, record: JSON.parse(text) as Record<string, unknown> });
  };
  try {
    // Two training variants over seeds 0..2 (paired by seed), with a curve and an accuracy matrix;
    // per-seed effects differ so the paired interval has width.
    const noise = [0.013, -0.021, 0.007];
    const effect = [0.04, 0.061, 0.052];
    for (const method of ['ewc', 'replay']) {
      for (const seed of [0, 1, 2]) {
        const bump = method === 'replay' ? effect[seed]! : 0;
        const curve = [0.41, 0.55, 0.63, 0.7].map((v) => v + bump + noise[seed]!);
        put('fake train', { method, dataset: 'toy', lr: method === 'ewc' ? 0.1 : 0.01, seed }, seed,
          { final_accuracy: curve.at(-1), accuracy_curve: curve, accuracy_matrix: [[0.9 + noise[seed]!, 0.12], [0.6 + bump, 0.8 + noise[seed]!]], nested: { forgetting: 0.31 - bump } },
          `train-${method}-s${seed}.json`);
      }
    }
    // Another command (for the command filter), sharing seed 0 with the training runs.
    for (const seed of [0, 3]) {
      put('fake eval', { method: 'lwf', dataset: 'other', seed }, seed, { final_accuracy: 0.5 + seed / 100, score: 12.5 + seed, loss_curve: [2.1, 1.4, 1.1 - seed / 50] }, `eval-lwf-s${seed}.json`);
    }
  } finally {
    closeIndexStore();
    if (prev === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = prev;
  }
  return made;
}

/** The metric the store extracts at `key` (the flattened path; `.last` of a curve). */
function metricOf(r: Record<string, unknown>, key: string): number | null {
  if (key === 'run.wall_s') return (r.run as { wall_s: number }).wall_s;
  const parts = key.split('.');
  let v: unknown = r;
  for (const p of parts) {
    if (p === 'last' && Array.isArray(v)) { v = v.at(-1); continue; }
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  }
  return typeof v === 'number' ? v : null;
}

/** A table cell as the page prints numbers (4 significant digits), compared with the value. */
function assertCell(cell: string, want: number | null, where: string): void {
  if (want === null) { assert.equal(cell, '—', where); return; }
  const got = Number(cell);
  assert.ok(Number.isFinite(got), `${where}: ${JSON.stringify(cell)} is not a number`);
  assert.ok(Math.abs(got - want) <= 6e-4 * Math.max(Math.abs(want), 1e-12), `${where}: shown ${cell}, record has ${want}`);
}

async function stopServer(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const ended = await Promise.race([p.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
  if (!ended) { p.child.kill('SIGKILL'); await Promise.race([p.done, new Promise((r) => setTimeout(r, 5_000).unref())]); }
}

test('dashboard in headless Chromium: filter, select, compare; tables match the records, every plot renders, no console errors', { timeout: 120_000 }, async (t) => {
  let pw: typeof import('playwright-core');
  if (!existsSync(CHROMIUM)) {
    if (REQUIRED) assert.fail(`${CHROMIUM} is missing, and this run requires the browser test (CI or PERENNIAL_REQUIRE_BROWSER): apt-get install chromium`);
    t.skip(`${CHROMIUM} not installed (apt-get install chromium); CI installs it and requires this test`);
    return;
  }
  try { pw = await import('playwright-core'); } catch (e) {
    if (REQUIRED) throw e;
    t.skip(`playwright-core is not installed (npm install): ${(e as Error).message}`);
    return;
  }

  const top = tempDir('dashboard-browser');
  const root = join(top, 'runs');
  mkdirSync(root);
  const storePath = join(root, 'perennial.db');
  const made = writeRuns(root, storePath);
  const byName = (command: string, method: string, seed: number): Made => made.find((m) => m.command === command && m.method === method && m.seed === seed)!;
  // One run has an HTML report next to its record: the list links it.
  const withReport = byName('fake train', 'ewc', 0);
  writeFileSync(withReport.path.replace(/\.json$/, '.html'), '<!doctype html><title>report</title><p>the ewc seed 0 report</p>');

  let server: Proc | null = null;
  let browser: import('playwright-core').Browser | null = null;
  try {
    server = cliSpawn(['serve', '--store', storePath, '--port', '0'], { PERENNIAL_QUIET: '1' });
    const s = server;
    const line = await waitFor('the serve line', () => {
      if (s.child.exitCode !== null) throw new Error(`perennial serve exited ${s.child.exitCode}: ${s.err()}`);
      return /http:\/\/([\d.]+):(\d+)\//.exec(s.out());
    }, 60_000, 100);
    assert.equal(line[1], '127.0.0.1', 'serve binds loopback by default');
    const base = `http://127.0.0.1:${line[2]}`;

    browser = await pw.chromium.launch({
      executablePath: CHROMIUM, headless: true, timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(15_000);
    page.setDefaultNavigationTimeout(15_000);
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    const offsite: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(base + '/')) offsite.push(r.url()); });
    mkdirSync(SHOTS, { recursive: true });
    const shot = async (name: string): Promise<void> => {
      const file = join(SHOTS, name);
      await page.screenshot({ path: file, fullPage: true });
      assert.ok(statSync(file).size > 5000, `${name} has content`);
      assert.equal(readFileSync(file).subarray(1, 4).toString('latin1'), 'PNG');
    };

    const rowIds = (): Promise<string[]> => page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-id') ?? ''));
    const shown = async (n: number): Promise<void> => {
      await page.waitForFunction((want) => document.querySelector('#count')?.textContent === `${want} run(s)`, n);
      assert.equal((await rowIds()).length, n);
    };

    await page.goto(base + '/', { waitUntil: 'load' });
    await shown(made.length);
    assert.deepEqual(new Set(await rowIds()), new Set(made.map((m) => m.id)), 'every run is listed');
    assert.match((await page.textContent('#store')) ?? '', new RegExp(`\\(${made.length} runs\\)`));
    // The command filter offers each command once.
    assert.deepEqual(await page.$$eval('#f-command option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['', 'fake eval', 'fake train']);
    const reportHref = await page.getAttribute(`tr[data-id="${withReport.id}"] a:text-is("report")`, 'href');
    assert.equal(reportHref, '/files/' + withReport.path.slice(root.length + 1).replace(/\.json$/, '.html'));
    await shot('dashboard-list.png');

    // Filters narrow the list to exactly the matching runs.
    await page.selectOption('#f-command', 'fake train');
    await page.click('#apply');
    await shown(6);
    assert.deepEqual(new Set(await rowIds()), new Set(made.filter((m) => m.command === 'fake train').map((m) => m.id)));
    assert.deepEqual(new Set(await page.$$eval('#runs tbody tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent))), new Set(['fake train']));
    await page.fill('#f-method', 'replay');
    await page.click('#apply');
    await shown(3);
    assert.deepEqual(new Set(await rowIds()), new Set(made.filter((m) => m.method === 'replay').map((m) => m.id)));
    await shot('dashboard-filtered.png');
    await page.selectOption('#f-command', '');
    await page.fill('#f-method', 'lwf');
    await page.fill('#f-dataset', 'other');
    await page.click('#apply');
    await shown(2);
    await page.fill('#f-method', '');
    await page.fill('#f-dataset', '');
    await page.click('#apply');
    await shown(made.length);

    // Select ewc seeds 0..2 first (the baseline), replay seeds 0..1, and the eval run on seed 0.
    const picked = [byName('fake train', 'ewc', 0), byName('fake train', 'ewc', 1), byName('fake train', 'ewc', 2),
      byName('fake train', 'replay', 0), byName('fake train', 'replay', 1), byName('fake eval', 'lwf', 0)];
    assert.ok(await page.isDisabled('#compare'), 'compare needs two runs');
    await page.check(`tr[data-id="${picked[0]!.id}"] input[type=checkbox]`);
    assert.ok(await page.isDisabled('#compare'), 'one run selected: still disabled');
    for (const r of picked.slice(1)) await page.check(`tr[data-id="${r.id}"] input[type=checkbox]`);
    assert.ok(await page.isEnabled('#compare'));
    assert.equal(await page.locator('#runs tbody tr.sel').count(), picked.length);
    await page.click('#compare');
    await page.waitForSelector('#plots[data-done]');
    assert.ok(await page.isVisible('#comparison'));

    // Metrics table: one column per selected run in selection order, values as in the records.
    const metrics = await page.$$eval('#metrics tr', (trs) => trs.map((tr) => Array.from(tr.children).map((c) => c.textContent ?? '')));
    const [header, ...rows] = metrics;
    assert.equal(header![0], 'metric');
    assert.deepEqual(header!.slice(1).map((h) => h.split(' ')[0]), picked.map((r) => r.id));
    picked.forEach((r, i) => assert.match(header![i + 1]!, new RegExp(`seed ${r.seed}\\)$`), `column ${i + 1} names the seed`));
    const names = rows.map((r) => r[0]!);
    for (const k of ['final_accuracy', 'accuracy_curve.last', 'nested.forgetting', 'run.wall_s', 'score', 'loss_curve.last']) assert.ok(names.includes(k), `metrics table has ${k}: ${names.join(', ')}`);
    for (const row of rows) {
      assert.equal(row.length, picked.length + 1, `${row[0]}: one cell per run`);
      picked.forEach((r, i) => assertCell(row[i + 1]!, metricOf(r.record, row[0]!), `${row[0]} of ${r.method} seed ${r.seed}`));
    }

    // Paired differences: replay - ewc over seeds 0,1 with a 95% t interval; eval - ewc on seed 0 only.
    const paired = await page.$$eval('#paired tr', (trs) => trs.slice(1).map((tr) => Array.from(tr.children).map((c) => c.textContent ?? '')));
    assert.match((await page.textContent('#paired-note')) ?? '', /method="ewc"/);
    const fa = paired.find((p) => p[0] === 'final_accuracy' && p[1]!.includes('replay'));
    assert.ok(fa, `a replay row for final_accuracy: ${JSON.stringify(paired)}`);
    assert.equal(fa[2], '0,1');
    const d = [0, 1].map((s) => (metricOf(byName('fake train', 'replay', s).record, 'final_accuracy')! - metricOf(byName('fake train', 'ewc', s).record, 'final_accuracy')!));
    const mean = (d[0]! + d[1]!) / 2;
    const half = 12.706 * Math.abs(d[0]! - d[1]!) / Math.sqrt(2) / Math.sqrt(2);
    assertCell(fa[3]!, mean, 'paired mean of final_accuracy');
    const ci = /^\[(\S+), (\S+)\]$/.exec(fa[4]!);
    assert.ok(ci, `an interval: ${fa[4]}`);
    assertCell(ci[1]!, mean - half, 'interval low');
    assertCell(ci[2]!, mean + half, 'interval high');
    const ev = paired.find((p) => p[0] === 'final_accuracy' && p[1]!.includes('fake eval'));
    assert.ok(ev, 'an eval row for final_accuracy');
    assert.equal(ev[2], '0');
    assert.equal(ev[4], '(one seed)');
    assertCell(ev[3]!, metricOf(byName('fake eval', 'lwf', 0).record, 'final_accuracy')! - metricOf(byName('fake train', 'ewc', 0).record, 'final_accuracy')!, 'eval - ewc on seed 0');

    // Plots: the two curves, one accuracy matrix per selected training run, the paired differences.
    const plots = await page.$$eval('#plots .plot', (divs) => divs.map((div) => {
      const svg = div.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return {
        title: div.getAttribute('data-title') ?? '', status: (div as HTMLElement).dataset.status ?? '', text: div.querySelector('.err')?.textContent ?? '',
        width: box?.width ?? 0, height: box?.height ?? 0,
        lines: div.querySelectorAll('g.mark-line.role-mark path').length, rects: div.querySelectorAll('g.mark-rect.role-mark path').length,
        symbols: div.querySelectorAll('g.mark-symbol.role-mark path').length, rules: div.querySelectorAll('g.mark-rule.role-mark line').length,
      };
    }));
    const trainPicked = picked.filter((r) => r.command === 'fake train');
    assert.deepEqual(plots.map((p) => p.title).sort(), ['accuracy_curve', 'loss_curve', 'paired differences', ...trainPicked.map((r) => `accuracy_matrix (${r.id})`)].sort());
    assert.equal(await page.$eval('#plots', (p) => (p as HTMLElement).dataset.done), String(plots.length));
    for (const p of plots) {
      assert.equal(p.status, 'ok', `${p.title}: ${p.text}`);
      assert.equal(p.text, '', `${p.title}: no error text`);
      assert.ok(p.width > 50 && p.height > 50, `${p.title} is laid out (${p.width}x${p.height})`);
    }
    const plot = (title: string) => plots.find((p) => p.title === title)!;
    assert.equal(plot('accuracy_curve').lines, trainPicked.length, 'one line per run with the curve');
    assert.equal(plot('loss_curve').lines, 1);
    for (const r of trainPicked) assert.equal(plot(`accuracy_matrix (${r.id})`).rects, 4, 'a 2x2 matrix has four cells');
    assert.ok(plot('paired differences').rules > 0 && plot('paired differences').symbols > 0, 'intervals and means drawn');
    assert.equal(await page.locator('text=/plot failed|Error:/').count(), 0, 'no error text on the page');
    await shot('dashboard-compare.png');

    // The links: a record is the file's own text; a report is served sandboxed.
    const rec = await page.evaluate(async (u) => { const r = await fetch(u); return { status: r.status, text: await r.text() }; }, `/record/${picked[3]!.id}`);
    assert.equal(rec.status, 200);
    assert.equal(rec.text, readFileSync(picked[3]!.path, 'utf8'));
    const rep = await page.evaluate(async (u) => { const r = await fetch(u); return { status: r.status, csp: r.headers.get('content-security-policy'), text: await r.text() }; }, reportHref!);
    assert.equal(rep.status, 200);
    assert.match(rep.csp ?? '', /sandbox/);
    assert.match(rep.text, /ewc seed 0 report/);

    assert.deepEqual(errors, [], 'no console errors, page errors or failed requests');
    assert.deepEqual(offsite, [], 'the page asks nothing of any other server (vega is served locally)');
  } finally {
    if (browser) await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 15_000).unref())]);
    if (server) await stopServer(server);
    rmSync(top, { recursive: true, force: true });
  }
});
