import { EdgerunError } from '../core/errors.js';
import { allocate, dataTypeFromOnnx, type DataType, type TensorData } from '../core/dtype.js';
import type { Dim, Value, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { integersOf, isTensor, normalizeAxis, scalarOf, shapeOf, tensorType, unionType } from './common.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';

/**
 * Sequence and optional ops. A sequence is a plain `Value[]`; an optional is the value it holds, or null
 * when empty, so Optional / OptionalGetElement pass values through unchanged.
 */

// ---------------------------------------------------------------------------------------------------------
// Tensor pieces: slicing along an axis and joining along an axis. Also used by Loop and Scan.

function copyElements(source: TensorData, sourceStart: number, target: TensorData, targetStart: number, count: number): void {
  if (Array.isArray(source)) {
    for (let i = 0; i < count; i++) (target as string[])[targetStart + i] = source[sourceStart + i]!;
    return;
  }
  // Same element type on both sides, so a typed-array block copy is exact (bigint arrays included).
  (target as typeof source).set(source.subarray(sourceStart, sourceStart + count) as never, targetStart);
}

/** Elements before `axis` (outer) and after it (inner), the two loop bounds of any along-axis copy. */
function splitAround(dims: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: elementCount(dims.slice(0, axis)), inner: elementCount(dims.slice(axis + 1)) };
}

/** `count` consecutive slices starting at `start` along `axis`; the axis is kept (size `count`). */
export function sliceAlongAxis(tensor: Tensor, axis: number, start: number, count: number): Tensor {
  const dims = [...tensor.dims];
  const { outer, inner } = splitAround(dims, axis);
  const axisSize = dims[axis]!;
  const out = allocate(tensor.type, outer * count * inner);
  for (let o = 0; o < outer; o++) {
    copyElements(tensor.data, (o * axisSize + start) * inner, out, o * count * inner, count * inner);
  }
  dims[axis] = count;
  return new Tensor(tensor.type, out, dims);
}

/** Slice `index` along `axis`, with that axis removed. */
export function takeAlongAxis(tensor: Tensor, axis: number, index: number): Tensor {
  const slice = sliceAlongAxis(tensor, axis, index, 1);
  return new Tensor(slice.type, slice.data, tensor.dims.filter((_, i) => i !== axis));
}

/**
 * The shape of pieces joined along `axis`: the sum of their dims there, the shared dims elsewhere. Serves
 * the kernels (all dims known and checked to agree) and inference (a dim that is unknown or differs
 * between pieces stays unknown).
 */
export function joinedShape(shapes: readonly (readonly Dim[])[], axis: number): Dim[] {
  const first = shapes[0]!;
  return first.map((dim, i) => {
    if (i !== axis) return shapes.every((shape) => shape[i] === dim) ? dim : undefined;
    let sum = 0;
    for (const shape of shapes) {
      const size = shape[axis];
      if (typeof size !== 'number') return undefined;
      sum += size;
    }
    return sum;
  });
}

/** Joins tensors along an existing axis; all other dims must agree. */
export function concatAlongAxis(tensors: readonly Tensor[], axis: number): Tensor {
  const first = tensors[0]!;
  for (const tensor of tensors) {
    const agrees = tensor.dims.length === first.dims.length && tensor.dims.every((dim, i) => i === axis || dim === first.dims[i]);
    if (!agrees || tensor.type !== first.type) {
      throw new EdgerunError('SHAPE_MISMATCH', `cannot join ${tensor.type}[${tensor.dims.join(', ')}] with ${first.type}[${first.dims.join(', ')}] along axis ${axis}`);
    }
  }
  const dims = joinedShape(tensors.map((tensor) => tensor.dims), axis) as number[];
  const { outer, inner } = splitAround(dims, axis);
  const out = allocate(first.type, elementCount(dims));
  let target = 0;
  for (let o = 0; o < outer; o++) {
    for (const tensor of tensors) {
      const block = tensor.dims[axis]! * inner;
      copyElements(tensor.data, o * block, out, target, block);
      target += block;
    }
  }
  return new Tensor(first.type, out, dims);
}

