import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/core/errors.js';
import {
  generateFootprintSet, parseFootprintText, parseFootprintTextFile, parseWindowsJsonl, recordFromGenerated, recordToJson, renderFootprintText, windowFromJson,
} from '../../src/breakout/index.js';
import { RANGE, win } from './helpers.js';

test('text tables round-trip exactly, prices kept as integer ticks', () => {
  for (const g of generateFootprintSet(5, 40)) {
    const back = parseFootprintText(renderFootprintText(g.window), { tick: g.window.tick });
    assert.deepEqual(back.tables, g.window.tables);
  }
  const w = parseFootprintText('Table 0: Sell Buy Price 1 2 1006.25 3 4 1006.00\nTable 1: Sell Buy Price 5 6 1006.50');
  assert.equal(w.tables[0]!.rows[0]!.priceTicks, 4025);
  assert.equal(w.tables[1]!.rows[0]!.priceTicks, 4026);
});

test('parser accepts the upstream quirks: numbering from 1 and a header without the colon', () => {
  const w = parseFootprintText('Table 1: Sell Buy Price 1 2 1000.25\nTable 2 Sell Buy Price 3 4 1000.50\nTable 3: Sell Buy Price 5 6 1000.75');
  assert.equal(w.tables.length, 3);
  assert.deepEqual(w.tables.map((t) => t.index), [0, 1, 2]);
  assert.equal(w.tables[1]!.rows[0]!.sell, 3);
});

test('malformed tables raise ParseError naming the line and the field', () => {
  const cases: [string, number, RegExp][] = [
    ['Table 0: Sell Buy Price 1 2 1000.25\nTable 1: Sell Buy Price 1 x 1000.50', 2, /table 1 row 0 buy/],
    ['Table 0: Sell Buy Price 1 2 1000.25\nTable 1: Sell Buy Price 1 2 1000.30', 2, /table 1 row 0 price/],
    ['Table 0: Sell Buy Price 1 2 1000.25 3 4 1000.50\nTable 1: Sell Buy Price 1 2 1000', 1, /table 0 row 1 price/],
    ['Table 0: Sell Buy Price 1 2 1000.25\nTable 2: Sell Buy Price 1 2 1000.50', 2, /table index/],
    ['Table 0: Sell Buy Price 1 2\nTable 1: Sell Buy Price 1 2 1000.50', 1, /table 0/],
    ['Table 0: Sell Buy Price 1 2 1000.25\nRow: 1 2 3', 2, /header/],
    ['Table 0: Sell Buy Price -1 2 1000.25\nTable 1: Sell Buy Price 1 2 1000.50', 1, /sell/],
  ];
  for (const [text, line, field] of cases) {
    assert.throws(() => parseFootprintText(text, { file: 'w.txt' }), (e: unknown) => e instanceof ParseError && e.file === 'w.txt' && e.line === line && field.test(e.field ?? ''), text);
  }
  // Line numbers count from the window's position in a multi-window file.
  const file = `# a\n${renderFootprintText(win([...RANGE, [[1001.5, 1, 1]]]))}\n\n# b\nTable 0: Sell Buy Price 1 2 1000.25\nTable 1: Sell Buy Price 1 2 oops`;
  assert.throws(() => parseFootprintTextFile(file, { file: 'many.txt' }), (e: unknown) => e instanceof ParseError && e.line === 9);
  const ok = parseFootprintTextFile(`# a\n${renderFootprintText(win([...RANGE, [[1001.5, 1, 1]]]))}\n\n# b\n${renderFootprintText(win([...RANGE, [[1000.25, 1, 1]]]))}`);
  assert.deepEqual(ok.map((w) => w.id), ['a', 'b']);
});

test('JSONL fixtures: a bad line is a counted error item naming line and field, the rest still load', () => {
  const recs = generateFootprintSet(2, 3).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
  const broken = JSON.parse(recs[1]!) as { tables: { rows: { sell: number }[] }[] };
  broken.tables[2]!.rows[0]!.sell = -3;
  const text = [recs[0], '{not json', JSON.stringify(broken), recs[2]].join('\n');
  const items = parseWindowsJsonl(text, 'set.jsonl');
  assert.equal(items.length, 4);
  assert.ok(items[0]!.record && items[3]!.record);
  assert.match(items[1]!.error!, /set\.jsonl:2 \(json\)/);
  assert.match(items[2]!.error!, /set\.jsonl:3 \(tables\[2\]\.rows\[0\]\.sell\)/);
  assert.throws(() => windowFromJson({ tick: 0.25, tables: [{ rows: [{ priceTicks: 2, sell: 1, buy: 1 }, { priceTicks: 3, sell: 1, buy: 1 }] }, { rows: [{ priceTicks: 1, sell: 0, buy: 0 }] }] }, 'f', 7), (e: unknown) => e instanceof ParseError && e.line === 7 && /strictly decrease/.test(e.message));
});
