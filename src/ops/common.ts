import { EdgerunError } from '../core/errors.js';
import { readNumbers, writeNumbers, type BigIntArray, type DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import type { InferContext } from './registry.js';

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
  return broadcastDims(shapes) as number[];
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

/**
 * float16 is computed in float32 and rounded to float16 once per op: onnxruntime's CPU provider runs float16
 * nodes through its float32 kernels, so intermediate sums round to float32 there as they do here.
 */
function computedInFloat32(type: DataType): boolean {
  return type === 'float32' || type === 'float16';
}

/** The elements as floats: float32/float64 data as-is (no copy), other numeric types decoded once. */
export function floatsOf(tensor: Tensor): Floats {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float64') return tensor.data as Float64Array;
  return computedInFloat32(tensor.type) ? Float32Array.from(numbersOf(tensor)) : Float64Array.from(numbersOf(tensor));
}

/** A result buffer: float32 and float16 results are computed in float32, every other type in float64 and encoded last. */
export function floatsFor(type: DataType, length: number): Floats {
  return computedInFloat32(type) ? new Float32Array(length) : new Float64Array(length);
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

/**
 * The most specific type that covers both `a` and `b` (a value that may be either): the same element
 * type, dims kept where they agree. Used for sequence elements and for If / Loop / Scan results.
 */
export function unionType(a: ValueType | undefined, b: ValueType | undefined): ValueType | undefined {
  if (!a || !b || a.kind !== b.kind) return undefined;
  switch (a.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const other = b as typeof a;
      if (a.dtype !== other.dtype) return undefined;
      if (!a.shape || !other.shape || a.shape.length !== other.shape.length) return { kind: a.kind, dtype: a.dtype };
      const otherShape = other.shape;
      return { kind: a.kind, dtype: a.dtype, shape: a.shape.map((dim, i) => (dim === otherShape[i] ? dim : undefined)) };
    }
    case 'sequence':
    case 'optional':
      return { kind: a.kind, elem: unionType(a.elem, (b as typeof a).elem) };
    case 'map': {
      const other = b as typeof a;
      return a.key === other.key ? { kind: 'map', key: a.key, value: unionType(a.value, other.value) } : undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Static shapes: dims that may be numbers, symbolic names (strings) or unknown (undefined). An op computes
// its output dims with one function that serves both its kernel (numeric dims) and its `infer`.

/** A product of dims split into its numeric factor and its symbolic factors; `unknown` when a dim is undefined. */
function factorsOf(dims: readonly Dim[]): { scale: number; symbols: string[]; unknown: boolean } {
  let scale = 1;
  const symbols: string[] = [];
  let unknown = false;
  for (const dim of dims) {
    if (typeof dim === 'number') scale *= dim;
    else if (typeof dim === 'string') symbols.push(dim);
    else unknown = true;
  }
  return { scale, symbols, unknown };
}

/**
 * product(numerator) / product(denominator) when it can be told: numbers divide, equal symbols cancel, and a
 * single symbol left over stands for itself. A zero numerator is zero whatever else it holds.
 */
export function dimQuotient(numerator: readonly Dim[], denominator: readonly Dim[] = []): Dim {
  const top = factorsOf(numerator);
  const bottom = factorsOf(denominator);
  if (top.scale === 0 && bottom.scale !== 0 && !bottom.unknown && bottom.symbols.length === 0) return 0;
  if (top.unknown || bottom.unknown || bottom.scale === 0 || top.scale % bottom.scale !== 0) return undefined;
  for (const symbol of bottom.symbols) {
    const at = top.symbols.indexOf(symbol);
    if (at < 0) return undefined;
    top.symbols.splice(at, 1);
  }
  const scale = top.scale / bottom.scale;
  if (top.symbols.length === 0) return scale;
  return top.symbols.length === 1 && scale === 1 ? top.symbols[0] : undefined;
}

/** The product of dims: a number when all are numbers (or one is 0), a symbol times ones, else unknown. */
export function dimProduct(dims: readonly Dim[]): Dim {
  return dimQuotient(dims);
}

/** The sum of dims: a number when all are numbers, a symbol plus zeros, else unknown. */
export function dimSum(dims: readonly Dim[]): Dim {
  const nonZero = dims.filter((dim) => dim !== 0);
  if (nonZero.every((dim) => typeof dim === 'number')) return (nonZero as number[]).reduce((a, b) => a + b, 0);
  return nonZero.length === 1 ? nonZero[0] : undefined;
}

/** A dim times a count: exact for numbers, the dim itself for 1, 0 for 0, else unknown. */
export function dimTimes(dim: Dim, count: number): Dim {
  if (typeof dim === 'number') return dim * count;
  if (count === 1) return dim;
  return count === 0 ? 0 : undefined;
}

/** Two dims that must be equal, as one: the known one (numbers over symbols); a typed error when both are different numbers. */
export function mergeDims(a: Dim, b: Dim, what: string): Dim {
  if (typeof a === 'number' && typeof b === 'number' && a !== b) {
    throw new EdgerunError('SHAPE_MISMATCH', `${what}: dims ${a} and ${b} differ`);
  }
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b;
}

/** Dims that must all be numbers (a kernel's view of a shape function's result). */
export function concreteDims(dims: readonly Dim[] | undefined): number[] {
  if (!dims || dims.some((dim) => typeof dim !== 'number')) {
    throw new EdgerunError('INVALID_ARGUMENT', `expected concrete dims, got [${dims?.join(', ') ?? 'unknown'}]`);
  }
  return dims as number[];
}

/** `rank` unknown dims (for an output whose rank is known but not its sizes). */
export function unknownDims(rank: number | undefined): Dim[] | undefined {
  return rank === undefined ? undefined : new Array<Dim>(rank).fill(undefined);
}

/** The length of a 1-D input (an axes, pads or shape list) from its type, when known. */
export function listLength(type: ValueType | undefined): number | undefined {
  const shape = shapeOf(type);
  return shape?.length === 1 && typeof shape[0] === 'number' ? shape[0] : undefined;
}

/** Integer values of input `index` when it is known before running; undefined when absent or not constant. */
export function constantIntegers(context: InferContext, index: number): number[] | undefined {
  const tensor = context.constant(index);
  return tensor ? integersOf(tensor) : undefined;
}

/** Whether optional input `index` is given (named, not ''). */
export function hasInput(context: InferContext, index: number): boolean {
  return (context.node.inputs[index] ?? '') !== '';
}

/** What `compute` tells, or undefined when it throws (inference is advisory). */
export function tryInfer<T>(compute: () => T | undefined): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}

/**
 * The output type: input `index`'s element type with the dims `shapeFrom` tells from its shape. The shape
 * is left out when `shapeFrom` cannot tell it (returns undefined or throws: inference is advisory).
 */
export function typeFrom(
  inputTypes: readonly (ValueType | undefined)[],
  index: number,
  shapeFrom: (shape: readonly Dim[] | undefined) => Dim[] | undefined,
): ValueType | undefined {
  const input = inputTypes[index];
  if (input?.kind !== 'tensor') return undefined;
  return tensorType(input.dtype, tryInfer(() => shapeFrom(input.shape)));
}

/**
 * The broadcast of two dims (numpy rules): 1 yields to the other, equal dims agree, a size other than 1 wins
 * over a name or an unknown dim (which must then be 1 or that size), two different names give an unknown
 * dim. Two different sizes other than 1 are a SHAPE_MISMATCH naming `what`.
 */
export function broadcastDim(a: Dim, b: Dim, what = 'dims'): Dim {
  if (a === b || b === 1) return a;
  if (a === 1) return b;
  if (typeof a === 'number' && typeof b === 'number') throw new EdgerunError('SHAPE_MISMATCH', `${what} ${a} and ${b} cannot be broadcast together`);
  if (typeof a === 'number') return a;
  return typeof b === 'number' ? b : undefined;
}

/** The numpy broadcast of several shapes; undefined when a rank is unknown. */
export function broadcastDims(shapes: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((shape) => shape === undefined)) return undefined;
  const known = shapes as readonly (readonly Dim[])[];
  const rank = Math.max(0, ...known.map((shape) => shape.length));
  const result = new Array<Dim>(rank).fill(1);
  for (const shape of known) {
    shape.forEach((dim, i) => {
      const axis = rank - shape.length + i;
      try {
        result[axis] = broadcastDim(result[axis], dim);
      } catch {
        throw new EdgerunError('SHAPE_MISMATCH', `shapes ${known.map((s) => `[${s.join(', ')}]`).join(' and ')} cannot be broadcast together`);
      }
    });
  }
  return result;
}