/** Joins tensors of one shape along a new axis inserted at `axis`. */
export function stackAlongNewAxis(tensors: readonly Tensor[], axis: number): Tensor {
  const expanded = tensors.map((tensor) => {
    const dims = [...tensor.dims];
    dims.splice(axis, 0, 1);
    return new Tensor(tensor.type, tensor.data, dims);
  });
  return concatAlongAxis(expanded, axis);
}

// ---------------------------------------------------------------------------------------------------------
// Kernel-side accessors.

function sequenceInput(ctx: KernelContext<unknown>, index: number): Value[] {
  const value = ctx.inputs[index];
  if (!Array.isArray(value)) ctx.fail('INVALID_ARGUMENT', `input #${index} ('${ctx.node.inputs[index] ?? ''}') must be a sequence`);
  return value;
}

function tensorsOfSequence(ctx: KernelContext<unknown>, index: number): Tensor[] {
  return sequenceInput(ctx, index).map((value, position) => {
    if (!isTensor(value)) ctx.fail('INVALID_ARGUMENT', `sequence element ${position} must be a tensor`);
    return value;
  });
}

/** A position input, checked against [-length, length - 1] (or up to length when inserting). */
function positionIn(ctx: KernelContext<unknown>, index: number, length: number, allowEnd: boolean): number | undefined {
  const tensor = ctx.optionalTensor(index);
  if (!tensor) return undefined;
  const position = scalarOf(tensor);
  const normalized = normalizedPosition(position, length, allowEnd);
  if (normalized === undefined) ctx.fail('INVALID_ARGUMENT', `position ${position} is out of range for a sequence of length ${length}`);
  return normalized;
}

function int64Scalar(value: number): Tensor {
  return new Tensor('int64', BigInt64Array.of(BigInt(value)), []);
}

function boolScalar(value: boolean): Tensor {
  return new Tensor('bool', Uint8Array.of(value ? 1 : 0), []);
}

function dtypeAttr(code: number | undefined, fallback: DataType): DataType {
  return code === undefined ? fallback : dataTypeFromOnnx(code, 'dtype attribute');
}

/** A split input's values and whether it is a scalar (one chunk size) or a list of piece sizes. */
interface SplitGiven {
  values: number[];
  scalar: boolean;
}

function splitGivenOf(split: Tensor): SplitGiven {
  return { values: integersOf(split), scalar: split.dims.length === 0 };
}

