import { EdgerunError } from '../core/errors.js';
import type { Value } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';

/**
 * What a session run returns and how to reach the values that are not tensors. Most models output only
 * tensors, so the result is typed the way onnxruntime types it: `out.logits.data` and `out.logits.dims`
 * read without casts. Sequence and optional outputs are still what they are at run time (an array of
 * values, or null for an empty optional); `asSequence`, `asOptional` and `asTensor` check and narrow them.
 */

/** A value a model takes or gives: a tensor, a sequence of values, or null for an empty optional. */
export type OnnxValue = Value;

/** A run's outputs by name, typed as tensors (the common case); see `asSequence` / `asOptional` for the rest. */
export type RunResult = Record<string, Tensor>;

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

export function isSequence(value: unknown): value is OnnxValue[] {
  return Array.isArray(value);
}

/** `value` as a tensor; a TYPE_MISMATCH error naming `name` when it is a sequence or an empty optional. */
export function asTensor(value: unknown, name = 'value'): Tensor {
  if (isTensor(value)) return value;
  throw new EdgerunError('TYPE_MISMATCH', `${name} is ${describeValue(value)}, not a tensor`);
}

/** `value` as a sequence (an array of values); a TYPE_MISMATCH error naming `name` otherwise. */
export function asSequence(value: unknown, name = 'value'): OnnxValue[] {
  if (isSequence(value)) return value;
  throw new EdgerunError('TYPE_MISMATCH', `${name} is ${describeValue(value)}, not a sequence`);
}

/** An optional output: null when empty, else the tensor or sequence it holds. */
export function asOptional(value: unknown, name = 'value'): OnnxValue {
  if (value === null || isTensor(value) || isSequence(value)) return value;
  throw new EdgerunError('TYPE_MISMATCH', `${name} is ${describeValue(value)}, not an ONNX value`);
}

/** A short phrase for any value a user may hold: 'a float32 tensor [1, 3]', 'a sequence of 2', ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty optional';
  if (value === undefined) return 'undefined';
  if (isTensor(value)) return `a ${value.type} tensor [${value.dims.join(', ')}]`;
  if (isSequence(value)) return `a sequence of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
