import { defineOp, attr, type InferContext, type OpDef, type ResolvedAttrs } from './registry.js';
import { concreteDims, dimProduct, integersOf, normalizeAxis, numbersOf, sameShapeAs, scalarOf, shapeOf, stridesOf, tensorFromNumbers, tensorType, tryInfer, typeFrom } from './common.js';
import { allocate, type BigIntArray, type TensorData } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { EdgerunError } from '../core/errors.js';
import { Tensor, elementCount } from '../core/tensor.js';

/**
 * Indexing ops: gather, scatter, selection (Compress, NonZero, Trilu, Unique), one-hot encoding, sequence
 * reversal and the two detection ops (NonMaxSuppression, RoiAlign). Apart from the arithmetic reductions and
 * the detection ops, kernels only copy elements, so they work for every element type, strings included.
 */

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

/** Any tensor's storage seen as an indexable array, so elements can be copied without knowing their type. */
type Elements = { [index: number]: unknown; readonly length: number };

function elementsOf(data: TensorData): Elements {
  return data as Elements;
}

function product(dims: readonly number[], from = 0, to = dims.length): number {
  let result = 1;
  for (let axis = from; axis < to; axis++) result *= dims[axis]!;
  return result;
}

/** A copy of a tensor's storage (typed array or string[]), to be written into. */
function copyOfData(tensor: Tensor): TensorData {
  return (tensor.data as unknown as { slice(): TensorData }).slice();
}

/** An index that may count from the end (-1 is the last), checked against the dimension it indexes. */
function resolveIndex(index: number, dim: number, what: string): number {
  const resolved = index < 0 ? index + dim : index;
  if (!(resolved >= 0 && resolved < dim)) {
    throw new EdgerunError('INVALID_ARGUMENT', `${what}: index ${index} is out of range for a dimension of size ${dim}`);
  }
  return resolved;
}

function int64Tensor(dims: readonly number[], values: readonly number[]): Tensor {
  return new Tensor('int64', BigInt64Array.from(values, (value) => BigInt(value)), dims);
}

/** A tensor of `outDims` made of the `sliceSize`-element runs of `input` that begin at each of `starts`, in order. */
function copySlices(input: Tensor, starts: ArrayLike<number>, sliceSize: number, outDims: readonly number[]): Tensor {
  const source = elementsOf(input.data);
  const outData = allocate(input.type, starts.length * sliceSize);
  const target = elementsOf(outData);
  let written = 0;
  for (let s = 0; s < starts.length; s++) {
    const start = starts[s]!;
    for (let i = 0; i < sliceSize; i++) target[written++] = source[start + i];
  }
  return new Tensor(input.type, outData, outDims);
}

/** The slices at positions `picks` along `axis` of `input` viewed with `dims`, in that order, as a tensor of `outDims`. */
function pickAlongAxis(input: Tensor, dims: readonly number[], axis: number, picks: readonly number[], outDims: readonly number[]): Tensor {
  const axisDim = dims[axis]!;
  const outer = product(dims, 0, axis);
  const inner = product(dims, axis + 1);
  const starts: number[] = [];
  for (let o = 0; o < outer; o++) for (const pick of picks) starts.push((o * axisDim + pick) * inner);
  return copySlices(input, starts, inner, outDims);
}

// ---------------------------------------------------------------------------------------------------------
// Gather family

/** Gather's output dims: data's with the axis replaced by the indices' dims. */
function gatheredDims(dataDims: readonly Dim[], indexDims: readonly Dim[], axisAttr: number): Dim[] {
  const axis = normalizeAxis(axisAttr, dataDims.length);
  return [...dataDims.slice(0, axis), ...indexDims, ...dataDims.slice(axis + 1)];
}

function gather(data: Tensor, indices: Tensor, axisAttr: number): Tensor {
  const rank = data.dims.length;
  const axis = normalizeAxis(axisAttr, rank);
  const axisDim = data.dims[axis]!;
  const picks = integersOf(indices).map((index) => resolveIndex(index, axisDim, 'Gather indices'));
  const outDims = concreteDims(gatheredDims(data.dims, indices.dims, axisAttr));
  return pickAlongAxis(data, data.dims, axis, picks, outDims);
}

/** GatherND's output dims: the indices' leading dims, then data's dims past the batch and the indexed ones. */
function gatheredNdDims(dataDims: readonly Dim[], indexDims: readonly Dim[], batchDims: number): Dim[] | undefined {
  const tupleLength = indexDims[indexDims.length - 1];
  if (typeof tupleLength !== 'number') return undefined;
  return [...indexDims.slice(0, -1), ...dataDims.slice(batchDims + tupleLength)];
}

/**
 * For GatherElements / ScatterElements: the flat offset into `dataDims` named by each element of the
 * indices tensor, i.e. that element's own coordinates with the `axis` coordinate replaced by its value.
 */
