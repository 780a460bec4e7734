import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { ParseError } from '../../src/core/errors.js';
import { backtest, parseSignals } from '../../src/breakout/backtest.js';
import { candlesToCsv, generateOhlcv, parseOhlcvCsv } from '../../src/breakout/index.js';
import { textOnly } from '../helpers/stdout.js';

process.env.PERENNIAL_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'perennial-backtest-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string): string => join(dir, n);

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const w = process.stdout.write.bind(process.stdout), e = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stdout.write = textOnly();
  process.stderr.write = ((s: string) => { err += String(s); return true; }) as typeof process.stderr.write;
  try { return { code: await main(argv), err }; } finally { process.stdout.write = w; process.stderr.write = e; }
}

/** The CSV read by plain splitting, independent of the loader. */
function plainCsv(path: string): { open: number[]; close: number[] } {
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  return { open: lines.map((l) => Number(l.split(',')[1])), close: lines.map((l) => Number(l.split(',')[4])) };
}

interface Rec {
  trades: { signal_index: number; entry_index: number; exit_index: number; side: string; entry_price: number; exit_price: number; return: number }[];
  n_trades: number; n_signals: number; total_return: number | null; hit_rate: number | null; profit_factor: number | null; max_drawdown: number | null; sharpe: number | null;
  skipped: { overlap: number; past_end: number; short_long_only: number };
  null_reasons: Record<string, string>;
  buy_and_hold: { entry_index: number; exit_index: number; return: number };
  run: { warnings: { code: string }[] };
}

test('backtest of detected breakouts: every trade and statistic recomputed from the CSV agrees to 1e-9', async () => {
  writeFileSync(f('c.csv'), candlesToCsv(generateOhlcv(5, { n: 3000 }).candles));
  assert.equal((await run(['breakout', 'ranges', '--csv', f('c.csv'), '--json', f('ranges.json')])).code, 0);
  const events = (JSON.parse(readFileSync(f('ranges.json'), 'utf8')) as { events: { index: number; direction: string }[] }).events;
  const [C, S] = [0.001, 0.0005];
  // Hold 60 outlasts the gap between some breakouts (overlaps skipped); hold 7 with long only.
  for (const [N, longOnly] of [[60, false], [7, true]] as const) {
    const out = f(`bt-${longOnly}.json`);
    const r = await run(['breakout', 'backtest', '--csv', f('c.csv'), '--hold', String(N), '--commission', String(C), '--slippage', String(S), '--json', out, '--html', f('bt.html'), ...(longOnly ? ['--long-only'] : [])]);
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(readFileSync(out, 'utf8')) as Rec;
    const px = plainCsv(f('c.csv'));
    // Independent simulation: one position at a time, entry at the next open, exit N bars later.
    const want: { s: number; side: string; r: number }[] = [];
    let busyUntil = -1, overlap = 0, short = 0, late = 0;
    for (const e of [...events].sort((a, z) => a.index - z.index)) {
      if (longOnly && e.direction === 'down') { short++; continue; }
      if (e.index <= busyUntil) { overlap++; continue; }
      const en = e.index + 1, ex = en + N;
      if (ex >= px.open.length) { late++; continue; }
      const pe = px.open[en]!, pc = px.close[ex]!;
      const r = e.direction === 'up' ? (pc * (1 - S) * (1 - C)) / (pe * (1 + S) * (1 + C)) - 1 : (pe * (1 - S) * (1 - C)) / (pc * (1 + S) * (1 + C)) - 1;
      want.push({ s: e.index, side: e.direction === 'up' ? 'long' : 'short', r });
      busyUntil = ex;
    }
    assert.ok(want.length > 20, `trades: ${want.length}`);
    assert.ok(overlap > 0 || longOnly, 'some signals overlap at hold 60');
    assert.ok(short > 0 || !longOnly);
    assert.equal(b.n_trades, want.length);
    assert.equal(b.n_signals, events.length);
    assert.deepEqual(b.skipped, { overlap, past_end: late, short_long_only: short });
    b.trades.forEach((t, i) => {
      const w = want[i]!;
      assert.equal(t.signal_index, w.s);
      assert.equal(t.entry_index, w.s + 1);
      assert.equal(t.exit_index, w.s + 1 + N);
      assert.equal(t.side, w.side);
      assert.equal(t.entry_price, px.open[t.entry_index]);
      assert.equal(t.exit_price, px.close[t.exit_index]);
      assert.ok(Math.abs(t.return - w.r) < 1e-9, `trade ${i}: ${t.return} vs ${w.r}`);
    });
    const rs = want.map((w) => w.r);
    let eq = 1, peak = 1, dd = 0;
    for (const x of rs) { eq *= 1 + x; peak = Math.max(peak, eq); dd = Math.max(dd, 1 - eq / peak); }
    const mean = rs.reduce((a, x) => a + x, 0) / rs.length;
    const sd = Math.sqrt(rs.reduce((a, x) => a + (x - mean) ** 2, 0) / (rs.length - 1));
    const gains = rs.filter((x) => x > 0).reduce((a, x) => a + x, 0), losses = -rs.filter((x) => x <= 0).reduce((a, x) => a + x, 0);
    assert.ok(Math.abs(b.total_return! - (eq - 1)) < 1e-9);
    assert.ok(Math.abs(b.max_drawdown! - dd) < 1e-9);
    assert.ok(Math.abs(b.sharpe! - mean / sd) < 1e-9);
    assert.ok(Math.abs(b.profit_factor! - gains / losses) < 1e-9);
    assert.equal(b.hit_rate, rs.filter((x) => x > 0).length / rs.length);
    const first = want[0]!.s + 1, last = want[want.length - 1]!.s + 1 + N;
    assert.deepEqual([b.buy_and_hold.entry_index, b.buy_and_hold.exit_index], [first, last]);
    const bh = (px.close[last]! * (1 - S) * (1 - C)) / (px.open[first]! * (1 + S) * (1 + C)) - 1;
    assert.ok(Math.abs(b.buy_and_hold.return - bh) < 1e-9);
    if (overlap) assert.ok(b.run.warnings.some((w) => w.code === 'breakout.backtest.overlap'), 'skips are in the record warnings');
  }
  const html = readFileSync(f('bt.html'), 'utf8');
  assert.ok(html.includes('<svg') && html.includes('equity'));
});

