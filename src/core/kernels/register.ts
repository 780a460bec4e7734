// Registration of perennial's own kernels (new kernel names) and their gradients, and the swap of a
// stock kernel for perennial's under the same name. Idempotent: a kernel or gradient already registered under its name is replaced
// only when it is not this config object (e.g. after a module reload in tests).
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';

export function registerOwnKernels(kernels: readonly KernelConfig[], grads: readonly tf.GradConfig[]): void {
  for (const k of kernels) if (tf.getKernel(k.kernelName, k.backendName) !== k) {
    if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel(k);
  }
  for (const g of grads) if (tf.getGradient(g.kernelName) !== g) {
    if (tf.getGradient(g.kernelName)) tf.unregisterGradient(g.kernelName);
    tf.registerGradient(g);
  }
}

/**
 * Put `ours` in place of the stock kernel of the same name and backend (before setBackend, which
 * runs each kernel's setupFunc). Returns the stock kernel it replaced, or null when ours was
 * already registered. Throws when no stock kernel is registered (`hint` is added to that message)
 * or when the registry does not hand back ours.
 */
export function replaceStockKernel(ours: KernelConfig, hint = ''): KernelConfig | null {
  const { kernelName, backendName } = ours;
  let replaced: KernelConfig | null = null;
  const current = tf.getKernel(kernelName, backendName);
  if (current !== ours) {
    if (!current) throw new Error(`${kernelName}: the stock ${backendName} kernel is not registered${hint}`);
    replaced = current;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel(ours);
  }
  if (tf.getKernel(kernelName, backendName) !== ours) throw new Error(`${kernelName}: registering perennial's kernel failed`);
  return replaced;
}
