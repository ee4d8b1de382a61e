import type { Dim, Node } from '../core/graph.js';
import { numbersOf } from '../ops/common.js';
import type { InferredGraph } from './infer.js';
import { singleUse, type Uses } from './pass.js';

/**
 * Small matchers the fusions of written-out ops share (LayerNormalization, Gelu): an ONNX node of a given
 * type reading a value, the other operand of a binary node, a constant scalar's value.
 */

/** The node reading `name` alone, when it is the ONNX op `opType`. */
export function soleReader(uses: Uses, name: string, opType: string): Node | undefined {
  const reader = singleUse(uses, name);
  return reader && reader.opType === opType && reader.domain === '' ? reader : undefined;
}

/** The operand of a two-input node that is not `name` (undefined when `name` is not exactly one of them). */
export function otherOperand(node: Node, name: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  const [a, b] = node.inputs as [string, string];
  if (a === name && b !== name) return b;
  if (b === name && a !== name) return a;
  return undefined;
}

/** The value of a constant holding one element, or undefined. */
export function scalarConstant(inferred: InferredGraph, name: string): number | undefined {
  const value = inferred.constants.get(name);
  return value && value.size === 1 && value.type === 'float32' ? numbersOf(value)[0] : undefined;
}

/** Whether a constant holds exactly the float32 nearest to `expected`. */
export function isConstant(inferred: InferredGraph, name: string, expected: number): boolean {
  return scalarConstant(inferred, name) === Math.fround(expected);
}

/** The value's static shape (dims may be symbolic), or undefined. */
export function shapeOf(inferred: InferredGraph, name: string): Dim[] | undefined {
  const type = inferred.types.get(name);
  return type?.kind === 'tensor' ? type.shape : undefined;
}

/** Whether two values have the same known shape: equal numbers or the same symbols, rank included. */
export function sameShape(inferred: InferredGraph, a: string, b: string): boolean {
  const [left, right] = [shapeOf(inferred, a), shapeOf(inferred, b)];
  return !!left && !!right && left.length === right.length && left.every((dim, i) => dim !== undefined && dim === right[i]);
}

/** Whether the value is a float32 tensor (the fused kernels' type, and the written-out ops' precision). */
export function isFloat32(inferred: InferredGraph, name: string): boolean {
  const type = inferred.types.get(name);
  return type?.kind === 'tensor' && type.dtype === 'float32';
}
