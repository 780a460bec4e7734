import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progress } from '../../src/core/progress.js';

function sink(isTTY: boolean): { text: () => string; stream: { write(s: string): void; isTTY: boolean } } {
  let buf = '';
  return { text: () => buf, stream: { isTTY, write: (s: string) => { buf += s; } } };
}

test('piped: a stage of many steps prints one summary line', () => {
  const s = sink(false);
  const p = progress('stage', 1000, { quiet: false, stream: s.stream });
  for (let i = 0; i < 1000; i++) p.tick();
  p.done();
  const lines = s.text().split('\n').filter(Boolean);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^stage: 1000\/1000 done in \d+\.\ds$/);
});

test('piped: a stage that stops early still ends with one line at done', () => {
  const s = sink(false);
  const p = progress('early', 50, { quiet: false, stream: s.stream });
  for (let i = 0; i < 20; i++) p.tick();
  p.done('stopped');
  assert.deepEqual(s.text().split('\n').filter(Boolean), [s.text().trim()]);
  assert.match(s.text(), /early: 20\/50 done in .* stopped/);
});

test('piped: a long stage prints a heartbeat line', async () => {
  const s = sink(false);
  const p = progress('long', 3, { quiet: false, stream: s.stream, heartbeatSeconds: 0.02 });
  p.tick();
  await new Promise((r) => setTimeout(r, 40));
  p.tick();
  p.tick();
  const lines = s.text().split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^long: 2\/3 \(/);
});

test('TTY: one live bar redrawn in place, closed by a newline', () => {
  const prevCi = process.env.CI;
  delete process.env.CI;
  try {
    const s = sink(true);
    const p = progress('bar', 10, { quiet: false, stream: s.stream });
    for (let i = 0; i < 10; i++) p.tick();
    p.done();
    const t = s.text();
    assert.ok(t.startsWith('\r'));
    assert.equal(t.split('\n').length, 2, 'exactly one newline');
    assert.match(t, /\[#{24}\] 10\/10/);
  } finally {
    if (prevCi !== undefined) process.env.CI = prevCi;
  }
});

test('quiet prints nothing', () => {
  const s = sink(false);
  const p = progress('q', 5, { quiet: true, stream: s.stream });
  for (let i = 0; i < 5; i++) p.tick();
  p.done();
  assert.equal(s.text(), '');
});
