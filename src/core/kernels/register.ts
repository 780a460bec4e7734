// Registration of perennial's own kernels (new kernel names, not replacements of stock ones) and
// their gradients. Idempotent: a kernel or gradient already registered under its name is replaced
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
