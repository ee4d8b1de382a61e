import { allocate, arrayLengthFor, writeNumbers, type DataType, type TensorData } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import { Tensor, elementCount } from '../core/tensor.js';
import type { Dim, ValueType } from '../core/graph.js';
import {
  defineOp,
  attr,
  type AttrSpec,
  type AttrSpecs,
  type InferContext,
  type KernelContext,
  type OpDef,
  type ResolvedAttrs,
} from './registry.js';
import { broadcastDims, broadcastShapes, concreteDims, constantIntegers, dimProduct, dimQuotient, dimSum, dimTimes, hasInput, integersOf, listLength, mergeDims, normalizeAxis, scalarOf, shapeOf, stridesOf, tensorType, tryInfer, typeFrom, unknownDims } from './common.js';

/**
 * Ops that move elements without looking at them: reshapes, transposes, slicing, padding, tiling.
 * They work for every element type (strings and bools included) because they copy array slots, never
 * converting to numbers. Most of them are one call to `gatherByAxis`, which builds an output from one
 * offset table per output axis.
 */

/** Array slots of any tensor type, read and written without conversion. */
type Slots = { [index: number]: unknown; readonly length: number };
type WritableSlots = { [index: number]: unknown; length: number };

/** Array slots per element: complex numbers take two (re, im). */
function slotsPerElement(type: DataType): number {
  return arrayLengthFor(type, 1);
}

/** Same data, new dims: tensors are immutable, so sharing the array is safe. */
function withDims(input: Tensor, dims: readonly number[]): Tensor {
  return new Tensor(input.type, input.data, dims);
}

/** Marks an output coordinate that has no source element (constant padding). */
const OUTSIDE = -1;

/**
 * Builds a tensor of `outDims` whose element at coordinates (c0, ..., cn) is the input element at flat
 * index sum(axisOffsets[a][c_a]), or `fill` when any of those offsets is OUTSIDE. One table per output
 * axis expresses transposes (permuted strides), slices (start + step), broadcasts (stride 0), tiles and
 * padding (index arithmetic per axis) alike.
 */
function gatherByAxis(input: Tensor, outDims: readonly number[], axisOffsets: readonly Int32Array[], fill?: Slots, target?: OutputOf): Tensor {
  const lanes = slotsPerElement(input.type);
  const total = elementCount(outDims);
  const result = target?.(input.type, outDims);
  const out = (result?.data ?? allocate(input.type, total)) as WritableSlots;
  const source = input.data as Slots;
  const rank = outDims.length;
  if (total === 0) return new Tensor(input.type, out as TensorData, outDims);
  const copyElement = (to: number, from: number): void => {
    if (from === OUTSIDE) {
      if (fill) for (let lane = 0; lane < lanes; lane++) out[to * lanes + lane] = fill[lane];
      return;
    }
    for (let lane = 0; lane < lanes; lane++) out[to * lanes + lane] = source[from * lanes + lane];
  };
  if (rank === 0) {
    copyElement(0, 0);
    return result ?? new Tensor(input.type, out as TensorData, outDims);
  }
  const last = rank - 1;
  const innerOffsets = axisOffsets[last]!;
  const innerSize = outDims[last]!;
  const counter = new Array<number>(last).fill(0);
  let outIndex = 0;
  for (;;) {
    let base = 0;
    let outside = false;
    for (let axis = 0; axis < last; axis++) {
      const offset = axisOffsets[axis]![counter[axis]!]!;
      if (offset === OUTSIDE) outside = true;
      base += offset;
    }
    if (lanes === 1 && !outside) {
      // The common case, kept as a tight loop: plain element copies along the innermost axis.
      for (let j = 0; j < innerSize; j++, outIndex++) {
        const offset = innerOffsets[j]!;
        if (offset !== OUTSIDE) out[outIndex] = source[base + offset];
        else if (fill) out[outIndex] = fill[0];
      }
    } else {
      for (let j = 0; j < innerSize; j++, outIndex++) {
        const offset = innerOffsets[j]!;
        copyElement(outIndex, outside || offset === OUTSIDE ? OUTSIDE : base + offset);
      }
    }
    let axis = last - 1;
    for (; axis >= 0; axis--) {
      counter[axis]! += 1;
      if (counter[axis]! < outDims[axis]!) break;
      counter[axis] = 0;
    }
    if (axis < 0) break;
  }
  return result ?? new Tensor(input.type, out as TensorData, outDims);
}

/** Where an op writes its output: the kernel context's planned buffer for output 0. */
type OutputOf = (type: DataType, dims: readonly number[]) => Tensor;

/** Offsets of `size` coordinates along one axis, each `sourceIndexOf(c)` (or OUTSIDE) times `stride`. */
function axisTable(size: number, stride: number, sourceIndexOf: (coordinate: number) => number): Int32Array {
  const table = new Int32Array(size);
  for (let c = 0; c < size; c++) {
    const index = sourceIndexOf(c);
    table[c] = index === OUTSIDE ? OUTSIDE : index * stride;
  }
  return table;
}

/** The input viewed with `viewDims` (same element count), its axes reordered by `perm`. */
function permute(input: Tensor, viewDims: readonly number[], perm: readonly number[], target?: OutputOf): Tensor {
  const strides = stridesOf(viewDims);
  const outDims = perm.map((axis) => viewDims[axis]!);
  const tables = perm.map((axis, outAxis) => axisTable(outDims[outAxis]!, strides[axis]!, (c) => c));
  return gatherByAxis(input, outDims, tables, undefined, target);
}

/**
 * Copies `count` blocks of `blockLength` slots, block k from source[sourceStart + k*sourcePitch] to
 * target[targetStart + k*targetPitch]: the inner loop of Concat and Split. Both arrays are of one type.
 */
function copyBlocks(
  source: TensorData,
  sourceStart: number,
  sourcePitch: number,
  target: TensorData,
  targetStart: number,
  targetPitch: number,
  blockLength: number,
  count: number,
): void {
  for (let block = 0; block < count; block++) {
    const from = sourceStart + block * sourcePitch;
    const to = targetStart + block * targetPitch;
    if (Array.isArray(source)) {
      for (let i = 0; i < blockLength; i++) (target as string[])[to + i] = source[from + i]!;
    } else {
      // Typed arrays copy a whole block natively; the cast only silences the union of array kinds.
      (target as Float64Array).set((source as Float64Array).subarray(from, from + blockLength), to);
    }
  }
}

function product(dims: readonly number[], from = 0, to = dims.length): number {
  let result = 1;
  for (let axis = from; axis < to; axis++) result *= dims[axis]!;
  return result;
}

