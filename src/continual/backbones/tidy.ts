// tf.variable(t) shares t's data and keeps t alive as a tracked tensor: creating a variable from a
// fresh tensor without disposing that tensor leaks one tensor (and its memory) per variable. The
// helpers run parameter-store construction in a tidy scope, which disposes the source tensors and
// keeps the variables (variables are never tracked by a scope).
import { tf } from '../../core/tensor.js';
import type { Params } from '../nn.js';

/** Build a parameter store (or anything holding variables) without leaking the tensors the variables were made from. */
export function tidyVariables<T>(make: () => T): T {
  let out!: T;
  tf.tidy(() => { out = make(); });
  return out;
}

/** `tidyVariables` for a parameter store. */
export function tidyParams(make: () => Params): Params {
  return tidyVariables(make);
}

/** v <- values, disposing the temporary tensor (assign keeps its argument's data but not the tensor). */
export function assignValues(v: tf.Variable, data: Float32Array, shape: readonly number[] = v.shape): void {
  tidyVariables(() => v.assign(tf.tensor(data, shape as number[], 'float32')));
}
