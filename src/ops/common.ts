import { EdgerunError } from '../core/errors.js';
import { readNumbers, writeNumbers, type BigIntArray, type DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';

/** Helpers every op family shares: numbers in and out of tensors, axes, strides, broadcasting. */

export function numbersOf(tensor: Tensor): ArrayLike<number> {
  return readNumbers(tensor.type, tensor.data);
}

/** A new tensor of `type` from plain numbers, converted as ONNX Cast converts. */
export function tensorFromNumbers(type: DataType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return new Tensor(type, writeNumbers(type, values), dims);
}

/** Integer values of an int32/int64 (or any numeric) tensor, e.g. a shape, axes or indices input. */
export function integersOf(tensor: Tensor): number[] {
  if (tensor.type === 'int64' || tensor.type === 'uint64') return Array.from(tensor.data as BigIntArray, Number);
  return Array.from(numbersOf(tensor));
}

export function scalarOf(tensor: Tensor): number {
  if (tensor.size !== 1) throw new EdgerunError('SHAPE_MISMATCH', `expected a single value, got dims [${tensor.dims.join(', ')}]`);
  return integersOrNumbers(tensor)[0]!;
}

function integersOrNumbers(tensor: Tensor): ArrayLike<number> {
  return tensor.type === 'int64' || tensor.type === 'uint64' ? integersOf(tensor) : numbersOf(tensor);
}

export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  if (axis < -rank || axis >= Math.max(rank, 1)) {
    throw new EdgerunError('INVALID_ARGUMENT', `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= dims[axis]!;
  }
  return strides;
}

export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((shape) => shape.length));
  const result = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = rank - shape.length + i;
      const dim = shape[i]!;
      const current = result[axis]!;
      if (dim === current || dim === 1) continue;
      if (current === 1) result[axis] = dim;
      else {
        throw new EdgerunError(
          'SHAPE_MISMATCH',
          `shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(' and ')} cannot be broadcast together`,
        );
      }
    }
  }
  return result;
}

/**
 * For each input shape, the flat offset into that input of every element of the broadcast output.
 * Inputs whose shape already equals the output map to the identity.
 */
export function broadcastOffsets(outDims: readonly number[], inDims: readonly number[]): Int32Array | undefined {
  if (inDims.length === outDims.length && inDims.every((dim, i) => dim === outDims[i])) return undefined;
  const rank = outDims.length;
  const padded = new Array<number>(rank - inDims.length).fill(1).concat(inDims);
  const inStrides = stridesOf(padded).map((stride, axis) => (padded[axis] === 1 ? 0 : stride));
  return walkOffsets(outDims, inStrides);
}

/**
 * The flat offsets visited by walking `dims` in row-major order where a step along each axis moves
 * `strides[axis]` elements: broadcasting (stride 0 on repeated axes), transposes, regrouping for reductions.
 */
export function walkOffsets(dims: readonly number[], strides: readonly number[]): Int32Array {
  const rank = dims.length;
  const offsets = new Int32Array(elementCount(dims));
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let index = 0; index < offsets.length; index++) {
    offsets[index] = offset;
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]! += 1;
      offset += strides[axis]!;
      if (counter[axis]! < dims[axis]!) break;
      offset -= strides[axis]! * dims[axis]!;
      counter[axis] = 0;
    }
  }
  return offsets;
}

/** Element i of an array read through optional broadcast offsets. */
export function at<T>(values: ArrayLike<T>, offsets: Int32Array | undefined, index: number): T {
  return values[offsets ? offsets[index]! : index]!;
}

/** Shape inference helpers: a tensor type, or undefined when the input type is unknown. */
export function tensorType(dtype: DataType, shape?: Dim[]): ValueType {
  return shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype };
}

/** Output of input `index`'s element type, shape not inferred (for ops that reshape or move elements). */
export function sameTypeAs(index = 0) {
  return ({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] => {
    const input = inputTypes[index];
    return [input?.kind === 'tensor' ? { kind: 'tensor', dtype: input.dtype } : input];
  };
}

/** Output exactly like input `index`, shape included (element-wise and other shape-preserving ops). */
export function sameShapeAs(index = 0) {
  return ({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] => [inputTypes[index]];
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** Float buffers for the float kernels: float32/float64 data used as-is, other types decoded once. */
export type Floats = Float32Array | Float64Array;

/** The elements as floats: float32/float64 data as-is (no copy), other numeric types decoded once. */
export function floatsOf(tensor: Tensor): Floats {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float64') return tensor.data as Float64Array;
  return Float64Array.from(numbersOf(tensor));
}

/** A result buffer: float32 results are computed in float32, every other type in float64 and encoded last. */
export function floatsFor(type: DataType, length: number): Floats {
  return type === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** A buffer of the same float type as `like`. */
export function floatsLike(like: Floats, length: number): Floats {
  return like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

export function tensorOf(type: DataType, dims: readonly number[], values: Floats): Tensor {
  if (type === 'float32' && values instanceof Float32Array) return new Tensor(type, values, dims);
  if (type === 'float64' && values instanceof Float64Array) return new Tensor(type, values, dims);
  return tensorFromNumbers(type, dims, values);
}

/** The shape of a tensor type when known. */
export function shapeOf(type: ValueType | undefined): Dim[] | undefined {
  return type?.kind === 'tensor' ? type.shape : undefined;
}

/** The product of values[from..to). */
export function product(values: readonly number[], from = 0, to = values.length): number {
  let result = 1;
  for (let i = from; i < to; i++) result *= values[i]!;
  return result;
}
