import { readNumbers } from '../../src/core/dtype.js';
import type { Value } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-4 };

/** Why `actual` differs from `expected`, or undefined when they agree within tolerance. */
export function compareValues(actual: Value | undefined, expected: Value, tolerance = DEFAULT_TOLERANCE, label = 'output'): string | undefined {
  if (expected === null) return actual === null ? undefined : `${label}: expected an empty optional, got a value`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${label}: expected a sequence of ${expected.length}, got ${describe(actual)}`;
    if (actual.length !== expected.length) return `${label}: expected a sequence of ${expected.length}, got ${actual.length} items`;
    for (let i = 0; i < expected.length; i++) {
      const problem = compareValues(actual[i], expected[i]!, tolerance, `${label}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!(actual instanceof Tensor)) return `${label}: expected a ${expected.type} tensor, got ${describe(actual)}`;
  return compareTensors(actual, expected, tolerance, label);
}

function describe(value: Value | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty optional';
  if (Array.isArray(value)) return `a sequence of ${value.length}`;
  return `a ${value.type} tensor`;
}

export function compareTensors(actual: Tensor, expected: Tensor, tolerance: Tolerance, label: string): string | undefined {
  if (actual.type !== expected.type) return `${label}: expected ${expected.type}, got ${actual.type}`;
  if (actual.dims.length !== expected.dims.length || actual.dims.some((dim, i) => dim !== expected.dims[i])) {
    return `${label}: expected dims [${expected.dims.join(', ')}], got [${actual.dims.join(', ')}]`;
  }
  const type = expected.type;
  if (type === 'string' || type === 'int64' || type === 'uint64' || type === 'bool' || type.includes('int')) {
    for (let i = 0; i < expected.data.length; i++) {
      if (actual.data[i] !== expected.data[i]) {
        return `${label}: element ${i} is ${String(actual.data[i])}, expected ${String(expected.data[i])} (exact)`;
      }
    }
    return undefined;
  }
  const isComplex = type === 'complex64' || type === 'complex128';
  const a = isComplex ? (actual.data as ArrayLike<number>) : readNumbers(type, actual.data);
  const b = isComplex ? (expected.data as ArrayLike<number>) : readNumbers(type, expected.data);
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(y) ? Number.isNaN(x) : Number.isFinite(y) ? Math.abs(x - y) <= tolerance.atol + tolerance.rtol * Math.abs(y) : x === y) continue;
    failures++;
    const excess = Number.isNaN(x - y) ? Infinity : Math.abs(x - y) - tolerance.rtol * Math.abs(y);
    if (worst < 0 || excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (failures === 0) return undefined;
  return `${label}: ${failures} of ${b.length} elements out of tolerance; worst at ${worst}: got ${a[worst]}, expected ${b[worst]}`;
}