function elementOffsets(dataDims: readonly number[], indices: Tensor, axis: number, op: string): Int32Array {
  const indexValues = integersOf(indices);
  const rank = dataDims.length;
  if (indices.dims.length !== rank) {
    throw new EdgerunError('SHAPE_MISMATCH', `${op}: indices must have the rank of data (${rank}), got ${indices.dims.length}`);
  }
  const dataStrides = stridesOf(dataDims);
  const counter = new Array<number>(rank).fill(0);
  const offsets = new Int32Array(indexValues.length);
  for (let position = 0; position < indexValues.length; position++) {
    let offset = 0;
    for (let d = 0; d < rank; d++) {
      const coordinate = d === axis ? resolveIndex(indexValues[position]!, dataDims[d]!, `${op} indices`) : counter[d]!;
      offset += coordinate * dataStrides[d]!;
    }
    offsets[position] = offset;
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d]! < indices.dims[d]!) break;
      counter[d] = 0;
    }
  }
  return offsets;
}

/**
 * For GatherND / ScatterND: the last axis of `indices` holds tuples addressing the leading axes of `data`
 * (after `batchDims` shared batch axes). Returns the flat start of the addressed slice for each tuple, and
 * the slice length.
 */
function ndSliceStarts(dataDims: readonly number[], indices: Tensor, batchDims: number, op: string): { starts: number[]; sliceSize: number } {
  const tupleLength = indices.dims[indices.dims.length - 1] ?? 0;
  if (batchDims + tupleLength > dataDims.length) {
    throw new EdgerunError('SHAPE_MISMATCH', `${op}: index tuples of length ${tupleLength} exceed the rank ${dataDims.length} of data`);
  }
  const indexValues = integersOf(indices);
  const dataStrides = stridesOf(dataDims);
  const sliceSize = product(dataDims, batchDims + tupleLength);
  const batchStride = product(dataDims, batchDims);
  const tuplesPerBatch = product(indices.dims, batchDims, indices.dims.length - 1);
  const tupleCount = tupleLength === 0 ? product(indices.dims, 0, indices.dims.length - 1) : indexValues.length / tupleLength;
  const starts = new Array<number>(tupleCount);
  for (let tuple = 0; tuple < tupleCount; tuple++) {
    let start = Math.floor(tuple / tuplesPerBatch) * batchStride;
    for (let j = 0; j < tupleLength; j++) {
      const axis = batchDims + j;
      start += resolveIndex(indexValues[tuple * tupleLength + j]!, dataDims[axis]!, `${op} indices`) * dataStrides[axis]!;
    }
    starts[tuple] = start;
  }
  return { starts, sliceSize };
}

function gatherOp(since: number): OpDef {
  return defineOp({
    name: 'Gather',
    since,
    inputs: ['data', 'indices'],
    outputs: ['output'],
    attributes: { axis: attr.int(0) },
    infer: ({ inputTypes, attrs }) => [
      typeFrom(inputTypes, 0, (data) => {
        const indices = shapeOf(inputTypes[1]);
        return data && indices ? gatheredDims(data, indices, attrs.axis) : undefined;
      }),
    ],
    kernel: ({ tensor, attrs }) => [gather(tensor(0), tensor(1), attrs.axis)],
  });
}

function gatherElementsOp(since: number): OpDef {
  return defineOp({
    name: 'GatherElements',
    since,
    inputs: ['data', 'indices'],
    outputs: ['output'],
    attributes: { axis: attr.int(0) },
    // The output has the indices' shape.
    infer: ({ inputTypes }) => [typeFrom(inputTypes, 0, () => shapeOf(inputTypes[1]))],
    kernel: ({ tensor, attrs }) => {
      const data = tensor(0);
      const indices = tensor(1);
      const axis = normalizeAxis(attrs.axis, data.dims.length);
      return [copySlices(data, elementOffsets(data.dims, indices, axis, 'GatherElements'), 1, indices.dims)];
    },
  });
}