function checkAxesUnique(axes: readonly number[], what: string): void {
  if (new Set(axes).size !== axes.length) throw new EdgerunError('INVALID_ARGUMENT', `${what} [${axes.join(', ')}] repeat an axis`);
}

// ---------------------------------------------------------------------------------------------------------
// Reshape, Flatten, Squeeze, Unsqueeze: new dims, same data.

/** Resolves a Reshape target: 0 copies the input dim (unless allowzero), one -1 takes what is left. */
function reshapedDims(inputDims: readonly Dim[], requested: readonly number[], allowZero: boolean): Dim[] {
  const dims: Dim[] = requested.map((dim, axis) => {
    if (dim === 0 && !allowZero) {
      if (axis >= inputDims.length) throw new EdgerunError('INVALID_ARGUMENT', `shape has 0 at axis ${axis}, beyond the input's rank ${inputDims.length}`);
      return inputDims[axis];
    }
    return dim;
  });
  const inferred = dims.filter((dim) => dim === -1).length;
  if (inferred > 1) throw new EdgerunError('INVALID_ARGUMENT', `shape [${requested.join(', ')}] has more than one -1`);
  if (dims.some((dim) => typeof dim === 'number' && dim < -1)) throw new EdgerunError('INVALID_ARGUMENT', `shape [${requested.join(', ')}] has a negative dim`);
  const total = dimProduct(inputDims);
  if (inferred === 1) {
    const rest = dims.filter((dim) => dim !== -1);
    const known = dimProduct(rest);
    if (known === 0 || (typeof total === 'number' && typeof known === 'number' && total % known !== 0)) {
      throw new EdgerunError('SHAPE_MISMATCH', `cannot reshape [${inputDims.join(', ')}] to [${requested.join(', ')}]`);
    }
    dims[dims.indexOf(-1)] = dimQuotient(inputDims, rest);
  }
  const count = dimProduct(dims);
  if (typeof total === 'number' && typeof count === 'number' && count !== total) {
    throw new EdgerunError('SHAPE_MISMATCH', `cannot reshape [${inputDims.join(', ')}] (${total} elements) to [${requested.join(', ')}]`);
  }
  return dims;
}

/** Reshape's output type: from a constant target shape, else only the rank (the target's length). */
function inferReshape(inputTypes: readonly (ValueType | undefined)[], requested: readonly number[] | undefined, allowZero: boolean): (ValueType | undefined)[] {
  return [
    typeFrom(inputTypes, 0, (shape) => {
      if (!requested) return unknownDims(listLength(inputTypes[1]));
      if (!shape) return requested.every((dim) => dim > 0 || (dim === 0 && allowZero)) ? [...requested] : unknownDims(requested.length);
      return reshapedDims(shape, requested, allowZero);
    }),
  ];
}

const reshapeOps: OpDef[] = [
  defineOp({
    name: 'Reshape',
    since: 1,
    inputs: ['data'],
    outputs: ['reshaped'],
    attributes: { shape: attr.ints([]) },
    infer: ({ inputTypes, attrs }) => inferReshape(inputTypes, attrs.shape, false),
    kernel: ({ tensor, attrs }) => [withDims(tensor(0), concreteDims(reshapedDims(tensor(0).dims, attrs.shape, false)))],
  }),
  defineOp({
    name: 'Reshape',
    since: 5,
    inputs: ['data', 'shape'],
    outputs: ['reshaped'],
    infer: (context) => inferReshape(context.inputTypes, constantIntegers(context, 1), false),
    kernel: ({ tensor }) => [withDims(tensor(0), concreteDims(reshapedDims(tensor(0).dims, integersOf(tensor(1)), false)))],
  }),
  defineOp({
    name: 'Reshape',
    since: 14,
    inputs: ['data', 'shape'],
    outputs: ['reshaped'],
    attributes: { allowzero: attr.int(0) },
    infer: (context) => inferReshape(context.inputTypes, constantIntegers(context, 1), context.attrs.allowzero !== 0),
    kernel: ({ tensor, attrs }) => [withDims(tensor(0), concreteDims(reshapedDims(tensor(0).dims, integersOf(tensor(1)), attrs.allowzero !== 0)))],
  }),
];

function flattenedDims(dims: readonly Dim[], axis: number): Dim[] {
  const rank = dims.length;
  // Unlike most axes, Flatten's may equal the rank (everything goes to the first dim).
  if (axis < -rank || axis > rank) throw new EdgerunError('INVALID_ARGUMENT', `Flatten axis ${axis} is out of range for rank ${rank}`);
  const split = axis < 0 ? axis + rank : axis;
  return [dimProduct(dims.slice(0, split)), dimProduct(dims.slice(split))];
}

const flattenOps: OpDef[] = [1, 9, 11, 13, 21].map((since) =>
  defineOp({
    name: 'Flatten',
    since,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { axis: attr.int(1) },
    infer: ({ inputTypes, attrs }) => [typeFrom(inputTypes, 0, (shape) => (shape ? flattenedDims(shape, attrs.axis) : unknownDims(2)))],
    kernel: ({ tensor, attrs }) => [withDims(tensor(0), concreteDims(flattenedDims(tensor(0).dims, attrs.axis)))],
  }),
);

/**
 * Drops the listed size-1 axes, or every size-1 axis when none are listed; undefined when that depends
 * on dims not known statically.
 */
function squeezedDims(dims: readonly Dim[], axes: readonly number[] | undefined): Dim[] | undefined {
  const rank = dims.length;
  const squeezeAll = !axes || axes.length === 0;
  if (squeezeAll && dims.some((dim) => typeof dim !== 'number')) return undefined;
  const dropped = new Set(squeezeAll ? [] : axes.map((axis) => normalizeAxis(axis, rank, 'Squeeze axis')));
  if (squeezeAll) dims.forEach((dim, axis) => dim === 1 && dropped.add(axis));
  for (const axis of dropped) {
    if (typeof dims[axis] === 'number' && dims[axis] !== 1) {
      throw new EdgerunError('INVALID_ARGUMENT', `Squeeze axis ${axis} has size ${dims[axis]}, not 1`);
    }
  }
  return dims.filter((_, axis) => !dropped.has(axis));
}

/** Inserts size-1 axes at the listed positions of the output. */
function unsqueezedDims(dims: readonly Dim[], axes: readonly number[]): Dim[] {
  const outRank = dims.length + axes.length;
  const inserted = axes.map((axis) => normalizeAxis(axis, outRank, 'Unsqueeze axis'));
  checkAxesUnique(inserted, 'Unsqueeze axes');
  const remaining = [...dims];
  return Array.from({ length: outRank }, (_, axis) => (inserted.includes(axis) ? 1 : remaining.shift()));
}

