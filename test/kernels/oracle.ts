import assert from 'node:assert/strict';
import type { Activation } from '../../src/kernels/activation.js';

/** Shared by the kernel tests: seeded inputs, the activations as plain scalar functions, a comparison. */

/** Values in [-2, 2) from a small linear congruential generator: the same every run for a seed. */
export function randomFloats(dims: readonly number[], seed: number): Float32Array {
  const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let state = seed * 2654435761;
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    values[i] = (state / 2 ** 32) * 4 - 2;
  }
  return values;
}

/** Each activation as the ONNX op of the same name defines it (Clip: max(min(x, max), min) order as the spec). */
export function scalarActivation(x: number, activation: Activation): number {
  switch (activation.kind) {
    case 'none':
      return x;
    case 'Relu':
      return x < 0 ? 0 : x;
    case 'Clip':
      return Number.isNaN(x) ? x : Math.min(Math.max(x, activation.min), activation.max);
    case 'Sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'HardSigmoid':
      return Math.max(0, Math.min(1, activation.alpha * x + activation.beta));
    case 'HardSwish':
      return x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'LeakyRelu':
      return x >= 0 ? x : activation.alpha * x;
    case 'Tanh':
      return Math.tanh(x);
  }
}

/**
 * actual ≈ expected element by element: NaN where NaN, equal infinities, else within 1e-5 relative (plus
 * 1e-6 absolute): the kernels and the loop both sum in doubles, in different orders, and round to float32.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}: element ${i} is ${a}, expected ${e}`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= 1e-6 + 1e-5 * Math.abs(e), `${what}: element ${i} is ${a}, expected ${e}`);
  }
}
