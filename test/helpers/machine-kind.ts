// Exact-parity fixtures belong to a kind of machine: OpenBLAS picks its GEMM kernel by CPU, and
// another kernel's summation order moves the last bits of every product, which a small training
// run carries into its metrics. A kind is the linalg backend, the core OpenBLAS chose and the
// addon's own kernels; a fixture folder's machines.json maps kinds to fixture files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { linalgBackendName, nativeAddon } from '../../src/core/linalg/index.js';

export function machineKind(): string {
  const addon = nativeAddon();
  // openblas_get_config() names the chosen core just before MAX_THREADS (e.g. "... NO_AFFINITY Haswell MAX_THREADS=64").
  const core = addon?.config().match(/(\S+)\s+MAX_THREADS/)?.[1] ?? 'none';
  return `${linalgBackendName()}/${core}/own-${addon?.ownKernels?.() ?? 'none'}`;
}

export interface MachineFixture {
  readonly kind: string;
  /** The fixture file for this kind (an unused name when it has none). */
  readonly path: string;
  /** A skip reason when this kind has no fixture, else false. */
  readonly skip: string | false;
  /** Record `path` as this kind's fixture in machines.json (capture mode). */
  register(): void;
}

export function machineFixture(dir: string, prefix: string): MachineFixture {
  const file = join(dir, 'machines.json');
  const machines = JSON.parse(readFileSync(file, 'utf8')) as { note?: string; kinds: Record<string, string> };
  const kind = machineKind();
  const known = machines.kinds[kind];
  return {
    kind,
    path: join(dir, known ?? `${prefix}-${kind.replace(/[^A-Za-z0-9]+/g, '-')}.json`),
    skip: known ? false : `no parity fixture for this machine kind (${kind}); known: ${Object.keys(machines.kinds).join(', ')}`,
    register() {
      machines.kinds[kind] = this.path.slice(dir.length + 1);
      writeFileSync(file, JSON.stringify(machines, null, 1) + '\n');
    },
  };
}