function gatherNdOp(since: number): OpDef {
  return defineOp({
    name: 'GatherND',
    since,
    inputs: ['data', 'indices'],
    outputs: ['output'],
    attributes: { batch_dims: attr.int(0) },
    infer: ({ inputTypes, attrs }) => [
      typeFrom(inputTypes, 0, (data) => {
        const indices = shapeOf(inputTypes[1]);
        return data && indices ? gatheredNdDims(data, indices, attrs.batch_dims) : undefined;
      }),
    ],
    kernel: ({ tensor, attrs }) => {
      const data = tensor(0);
      const indices = tensor(1);
      const batchDims = attrs.batch_dims;
      const { starts, sliceSize } = ndSliceStarts(data.dims, indices, batchDims, 'GatherND');
      const outDims = concreteDims(gatheredNdDims(data.dims, indices.dims, batchDims));
      return [copySlices(data, starts, sliceSize, outDims)];
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Scatter family

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

const NUMBER_REDUCERS: Record<Exclude<Reduction, 'none'>, (current: number, update: number) => number> = {
  add: (current, update) => current + update,
  mul: (current, update) => current * update,
  max: (current, update) => Math.max(current, update),
  min: (current, update) => Math.min(current, update),
};

const BIGINT_REDUCERS: Record<Exclude<Reduction, 'none'>, (current: bigint, update: bigint) => bigint> = {
  add: (current, update) => current + update,
  mul: (current, update) => current * update,
  max: (current, update) => (update > current ? update : current),
  min: (current, update) => (update < current ? update : current),
};

function checkReduction(reduction: string): Reduction {
  if (reduction === 'none' || reduction === 'add' || reduction === 'mul' || reduction === 'max' || reduction === 'min') return reduction;
  throw new EdgerunError('INVALID_ATTRIBUTE', `reduction must be none, add, mul, max or min, got '${reduction}'`);
}

/**
 * A copy of `data` where, for each pair (target offset in data, source offset in updates), the update is
 * written or combined with the current value, in order (so later duplicates win or accumulate).
 */
function scatter(data: Tensor, updates: Tensor, reduction: Reduction, targets: ArrayLike<number>, sourceOf: (pair: number) => number): Tensor {
  if (reduction === 'none') {
    const outData = copyOfData(data);
    const target = elementsOf(outData);
    const source = elementsOf(updates.data);
    for (let pair = 0; pair < targets.length; pair++) target[targets[pair]!] = source[sourceOf(pair)];
    return new Tensor(data.type, outData, data.dims);
  }
  if (data.type === 'int64' || data.type === 'uint64') {
    // 64-bit integers stay BigInts so large values are not rounded through doubles.
    const outData = copyOfData(data) as BigIntArray;
    const source = updates.data as BigIntArray;
    const combine = BIGINT_REDUCERS[reduction];
    for (let pair = 0; pair < targets.length; pair++) {
      const offset = targets[pair]!;
      outData[offset] = combine(outData[offset]!, source[sourceOf(pair)]!);
    }
    return new Tensor(data.type, outData, data.dims);
  }
  const values = Float64Array.from(numbersOf(data));
  const source = numbersOf(updates);
  const combine = NUMBER_REDUCERS[reduction];
  for (let pair = 0; pair < targets.length; pair++) {
    const offset = targets[pair]!;
    values[offset] = combine(values[offset]!, source[sourceOf(pair)]!);
  }
  return tensorFromNumbers(data.type, data.dims, values);
}

function scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axisAttr: number, reduction: Reduction, op: string): Tensor {
  if (updates.dims.join() !== indices.dims.join()) {
    throw new EdgerunError('SHAPE_MISMATCH', `${op}: updates [${updates.dims}] must have the shape of indices [${indices.dims}]`);
  }
  const axis = normalizeAxis(axisAttr, data.dims.length);
  const targets = elementOffsets(data.dims, indices, axis, op);
  return scatter(data, updates, reduction, targets, (pair) => pair);
}

/** Scatter (deprecated at opset 11) is ScatterElements without reduction. */
const scatterOp = defineOp({
  name: 'Scatter',
  since: 9,
  inputs: ['data', 'indices', 'updates'],
  outputs: ['output'],
  attributes: { axis: attr.int(0) },
  infer: sameShapeAs(0),
  kernel: ({ tensor, attrs }) => [scatterElements(tensor(0), tensor(1), tensor(2), attrs.axis, 'none', 'Scatter')],
});

function scatterElementsOp(since: number): OpDef {
  return defineOp({
    name: 'ScatterElements',
    since,
    inputs: ['data', 'indices', 'updates'],
    outputs: ['output'],
    attributes: { axis: attr.int(0), reduction: attr.string('none') },
    infer: sameShapeAs(0),
    kernel: ({ tensor, attrs }) => [
      scatterElements(tensor(0), tensor(1), tensor(2), attrs.axis, checkReduction(attrs.reduction), 'ScatterElements'),
    ],
  });
}

function scatterNdOp(since: number): OpDef {
  return defineOp({
    name: 'ScatterND',
    since,
    inputs: ['data', 'indices', 'updates'],
    outputs: ['output'],
    attributes: { reduction: attr.string('none') },
    infer: sameShapeAs(0),
    kernel: ({ tensor, attrs }) => {
      const data = tensor(0);
      const indices = tensor(1);
      const updates = tensor(2);
      const { starts, sliceSize } = ndSliceStarts(data.dims, indices, 0, 'ScatterND');
      if (updates.size !== starts.length * sliceSize) {
        throw new EdgerunError('SHAPE_MISMATCH', `ScatterND: updates [${updates.dims}] do not match indices [${indices.dims}] and data [${data.dims}]`);
      }
      // One pair per updated element: slice `tuple`, element `i` of the slice.
      const targets = new Int32Array(updates.size);
      for (let tuple = 0; tuple < starts.length; tuple++) {
        for (let i = 0; i < sliceSize; i++) targets[tuple * sliceSize + i] = starts[tuple]! + i;
      }
      return [scatter(data, updates, checkReduction(attrs.reduction), targets, (pair) => pair)];
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Selection: Compress, NonZero, Trilu

/** Whether each element is non-zero (non-empty for strings), for any element type. */
function truthOf(tensor: Tensor): ArrayLike<boolean> {
  if (tensor.type === 'string') return (tensor.data as string[]).map((text) => text !== '');
  if (tensor.type === 'int64' || tensor.type === 'uint64') return Array.from(tensor.data as BigIntArray, (value) => value !== 0n);
  return Array.from(numbersOf(tensor), (value) => value !== 0);
}

/**
 * Compress's output dims: the input's (flattened to 1-D when no axis is given) with `kept` slices along
 * the axis; the kept count is `condition`'s true entries among the first dim of them, unknown without it.
 */
function compressedDims(dims: readonly Dim[], axisAttr: number | undefined, condition: ArrayLike<boolean> | undefined): Dim[] {
  const flat = axisAttr === undefined;
  const viewDims = flat ? [dimProduct(dims)] : dims;
  const axis = flat ? 0 : normalizeAxis(axisAttr, viewDims.length);
  const dim = viewDims[axis];
  const kept = condition && typeof dim === 'number' ? keptPositions(dim, condition).length : undefined;
  return [...viewDims.slice(0, axis), kept, ...viewDims.slice(axis + 1)];
}

/** The positions along an axis of `dim` slices that Compress keeps: true conditions (extra ones ignored). */
function keptPositions(dim: number, condition: ArrayLike<boolean>): number[] {
  const kept: number[] = [];
  for (let i = 0; i < Math.min(dim, condition.length); i++) if (condition[i]) kept.push(i);
  return kept;
}

function compressOp(since: number): OpDef {
  return defineOp({
    name: 'Compress',
    since,
    inputs: ['input', 'condition'],
    outputs: ['output'],
    attributes: { axis: attr.int() },
    infer: ({ inputTypes, attrs, constant }) => {
      const condition = constant(1);
      return [
        typeFrom(inputTypes, 0, (shape) => {
          // Without an axis the output is 1-D whatever the input's rank.
          if (!shape) return attrs.axis === undefined ? [undefined] : undefined;
          return compressedDims(shape, attrs.axis, condition && truthOf(condition));
        }),
      ];
    },
    kernel: ({ tensor, attrs }) => {
      const input = tensor(0);
      const condition = truthOf(tensor(1));
      // Without an axis the input is compressed as if flattened to 1-D.
      const flat = attrs.axis === undefined;
      const dims = flat ? [input.size] : input.dims;
      const axis = flat ? 0 : normalizeAxis(attrs.axis!, dims.length);
      const kept = keptPositions(dims[axis]!, condition);
      const outDims = concreteDims(compressedDims(input.dims, attrs.axis, condition));
      return [pickAlongAxis(input, dims, axis, kept, outDims)];
    },
  });
}

function nonZeroOp(since: number): OpDef {
  return defineOp({
    name: 'NonZero',
    since,
    inputs: ['X'],
    outputs: ['Y'],
    // [rank, number of non-zero elements]; a scalar counts as rank 1.
    infer: ({ inputTypes }) => {
      const shape = shapeOf(inputTypes[0]);
      return [tensorType('int64', [shape ? Math.max(shape.length, 1) : undefined, undefined])];
    },
    kernel: ({ tensor }) => {
      const input = tensor(0);
      const truth = truthOf(input);
      // A scalar is treated as rank 1 with one element, as numpy does.
      const dims = input.dims.length === 0 ? [1] : input.dims;
      const rank = dims.length;
      const strides = stridesOf(dims);
      const positions: number[] = [];
      for (let i = 0; i < truth.length; i++) if (truth[i]) positions.push(i);
      // Row-major [rank, count]: row d holds the d-th coordinate of every non-zero element.
      const coordinates = new Array<number>(rank * positions.length);
      positions.forEach((position, n) => {
        for (let d = 0; d < rank; d++) coordinates[d * positions.length + n] = Math.floor(position / strides[d]!) % dims[d]!;
      });
      return [int64Tensor([rank, positions.length], coordinates)];
    },
  });
}

const triluOp = defineOp({
  name: 'Trilu',
  since: 14,
  inputs: ['input', 'k?'],
  outputs: ['output'],
  attributes: { upper: attr.int(1) },
  infer: ({ inputTypes }) => [inputTypes[0]],
  kernel: ({ tensor, optionalTensor, attrs }) => {
    const input = tensor(0);
    const kTensor = optionalTensor(1);
    const k = kTensor ? scalarOf(kTensor) : 0;
    const rank = input.dims.length;
    if (rank < 2) throw new EdgerunError('INVALID_ARGUMENT', `Trilu: input must have rank >= 2, got ${rank}`);
    const rows = input.dims[rank - 2]!;
    const columns = input.dims[rank - 1]!;
    const matrices = product(input.dims, 0, rank - 2);
    const keep = attrs.upper ? (row: number, column: number) => column - row >= k : (row: number, column: number) => column - row <= k;
    // Freshly allocated storage is already zero (or '' for strings), so only kept elements are copied.
    const source = elementsOf(input.data);
    const outData = allocate(input.type, input.size);
    const target = elementsOf(outData);
    for (let m = 0; m < matrices; m++) {
      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < columns; column++) {
          const offset = (m * rows + row) * columns + column;
          if (keep(row, column)) target[offset] = source[offset];
        }
      }
    }
    return [new Tensor(input.type, outData, input.dims)];
  },
});

// ---------------------------------------------------------------------------------------------------------
// OneHot, ReverseSequence

/** OneHot's output dims: the indices' with `depth` inserted at `axis` (of the output's rank). */
function oneHotDims(indexDims: readonly Dim[], depth: Dim, axisAttr: number): Dim[] {
  const axis = normalizeAxis(axisAttr, indexDims.length + 1);
  return [...indexDims.slice(0, axis), depth, ...indexDims.slice(axis)];
}

/** OneHot's depth: the scalar input, truncated to an integer. */
function oneHotDepth(depth: Tensor): number {
  return Math.trunc(scalarOf(depth));
}

function oneHotOp(since: number): OpDef {
  return defineOp({
    name: 'OneHot',
    since,
    inputs: ['indices', 'depth', 'values'],
    outputs: ['output'],
    attributes: { axis: attr.int(-1) },
    infer: ({ inputTypes, attrs, constant }) => [
      typeFrom(inputTypes, 2, () => {
        const indices = shapeOf(inputTypes[0]);
        const depth = constant(1);
        return indices && oneHotDims(indices, depth && oneHotDepth(depth), attrs.axis);
      }),
    ],
    kernel: ({ tensor, attrs }) => {
      const indices = tensor(0);
      const depth = oneHotDepth(tensor(1));
      const values = tensor(2);
      if (values.size !== 2) throw new EdgerunError('INVALID_ARGUMENT', `OneHot: values must hold [off_value, on_value], got ${values.size} elements`);
      const outRank = indices.dims.length + 1;
      const axis = normalizeAxis(attrs.axis, outRank);
      const outDims = concreteDims(oneHotDims(indices.dims, depth, attrs.axis));
      const outer = product(indices.dims, 0, axis);
      const inner = product(indices.dims, axis);
      const offValue = elementsOf(values.data)[0];
      const onValue = elementsOf(values.data)[1];
      const outData = allocate(values.type, elementCount(outDims));
      const target = elementsOf(outData);
      for (let i = 0; i < target.length; i++) target[i] = offValue;
      const indexValues = integersOf(indices);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const raw = indexValues[o * inner + i]!;
          // Negative indices count back from depth; anything still out of range stays all off.
          const index = raw < 0 ? raw + depth : raw;
          if (index >= 0 && index < depth) target[(o * depth + index) * inner + i] = onValue;
        }
      }
      return [new Tensor(values.type, outData, outDims)];
    },
  });
}

const reverseSequenceOp = defineOp({
  name: 'ReverseSequence',
  since: 10,
  inputs: ['input', 'sequence_lens'],
  outputs: ['Y'],
  attributes: { batch_axis: attr.int(1), time_axis: attr.int(0) },
  infer: ({ inputTypes }) => [inputTypes[0]],
  kernel: ({ tensor, attrs }) => {
    const input = tensor(0);
    const lengths = integersOf(tensor(1));
    const rank = input.dims.length;
    const batchAxis = normalizeAxis(attrs.batch_axis, rank, 'batch_axis');
    const timeAxis = normalizeAxis(attrs.time_axis, rank, 'time_axis');
    const strides = stridesOf(input.dims);
    const times = input.dims[timeAxis]!;
    const source = elementsOf(input.data);
    const outData = copyOfData(input);
    const target = elementsOf(outData);
    for (let offset = 0; offset < input.size; offset++) {
      const batch = Math.floor(offset / strides[batchAxis]!) % input.dims[batchAxis]!;
      const time = Math.floor(offset / strides[timeAxis]!) % times;
      const length = lengths[batch]!;
      if (length < 0 || length > times) {
        throw new EdgerunError('INVALID_ARGUMENT', `ReverseSequence: sequence_lens[${batch}] = ${length} is outside [0, ${times}]`);
      }
      if (time < length) target[offset] = source[offset + (length - 1 - 2 * time) * strides[timeAxis]!];
    }
    return [new Tensor(input.type, outData, input.dims)];
  },
});

// ---------------------------------------------------------------------------------------------------------
// Unique

type Comparable = number | bigint | string;

/** Element values that compare as the element type orders them (narrow floats decoded). */
function comparableValuesOf(tensor: Tensor): ArrayLike<Comparable> {
  if (tensor.type === 'string' || tensor.type === 'int64' || tensor.type === 'uint64') {
    return tensor.data as ArrayLike<Comparable>;
  }
  return numbersOf(tensor);
}

function compareComparable(a: Comparable, b: Comparable): number {
  if (a === b) return 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : 1;
  if (typeof a !== 'string' && typeof b !== 'string') return a < b ? -1 : 1;
  return String(a) < String(b) ? -1 : 1;
}

function compareSlices(a: readonly Comparable[], b: readonly Comparable[]): number {
  for (let i = 0; i < a.length; i++) {
    const order = compareComparable(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return 0;
}

/** Without an axis, the flattened elements are the "slices" Unique compares; with one, the sub-tensors along it are. */
function uniqueSlices(dims: readonly Dim[], axisAttr: number | undefined): { dims: Dim[]; axis: number } {
  if (axisAttr === undefined) return { dims: [dimProduct(dims)], axis: 0 };
  return { dims: [...dims], axis: normalizeAxis(axisAttr, dims.length) };
}

const uniqueOp = defineOp({
  name: 'Unique',
  since: 11,
  inputs: ['X'],
  outputs: ['Y', 'indices?', 'inverse_indices?', 'counts?'],
  attributes: { axis: attr.int(), sorted: attr.int(1) },
  // How many distinct slices there are is only known at run time; inverse_indices has one entry per slice.
  infer: ({ inputTypes, attrs }) => {
    // Without an axis the slices are the elements, so the outputs are 1-D even when the input's rank is unknown.
    const shape = shapeOf(inputTypes[0]) ?? (attrs.axis === undefined ? [] : undefined);
    const slices = tryInfer(() => shape && uniqueSlices(shape, attrs.axis));
    return [
      typeFrom(inputTypes, 0, () => slices && [...slices.dims.slice(0, slices.axis), undefined, ...slices.dims.slice(slices.axis + 1)]),
      tensorType('int64', [undefined]),
      tensorType('int64', slices && [slices.dims[slices.axis]]),
      tensorType('int64', [undefined]),
    ];
  },
  kernel: ({ tensor, attrs }) => {
    const input = tensor(0);
    const slices = uniqueSlices(input.dims, attrs.axis);
    const axis = slices.axis;
    const dims = concreteDims(slices.dims);
    const sliceCount = dims[axis]!;
    const outer = product(dims, 0, axis);
    const inner = product(dims, axis + 1);
    const offsetIn = (slice: number, o: number, i: number) => (o * sliceCount + slice) * inner + i;

    const comparable = comparableValuesOf(input);
    const sliceValues = (slice: number): Comparable[] => {
      const values: Comparable[] = [];
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) values.push(comparable[offsetIn(slice, o, i)]!);
      return values;
    };

    // Distinct slices in order of first occurrence.
    const firstOccurrence: number[] = [];
    const distinctValues: Comparable[][] = [];
    const counts: number[] = [];
    const distinctOfSlice: number[] = [];
    const byKey = new Map<string, number>();
    for (let slice = 0; slice < sliceCount; slice++) {
      const values = sliceValues(slice);
      const key = values.map(String).join('\u0000');
      let distinct = byKey.get(key);
      if (distinct === undefined) {
        distinct = firstOccurrence.length;
        byKey.set(key, distinct);
        firstOccurrence.push(slice);
        distinctValues.push(values);
        counts.push(0);
      }
      counts[distinct]! += 1;
      distinctOfSlice.push(distinct);
    }

    const order = firstOccurrence.map((_, distinct) => distinct);
    if (attrs.sorted) order.sort((a, b) => compareSlices(distinctValues[a]!, distinctValues[b]!));
    const positionOf = new Array<number>(order.length);
    order.forEach((distinct, position) => (positionOf[distinct] = position));

    const outDims = [...dims.slice(0, axis), order.length, ...dims.slice(axis + 1)];
    const source = elementsOf(input.data);
    const outData = allocate(input.type, elementCount(outDims));
    const target = elementsOf(outData);
    order.forEach((distinct, position) => {
      const slice = firstOccurrence[distinct]!;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) target[(o * order.length + position) * inner + i] = source[offsetIn(slice, o, i)];
      }
    });
    return [
      new Tensor(input.type, outData, outDims),
      int64Tensor([order.length], order.map((distinct) => firstOccurrence[distinct]!)),
      int64Tensor([sliceCount], distinctOfSlice.map((distinct) => positionOf[distinct]!)),
      int64Tensor([order.length], order.map((distinct) => counts[distinct]!)),
    ];
  },
});

// ---------------------------------------------------------------------------------------------------------
// NonMaxSuppression

interface Box {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** Box `index` of a [spatial_dimension, 4] list, as corners whatever its encoding or corner order. */
function boxAt(coordinates: ArrayLike<number>, index: number, centerPointBox: boolean): Box {
  const [a, b, c, d] = [0, 1, 2, 3].map((k) => coordinates[index * 4 + k]!) as [number, number, number, number];
  if (centerPointBox) {
    // [x_center, y_center, width, height]
    return { left: a - c / 2, right: a + c / 2, top: b - d / 2, bottom: b + d / 2 };
  }
  // [y1, x1, y2, x2], either diagonal pair of corners.
  return { top: Math.min(a, c), bottom: Math.max(a, c), left: Math.min(b, d), right: Math.max(b, d) };
}

function intersectionOverUnion(first: Box, second: Box): number {
  const width = Math.min(first.right, second.right) - Math.max(first.left, second.left);
  const height = Math.min(first.bottom, second.bottom) - Math.max(first.top, second.top);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const areaOf = (box: Box) => (box.right - box.left) * (box.bottom - box.top);
  const union = areaOf(first) + areaOf(second) - intersection;
  return union > 0 ? intersection / union : 0;
}

/** Greedy selection in one (batch, class): best score first, dropping boxes overlapping a kept one too much. */
function selectBoxes(boxes: Box[], scores: ArrayLike<number>, limit: number, iouThreshold: number, scoreThreshold: number | undefined): number[] {
  const candidates: number[] = [];
  for (let i = 0; i < boxes.length; i++) if (scoreThreshold === undefined || scores[i]! > scoreThreshold) candidates.push(i);
  // Array sort is stable, so equal scores keep the lower box index first.
  candidates.sort((a, b) => scores[b]! - scores[a]!);
  const selected: number[] = [];
  for (const candidate of candidates) {
    if (selected.length >= limit) break;
    if (selected.every((kept) => intersectionOverUnion(boxes[kept]!, boxes[candidate]!) <= iouThreshold)) selected.push(candidate);
  }
  return selected;
}

function nonMaxSuppressionOp(since: number): OpDef {
  return defineOp({
    name: 'NonMaxSuppression',
    since,
    inputs: ['boxes', 'scores', 'max_output_boxes_per_class?', 'iou_threshold?', 'score_threshold?'],
    outputs: ['selected_indices'],
    attributes: { center_point_box: attr.int(0) },
    // One (batch, class, box) triple per selected box; how many are selected is only known at run time.
    infer: () => [tensorType('int64', [undefined, 3])],
    kernel: ({ tensor, optionalTensor, attrs }) => {
      const boxesTensor = tensor(0);
      const scoresTensor = tensor(1);
      const [batches, spatial] = [boxesTensor.dims[0]!, boxesTensor.dims[1]!];
      const classes = scoresTensor.dims[1]!;
      if (boxesTensor.dims.length !== 3 || boxesTensor.dims[2] !== 4 || scoresTensor.dims.length !== 3 || scoresTensor.dims[2] !== spatial) {
        throw new EdgerunError('SHAPE_MISMATCH', `NonMaxSuppression: boxes must be [batch, n, 4] and scores [batch, classes, n], got [${boxesTensor.dims}] and [${scoresTensor.dims}]`);
      }
      const maxOutput = optionalTensor(2);
      const iou = optionalTensor(3);
      const scoreThreshold = optionalTensor(4);
      const limit = maxOutput && maxOutput.size > 0 ? scalarOf(maxOutput) : 0;
      const iouThreshold = iou && iou.size > 0 ? scalarOf(iou) : 0;
      const minScore = scoreThreshold && scoreThreshold.size > 0 ? scalarOf(scoreThreshold) : undefined;
      const coordinates = numbersOf(boxesTensor);
      const scores = numbersOf(scoresTensor);
      const triples: number[] = [];
      for (let batch = 0; batch < batches; batch++) {
        const boxes = Array.from({ length: spatial }, (_, i) => boxAt(coordinates, batch * spatial + i, attrs.center_point_box === 1));
        for (let cls = 0; cls < classes; cls++) {
          const start = (batch * classes + cls) * spatial;
          const classScores = Array.from({ length: spatial }, (_, i) => scores[start + i]!);
          for (const box of selectBoxes(boxes, classScores, limit, iouThreshold, minScore)) triples.push(batch, cls, box);
        }
      }
      return [int64Tensor([triples.length / 3, 3], triples)];
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// RoiAlign

interface RoiAlignSettings {
  mode: 'avg' | 'max';
  outputHeight: number;
  outputWidth: number;
  samplingRatio: number;
  spatialScale: number;
  /** half_pixel shifts ROI corners by -0.5 pixel; output_half_pixel (opset 10 behaviour) does not and keeps ROIs at least 1 pixel. */
  halfPixel: boolean;
}

/** The four neighbours of a sampling point and their bilinear weights (all zero outside the feature map). */
interface BilinearTap {
  offsets: [number, number, number, number];
  weights: [number, number, number, number];
}

function bilinearTap(y: number, x: number, height: number, width: number): BilinearTap {
  if (y < -1 || y > height || x < -1 || x > width) return { offsets: [0, 0, 0, 0], weights: [0, 0, 0, 0] };
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let yLow = Math.floor(y);
  let xLow = Math.floor(x);
  let yHigh: number;
  let xHigh: number;
  if (yLow >= height - 1) {
    yLow = yHigh = height - 1;
    y = yLow;
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xLow = xHigh = width - 1;
    x = xLow;
  } else {
    xHigh = xLow + 1;
  }
  const ly = y - yLow;
  const lx = x - xLow;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return {
    offsets: [yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh],
    weights: [hy * hx, hy * lx, ly * hx, ly * lx],
  };
}

/** RoiAlign's output dims: [number of ROIs, channels, output_height, output_width]. */
function roiAlignDims(xDims: readonly Dim[], roiDims: readonly Dim[], outputHeight: number, outputWidth: number): Dim[] {
  if (xDims.length !== 4) throw new EdgerunError('SHAPE_MISMATCH', `RoiAlign: X must be [N, C, H, W], got [${xDims}]`);
  return [roiDims[0], xDims[1], outputHeight, outputWidth];
}

function roiAlign(x: Tensor, rois: Tensor, batchIndices: Tensor, settings: RoiAlignSettings): Tensor {
  const [, channels, height, width] = x.dims as [number, number, number, number];
  const { outputHeight, outputWidth, samplingRatio, spatialScale } = settings;
  const outDims = concreteDims(roiAlignDims(x.dims, rois.dims, outputHeight, outputWidth));
  const roiCount = outDims[0]!;
  const input = numbersOf(x);
  const boxes = numbersOf(rois);
  const batchOf = integersOf(batchIndices);
  const output = new Float64Array(roiCount * channels * outputHeight * outputWidth);
  const shift = settings.halfPixel ? 0.5 : 0;
  const planeSize = height * width;
  for (let r = 0; r < roiCount; r++) {
    const startX = boxes[r * 4]! * spatialScale - shift;
    const startY = boxes[r * 4 + 1]! * spatialScale - shift;
    let roiWidth = boxes[r * 4 + 2]! * spatialScale - shift - startX;
    let roiHeight = boxes[r * 4 + 3]! * spatialScale - shift - startY;
    if (!settings.halfPixel) {
      roiWidth = Math.max(roiWidth, 1);
      roiHeight = Math.max(roiHeight, 1);
    }
    const binHeight = roiHeight / outputHeight;
    const binWidth = roiWidth / outputWidth;
    const gridHeight = samplingRatio > 0 ? samplingRatio : Math.ceil(roiHeight / outputHeight);
    const gridWidth = samplingRatio > 0 ? samplingRatio : Math.ceil(roiWidth / outputWidth);
    const samples = Math.max(gridHeight * gridWidth, 1);
    const batchOffset = batchOf[r]! * channels * planeSize;
    for (let ph = 0; ph < outputHeight; ph++) {
      for (let pw = 0; pw < outputWidth; pw++) {
        const taps: BilinearTap[] = [];
        for (let iy = 0; iy < gridHeight; iy++) {
          const y = startY + ph * binHeight + ((iy + 0.5) * binHeight) / gridHeight;
          for (let ix = 0; ix < gridWidth; ix++) {
            const xCoordinate = startX + pw * binWidth + ((ix + 0.5) * binWidth) / gridWidth;
            taps.push(bilinearTap(y, xCoordinate, height, width));
          }
        }
        for (let c = 0; c < channels; c++) {
          const plane = batchOffset + c * planeSize;
          let pooled = settings.mode === 'avg' ? 0 : -Infinity;
          for (const { offsets, weights } of taps) {
            if (settings.mode === 'avg') {
              for (let k = 0; k < 4; k++) pooled += weights[k]! * input[plane + offsets[k]!]!;
            } else {
              // Max mode takes the largest weighted neighbour, as onnxruntime (and so the ONNX tests) define it.
              for (let k = 0; k < 4; k++) pooled = Math.max(pooled, weights[k]! * input[plane + offsets[k]!]!);
            }
          }
          if (taps.length === 0) pooled = 0;
          output[((r * channels + c) * outputHeight + ph) * outputWidth + pw] = settings.mode === 'avg' ? pooled / samples : pooled;
        }
      }
    }
  }
  return tensorFromNumbers(x.type, outDims, output);
}

const roiAlignAttributes = {
  mode: attr.string('avg'),
  output_height: attr.int(1),
  output_width: attr.int(1),
  sampling_ratio: attr.int(0),
  spatial_scale: attr.float(1),
};

/** RoiAlign's output type: X's element type, one [C, output_height, output_width] block per ROI. */
function inferRoiAlign({ inputTypes, attrs }: InferContext<{ output_height: number; output_width: number }>): (ValueType | undefined)[] {
  return [
    typeFrom(inputTypes, 0, (x) => {
      const rois = shapeOf(inputTypes[1]) ?? shapeOf(inputTypes[2]);
      return roiAlignDims(x ?? [undefined, undefined, undefined, undefined], rois ?? [undefined], attrs.output_height, attrs.output_width);
    }),
  ];
}

/** The kernel settings from the attributes both versions share. */
function roiAlignSettings(attrs: ResolvedAttrs<typeof roiAlignAttributes>, halfPixel: boolean): RoiAlignSettings {
  if (attrs.mode !== 'avg' && attrs.mode !== 'max') {
    throw new EdgerunError('INVALID_ATTRIBUTE', `RoiAlign: mode must be avg or max, got '${attrs.mode}'`);
  }
  return {
    mode: attrs.mode,
    outputHeight: attrs.output_height,
    outputWidth: attrs.output_width,
    samplingRatio: attrs.sampling_ratio,
    spatialScale: attrs.spatial_scale,
    halfPixel,
  };
}

const roiAlignOps: OpDef[] = [
  defineOp({
    name: 'RoiAlign',
    since: 10,
    inputs: ['X', 'rois', 'batch_indices'],
    outputs: ['Y'],
    attributes: roiAlignAttributes,
    infer: inferRoiAlign,
    kernel: ({ tensor, attrs }) => [roiAlign(tensor(0), tensor(1), tensor(2), roiAlignSettings(attrs, false))],
  }),
  defineOp({
    name: 'RoiAlign',
    since: 16,
    inputs: ['X', 'rois', 'batch_indices'],
    outputs: ['Y'],
    attributes: { ...roiAlignAttributes, coordinate_transformation_mode: attr.string('half_pixel') },
    infer: inferRoiAlign,
    kernel: ({ tensor, attrs }) => {
      const transform = attrs.coordinate_transformation_mode;
      if (transform !== 'half_pixel' && transform !== 'output_half_pixel') {
        throw new EdgerunError('INVALID_ATTRIBUTE', `RoiAlign: coordinate_transformation_mode must be half_pixel or output_half_pixel, got '${transform}'`);
      }
      return [roiAlign(tensor(0), tensor(1), tensor(2), roiAlignSettings(attrs, transform === 'half_pixel'))];
    },
  }),
];

// ---------------------------------------------------------------------------------------------------------

// Versioned ops as data: each op's opset versions, all with the same schema and kernel.
export const ops: OpDef[] = [
  ...[1, 11, 13].map(gatherOp),
  ...[11, 13].map(gatherElementsOp),
  ...[11, 12, 13].map(gatherNdOp),
  scatterOp,
  ...[11, 13, 16, 18].map(scatterElementsOp),
  ...[11, 13, 16, 18].map(scatterNdOp),
  ...[9, 11].map(compressOp),
  ...[9, 13].map(nonZeroOp),
  triluOp,
  ...[9, 11].map(oneHotOp),
  reverseSequenceOp,
  uniqueOp,
  ...[10, 11].map(nonMaxSuppressionOp),
  ...roiAlignOps,
];
