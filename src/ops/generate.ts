import { allocate, dataTypeFromOnnx, type DataType, type TensorData } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { defineOp, attr, type OpDef } from './registry.js';
import { integersOf, listLength, numbersOf, tensorFromNumbers, tensorType, unknownDims } from './common.js';

/** Ops that make tensors from attributes or a shape: Constant, ConstantOfShape, Range, EyeLike. */

interface ConstantAttributes {
  value: Tensor | undefined;
  sparse_value: Tensor | undefined;
  value_float: number | undefined;
  value_floats: number[] | undefined;
  value_int: number | undefined;
  value_ints: number[] | undefined;
  value_string: string | undefined;
  value_strings: string[] | undefined;
}

/**
 * The one value attribute a Constant node sets, as a tensor (scalars for the single forms, 1-D for lists).
 * Exported so static inference can know every Constant's value, not only the `value` form.
 */
export function constantValue(attrs: ConstantAttributes): Tensor {
  const given: Tensor[] = [];
  if (attrs.value) given.push(attrs.value);
  if (attrs.sparse_value) given.push(attrs.sparse_value);
  if (attrs.value_float !== undefined) given.push(tensorFromNumbers('float32', [], [attrs.value_float]));
  if (attrs.value_floats) given.push(tensorFromNumbers('float32', [attrs.value_floats.length], attrs.value_floats));
  if (attrs.value_int !== undefined) given.push(new Tensor('int64', [BigInt(attrs.value_int)], []));
  if (attrs.value_ints) given.push(new Tensor('int64', attrs.value_ints.map(BigInt), [attrs.value_ints.length]));
  if (attrs.value_string !== undefined) given.push(new Tensor('string', [attrs.value_string], []));
  if (attrs.value_strings) given.push(new Tensor('string', attrs.value_strings, [attrs.value_strings.length]));
  if (given.length !== 1) {
    throw new EdgerunError('INVALID_ATTRIBUTE', `Constant needs exactly one value attribute, got ${given.length}`);
  }
  return given[0]!;
}

const constantAttributes = {
  value: attr.tensor(),
  sparse_value: attr.sparseTensor(),
  value_float: attr.float(),
  value_floats: attr.floats(),
  value_int: attr.int(),
  value_ints: attr.ints(),
  value_string: attr.string(),
  value_strings: attr.strings(),
};

/** A tensor of `dims` with every element equal to `element` (one array slot of `type`). */
function filled(type: DataType, dims: readonly number[], element: unknown): Tensor {
  const data = allocate(type, elementCount(dims)) as { [index: number]: unknown; length: number };
  for (let i = 0; i < data.length; i++) data[i] = element;
  return new Tensor(type, data as TensorData, dims);
}

/** Range's element count: ceil((limit - start) / delta), never negative. */
function rangeLength(start: number, limit: number, delta: number): number {
  if (delta === 0) throw new EdgerunError('INVALID_ARGUMENT', 'Range delta must not be 0');
  return Math.max(Math.ceil((limit - start) / delta), 0);
}

/** Range's element count from its three scalar inputs, computed as the kernel computes it. */
function rangeLengthOf(start: Tensor, limit: Tensor, delta: Tensor): number {
  if (start.type === 'int64') {
    const [first, last, step] = [start, limit, delta].map((t) => Number((t.data as BigInt64Array)[0]!)) as [number, number, number];
    return rangeLength(first, last, step);
  }
  const [first, last, step] = [start, limit, delta].map((t) => numbersOf(t)[0]!) as [number, number, number];
  return rangeLength(first, last, step);
}

