// core/format: formatNumber writes the run list's and the HTML report's numbers exactly as their
// own formatters did (copied here as they were), and keeps small values visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNumber } from '../../src/core/format.js';

const VALUES = [0, -0, 1, -7, 12, 1e7, 123456789, 0.5, 0.12345, -0.98765, 12.3456, 1234.5678, 999999.5, 1e6 + 0.5,
  1e-3, 9.99e-4, 1.5e-7, -2.5e-5, 3.14159265, 2 / 3, 1e21 + 1, NaN, Infinity, -Infinity];

function oldRunList(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toPrecision(4);
}

function oldReport(v: number | null): string {
  if (v === null) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

test('the default matches the run list formatter', () => {
  for (const v of [...VALUES, null, undefined]) assert.equal(formatNumber(v), oldRunList(v), String(v));
});

test('digits 4 with trim matches the HTML report formatter', () => {
  for (const v of [...VALUES, null]) assert.equal(formatNumber(v, { digits: 4, trim: true }), oldReport(v), String(v));
});

test('fixed digits without exponent form is toFixed; missing text is configurable', () => {
  for (const v of VALUES.filter(Number.isFinite)) assert.equal(formatNumber(v, { digits: 3, scientific: false }), v.toFixed(3), String(v));
  assert.equal(formatNumber(null, { digits: 3, missing: 'n/a' }), 'n/a');
  assert.equal(formatNumber(undefined, { missing: '' }), '');
  assert.equal(formatNumber(NaN, { missing: 'n/a' }), 'NaN');
});

test('significant digits, and small values never print as zero', () => {
  assert.equal(formatNumber(2 / 3, { significant: 3 }), '0.667');
  assert.equal(formatNumber(1.5e-7, { significant: 3 }), '1.50e-7');
  assert.equal(formatNumber(1.5e-7, { digits: 4 }), '1.500e-7');
  assert.equal(formatNumber(0.5, { trim: true }), '0.5');
  assert.equal(formatNumber(-0.04, { digits: 1, trim: true, scientific: false }), '0');
  assert.equal(formatNumber(85.25, { digits: 1, trim: true, scientific: false }), '85.3');
  assert.equal(formatNumber(85.04, { digits: 1, trim: true, scientific: false }), '85');
});

test('the dashboard script carries the same formatter (its source is served in the page)', async () => {
  const vm = await import('node:vm');
  const { APP_JS } = await import('../../src/core/store/dashboard-page.js');
  new vm.Script(APP_JS);
  const head = APP_JS.slice(0, APP_JS.indexOf('const seedText')).replace("'use strict';", '');
  const values = [...VALUES, null, undefined];
  const ctx: { values: unknown[]; out?: string[] } = { values: [...values, 'abc'] };
  vm.runInNewContext(`${head}\nout = values.map(fmt);`, ctx);
  assert.deepEqual(ctx.out, [...values.map((v) => formatNumber(v)), 'abc']);
});
