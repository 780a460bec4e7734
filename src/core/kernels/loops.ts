// The addon's compiled loops (native/src/kernels.cc) for core/kernels: batch norm + ReLU and
// im2col / col2im. Each kernel keeps a TypeScript loop with the same arithmetic, used when the
// addon is not built (or predates these loops) and in tests that compare the two.
import { nativeAddon, type NativeAddon } from '../linalg/index.js';

export type CompiledLoops = Required<Pick<NativeAddon, 'bnChannelStats' | 'bnAffineRelu' | 'bnReluGradStats' | 'bnReluGradX' | 'im2col' | 'col2im'>>;

let enabled = true;

/** The compiled loops, or null when the addon lacks them or they are switched off. */
export function compiledLoops(): CompiledLoops | null {
  if (!enabled) return null;
  const a = nativeAddon();
  return a && a.bnChannelStats && a.bnAffineRelu && a.bnReluGradStats && a.bnReluGradX && a.im2col && a.col2im ? (a as CompiledLoops) : null;
}

/** Switch the compiled loops on (default, when present) or off (TypeScript loops); returns the previous setting. */
export function useCompiledLoops(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}
