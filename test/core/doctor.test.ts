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