function range(start: Tensor, limit: Tensor, delta: Tensor): Tensor {
  const type = start.type;
  if (limit.type !== type || delta.type !== type) {
    throw new EdgerunError('TYPE_MISMATCH', `Range start, limit and delta must share a type, got ${type}, ${limit.type}, ${delta.type}`);
  }
  if (start.size !== 1 || limit.size !== 1 || delta.size !== 1) {
    throw new EdgerunError('INVALID_ARGUMENT', 'Range start, limit and delta must be scalars');
  }
  if (type === 'int64') {
    // Exact in BigInt: int64 bounds may go beyond 2^53.
    const [first, step] = [start, delta].map((t) => (t.data as BigInt64Array)[0]!) as [bigint, bigint];
    const count = rangeLengthOf(start, limit, delta);
    return new Tensor('int64', BigInt64Array.from({ length: count }, (_, i) => first + BigInt(i) * step), [count]);
  }
  const [first, step] = [start, delta].map((t) => numbersOf(t)[0]!) as [number, number];
  const count = rangeLengthOf(start, limit, delta);
  return tensorFromNumbers(type, [count], Float64Array.from({ length: count }, (_, i) => first + i * step));
}

/** A 2-D tensor shaped like `input`, ones on the diagonal `k` places right of the main one, zeros elsewhere. */
function eyeLike(input: Tensor, type: DataType, k: number): Tensor {
  if (input.dims.length !== 2) {
    throw new EdgerunError('INVALID_ARGUMENT', `EyeLike input must be 2-D, got dims [${input.dims.join(', ')}]`);
  }
  const [rows, columns] = input.dims as [number, number];
  const values = new Float64Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    const column = row + k;
    if (column >= 0 && column < columns) values[row * columns + column] = 1;
  }
  return tensorFromNumbers(type, input.dims, values);
}

export const ops: OpDef[] = [
  // One definition covers every version: later opsets only added the value_* attribute forms.
  defineOp({
    name: 'Constant',
    since: 1,
    inputs: [],
    outputs: ['output'],
    attributes: constantAttributes,
    infer: ({ attrs }) => {
      const value = constantValue(attrs);
      return [tensorType(value.type, [...value.dims])];
    },
    kernel: ({ attrs }) => [constantValue(attrs)],
  }),
  defineOp({
    name: 'ConstantOfShape',
    since: 9,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { value: attr.tensor() },
    infer: ({ attrs, inputTypes, constant }) => {
      const shape = constant(0);
      return [tensorType(attrs.value?.type ?? 'float32', shape ? integersOf(shape) : unknownDims(listLength(inputTypes[0])))];
    },
    kernel: ({ tensor, attrs }) => {
      const dims = integersOf(tensor(0));
      const value = attrs.value ?? tensorFromNumbers('float32', [1], [0]);
      if (value.size !== 1) throw new EdgerunError('INVALID_ATTRIBUTE', 'ConstantOfShape value must hold one element');
      return [filled(value.type, dims, (value.data as { [index: number]: unknown })[0])];
    },
  }),
  defineOp({
    name: 'Range',
    since: 11,
    inputs: ['start', 'limit', 'delta'],
    outputs: ['output'],
    infer: ({ inputTypes, constant }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor') return [undefined];
      const [start, limit, delta] = [constant(0), constant(1), constant(2)];
      let length: number | undefined;
      try {
        length = start && limit && delta ? rangeLengthOf(start, limit, delta) : undefined;
      } catch {
        length = undefined;
      }
      return [tensorType(input.dtype, [length])];
    },
    kernel: ({ tensor }) => [range(tensor(0), tensor(1), tensor(2))],
  }),
  defineOp({
    name: 'EyeLike',
    since: 9,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { dtype: attr.int(), k: attr.int(0) },
    infer: ({ attrs, inputTypes }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor') return [undefined];
      return [tensorType(attrs.dtype === undefined ? input.dtype : dataTypeFromOnnx(attrs.dtype, 'EyeLike dtype'), input.shape)];
    },
    kernel: ({ tensor, attrs }) => {
      const input = tensor(0);
      const type = attrs.dtype === undefined ? input.type : dataTypeFromOnnx(attrs.dtype, 'EyeLike dtype');
      return [eyeLike(input, type, attrs.k)];
    },
  }),
];