/** Squeeze's output type; axes undefined when not known statically (`given` says whether the node lists any). */
function inferSqueeze(inputTypes: readonly (ValueType | undefined)[], axes: readonly number[] | undefined, given: boolean): ValueType | undefined {
  return typeFrom(inputTypes, 0, (shape) => {
    if (!shape) return undefined;
    if (given && !axes) {
      const count = listLength(inputTypes[1]);
      return count === undefined || count === 0 ? undefined : unknownDims(shape.length - count);
    }
    return squeezedDims(shape, axes);
  });
}

/** Unsqueeze's output type; axes undefined when not known statically. */
function inferUnsqueeze(inputTypes: readonly (ValueType | undefined)[], axes: readonly number[] | undefined): ValueType | undefined {
  return typeFrom(inputTypes, 0, (shape) => {
    if (!shape) return undefined;
    if (!axes) {
      const count = listLength(inputTypes[1]);
      return count === undefined ? undefined : unknownDims(shape.length + count);
    }
    return unsqueezedDims(shape, axes);
  });
}

function axesInput(context: KernelContext, index: number): number[] | undefined {
  const axes = context.optionalTensor(index);
  return axes ? integersOf(axes) : undefined;
}

const squeezeOps: OpDef[] = [
  defineOp({
    name: 'Squeeze',
    since: 1,
    inputs: ['data'],
    outputs: ['squeezed'],
    attributes: { axes: attr.ints() },
    infer: ({ inputTypes, attrs }) => [inferSqueeze(inputTypes, attrs.axes, false)],
    kernel: ({ tensor, attrs }) => [withDims(tensor(0), concreteDims(squeezedDims(tensor(0).dims, attrs.axes)))],
  }),
  defineOp({
    name: 'Squeeze',
    since: 13,
    inputs: ['data', 'axes?'],
    outputs: ['squeezed'],
    infer: (context) => [inferSqueeze(context.inputTypes, constantIntegers(context, 1), hasInput(context, 1))],
    kernel: (context) => [withDims(context.tensor(0), concreteDims(squeezedDims(context.tensor(0).dims, axesInput(context, 1))))],
  }),
  defineOp({
    name: 'Unsqueeze',
    since: 1,
    inputs: ['data'],
    outputs: ['expanded'],
    attributes: { axes: attr.ints([]) },
    infer: ({ inputTypes, attrs }) => [inferUnsqueeze(inputTypes, attrs.axes)],
    kernel: ({ tensor, attrs }) => [withDims(tensor(0), concreteDims(unsqueezedDims(tensor(0).dims, attrs.axes)))],
  }),
  defineOp({
    name: 'Unsqueeze',
    since: 13,
    inputs: ['data', 'axes'],
    outputs: ['expanded'],
    infer: (context) => [inferUnsqueeze(context.inputTypes, constantIntegers(context, 1))],
    kernel: ({ tensor }) => [withDims(tensor(0), concreteDims(unsqueezedDims(tensor(0).dims, integersOf(tensor(1)))))],
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Transpose, DepthToSpace, SpaceToDepth: axis permutations.

/** Transpose's axis order: `perm` checked, or the axes reversed when it is absent. */
function transposeOrder(rank: number, perm: readonly number[] | undefined): number[] {
  const order = perm ?? Array.from({ length: rank }, (_, axis) => rank - 1 - axis);
  const normalized = order.map((axis) => normalizeAxis(axis, rank, 'Transpose perm entry'));
  if (normalized.length !== rank) {
    throw new EdgerunError('INVALID_ARGUMENT', `perm [${order.join(', ')}] must list each of the ${rank} axes once`);
  }
  checkAxesUnique(normalized, 'Transpose perm');
  return normalized;
}

function transpose(input: Tensor, perm: readonly number[] | undefined, target?: OutputOf): Tensor {
  return permute(input, input.dims, transposeOrder(input.dims.length, perm), target);
}

function imageDims<D extends Dim>(dims: readonly D[], op: string): [D, D, D, D] {
  if (dims.length !== 4) {
    throw new EdgerunError('INVALID_ARGUMENT', `${op} input must be rank 4 (N, C, H, W), got dims [${dims.join(', ')}]`);
  }
  return dims as unknown as [D, D, D, D];
}

/** A dim divided by a block size that must divide it (checked when the dim is a number). */
function dividedDim(dim: Dim, divisor: number, problem: () => string): Dim {
  if (typeof dim !== 'number') return divisor === 1 ? dim : undefined;
  if (divisor < 1 || dim % divisor !== 0) throw new EdgerunError('INVALID_ARGUMENT', problem());
  return dim / divisor;
}

/** DepthToSpace's output dims: channels / blocksize², height and width * blocksize. */
function depthToSpaceDims(dims: readonly Dim[], b: number): Dim[] {
  const [n, c, h, w] = imageDims(dims, 'DepthToSpace');
  const problem = () => `DepthToSpace channels ${c} must be divisible by blocksize² (${b * b})`;
  if (b < 1) throw new EdgerunError('INVALID_ARGUMENT', problem());
  const depth = dividedDim(c, b * b, problem);
  return [n, depth, dimTimes(h, b), dimTimes(w, b)];
}

/** SpaceToDepth's output dims: channels * blocksize², height and width / blocksize. */
function spaceToDepthDims(dims: readonly Dim[], b: number): Dim[] {
  const [n, c, h, w] = imageDims(dims, 'SpaceToDepth');
  const problem = () => `SpaceToDepth height ${h} and width ${w} must be divisible by blocksize ${b}`;
  if (b < 1) throw new EdgerunError('INVALID_ARGUMENT', problem());
  return [n, dimTimes(c, b * b), dividedDim(h, b, problem), dividedDim(w, b, problem)];
}

function depthToSpace(input: Tensor, blocksize: number, mode: string): Tensor {
  const outDims = concreteDims(depthToSpaceDims(input.dims, blocksize));
  const [n, , h, w] = imageDims(input.dims, 'DepthToSpace');
  const b = blocksize;
  const depth = outDims[1]!;
  // DCR reads the channel index as (row in block, column in block, depth); CRD as (depth, row, column).
  let moved: Tensor;
  if (mode === 'DCR') moved = permute(input, [n, b, b, depth, h, w], [0, 3, 4, 1, 5, 2]);
  else if (mode === 'CRD') moved = permute(input, [n, depth, b, b, h, w], [0, 1, 4, 2, 5, 3]);
  else throw new EdgerunError('INVALID_ARGUMENT', `DepthToSpace mode must be DCR or CRD, got '${mode}'`);
  return withDims(moved, outDims);
}

function spaceToDepth(input: Tensor, blocksize: number): Tensor {
  const outDims = concreteDims(spaceToDepthDims(input.dims, blocksize));
  const [n, c] = imageDims(input.dims, 'SpaceToDepth');
  const b = blocksize;
  const moved = permute(input, [n, c, outDims[2]!, b, outDims[3]!, b], [0, 3, 5, 1, 2, 4]);
  return withDims(moved, outDims);
}

const permuteOps: OpDef[] = [
  defineOp({
    name: 'Transpose',
    since: 1,
    inputs: ['data'],
    outputs: ['transposed'],
    attributes: { perm: attr.ints() },
    infer: ({ inputTypes, attrs }) => [
      typeFrom(inputTypes, 0, (shape) => (shape ? transposeOrder(shape.length, attrs.perm).map((axis) => shape[axis]) : unknownDims(attrs.perm?.length))),
    ],
    kernel: ({ tensor, attrs, output }) => [transpose(tensor(0), attrs.perm, (type, dims) => output(0, type, dims))],
  }),
  defineOp({
    name: 'DepthToSpace',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { blocksize: attr.int(1) },
    infer: ({ inputTypes, attrs }) => [typeFrom(inputTypes, 0, (shape) => (shape ? depthToSpaceDims(shape, attrs.blocksize) : unknownDims(4)))],
    kernel: ({ tensor, attrs }) => [depthToSpace(tensor(0), attrs.blocksize, 'DCR')],
  }),
  defineOp({
    name: 'DepthToSpace',
    since: 11,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { blocksize: attr.int(1), mode: attr.string('DCR') },
    infer: ({ inputTypes, attrs }) => [typeFrom(inputTypes, 0, (shape) => (shape ? depthToSpaceDims(shape, attrs.blocksize) : unknownDims(4)))],
    kernel: ({ tensor, attrs }) => [depthToSpace(tensor(0), attrs.blocksize, attrs.mode)],
  }),
  defineOp({
    name: 'SpaceToDepth',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { blocksize: attr.int(1) },
    infer: ({ inputTypes, attrs }) => [typeFrom(inputTypes, 0, (shape) => (shape ? spaceToDepthDims(shape, attrs.blocksize) : unknownDims(4)))],
    kernel: ({ tensor, attrs }) => [spaceToDepth(tensor(0), attrs.blocksize)],
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Concat and Split: blocks along one axis.

/**
 * Concat's output dims: the inputs' dims (equal off the axis), their sum on it. Undefined entries of
 * `shapes` are inputs of unknown shape.
 */
function concatDims(shapes: readonly (readonly Dim[] | undefined)[], axisAttribute: number, problem: (index: number) => string): Dim[] | undefined {
  const first = shapes.find((shape) => shape !== undefined);
  if (!first) return undefined;
  const rank = first.length;
  const axis = normalizeAxis(axisAttribute, rank, 'Concat axis');
  const outDims = [...first];
  for (const [index, shape] of shapes.entries()) {
    if (!shape) continue;
    if (shape.length !== rank) throw new EdgerunError('SHAPE_MISMATCH', problem(index));
    shape.forEach((dim, a) => {
      if (a === axis) return;
      if (typeof dim === 'number' && typeof outDims[a] === 'number' && dim !== outDims[a]) throw new EdgerunError('SHAPE_MISMATCH', problem(index));
      outDims[a] = mergeDims(outDims[a], dim, 'Concat');
    });
  }
  outDims[axis] = shapes.some((shape) => !shape) ? undefined : dimSum(shapes.map((shape) => shape![axis]));
  return outDims;
}

/** Concatenates into the tensor `outputOf` gives (the planned buffer), or a new one. */
function concat(inputs: readonly Tensor[], axisAttribute: number, outputOf?: (type: DataType, dims: readonly number[]) => Tensor): Tensor {
  const first = inputs[0];
  if (!first) throw new EdgerunError('INVALID_ARGUMENT', 'Concat needs at least one input');
  const axis = normalizeAxis(axisAttribute, first.dims.length, 'Concat axis');
  const problem = (index: number): string => {
    const input = inputs[index]!;
    return `Concat input ${index} is ${input.type} [${input.dims.join(', ')}], expected ${first.type} with dims [${first.dims.join(', ')}] except on axis ${axis}`;
  };
  const outDims = concreteDims(concatDims(inputs.map((input) => input.dims), axisAttribute, problem));
  inputs.forEach((input, index) => {
    if (input.type !== first.type) throw new EdgerunError('SHAPE_MISMATCH', problem(index));
  });
  const lanes = slotsPerElement(first.type);
  const outer = product(outDims, 0, axis);
  const inner = product(outDims, axis + 1) * lanes;
  const outPitch = outDims[axis]! * inner;
  const result = outputOf ? outputOf(first.type, outDims) : new Tensor(first.type, allocate(first.type, elementCount(outDims)), outDims);
  let start = 0;
  for (const input of inputs) {
    const block = input.dims[axis]! * inner;
    copyBlocks(input.data, 0, block, result.data, start, outPitch, block, outer);
    start += block;
  }
  return result;
}

function concatKernel({ inputs, attrs, output }: KernelContext<{ axis: number | undefined }>): Tensor[] {
  const axis = attrs.axis;
  if (axis === undefined) throw new EdgerunError('INVALID_ATTRIBUTE', "Concat needs the 'axis' attribute");
  const tensors = inputs.filter((value): value is Tensor => value instanceof Tensor);
  return [concat(tensors, axis, (type, dims) => output(0, type, dims))];
}

// Opset 1 made 'axis' optional with default 1; opset 4 made it required.
const concatOps: OpDef[] = [
  { since: 1, axis: attr.int(1) },
  { since: 4, axis: attr.int() },
].map(({ since, axis }) =>
  defineOp({
    name: 'Concat',
    since,
    inputs: ['inputs...'],
    outputs: ['concat_result'],
    attributes: { axis },
    infer: ({ inputTypes, attrs }) => {
      const axis = attrs.axis;
      const known = inputTypes.find((type) => type?.kind === 'tensor');
      if (known?.kind !== 'tensor') return [undefined];
      const shape = axis === undefined ? undefined : tryInfer(() => concatDims(inputTypes.map(shapeOf), axis, () => 'Concat inputs differ'));
      return [tensorType(known.dtype, shape)];
    },
    kernel: concatKernel,
  }),
);

/** Splits along `axis` into pieces of the given sizes. */
function split(input: Tensor, axisAttribute: number, sizes: readonly number[]): Tensor[] {
  const rank = input.dims.length;
  const axis = normalizeAxis(axisAttribute, rank, 'Split axis');
  const dim = input.dims[axis]!;
  if (sizes.some((size) => size < 0) || sizes.reduce((a, b) => a + b, 0) !== dim) {
    throw new EdgerunError('INVALID_ARGUMENT', `split sizes [${sizes.join(', ')}] must be non-negative and add up to ${dim} (axis ${axis})`);
  }
  const lanes = slotsPerElement(input.type);
  const outer = product(input.dims, 0, axis);
  const inner = product(input.dims, axis + 1) * lanes;
  const inPitch = dim * inner;
  let start = 0;
  return sizes.map((size) => {
    const dims = [...input.dims];
    dims[axis] = size;
    const out = allocate(input.type, elementCount(dims));
    const block = size * inner;
    copyBlocks(input.data, start, inPitch, out, 0, block, block, outer);
    start += block;
    return new Tensor(input.type, out, dims);
  });
}

/** Piece sizes when none are given: `parts` pieces of ceil(dim / parts), the last one smaller if need be. */
function evenSplitSizes(dim: number, parts: number, requireEven: boolean): number[] {
  if (parts < 1) throw new EdgerunError('INVALID_ARGUMENT', `Split needs at least one output, got ${parts}`);
  if (requireEven && dim % parts !== 0) {
    throw new EdgerunError('INVALID_ARGUMENT', `Split cannot divide ${dim} into ${parts} equal parts`);
  }
  const chunk = Math.ceil(dim / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

interface SplitRequest {
  axis: number;
  sizes: readonly number[] | undefined;
  parts: number;
  /** Before opset 18 equal splits had to divide the axis exactly. */
  requireEven: boolean;
}

/** The piece sizes along the (normalized) axis: the given ones, or equal parts of the axis (unknown when it is). */
function splitSizes(dim: Dim, request: SplitRequest): Dim[] {
  // An empty split list counts as absent, as in onnxruntime.
  if (request.sizes?.length) return [...request.sizes];
  if (typeof dim !== 'number') return unknownDims(request.parts)!;
  return evenSplitSizes(dim, request.parts, request.requireEven);
}

function splitKernel(context: KernelContext, request: SplitRequest): Tensor[] {
  const input = context.tensor(0);
  const axis = normalizeAxis(request.axis, input.dims.length, 'Split axis');
  const sizes = concreteDims(splitSizes(input.dims[axis], request));
  if (sizes.length !== context.outputCount) {
    context.fail('INVALID_ARGUMENT', `split gives ${sizes.length} pieces for ${context.outputCount} outputs`);
  }
  return split(input, axis, sizes);
}

/** Split's output types: the input's with the axis dim of each piece (unknown when the sizes are). */
function inferSplit(context: InferContext, request: SplitRequest, sizesKnown: boolean): (ValueType | undefined)[] {
  const outputCount = context.node.outputs.length;
  return Array.from({ length: outputCount }, (_, piece) =>
    typeFrom(context.inputTypes, 0, (shape) => {
      if (!shape) return undefined;
      const axis = normalizeAxis(request.axis, shape.length, 'Split axis');
      const sizes = sizesKnown ? splitSizes(shape[axis], request) : unknownDims(outputCount)!;
      if (sizes.length !== outputCount) return undefined;
      const dims = [...shape];
      dims[axis] = sizes[piece];
      return dims;
    }),
  );
}

/** What one Split version reads from its node; the axis attribute is common to all. */
interface SplitPieces {
  sizes: readonly number[] | undefined;
  /** Defaults to the number of outputs. */
  parts?: number;
  /** Defaults to true. */
  requireEven?: boolean;
}

/** One version of Split: its inputs and attributes besides `axis`, and how the piece sizes follow from them and the `split` input. */
function splitOp<A extends AttrSpecs>(
  since: number,
  inputs: readonly string[],
  attributes: A,
  piecesOf: (attrs: ResolvedAttrs<A & { axis: AttrSpec<number> }>, splitInput: number[] | undefined) => SplitPieces,
): OpDef {
  const requestOf = (attrs: ResolvedAttrs<A & { axis: AttrSpec<number> }>, splitInput: number[] | undefined, outputCount: number): SplitRequest => {
    const { sizes, parts = outputCount, requireEven = true } = piecesOf(attrs, splitInput);
    // The cast only resolves the generic attribute type: every version has axis, an int with default 0.
    return { axis: attrs.axis as number, sizes, parts, requireEven };
  };
  return defineOp({
    name: 'Split',
    since,
    inputs,
    outputs: ['outputs...'],
    attributes: { axis: attr.int(0), ...attributes },
    infer: (context) => {
      const splitInput = constantIntegers(context, 1);
      // A split input given but not known statically leaves the piece sizes unknown.
      const known = inputs.length < 2 || !hasInput(context, 1) || splitInput !== undefined;
      return inferSplit(context, requestOf(context.attrs, splitInput, context.node.outputs.length), known);
    },
    kernel: (context) => splitKernel(context, requestOf(context.attrs, axesInput(context, 1), context.outputCount)),
  });
}

const splitOps: OpDef[] = [
  splitOp(1, ['input', 'split?'], { split: attr.ints() }, (attrs, splitInput) => ({ sizes: splitInput ?? attrs.split })),
  ...[2, 11].map((since) => splitOp(since, ['input'], { split: attr.ints() }, (attrs) => ({ sizes: attrs.split }))),
  splitOp(13, ['input', 'split?'], {}, (_, splitInput) => ({ sizes: splitInput })),
  // Opset 18 added num_outputs, and equal pieces no longer have to divide the axis.
  splitOp(18, ['input', 'split?'], { num_outputs: attr.int() }, (attrs, splitInput) => ({
    sizes: splitInput,
    parts: attrs.num_outputs,
    requireEven: false,
  })),
];

// ---------------------------------------------------------------------------------------------------------
// Slice

interface SliceRequest {
  starts: readonly number[];
  ends: readonly number[];
  axes?: readonly number[];
  steps?: readonly number[];
}

/** Where a slice starts and how it steps on each axis (0 and 1 on axes it keeps whole), and its dims. */
interface SliceLayout {
  first: number[];
  step: number[];
  outDims: Dim[];
}

/** Beyond any axis: ends like INT_MAX or INT64_MAX mean "to the end". */
const PAST_ANY_END = 2 ** 31 - 1;

function sliceLayout(dims: readonly Dim[], { starts, ends, axes, steps }: SliceRequest): SliceLayout {
  const rank = dims.length;
  const sliced = (axes ?? starts.map((_, i) => i)).map((axis) => normalizeAxis(axis, rank, 'Slice axis'));
  if (ends.length !== starts.length || sliced.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw new EdgerunError('INVALID_ARGUMENT', 'Slice starts, ends, axes and steps must have the same length');
  }
  checkAxesUnique(sliced, 'Slice axes');
  const first = dims.map(() => 0);
  const step = dims.map(() => 1);
  const outDims = [...dims];
  sliced.forEach((axis, i) => {
    const dim = dims[axis];
    const stride = steps?.[i] ?? 1;
    if (stride === 0) throw new EdgerunError('INVALID_ARGUMENT', `Slice step on axis ${axis} must not be 0`);
    step[axis] = stride;
    if (typeof dim !== 'number') {
      // An axis of unknown size keeps its size only when sliced whole, front to back.
      const whole = stride === 1 && starts[i] === 0 && ends[i]! >= PAST_ANY_END;
      outDims[axis] = whole ? dim : undefined;
      return;
    }
    // Negative indices count from the end; then both ends are clamped so the walk stays inside the axis,
    // where -1 stands for "before element 0" when walking backwards.
    const clamp = (index: number, low: number, high: number): number => Math.min(Math.max(index < 0 ? index + dim : index, low), high);
    first[axis] = stride > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, 0, dim - 1);
    const end = stride > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
    outDims[axis] = Math.max(0, Math.ceil((end - first[axis]!) / stride));
  });
  return { first, step, outDims };
}

function slice(input: Tensor, request: SliceRequest): Tensor {
  const { first, step, outDims: layoutDims } = sliceLayout(input.dims, request);
  const outDims = concreteDims(layoutDims);
  const strides = stridesOf(input.dims);
  const tables = outDims.map((size, axis) => axisTable(size, strides[axis]!, (c) => first[axis]! + c * step[axis]!));
  return gatherByAxis(input, outDims, tables);
}

const sliceOps: OpDef[] = [
  defineOp({
    name: 'Slice',
    since: 1,
    inputs: ['data'],
    outputs: ['output'],
    attributes: { starts: attr.ints([]), ends: attr.ints([]), axes: attr.ints() },
    infer: ({ inputTypes, attrs }) => [
      typeFrom(inputTypes, 0, (shape) => shape && sliceLayout(shape, { starts: attrs.starts, ends: attrs.ends, axes: attrs.axes }).outDims),
    ],
    kernel: ({ tensor, attrs }) => [slice(tensor(0), { starts: attrs.starts, ends: attrs.ends, axes: attrs.axes })],
  }),
  defineOp({
    name: 'Slice',
    since: 10,
    inputs: ['data', 'starts', 'ends', 'axes?', 'steps?'],
    outputs: ['output'],
    infer: (context) => [
      typeFrom(context.inputTypes, 0, (shape) => {
        if (!shape) return undefined;
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((index) => constantIntegers(context, index));
        const known = starts && ends && (axes || !hasInput(context, 3)) && (steps || !hasInput(context, 4));
        if (known) return sliceLayout(shape, { starts, ends, axes, steps }).outDims;
        // Unknown bounds: the rank stays, and so do the axes known not to be sliced.
        if (!axes) return unknownDims(shape.length);
        const sliced = new Set(axes.map((axis) => normalizeAxis(axis, shape.length, 'Slice axis')));
        return shape.map((dim, axis) => (sliced.has(axis) ? undefined : dim));
      }),
    ],
    kernel: (context) => [
      slice(context.tensor(0), {
        starts: integersOf(context.tensor(1)),
        ends: integersOf(context.tensor(2)),
        axes: axesInput(context, 3),
        steps: axesInput(context, 4),
      }),
    ],
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Expand, Tile: repeating elements.

function expand(input: Tensor, shape: readonly number[]): Tensor {
  const outDims = broadcastShapes(input.dims, shape);
  const padded = [...new Array<number>(outDims.length - input.dims.length).fill(1), ...input.dims];
  const strides = stridesOf(padded);
  const tables = outDims.map((size, axis) => axisTable(size, padded[axis] === 1 ? 0 : strides[axis]!, (c) => c));
  return gatherByAxis(input, outDims, tables);
}

/** Expand's output type: the input broadcast with a constant shape, else at least the rank (and dims that must win). */
function inferExpand(inputTypes: readonly (ValueType | undefined)[], shape: readonly number[] | undefined): ValueType | undefined {
  return typeFrom(inputTypes, 0, (dims) => {
    if (!dims) return undefined;
    if (shape) return broadcastDims([dims, shape]);
    const length = listLength(inputTypes[1]);
    return length === undefined ? undefined : broadcastDims([dims, unknownDims(length)!]);
  });
}

function tiledDims(dims: readonly Dim[], repeats: readonly number[]): Dim[] {
  if (repeats.length !== dims.length || repeats.some((count) => count < 0)) {
    throw new EdgerunError('INVALID_ARGUMENT', `Tile repeats [${repeats.join(', ')}] must be ${dims.length} non-negative counts`);
  }
  return dims.map((dim, axis) => dimTimes(dim, repeats[axis]!));
}

/** Tile (opset 1)'s repeats: `tiles` copies along `axis`, one elsewhere. */
function tileRepeatsAlong(rank: number, tiles: number, axisInput: number): number[] {
  const axis = normalizeAxis(axisInput, rank, 'Tile axis');
  return Array.from({ length: rank }, (_, a) => (a === axis ? tiles : 1));
}

function tile(input: Tensor, repeats: readonly number[]): Tensor {
  const outDims = concreteDims(tiledDims(input.dims, repeats));
  const strides = stridesOf(input.dims);
  const tables = outDims.map((size, axis) => axisTable(size, strides[axis]!, (c) => c % input.dims[axis]!));
  return gatherByAxis(input, outDims, tables);
}

const repeatOps: OpDef[] = [
  defineOp({
    name: 'Expand',
    since: 8,
    inputs: ['input', 'shape'],
    outputs: ['output'],
    infer: (context) => [inferExpand(context.inputTypes, constantIntegers(context, 1))],
    kernel: ({ tensor }) => [expand(tensor(0), integersOf(tensor(1)))],
  }),
  defineOp({
    // Opset 1 repeated along one axis given as an input: 'tiles' copies along 'axis'.
    name: 'Tile',
    since: 1,
    inputs: ['input', 'tiles', 'axis'],
    outputs: ['output'],
    infer: (context) => [
      typeFrom(context.inputTypes, 0, (shape) => {
        if (!shape) return undefined;
        const [tiles, axis] = [context.constant(1), context.constant(2)];
        if (!tiles || !axis) return shape.map((dim) => (dim === 0 ? 0 : undefined));
        return tiledDims(shape, tileRepeatsAlong(shape.length, scalarOf(tiles), scalarOf(axis)));
      }),
    ],
    kernel: ({ tensor }) => {
      const input = tensor(0);
      return [tile(input, tileRepeatsAlong(input.dims.length, scalarOf(tensor(1)), scalarOf(tensor(2))))];
    },
  }),
  defineOp({
    name: 'Tile',
    since: 6,
    inputs: ['input', 'repeats'],
    outputs: ['output'],
    infer: (context) => [
      typeFrom(context.inputTypes, 0, (shape) => {
        const repeats = constantIntegers(context, 1);
        if (!shape || !repeats) return shape?.map((dim) => (dim === 0 ? 0 : undefined));
        return tiledDims(shape, repeats);
      }),
    ],
    kernel: ({ tensor }) => [tile(tensor(0), integersOf(tensor(1)))],
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Pad, CenterCropPad

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

/** Where output coordinate `c` of a padded axis reads from, for an axis of `dim` elements padded by `before`. */
function paddedSource(mode: PadMode, dim: number, before: number): (c: number) => number {
  return (c) => {
    const index = c - before;
    if (index >= 0 && index < dim) return index;
    switch (mode) {
      case 'constant':
        return OUTSIDE;
      case 'edge':
        return index < 0 ? 0 : dim - 1;
      case 'wrap':
        return ((index % dim) + dim) % dim;
      case 'reflect': {
        if (dim === 1) return 0;
        const period = 2 * (dim - 1);
        const folded = ((index % period) + period) % period;
        return folded < dim ? folded : period - folded;
      }
    }
  };
}

/**
 * Pads (or, with negative pads, crops) `input`; `pads` lists [begin..., end...] for the `axes` given
 * (every axis when omitted). `fill` is the padding element in the input's own representation.
 */
/** Pad's layout: how many elements come before the data on each axis, and the output dims. */
function padLayout(dims: readonly Dim[], pads: readonly number[], mode: string, axes?: readonly number[]): { before: number[]; outDims: Dim[] } {
  const rank = dims.length;
  const padded = (axes ?? dims.map((_, axis) => axis)).map((axis) => normalizeAxis(axis, rank, 'Pad axis'));
  if (pads.length !== 2 * padded.length) {
    throw new EdgerunError('INVALID_ARGUMENT', `pads must hold ${2 * padded.length} values (begin and end per axis), got ${pads.length}`);
  }
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) {
    throw new EdgerunError('INVALID_ARGUMENT', `Pad mode must be constant, reflect, edge or wrap, got '${mode}'`);
  }
  const before = dims.map(() => 0);
  const outDims = [...dims];
  padded.forEach((axis, i) => {
    before[axis] = pads[i]!;
    const dim = dims[axis];
    const added = pads[i]! + pads[i + padded.length]!;
    if (typeof dim !== 'number') {
      outDims[axis] = added === 0 ? dim : undefined;
      return;
    }
    const size = dim + added;
    outDims[axis] = size;
    if (size < 0) throw new EdgerunError('INVALID_ARGUMENT', `pads crop axis ${axis} below zero size`);
    if (mode !== 'constant' && dim === 0 && size > 0) {
      throw new EdgerunError('INVALID_ARGUMENT', `Pad mode '${mode}' cannot pad the empty axis ${axis}`);
    }
  });
  return { before, outDims };
}

/** Pad's output type: from known pads (and axes), else the rank and the axes known not to be padded. */
function inferPad(
  inputTypes: readonly (ValueType | undefined)[],
  mode: string,
  pads: readonly number[] | undefined,
  axes: readonly number[] | undefined,
  axesKnown: boolean,
): ValueType | undefined {
  return typeFrom(inputTypes, 0, (shape) => {
    if (!shape) return undefined;
    if (pads && axesKnown) return padLayout(shape, pads, mode, axes).outDims;
    if (!axes || !axesKnown) return unknownDims(shape.length);
    const padded = new Set(axes.map((axis) => normalizeAxis(axis, shape.length, 'Pad axis')));
    return shape.map((dim, axis) => (padded.has(axis) ? undefined : dim));
  });
}

function pad(input: Tensor, pads: readonly number[], mode: string, fill: Slots, axes?: readonly number[]): Tensor {
  const { before, outDims: layoutDims } = padLayout(input.dims, pads, mode, axes);
  const outDims = concreteDims(layoutDims);
  const strides = stridesOf(input.dims);
  const tables = outDims.map((size, axis) => axisTable(size, strides[axis]!, paddedSource(mode as PadMode, input.dims[axis]!, before[axis]!)));
  return gatherByAxis(input, outDims, tables, fill);
}

/** A pad value given as a number (the opset 1-10 attribute), in the input type's representation. */
function fillFromNumber(type: DataType, value: number): Slots {
  if (type === 'string') return [''];
  // A complex pad value is real: (value, 0).
  if (slotsPerElement(type) === 2) return [value, 0];
  return writeNumbers(type, [value]);
}

/** The pad element from the optional constant_value input: its raw element, or zero when omitted. */
function fillFromInput(input: Tensor, constant: Tensor | undefined): Slots {
  if (!constant || constant.size === 0) return allocate(input.type, 1) as Slots;
  if (constant.type !== input.type) {
    throw new EdgerunError('TYPE_MISMATCH', `Pad constant_value is ${constant.type}, the data is ${input.type}`);
  }
  return constant.data as Slots;
}

const padOps: OpDef[] = [
  defineOp({
    name: 'Pad',
    since: 1,
    inputs: ['data'],
    outputs: ['output'],
    attributes: { paddings: attr.ints([]), mode: attr.string('constant'), value: attr.float(0) },
    infer: ({ inputTypes, attrs }) => [inferPad(inputTypes, attrs.mode, attrs.paddings, undefined, true)],
    kernel: ({ tensor, attrs }) => [pad(tensor(0), attrs.paddings, attrs.mode, fillFromNumber(tensor(0).type, attrs.value))],
  }),
  defineOp({
    name: 'Pad',
    since: 2,
    inputs: ['data'],
    outputs: ['output'],
    attributes: { pads: attr.ints([]), mode: attr.string('constant'), value: attr.float(0) },
    infer: ({ inputTypes, attrs }) => [inferPad(inputTypes, attrs.mode, attrs.pads, undefined, true)],
    kernel: ({ tensor, attrs }) => [pad(tensor(0), attrs.pads, attrs.mode, fillFromNumber(tensor(0).type, attrs.value))],
  }),
  // From opset 11 the pads are an input; opset 18 added the axes input (absent before, so every axis).
  ...[
    { since: 11, inputs: ['data', 'pads', 'constant_value?'] },
    { since: 18, inputs: ['data', 'pads', 'constant_value?', 'axes?'] },
  ].map(({ since, inputs }) =>
    defineOp({
      name: 'Pad',
      since,
      inputs,
      outputs: ['output'],
      attributes: { mode: attr.string('constant') },
      infer: (context) => {
        const axes = constantIntegers(context, 3);
        const axesKnown = axes !== undefined || !hasInput(context, 3);
        return [inferPad(context.inputTypes, context.attrs.mode, constantIntegers(context, 1), axes, axesKnown)];
      },
      kernel: (context) => {
        const input = context.tensor(0);
        const fill = fillFromInput(input, context.optionalTensor(2));
        return [pad(input, integersOf(context.tensor(1)), context.attrs.mode, fill, axesInput(context, 3))];
      },
    }),
  ),
];

/** Centers the input in a window of `shape` on `axes`: cropping the middle out, or padding with zeros around. */
/** The axes CenterCropPad resizes: `axes`, or every axis. */
function centerCropPadAxes(rank: number, axes: readonly number[] | undefined): number[] {
  return (axes ?? Array.from({ length: rank }, (_, axis) => axis)).map((axis) => normalizeAxis(axis, rank, 'CenterCropPad axis'));
}

/** CenterCropPad's layout: the output dims, and where each output axis starts reading the input. */
function centerCropPadLayout(dims: readonly Dim[], shape: readonly number[], axes: readonly number[] | undefined): { shift: number[]; outDims: Dim[] } {
  const resized = centerCropPadAxes(dims.length, axes);
  if (shape.length !== resized.length) {
    throw new EdgerunError('INVALID_ARGUMENT', `CenterCropPad shape has ${shape.length} values for ${resized.length} axes`);
  }
  const outDims = [...dims];
  const shift = dims.map(() => 0);
  resized.forEach((axis, i) => {
    const dim = dims[axis];
    const size = shape[i]!;
    outDims[axis] = size;
    // A crop starts floor(excess / 2) in; a pad puts floor(missing / 2) zeros before the data.
    if (typeof dim === 'number') shift[axis] = dim >= size ? Math.floor((dim - size) / 2) : -Math.floor((size - dim) / 2);
  });
  return { shift, outDims };
}

function centerCropPad(input: Tensor, shape: readonly number[], axes: readonly number[] | undefined): Tensor {
  const { shift, outDims: layoutDims } = centerCropPadLayout(input.dims, shape, axes);
  const outDims = concreteDims(layoutDims);
  const strides = stridesOf(input.dims);
  const tables = outDims.map((size, axis) =>
    axisTable(size, strides[axis]!, (c) => {
      const index = c + shift[axis]!;
      return index >= 0 && index < input.dims[axis]! ? index : OUTSIDE;
    }),
  );
  return gatherByAxis(input, outDims, tables, allocate(input.type, 1) as Slots);
}

const centerCropPadOps: OpDef[] = [
  defineOp({
    name: 'CenterCropPad',
    since: 18,
    inputs: ['input_data', 'shape'],
    outputs: ['output_data'],
    attributes: { axes: attr.ints() },
    infer: (context) => [
      typeFrom(context.inputTypes, 0, (dims) => {
        if (!dims) return undefined;
        const shape = constantIntegers(context, 1);
        if (shape) return centerCropPadLayout(dims, shape, context.attrs.axes).outDims;
        const resized = new Set(centerCropPadAxes(dims.length, context.attrs.axes));
        return dims.map((dim, axis) => (resized.has(axis) ? undefined : dim));
      }),
    ],
    kernel: ({ tensor, attrs }) => [centerCropPad(tensor(0), integersOf(tensor(1)), attrs.axes)],
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Shape, Size: facts about the input, as int64.

function int64Tensor(values: readonly number[], dims: readonly number[]): Tensor {
  return new Tensor('int64', BigInt64Array.from(values, (value) => BigInt(value)), dims);
}

/** Shape's start/end: negative counts from the back, then clamped to [0, rank]. */
function shapeRange(rank: number, start: number, end: number | undefined): [number, number] {
  const clamp = (index: number): number => Math.min(Math.max(index < 0 ? index + rank : index, 0), rank);
  return [clamp(start), clamp(end ?? rank)];
}

/** Shape's output dims, [end - start], when the input's rank is known. */
function shapeLength(rank: number | undefined, start: number, end: number | undefined): Dim[] | undefined {
  if (rank === undefined) return undefined;
  const [first, last] = shapeRange(rank, start, end);
  return [Math.max(first, last) - first];
}


/** Dims [start, end) of a shape, as Shape-15 selects them. */
function shapeTensor(dims: readonly number[], start: number, end: number | undefined): Tensor {
  const [from, to] = shapeRange(dims.length, start, end);
  const kept = dims.slice(from, Math.max(from, to));
  return int64Tensor(kept, [kept.length]);
}

/** Every dim of a tensor type, when all are numbers. */
function knownDims(type: ValueType | undefined): number[] | undefined {
  const shape = shapeOf(type);
  return shape?.every((dim) => typeof dim === 'number') ? (shape as number[]) : undefined;
}

/** Shape's result before running, when the input's shape is fully known. */
function shapeValue(type: ValueType | undefined, start: number, end: number | undefined): Tensor | undefined {
  const dims = knownDims(type);
  return dims && shapeTensor(dims, start, end);
}

const factOps: OpDef[] = [
  defineOp({
    name: 'Shape',
    since: 1,
    inputs: ['data'],
    outputs: ['shape'],
    infer: ({ inputTypes }) => [tensorType('int64', shapeLength(shapeOf(inputTypes[0])?.length, 0, undefined))],
    fold: ({ inputTypes }) => [shapeValue(inputTypes[0], 0, undefined)],
    kernel: ({ tensor }) => [int64Tensor(tensor(0).dims, [tensor(0).dims.length])],
  }),
  defineOp({
    name: 'Shape',
    since: 15,
    inputs: ['data'],
    outputs: ['shape'],
    attributes: { start: attr.int(0), end: attr.int() },
    infer: ({ inputTypes, attrs }) => [tensorType('int64', shapeLength(shapeOf(inputTypes[0])?.length, attrs.start, attrs.end))],
    fold: ({ inputTypes, attrs }) => [shapeValue(inputTypes[0], attrs.start, attrs.end)],
    kernel: ({ tensor, attrs }) => [shapeTensor(tensor(0).dims, attrs.start, attrs.end)],
  }),
  defineOp({
    name: 'Size',
    since: 1,
    inputs: ['data'],
    outputs: ['size'],
    infer: () => [tensorType('int64', [])],
    fold: ({ inputTypes }) => {
      const dims = knownDims(inputTypes[0]);
      return [dims && int64Tensor([dims.reduce((a, b) => a * b, 1)], [])];
    },
    kernel: ({ tensor }) => [int64Tensor([tensor(0).size], [])],
  }),
];

export const ops: OpDef[] = [
  ...reshapeOps,
  ...flattenOps,
  ...squeezeOps,
  ...permuteOps,
  ...concatOps,
  ...splitOps,
  ...sliceOps,
  ...repeatOps,
  ...padOps,
  ...centerCropPadOps,
  ...factOps,
];