test('backtest edge cases: signal on the last bars, no signals, zero prices, NaN in the CSV, signal files', async () => {
  const csv = 'date,open,high,low,close\n' + [[10, 11, 9, 10], [10, 12, 10, 11], [11, 12, 10, 12], [12, 13, 11, 12], [12, 12, 9, 9], [9, 10, 8, 10]]
    .map((r, i) => `2024-01-0${i + 1},${r.join(',')}`).join('\n') + '\n';
  const c = parseOhlcvCsv(csv, 'e.csv');
  // Bar 3 signal: entry 4, exit 4+1 = 5 is the last bar (allowed); bars 1 and 4 come while a trade is open.
  const r = backtest(c, [{ index: 0, direction: 'up' }, { index: 1, direction: 'down' }, { index: 3, direction: 'down' }, { index: 4, direction: 'up' }], { hold: 1 });
  assert.deepEqual(r.trades.map((t) => [t.signal_index, t.side, t.entry_index, t.exit_index]), [[0, 'long', 1, 2], [3, 'short', 4, 5]]);
  assert.deepEqual(r.skipped, { overlap: 2, past_end: 0, short_long_only: 0 });
  // A signal on the last bars: no bar to exit on (bar 4, hold 1: exit 6) or none to enter on (bar 5).
  const late = backtest(c, [{ index: 4, direction: 'up' }, { index: 5, direction: 'down' }], { hold: 1 });
  assert.equal(late.n_trades, 0);
  assert.equal(late.skipped.past_end, 2);
  assert.match(late.null_reasons.total_return!, /every signal was skipped/);
  assert.equal(backtest(c, [{ index: 4, direction: 'up' }], { hold: 0 }).trades[0]!.exit_index, 5, 'hold 0: out at the entry bar\'s close');
  assert.ok(Math.abs(r.trades[0]!.return - (12 / 10 - 1)) < 1e-12);
  assert.ok(Math.abs(r.trades[1]!.return - (12 / 10 - 1)) < 1e-12);
  assert.equal(r.profit_factor, null);
  assert.match(r.null_reasons.profit_factor!, /no losing trades/);
  assert.equal(r.sharpe, null, 'two equal returns: zero deviation');
  // No signals: rates are null with a reason, buy and hold over the whole file.
  const none = backtest(c, [], { hold: 2 });
  for (const k of ['total_return', 'hit_rate', 'profit_factor', 'max_drawdown', 'sharpe'] as const) {
    assert.equal(none[k], null);
    assert.equal(none.null_reasons[k], 'no signals');
  }
  assert.deepEqual([none.buy_and_hold!.entry_index, none.buy_and_hold!.exit_index], [0, 5]);
  assert.equal(JSON.stringify(none).includes('NaN') || JSON.stringify(none).includes('Infinity'), false);
  // Zero prices: refused, naming the bar.
  const zero = parseOhlcvCsv('date,open,high,low,close\n2024-01-01,1,1,0,1\n2024-01-02,0,1,0,1\n2024-01-03,1,1,0,0\n', 'z.csv');
  assert.throws(() => backtest(zero, [{ index: 0, direction: 'up' }], { hold: 1 }), /bar 1: the open price is 0/);
  // NaN in the CSV: refused with file, line and column.
  writeFileSync(f('nan.csv'), 'date,open,high,low,close\n2024-01-01,1,2,0.5,1\n2024-01-02,NaN,2,0.5,1\n');
  assert.throws(() => parseOhlcvCsv(readFileSync(f('nan.csv'), 'utf8'), 'nan.csv'), (e: unknown) => e instanceof ParseError && e.line === 3 && e.field === 'open');
  const bad = await run(['breakout', 'backtest', '--csv', f('nan.csv')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /nan\.csv:3 \(open\)/);
  // Bad flags are one-line errors.
  writeFileSync(f('e.csv'), csv);
  assert.equal((await run(['breakout', 'backtest', '--csv', f('e.csv'), '--commission', '1.5'])).code, 2);
  assert.equal((await run(['breakout', 'backtest', '--csv', f('e.csv'), '--json', f('e.csv')])).code, 2, 'never writes over its input');
  // Signal files: CSV by index or time, JSON arrays or a ranges record; errors name the line.
  assert.deepEqual(parseSignals('index,direction\n0,up\n3,short\n', 's.csv', c), [{ index: 0, direction: 'up' }, { index: 3, direction: 'down' }]);
  assert.deepEqual(parseSignals('time,direction\n2024-01-02,down\n', 's.csv', c), [{ index: 1, direction: 'down' }]);
  assert.deepEqual(parseSignals('{"events":[{"index":2,"direction":"up"}]}', 's.json', c), [{ index: 2, direction: 'up' }]);
  assert.throws(() => parseSignals('index,direction\n0,up\n9,up\n', 's.csv', c), (e: unknown) => e instanceof ParseError && e.line === 3);
  assert.throws(() => parseSignals('index,direction\n0,sideways\n', 's.csv', c), (e: unknown) => e instanceof ParseError && e.line === 2 && e.field === 'direction');
  writeFileSync(f('sig.csv'), 'index,direction\n0,up\n3,down\n');
  const viaFile = await run(['breakout', 'backtest', '--csv', f('e.csv'), '--signals', f('sig.csv'), '--hold', '1', '--json', f('sig.json')]);
  assert.equal(viaFile.code, 0, viaFile.err);
  assert.equal((JSON.parse(readFileSync(f('sig.json'), 'utf8')) as Rec).n_trades, 2);
});
