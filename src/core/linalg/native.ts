// The OpenBLAS/LAPACK addon (native/), wrapped to the Linalg contract. The addon is optional:
// when it did not build (no compiler, no libopenblas-dev), `loadNativeLinalg` returns null and
// index.ts falls back to the TypeScript implementation with a one-time warning.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Linalg } from './types.js';

/** Where the built addon lives, relative to this package's root. */
export function addonPath(): string {
  // src/core/linalg or dist/core/linalg -> package root is three folders up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(root, 'native', 'build', 'Release', 'perennial_linalg.node');
}

export interface NativeLoad {
  readonly linalg: Linalg | null;
  readonly reason: string;
}

export function loadNativeLinalg(): NativeLoad {
  const path = addonPath();
  if (process.env.PERENNIAL_LINALG === 'typescript') return { linalg: null, reason: 'PERENNIAL_LINALG=typescript' };
  if (!existsSync(path)) return { linalg: null, reason: `addon not built (${path} missing)` };
  try {
    const req = createRequire(import.meta.url);
    const mod = req(path) as { makeLinalg?: () => Linalg };
    if (typeof mod.makeLinalg !== 'function') return { linalg: null, reason: 'addon has no makeLinalg export' };
    return { linalg: mod.makeLinalg(), reason: 'loaded' };
  } catch (e) {
    return { linalg: null, reason: `addon failed to load: ${(e as Error).message}` };
  }
}
