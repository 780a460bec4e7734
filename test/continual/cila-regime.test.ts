// The lambda-regime study's plumbing: the allocation-free image rotation matches the plain bilinear
// rule bit for bit, and `cil co2l --preset` fills in a named regime that explicit options override.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { rotateImage } from '../../src/continual/methods/co2l.js';

/** Bilinear rotation written out plainly: the four corners in order, zero outside. */
function rotatePlain(src: Float32Array, h: number, w: number, deg: number): Float32Array {
  const a = (deg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const cy = (h - 1) / 2, cx = (w - 1) / 2;
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy, dx = x - cx;
      const sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      let v = 0;
      const corners: [number, number, number][] = [[y0, x0, (1 - fy) * (1 - fx)], [y0, x0 + 1, (1 - fy) * fx], [y0 + 1, x0, fy * (1 - fx)], [y0 + 1, x0 + 1, fy * fx]];
      for (const [yy, xx, wt] of corners) if (yy >= 0 && yy < h && xx >= 0 && xx < w) v += wt * src[yy * w + xx]!;
      out[y * w + x] = v;
    }
  }
  return out;
}

test('rotateImage equals the plain bilinear rule bit for bit (square and non-square images, many angles)', () => {
  const r = new Rng(11, 'rot-identity');
  for (const [h, w] of [[28, 28], [7, 12], [1, 5]] as const) {
    const img = Float32Array.from({ length: h * w }, () => r.next());
    for (let k = 0; k < 40; k++) {
      const deg = k === 0 ? 0 : r.uniform(-360, 360);
      const fast = rotateImage(img, h, w, deg), plain = rotatePlain(img, h, w, deg);
      assert.deepEqual(Array.from(fast), Array.from(plain), `${h}x${w} at ${deg} degrees`);
    }
  }
});
