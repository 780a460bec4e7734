import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { doctorReport } from '../../src/core/doctor.js';
import { linalgBackendName } from '../../src/core/linalg/index.js';

test('doctorReport: the active backends, versions and this machine, JSON-serialisable', async () => {
  const r = await doctorReport();
  assert.equal(r.linalg_backend, linalgBackendName());
  assert.equal(r.cpus, os.cpus().length);
  assert.ok(typeof r.tfjs_backend === 'string' && r.tfjs_backend.length > 0);
  assert.ok(['multi', 'single'].includes(r.tfjs_threads as string));
  const flags = r.cpu_flags as string[];
  assert.ok(Array.isArray(flags));
  for (const f of flags) assert.match(f, /^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx_vnni|neon|asimd)$/);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('doctorReport.gpu: what GPU paths this machine has, without opening a device', async () => {
  const g = (await doctorReport()).gpu as Record<string, unknown>;
  assert.equal(typeof g.tfjs_webgpu, 'string');
  assert.equal(typeof g.navigator_gpu, 'boolean');
  const dev = g.gpu_devices as { nvidia: boolean; dri_render_nodes: number };
  assert.equal(typeof dev.nvidia, 'boolean');
  assert.ok(Number.isInteger(dev.dri_render_nodes));
  const ort = g.onnxruntime_providers;
  if (Array.isArray(ort)) assert.ok(ort.some((p: { name: string }) => p.name === 'cpu'), 'onnxruntime lists its CPU provider');
  else assert.equal(typeof ort, 'string');
});

test('doctorReport.malloc: the glibc limits the addon set when it loaded, or that the user kept their own', async (t) => {
  const r = await doctorReport();
  if (r.linalg_backend !== 'openblas') { t.skip('no OpenBLAS addon'); return; }
  const expected = /MALLOC_(MMAP|TRIM)_THRESHOLD_/.test(Object.keys(process.env).join(' ')) || /glibc\.malloc\./.test(process.env.GLIBC_TUNABLES ?? '')
    ? "the user's MALLOC_* / GLIBC_TUNABLES settings" : 'mmap threshold 32 MiB, trim threshold 256 MiB';
  assert.equal(r.malloc, expected);
});