/** Piece sizes for SplitToSequence: one per index without split, equal chunks of a scalar split (last one shorter) or the listed sizes. */
function splitSizes(axisSize: number, split: SplitGiven | undefined, fail: (detail: string) => never): number[] {
  if (!split) return new Array<number>(axisSize).fill(1);
  const values = split.values;
  if (split.scalar) {
    const chunk = values[0]!;
    if (chunk <= 0) fail(`split must be positive, got ${chunk}`);
    const sizes: number[] = [];
    for (let start = 0; start < axisSize; start += chunk) sizes.push(Math.min(chunk, axisSize - start));
    return sizes;
  }
  const total = values.reduce((sum, size) => sum + size, 0);
  if (total !== axisSize || values.some((size) => size < 0)) {
    fail(`split sizes [${values.join(', ')}] must be non-negative and sum to the axis size ${axisSize}`);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------
// Static types. A sequence type's `elem` covers every element (dims that differ between elements are
// unknown). Where inference can tell the elements one by one (SequenceConstruct, SequenceEmpty, a
// SplitToSequence of known sizes, inserts and erases at known positions), it also records their types,
// keyed by the sequence type it returned, so SequenceAt and ConcatFromSequence can be exact.

/** A sequence type whose elements are known one by one; `empty` is the element type of an empty sequence. */
function sequenceOfElements(elements: readonly (ValueType | undefined)[], empty?: ValueType): ValueType {
  const elem = elements.length === 0 ? empty : elements.slice(1).reduce(unionType, elements[0]);
  return { kind: 'sequence', elem, elements: [...elements] };
}

function elementsOf(type: ValueType | undefined): readonly (ValueType | undefined)[] | undefined {
  return type?.kind === 'sequence' ? type.elements : undefined;
}

/** A known scalar position input (an initializer or constant), or undefined. */
function constantPosition(ctx: InferContext<unknown>, index: number): number | undefined {
  const tensor = ctx.constant(index);
  return tensor ? scalarOf(tensor) : undefined;
}

/** A position within a sequence of `length`, normalized; undefined when out of range (the kernel then fails). */
function normalizedPosition(position: number, length: number, allowEnd: boolean): number | undefined {
  const last = allowEnd ? length : length - 1;
  if (position < -length || position > last) return undefined;
  return position < 0 ? position + length : position;
}

const sequenceOfTensors = (elem?: ValueType): ValueType => ({ kind: 'sequence', elem });

/** The pieces of SplitToSequence: each piece's type where the sizes are known, else one type covering all. */
function splitToSequenceType(ctx: InferContext<{ axis: number; keepdims: number }>): ValueType | undefined {
  const input = ctx.inputTypes[0];
  if (input?.kind !== 'tensor') return undefined;
  const shape = input.shape;
  if (!shape) return sequenceOfTensors(tensorType(input.dtype));
  const axis = normalizeAxis(ctx.attrs.axis, shape.length);
  const splitGiven = ctx.inputTypes.length > 1 && ctx.node.inputs[1] !== '';
  const split = splitGiven ? ctx.constant(1) : undefined;
  const pieceOf = (size: Dim) => tensorType(input.dtype, shape.map((dim, i) => (i === axis ? size : dim)));
  if (!splitGiven) {
    const piece = ctx.attrs.keepdims === 0 ? tensorType(input.dtype, shape.filter((_, i) => i !== axis)) : pieceOf(1);
    const axisSize = shape[axis];
    return typeof axisSize === 'number' ? sequenceOfElements(new Array(axisSize).fill(piece), piece) : sequenceOfTensors(piece);
  }
  const axisSize = shape[axis];
  if (split && typeof axisSize === 'number') {
    const sizes = splitSizes(axisSize, splitGivenOf(split), (detail) => {
      throw new EdgerunError('INVALID_ARGUMENT', detail);
    });
    return sequenceOfElements(sizes.map(pieceOf), pieceOf(undefined));
  }
  return sequenceOfTensors(pieceOf(undefined));
}

/** ConcatFromSequence's result: exact when the elements are known one by one, else the rank and the shared dims. */
function concatFromSequenceType(sequence: ValueType | undefined, axisGiven: number | undefined, newAxis: boolean): ValueType | undefined {
  if (sequence?.kind !== 'sequence' || sequence.elem?.kind !== 'tensor' || axisGiven === undefined) return undefined;
  const dtype = sequence.elem.dtype;
  const elements = elementsOf(sequence);
  const shapes = elements?.map(shapeOf);
  const rank = shapeOf(sequence.elem)?.length;
  if (rank === undefined) return tensorType(dtype);
  const axis = normalizeAxis(axisGiven, newAxis ? rank + 1 : rank);
  const known = elements && elements.length > 0 && shapes!.every((shape) => shape?.length === rank);
  if (newAxis) {
    const stacked: Dim[] = [...shapeOf(sequence.elem)!];
    stacked.splice(axis, 0, known ? elements.length : undefined);
    return tensorType(dtype, stacked);
  }
  if (known) return tensorType(dtype, joinedShape(shapes as Dim[][], axis));
  return tensorType(dtype, shapeOf(sequence.elem)!.map((dim, i) => (i === axis ? undefined : dim)));
}

export const ops: OpDef[] = [
  defineOp({
    name: 'SequenceEmpty',
    since: 11,
    inputs: [],
    outputs: ['output'],
    attributes: { dtype: attr.int() },
    infer: ({ attrs }) => [sequenceOfElements([], tensorType(dtypeAttr(attrs.dtype, 'float32')))],
    kernel: () => [[]],
  }),

  defineOp({
    name: 'SequenceConstruct',
    since: 11,
    inputs: ['inputs...'],
    outputs: ['output_sequence'],
    infer: ({ inputTypes }) => [sequenceOfElements(inputTypes)],
    kernel: (ctx) => [ctx.inputs.map((_, index) => ctx.tensor(index))],
  }),

  defineOp({
    name: 'SequenceInsert',
    since: 11,
    inputs: ['input_sequence', 'tensor', 'position?'],
    outputs: ['output_sequence'],
    infer: (ctx) => {
      const [sequence, inserted] = ctx.inputTypes;
      const elements = elementsOf(sequence);
      const given = ctx.inputTypes.length > 2 && ctx.node.inputs[2] !== '';
      const position = given ? constantPosition(ctx, 2) : elements?.length;
      if (elements && position !== undefined) {
        const at = normalizedPosition(position, elements.length, true);
        if (at !== undefined) return [sequenceOfElements([...elements.slice(0, at), inserted, ...elements.slice(at)])];
      }
      const elem = sequence?.kind === 'sequence' ? sequence.elem : undefined;
      if (elements?.length === 0) return [sequenceOfElements([inserted])];
      return [sequenceOfTensors(unionType(elem, inserted))];
    },
    kernel: (ctx) => {
      const sequence = [...sequenceInput(ctx, 0)];
      const position = positionIn(ctx, 2, sequence.length, true) ?? sequence.length;
      sequence.splice(position, 0, ctx.tensor(1));
      return [sequence];
    },
  }),

  defineOp({
    name: 'SequenceAt',
    since: 11,
    inputs: ['input_sequence', 'position'],
    outputs: ['tensor'],
    infer: (ctx) => {
      const type = ctx.inputTypes[0];
      const elements = elementsOf(type);
      const position = constantPosition(ctx, 1);
      const at = elements && position !== undefined ? normalizedPosition(position, elements.length, false) : undefined;
      if (elements && at !== undefined) return [elements[at]];
      return [type?.kind === 'sequence' ? type.elem : undefined];
    },
    kernel: (ctx) => {
      const sequence = sequenceInput(ctx, 0);
      return [sequence[positionIn(ctx, 1, sequence.length, false)!]];
    },
  }),

  defineOp({
    name: 'SequenceErase',
    since: 11,
    inputs: ['input_sequence', 'position?'],
    outputs: ['output_sequence'],
    infer: (ctx) => {
      const sequence = ctx.inputTypes[0];
      const elements = elementsOf(sequence);
      const given = ctx.inputTypes.length > 1 && ctx.node.inputs[1] !== '';
      const position = given ? constantPosition(ctx, 1) : elements && elements.length - 1;
      const at = elements && position !== undefined ? normalizedPosition(position, elements.length, false) : undefined;
      const elem = sequence?.kind === 'sequence' ? sequence.elem : undefined;
      if (elements && at !== undefined) return [sequenceOfElements([...elements.slice(0, at), ...elements.slice(at + 1)], elem)];
      // Whatever is erased, the rest is covered by the type that covered every element.
      return [sequence?.kind === 'sequence' ? sequenceOfTensors(elem) : undefined];
    },
    kernel: (ctx) => {
      const sequence = [...sequenceInput(ctx, 0)];
      const position = positionIn(ctx, 1, sequence.length, false) ?? sequence.length - 1;
      if (position < 0) ctx.fail('INVALID_ARGUMENT', 'cannot erase from an empty sequence');
      sequence.splice(position, 1);
      return [sequence];
    },
  }),

  defineOp({
    name: 'SequenceLength',
    since: 11,
    inputs: ['input_sequence'],
    outputs: ['length'],
    infer: () => [{ kind: 'tensor', dtype: 'int64', shape: [] }],
    kernel: (ctx) => [int64Scalar(sequenceInput(ctx, 0).length)],
  }),

  defineOp({
    name: 'SplitToSequence',
    since: 11,
    inputs: ['input', 'split?'],
    outputs: ['output_sequence'],
    attributes: { axis: attr.int(0), keepdims: attr.int(1) },
    infer: (ctx) => [splitToSequenceType(ctx)],
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      const split = ctx.optionalTensor(1);
      const axis = normalizeAxis(ctx.attrs.axis, input.dims.length);
      const sizes = splitSizes(input.dims[axis]!, split && splitGivenOf(split), (detail) => ctx.fail('INVALID_ARGUMENT', detail));
      // keepdims only applies when no split is given (every piece then has size 1 along the axis).
      const dropAxis = !split && ctx.attrs.keepdims === 0;
      const pieces: Tensor[] = [];
      let start = 0;
      for (const size of sizes) {
        pieces.push(dropAxis ? takeAlongAxis(input, axis, start) : sliceAlongAxis(input, axis, start, size));
        start += size;
      }
      return [pieces];
    },
  }),

  defineOp({
    name: 'ConcatFromSequence',
    since: 11,
    inputs: ['input_sequence'],
    outputs: ['concat_result'],
    attributes: { axis: attr.int(), new_axis: attr.int(0) },
    infer: ({ attrs, inputTypes }) => [concatFromSequenceType(inputTypes[0], attrs.axis, attrs.new_axis === 1)],
    kernel: (ctx) => {
      const axis = ctx.attrs.axis ?? ctx.fail('INVALID_ATTRIBUTE', "attribute 'axis' is required");
      const tensors = tensorsOfSequence(ctx, 0);
      if (tensors.length === 0) return ctx.fail('INVALID_ARGUMENT', 'cannot concatenate an empty sequence');
      const rank = tensors[0]!.dims.length;
      if (ctx.attrs.new_axis === 1) return [stackAlongNewAxis(tensors, normalizeAxis(axis, rank + 1))];
      return [concatAlongAxis(tensors, normalizeAxis(axis, rank))];
    },
  }),

  defineOp({
    name: 'SequenceMap',
    since: 17,
    inputs: ['input_sequence', 'additional_inputs...'],
    outputs: ['out_sequence...'],
    attributes: { body: attr.graph() },
    // Each output collects one body output per element; the body's declared output types cover them.
    infer: ({ attrs, node }) => node.outputs.map((_, k) => sequenceOfTensors(attrs.body?.outputs[k]?.type)),
    kernel: (ctx) => {
      const body = ctx.attrs.body ?? ctx.fail('INVALID_ATTRIBUTE', "attribute 'body' is required");
      const length = sequenceInput(ctx, 0).length;
      // Sequence inputs contribute their i-th element to iteration i; tensor inputs are passed whole each time.
      const inputs = ctx.inputs.map((value, index) => {
        if (Array.isArray(value) && value.length !== length) {
          ctx.fail('INVALID_ARGUMENT', `sequence input #${index} has ${value.length} elements, the first has ${length}`);
        }
        return value ?? null;
      });
      const outputs: Value[][] = Array.from({ length: ctx.outputCount }, () => []);
      for (let i = 0; i < length; i++) {
        const results = ctx.runGraph(body, inputs.map((value) => (Array.isArray(value) ? value[i]! : value)));
        results.forEach((result, k) => outputs[k]?.push(result));
      }
      return outputs;
    },
  }),

  defineOp({
    name: 'Optional',
    since: 15,
    inputs: ['input?'],
    outputs: ['output'],
    attributes: { type: attr.typeProto() },
    infer: ({ attrs, inputTypes }) => [{ kind: 'optional', elem: inputTypes[0] ?? attrs.type }],
    kernel: (ctx) => [ctx.inputs[0] ?? null],
  }),

  // Opset 15 took only optionals; 18 also takes plain tensors and sequences and an omitted input. The
  // value model (an optional is its content or null) makes one kernel serve both.
  defineOp({
    name: 'OptionalHasElement',
    since: 15,
    inputs: ['input?'],
    outputs: ['output'],
    infer: () => [{ kind: 'tensor', dtype: 'bool', shape: [] }],
    kernel: (ctx) => [boolScalar(ctx.inputs[0] !== undefined && ctx.inputs[0] !== null)],
  }),

  defineOp({
    name: 'OptionalGetElement',
    since: 15,
    inputs: ['input'],
    outputs: ['output'],
    infer: ({ inputTypes }) => {
      const type = inputTypes[0];
      return [type?.kind === 'optional' ? type.elem : type];
    },
    kernel: (ctx) => {
      const value = ctx.inputs[0];
      if (value === undefined || value === null) ctx.fail('INVALID_ARGUMENT', 'input is an empty optional');
      return [value];
    },
  }),
];
