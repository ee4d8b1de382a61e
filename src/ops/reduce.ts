import { EdgerunError } from '../core/errors.js';
import { DATA_TYPES, allocate, isIntegerType, type BigIntArray, type DataType, type NumericArray } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { broadcastDim, integersOf, normalizeAxis, numbersOf, sameShapeAs, shapeOf, stridesOf, tensorFromNumbers, tensorType, walkOffsets } from './common.js';
import { isBigIntType } from './math-unary.js';

/**
 * Ops that collapse or scan along axes: the Reduce* family, ArgMax/ArgMin, CumSum, the softmax family
 * (Softmax, LogSoftmax, Hardmax), TopK, plus Einsum and Det, which also sum over axes.
 * Values are computed as float64 and encoded back to the input's type at the end, except where int64/uint64
 * results must stay exact past 2^53 (sums, products, extremes, arg-extremes, cumulative sums): those use bigints.
 */

// ---------------------------------------------------------------------------------------------------------
// Axis layouts shared by the per-axis ops

/** A tensor seen as [outer, length, inner] around one axis: line (o, i) holds elements o*length*inner + k*inner + i. */
interface AxisLayout {
  outer: number;
  length: number;
  inner: number;
}

function layoutAround(dims: readonly number[], axis: number): AxisLayout {
  return {
    outer: elementCount(dims.slice(0, axis)),
    length: dims[axis] ?? 1,
    inner: elementCount(dims.slice(axis + 1)),
  };
}

/** The opset < 13 softmax family view: the input coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])]. */
function coercedLayout(dims: readonly number[], axis: number): AxisLayout {
  return { outer: elementCount(dims.slice(0, axis)), length: elementCount(dims.slice(axis)), inner: 1 };
}

/** Rewrites one line (a copy of the elements along the axis) in place. */
type LineTransform = (line: Float64Array) => void;

/** Applies `transform` to every line of the layout, in place on a scratch copy of the line. */
function transformLines(values: ArrayLike<number>, layout: AxisLayout, transform: LineTransform): Float64Array {
  const { outer, length, inner } = layout;
  const out = new Float64Array(values.length);
  const line = new Float64Array(length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      for (let k = 0; k < length; k++) line[k] = values[base + k * inner]!;
      transform(line);
      for (let k = 0; k < length; k++) out[base + k * inner] = line[k]!;
    }
  }
  return out;
}

// Subtracting the line's maximum keeps exp() from overflowing (test_softmax_large_number).
function softmaxLine(line: Float64Array): void {
  const max = reduceMax(line, 0, line.length);
  let sum = 0;
  for (let k = 0; k < line.length; k++) {
    line[k] = Math.exp(line[k]! - max);
    sum += line[k]!;
  }
  for (let k = 0; k < line.length; k++) line[k]! /= sum;
}

function logSoftmaxLine(line: Float64Array): void {
  const max = reduceMax(line, 0, line.length);
  let sum = 0;
  for (let k = 0; k < line.length; k++) sum += Math.exp(line[k]! - max);
  const logSum = Math.log(sum) + max;
  for (let k = 0; k < line.length; k++) line[k]! -= logSum;
}

/** One-hot of the first maximum of the line. */
function hardmaxLine(line: Float64Array): void {
  let best = 0;
  for (let k = 1; k < line.length; k++) if (line[k]! > line[best]!) best = k;
  line.fill(0);
  if (line.length > 0) line[best] = 1;
}

/** log(softmax(x)) along `axis` (opset >= 13 semantics); SoftmaxCrossEntropyLoss reuses it for its log_prob. */
export function logSoftmaxAlongAxis(values: ArrayLike<number>, dims: readonly number[], axis: number): Float64Array {
  return transformLines(values, layoutAround(dims, normalizeAxis(axis, dims.length)), logSoftmaxLine);
}

// ---------------------------------------------------------------------------------------------------------
// Reduce*

type Reducer = (values: Float64Array, start: number, count: number) => number;

function sumOf(values: Float64Array, start: number, count: number, map: (x: number) => number = (x) => x): number {
  let sum = 0;
  for (let k = start; k < start + count; k++) sum += map(values[k]!);
  return sum;
}

const reduceSum: Reducer = (values, start, count) => sumOf(values, start, count);
const reduceMean: Reducer = (values, start, count) => sumOf(values, start, count) / count;
const reduceL1: Reducer = (values, start, count) => sumOf(values, start, count, Math.abs);
const reduceSumSquare: Reducer = (values, start, count) => sumOf(values, start, count, (x) => x * x);
const reduceL2: Reducer = (values, start, count) => Math.sqrt(reduceSumSquare(values, start, count));
const reduceLogSum: Reducer = (values, start, count) => Math.log(reduceSum(values, start, count));

const reduceProd: Reducer = (values, start, count) => {
  let product = 1;
  for (let k = start; k < start + count; k++) product *= values[k]!;
  return product;
};

// Empty sets give the identities the spec asks for: -inf for max, +inf for min.
const reduceMax: Reducer = (values, start, count) => {
  let max = -Infinity;
  for (let k = start; k < start + count; k++) if (values[k]! > max || Number.isNaN(values[k]!)) max = values[k]!;
  return max;
};

const reduceMin: Reducer = (values, start, count) => {
  let min = Infinity;
  for (let k = start; k < start + count; k++) if (values[k]! < min || Number.isNaN(values[k]!)) min = values[k]!;
  return min;
};

/**
 * The exact reductions over int64/uint64, in bigints (a float64 detour rounds past 2^53); stores into the
 * result array wrap as the type does. `range` is the type's [min, max], the identity of an empty Max / Min.
 */
type BigReducer = (values: readonly bigint[], start: number, count: number, range: [bigint, bigint]) => bigint;

function bigSumOf(values: readonly bigint[], start: number, count: number, map: (x: bigint) => bigint = (x) => x): bigint {
  let sum = 0n;
  for (let k = start; k < start + count; k++) sum += map(values[k]!);
  return sum;
}

const bigReduceSum: BigReducer = (values, start, count) => bigSumOf(values, start, count);
// Integer division truncates toward zero, as the float path's encoding does; an empty mean is left 0.
const bigReduceMean: BigReducer = (values, start, count) => (count === 0 ? 0n : bigSumOf(values, start, count) / BigInt(count));
const bigReduceL1: BigReducer = (values, start, count) => bigSumOf(values, start, count, (x) => (x < 0n ? -x : x));
const bigReduceSumSquare: BigReducer = (values, start, count) => bigSumOf(values, start, count, (x) => x * x);

const bigReduceProd: BigReducer = (values, start, count) => {
  let product = 1n;
  for (let k = start; k < start + count; k++) product *= values[k]!;
  return product;
};

const bigReduceMax: BigReducer = (values, start, count, range) => {
  let max = range[0];
  for (let k = start; k < start + count; k++) if (values[k]! > max) max = values[k]!;
  return max;
};

const bigReduceMin: BigReducer = (values, start, count, range) => {
  let min = range[1];
  for (let k = start; k < start + count; k++) if (values[k]! < min) min = values[k]!;
  return min;
};

const reduceLogSumExp: Reducer = (values, start, count) => {
  const max = reduceMax(values, start, count);
  if (!Number.isFinite(max)) return max === Infinity ? Infinity : Math.log(sumOf(values, start, count, Math.exp));
  return max + Math.log(sumOf(values, start, count, (x) => Math.exp(x - max)));
};

/** The output shape of a reduction over `axes` (already normalized); works on symbolic dims too. */
function reducedShape<D extends Dim>(dims: readonly D[], axes: readonly number[], keepdims: boolean): D[] {
  const reduced = new Set(axes);
  const shape: D[] = [];
  dims.forEach((dim, axis) => {
    if (!reduced.has(axis)) shape.push(dim);
    else if (keepdims) shape.push(1 as D);
  });
  return shape;
}

/**
 * Input offsets in the order that makes each output element's group contiguous: kept axes first (outer),
 * reduced axes last (inner). A strided walk over the input in that order.
 */
function groupOffsets(dims: readonly number[], axes: readonly number[]): ArrayLike<number> {
  const reduced = new Set(axes);
  const order = [...dims.keys()].filter((axis) => !reduced.has(axis)).concat([...axes].sort((a, b) => a - b));
  const strides = stridesOf(dims);
  return walkOffsets(
    order.map((axis) => dims[axis]!),
    order.map((axis) => strides[axis]!),
  );
}

/** The input's values rearranged so each output element's group is contiguous (see groupOffsets). */
function groupByOutput(values: ArrayLike<number>, dims: readonly number[], axes: readonly number[]): Float64Array {
  const offsets = groupOffsets(dims, axes);
  const out = new Float64Array(offsets.length);
  for (let index = 0; index < offsets.length; index++) out[index] = values[offsets[index]!]!;
  return out;
}

/**
 * The value range of an integer (or bool) type, as bigints since the 64-bit limits are not doubles: an
 * empty-set ReduceMax/ReduceMin gives the type's minimum / maximum where a float type would give -inf / +inf.
 */
function integerRange(type: DataType): [bigint, bigint] | undefined {
  if (type === 'bool') return [0n, 1n];
  if (!isIntegerType(type)) return undefined;
  const bits = BigInt(DATA_TYPES[type].bits);
  return type.startsWith('u') ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

function reduceTensor(x: Tensor, axes: readonly number[], keepdims: boolean, reducer: Reducer, bigReducer?: BigReducer): Tensor {
  if (bigReducer && isBigIntType(x.type)) return reduceBigInts(x, axes, keepdims, bigReducer);
  const outDims = reducedShape(x.dims, axes, keepdims);
  const groups = groupByOutput(numbersOf(x), x.dims, axes);
  const groupSize = elementCount(axes.map((axis) => x.dims[axis]!));
  const outCount = elementCount(outDims);
  const out = new Float64Array(outCount);
  for (let index = 0; index < outCount; index++) out[index] = reducer(groups, index * groupSize, groupSize);
  const result = tensorFromNumbers(x.type, outDims, out);
  const range = integerRange(x.type);
  if (range) {
    // Written into the encoded result, so int64/uint64 get their exact limits.
    const data = result.data;
    for (let index = 0; index < outCount; index++) {
      const limit = out[index] === -Infinity ? range[0] : out[index] === Infinity ? range[1] : undefined;
      if (limit === undefined) continue;
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[index] = limit;
      else (data as NumericArray)[index] = Number(limit);
    }
  }
  return result;
}

/** reduceTensor for int64/uint64 with an exact reducer: bigints throughout. */
function reduceBigInts(x: Tensor, axes: readonly number[], keepdims: boolean, reducer: BigReducer): Tensor {
  const outDims = reducedShape(x.dims, axes, keepdims);
  const data = x.data as BigIntArray;
  const groups = Array.from(groupOffsets(x.dims, axes), (offset) => data[offset]!);
  const groupSize = elementCount(axes.map((axis) => x.dims[axis]!));
  const out = allocate(x.type, elementCount(outDims)) as BigIntArray;
  const range = integerRange(x.type)!;
  for (let index = 0; index < out.length; index++) out[index] = reducer(groups, index * groupSize, groupSize, range);
  return new Tensor(x.type, out, outDims);
}

const allAxes = (rank: number): number[] => [...Array(rank).keys()];

function normalizeAxes(axes: readonly number[], rank: number): number[] {
  return [...new Set(axes.map((axis) => normalizeAxis(axis, rank, 'axes entry')))];
}

const attributeAxesForm = { axes: attr.ints(), keepdims: attr.int(1) };
const inputAxesForm = { keepdims: attr.int(1), noop_with_empty_axes: attr.int(0) };

/** Axes given as an attribute (older opsets): absent or empty means every axis. */
function axesFromAttribute(axes: readonly number[] | undefined, rank: number): number[] {
  return axes && axes.length > 0 ? normalizeAxes(axes, rank) : allAxes(rank);
}

/** Axes given as the optional second input: absent or empty means every axis, or none with noop_with_empty_axes. */
function axesFromInput(axes: Tensor | undefined, noopWithEmptyAxes: number, rank: number): number[] {
  const given = axes ? integersOf(axes) : [];
  if (given.length > 0) return normalizeAxes(given, rank);
  return noopWithEmptyAxes ? [] : allAxes(rank);
}

/**
 * What can be told of a reduction's output dims when the axes are known only by their count: with keepdims
 * the rank stays and dims of 1 stay 1 (reduced or not); without, one axis removes one dim, so each output dim
 * is one of two neighbouring input dims, known where they agree.
 */
function reducedShapeOfUnknownAxes(dims: readonly Dim[], axesCount: Dim, keepdims: boolean): Dim[] | undefined {
  if (keepdims) return dims.map((dim) => (dim === 1 ? 1 : undefined));
  if (axesCount !== 1) return undefined;
  return dims.slice(1).map((dim, i) => (dim === dims[i] ? dim : undefined));
}

/**
 * Output type of a reduction; `axesOf` gives the normalized axes, or undefined when they are not known before
 * running, and then `axesCount` how many there are, where known.
 */
function reduceInfer(
  input: ValueType | undefined,
  axesOf: (rank: number) => number[] | undefined,
  keepdims: number,
  axesCount?: Dim,
): (ValueType | undefined)[] {
  if (input?.kind !== 'tensor' || !input.shape) return [input?.kind === 'tensor' ? tensorType(input.dtype) : undefined];
  const axes = axesOf(input.shape.length);
  const shape = axes ? reducedShape(input.shape, axes, keepdims !== 0) : reducedShapeOfUnknownAxes(input.shape, axesCount, keepdims !== 0);
  return [tensorType(input.dtype, shape)];
}

/**
 * The axes input before running: its value when constant, or no axes at all when it is omitted or its type
 * says it is empty; undefined when only the run can tell.
 */
function staticAxesInput(context: InferContext): Tensor | 'none' | undefined {
  if (!context.node.inputs[1]) return 'none';
  const axes = context.constant(1);
  if (axes) return axes;
  const shape = shapeOf(context.inputTypes[1]);
  return shape?.length === 1 && shape[0] === 0 ? 'none' : undefined;
}

/**
 * Both forms of one reduction: axes as an attribute from opset 1, as an input from `inputSince`. `bigReducer`,
 * where given, reduces int64/uint64 exactly.
 */
function reduceOps(name: string, inputSince: number, reducer: Reducer, bigReducer?: BigReducer): OpDef[] {
  return [
    defineOp({
      name,
      since: 1,
      inputs: ['data'],
      outputs: ['reduced'],
      attributes: attributeAxesForm,
      infer: ({ inputTypes, attrs }) =>
        reduceInfer(inputTypes[0], (rank) => axesFromAttribute(attrs.axes, rank), attrs.keepdims),
      kernel: ({ tensor, attrs }) => {
        const x = tensor(0);
        return [reduceTensor(x, axesFromAttribute(attrs.axes, x.dims.length), attrs.keepdims !== 0, reducer, bigReducer)];
      },
    }),
    defineOp({
      name,
      since: inputSince,
      inputs: ['data', 'axes?'],
      outputs: ['reduced'],
      attributes: inputAxesForm,
      infer: (context) => {
        const { inputTypes, attrs } = context;
        const given = staticAxesInput(context);
        const axesOf = (rank: number) =>
          given === undefined ? undefined : axesFromInput(given === 'none' ? undefined : given, attrs.noop_with_empty_axes, rank);
        return reduceInfer(inputTypes[0], axesOf, attrs.keepdims, shapeOf(inputTypes[1])?.[0]);
      },
      kernel: ({ tensor, optionalTensor, attrs }) => {
        const x = tensor(0);
        const axes = axesFromInput(optionalTensor(1), attrs.noop_with_empty_axes, x.dims.length);
        // noop_with_empty_axes: each element is reduced on its own, so ReduceSumSquare still squares it and
        // ReduceL2 / ReduceLogSum still give |x| / log x, as onnx's reference implementation and onnxruntime do.
        return [reduceTensor(x, axes, attrs.keepdims !== 0, reducer, bigReducer)];
      },
    }),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// ArgMax / ArgMin

/** Whether `candidate` beats `current`: greater for ArgMax, smaller for ArgMin. */
type Better = (candidate: number | bigint, current: number | bigint) => boolean;

/** Index of the best element of each line along `axis`; ties go to the first index unless `selectLast`. */
function argReduce(x: Tensor, axis: number, keepdims: boolean, selectLast: boolean, better: Better): Tensor {
  // 64-bit integers compare as bigints (exact); every other type as its decoded number.
  const values: ArrayLike<number | bigint> = isBigIntType(x.type) ? (x.data as BigIntArray) : numbersOf(x);
  const { outer, length, inner } = layoutAround(x.dims, axis);
  const out = new BigInt64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      let best = 0;
      for (let k = 1; k < length; k++) {
        const candidate = values[base + k * inner]!;
        const current = values[base + best * inner]!;
        if (better(candidate, current) || (selectLast && candidate === current)) best = k;
      }
      out[o * inner + i] = BigInt(best);
    }
  }
  return new Tensor('int64', out, reducedShape(x.dims, [axis], keepdims));
}

function argReduceOp(name: string, better: Better): OpDef {
  // One definition serves opsets 1, 11 (negative axis) and 12 (select_last_index, default off).
  return defineOp({
    name,
    since: 1,
    inputs: ['data'],
    outputs: ['reduced'],
    attributes: { axis: attr.int(0), keepdims: attr.int(1), select_last_index: attr.int(0) },
    infer: ({ inputTypes, attrs }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor' || !input.shape) return [tensorType('int64')];
      const axis = normalizeAxis(attrs.axis, input.shape.length);
      return [tensorType('int64', reducedShape(input.shape, [axis], attrs.keepdims !== 0))];
    },
    kernel: ({ tensor, attrs }) => {
      const x = tensor(0);
      const axis = normalizeAxis(attrs.axis, x.dims.length);
      return [argReduce(x, axis, attrs.keepdims !== 0, attrs.select_last_index !== 0, better)];
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// CumSum

/** CumSum over int64/uint64 in bigints, exact past 2^53; stores wrap as the type does. */
function cumSumBigInts(x: Tensor, layout: AxisLayout, exclusive: boolean, reverse: boolean): Tensor {
  const { outer, length, inner } = layout;
  const values = x.data as BigIntArray;
  const out = allocate(x.type, values.length) as BigIntArray;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let running = 0n;
      for (let step = 0; step < length; step++) {
        const index = o * length * inner + (reverse ? length - 1 - step : step) * inner + i;
        out[index] = exclusive ? running : running + values[index]!;
        running += values[index]!;
      }
    }
  }
  return new Tensor(x.type, out, x.dims);
}

function cumSumLine(exclusive: boolean, reverse: boolean): LineTransform {
  return (line) => {
    const n = line.length;
    let running = 0;
    for (let step = 0; step < n; step++) {
      const k = reverse ? n - 1 - step : step;
      const value = line[k]!;
      line[k] = exclusive ? running : running + value;
      running += value;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Softmax family

/**
 * Both forms of a softmax-family op: before opset 13 the input is coerced to 2-D at `axis` (default 1) and
 * each row is transformed; from 13 the transform runs along that one axis (default -1).
 */
function softmaxFamily(name: string, transform: LineTransform): OpDef[] {
  const form = (since: number, defaultAxis: number, layoutOf: (dims: readonly number[], axis: number) => AxisLayout) =>
    defineOp({
      name,
      since,
      inputs: ['input'],
      outputs: ['output'],
      attributes: { axis: attr.int(defaultAxis) },
      infer: sameShapeAs(0),
      kernel: ({ tensor, attrs }) => {
        const x = tensor(0);
        const layout = layoutOf(x.dims, normalizeAxis(attrs.axis, x.dims.length));
        return [tensorFromNumbers(x.type, x.dims, transformLines(numbersOf(x), layout, transform))];
      },
    });
  return [form(1, 1, coercedLayout), form(13, -1, layoutAround)];
}

// ---------------------------------------------------------------------------------------------------------
// TopK

/**
 * The k largest (or smallest) elements along `axis` with their indices; equal values keep the lower index
 * first. Values are copied from the input's own array, so every element type comes out exact.
 */
function topK(x: Tensor, k: number, axis: number, largest: boolean): [Tensor, Tensor] {
  const { outer, length, inner } = layoutAround(x.dims, axis);
  if (k < 0 || k > length) {
    throw new EdgerunError('INVALID_ARGUMENT', `input 'K' = ${k} must be between 0 and the axis length ${length}`);
  }
  // 64-bit integers compare as bigints (exact); every other type as its decoded number.
  const exactIntegers = x.type === 'int64' || x.type === 'uint64';
  const keys: ArrayLike<number | bigint> = exactIntegers ? (x.data as BigInt64Array) : numbersOf(x);
  const source = x.data as NumericArray;
  const outDims = topKDims(x.dims, axis, k);
  const values = allocate(x.type, outer * k * inner) as NumericArray;
  const indices = new BigInt64Array(outer * k * inner);
  const order = new Array<number>(length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      for (let j = 0; j < length; j++) order[j] = j;
      order.sort((a, b) => {
        const ka = keys[base + a * inner]!;
        const kb = keys[base + b * inner]!;
        if (ka === kb) return a - b;
        return (largest ? ka < kb : ka > kb) ? 1 : -1;
      });
      const outBase = o * k * inner + i;
      for (let j = 0; j < k; j++) {
        values[outBase + j * inner] = source[base + order[j]! * inner]!;
        indices[outBase + j * inner] = BigInt(order[j]!);
      }
    }
  }
  return [new Tensor(x.type, values, outDims), new Tensor('int64', indices, outDims)];
}

/** The dims of both TopK outputs: the input's, with k along `axis`. */
function topKDims<D extends Dim>(dims: readonly D[], axis: number, k: D): D[] {
  return dims.map((dim, d) => (d === axis ? k : dim));
}

/** Both outputs' types; `k` is undefined when only the run can tell it. */
function topKOutputTypes(input: ValueType | undefined, axis: number, k: number | undefined): (ValueType | undefined)[] {
  if (input?.kind !== 'tensor') return [undefined, tensorType('int64')];
  const dims = input.shape && topKDims<Dim>(input.shape, normalizeAxis(axis, input.shape.length), k);
  return [tensorType(input.dtype, dims), tensorType('int64', dims)];
}

/** K's single value. */
function kFrom(k: Tensor): number {
  const values = integersOf(k);
  if (values.length !== 1) throw new EdgerunError('INVALID_ARGUMENT', `input 'K' must hold one value, got ${values.length}`);
  return values[0]!;
}

function kOf(ctx: KernelContext): number {
  return kFrom(ctx.tensor(1));
}

/** TopK from opset 10 (k as the input K): the outputs' types, with k when K is constant. */
function inferTopK({ inputTypes, attrs, constant }: InferContext<{ axis: number }>): (ValueType | undefined)[] {
  const k = constant(1);
  return topKOutputTypes(inputTypes[0], attrs.axis, k && kFrom(k));
}

const topKOps: OpDef[] = [
  // Opset 1: k is an attribute.
  defineOp({
    name: 'TopK',
    since: 1,
    inputs: ['X'],
    outputs: ['Values', 'Indices'],
    attributes: { k: attr.int(), axis: attr.int(-1) },
    infer: ({ inputTypes, attrs }) => topKOutputTypes(inputTypes[0], attrs.axis, attrs.k),
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      const k = ctx.attrs.k;
      if (k === undefined) return ctx.fail('INVALID_ATTRIBUTE', "attribute 'k' is required");
      return topK(x, k, normalizeAxis(ctx.attrs.axis, x.dims.length), true);
    },
  }),
  // Opset 10: k becomes the input K.
  defineOp({
    name: 'TopK',
    since: 10,
    inputs: ['X', 'K'],
    outputs: ['Values', 'Indices'],
    attributes: { axis: attr.int(-1) },
    infer: inferTopK,
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      return topK(x, kOf(ctx), normalizeAxis(ctx.attrs.axis, x.dims.length), true);
    },
  }),
  // Opset 11: smallest-k and `sorted`; results always come out sorted, which `sorted = 0` permits.
  defineOp({
    name: 'TopK',
    since: 11,
    inputs: ['X', 'K'],
    outputs: ['Values', 'Indices'],
    attributes: { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) },
    infer: inferTopK,
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      return topK(x, kOf(ctx), normalizeAxis(ctx.attrs.axis, x.dims.length), ctx.attrs.largest !== 0);
    },
  }),
];

// ---------------------------------------------------------------------------------------------------------
// Einsum

/** Each operand's labels, one per dimension, and the output's. Ellipsis dims get labels '...0', '...1', ... */
interface EinsumPlan {
  inputLabels: string[][];
  outputLabels: string[];
}

/** Splits a term into letters and one optional '...' marker (spaces ignored). */
function termTokens(term: string): string[] {
  const tokens: string[] = [];
  const text = term.replace(/\s+/g, '');
  for (let pos = 0; pos < text.length; pos++) {
    if (text.startsWith('...', pos)) {
      tokens.push('...');
      pos += 2;
    } else if (/[A-Za-z]/.test(text[pos]!)) tokens.push(text[pos]!);
    else throw new EdgerunError('INVALID_ATTRIBUTE', `einsum equation has an unexpected character '${text[pos]}'`);
  }
  return tokens;
}

// Ellipsis dims align from the right, as in numpy broadcasting: the last ellipsis dim of every operand shares a label.
function expandEllipsis(tokens: string[], ellipsisRank: number, widest: number): string[] {
  return tokens.flatMap((token) =>
    token === '...' ? Array.from({ length: ellipsisRank }, (_, j) => `...${widest - ellipsisRank + j}`) : [token],
  );
}

function planEinsum(equation: string, ranks: readonly number[]): EinsumPlan {
  const [left, right] = equation.split('->');
  const terms = left!.split(',').map(termTokens);
  if (terms.length !== ranks.length) {
    throw new EdgerunError('INVALID_ARGUMENT', `einsum equation names ${terms.length} operands, got ${ranks.length} inputs`);
  }
  const ellipsisRanks = terms.map((tokens, n) => (tokens.includes('...') ? ranks[n]! - (tokens.length - 1) : 0));
  const widest = Math.max(0, ...ellipsisRanks);
  const inputLabels = terms.map((tokens, n) => expandEllipsis(tokens, ellipsisRanks[n]!, widest));
  inputLabels.forEach((labels, n) => {
    if (labels.length !== ranks[n]) {
      const detail = `einsum operand ${n} has rank ${ranks[n]}, its term names ${labels.length} dims`;
      throw new EdgerunError('INVALID_ARGUMENT', detail);
    }
  });
  if (right !== undefined) return { inputLabels, outputLabels: expandEllipsis(termTokens(right), widest, widest) };
  // Implicit output: the ellipsis dims, then the letters used exactly once, in alphabetical order.
  const uses = new Map<string, number>();
  for (const label of inputLabels.flat()) uses.set(label, (uses.get(label) ?? 0) + 1);
  const once = [...uses].filter(([label, count]) => count === 1 && !label.startsWith('...')).map(([label]) => label).sort();
  return { inputLabels, outputLabels: [...expandEllipsis(['...'], widest, widest), ...once] };
}

/** Each label's size from every dim it names; sizes of 1 broadcast, as numpy's einsum allows. */
function einsumLabelSizes<D extends Dim>(plan: EinsumPlan, shapes: readonly (readonly D[])[]): Map<string, D> {
  const sizes = new Map<string, D>();
  plan.inputLabels.forEach((labels, n) =>
    labels.forEach((label, d) => {
      const size = shapes[n]![d]!;
      const known = sizes.get(label);
      const merged = sizes.has(label) ? broadcastDim(known, size, `einsum label '${label}' sizes`) : size;
      sizes.set(label, merged as D);
    }),
  );
  return sizes;
}

/** The sizes of `labels`; a label no operand names has size 1. */
function labelDims<D extends Dim>(sizes: ReadonlyMap<string, D>, labels: readonly string[]): D[] {
  return labels.map((label) => (sizes.has(label) ? sizes.get(label)! : (1 as D)));
}

/** The output dims of an einsum over operands of these shapes (symbolic or unknown dims allowed). */
function einsumOutputDims<D extends Dim>(equation: string, shapes: readonly (readonly D[])[]): D[] {
  const plan = planEinsum(equation, shapes.map((shape) => shape.length));
  return labelDims(einsumLabelSizes(plan, shapes), plan.outputLabels);
}

/** Sum over every label not in the output of the product of the operands: one loop over all labels. */
function einsum(equation: string, inputs: readonly Tensor[]): Tensor {
  const plan = planEinsum(equation, inputs.map((x) => x.dims.length));
  const sizes = einsumLabelSizes(plan, inputs.map((x) => x.dims));
  const summed = [...new Set(plan.inputLabels.flat())].filter((label) => !plan.outputLabels.includes(label));
  const loopLabels = [...plan.outputLabels, ...summed];
  const loopDims = labelDims(sizes, loopLabels);
  // A repeated label in one operand (a diagonal) adds its strides; a broadcast dim of 1 does not move.
  const loopStrides = inputs.map((x, n) => {
    const strides = new Array<number>(loopLabels.length).fill(0);
    const own = stridesOf(x.dims);
    plan.inputLabels[n]!.forEach((label, d) => {
      if (x.dims[d] !== 1) strides[loopLabels.indexOf(label)]! += own[d]!;
    });
    return strides;
  });
  const values = inputs.map((x) => numbersOf(x));
  const outDims = labelDims(sizes, plan.outputLabels);
  const outCount = elementCount(outDims);
  const sumCount = elementCount(labelDims(sizes, summed));
  const out = new Float64Array(outCount);
  const counter = new Array<number>(loopLabels.length).fill(0);
  const offsets = new Array<number>(inputs.length).fill(0);
  for (let outIndex = 0; outIndex < outCount; outIndex++) {
    let total = 0;
    for (let s = 0; s < sumCount; s++) {
      let product = 1;
      for (let n = 0; n < inputs.length; n++) product *= values[n]![offsets[n]!]!;
      total += product;
      for (let axis = loopLabels.length - 1; axis >= 0; axis--) {
        counter[axis]! += 1;
        for (let n = 0; n < inputs.length; n++) offsets[n]! += loopStrides[n]![axis]!;
        if (counter[axis]! < loopDims[axis]!) break;
        for (let n = 0; n < inputs.length; n++) offsets[n]! -= loopStrides[n]![axis]! * loopDims[axis]!;
        counter[axis] = 0;
      }
    }
    out[outIndex] = total;
  }
  return tensorFromNumbers(inputs[0]!.type, outDims, out);
}

// ---------------------------------------------------------------------------------------------------------
// Det

/** Determinant of the n x n matrix at `start` by Gaussian elimination with partial pivoting. */
function determinant(values: ArrayLike<number>, start: number, n: number): number {
  const a = Float64Array.from({ length: n * n }, (_, k) => values[start + k]!);
  let det = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = row;
    if (a[pivot * n + col] === 0) return 0;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k]!, a[col * n + k]!];
      det = -det;
    }
    const diagonal = a[col * n + col]!;
    det *= diagonal;
    for (let row = col + 1; row < n; row++) {
      const factor = a[row * n + col]! / diagonal;
      for (let k = col; k < n; k++) a[row * n + k]! -= factor * a[col * n + k]!;
    }
  }
  return det;
}

// ---------------------------------------------------------------------------------------------------------
// The catalogue

export const ops: OpDef[] = [
  ...reduceOps('ReduceSum', 13, reduceSum, bigReduceSum),
  ...reduceOps('ReduceMean', 18, reduceMean, bigReduceMean),
  ...reduceOps('ReduceMax', 18, reduceMax, bigReduceMax),
  ...reduceOps('ReduceMin', 18, reduceMin, bigReduceMin),
  ...reduceOps('ReduceProd', 18, reduceProd, bigReduceProd),
  ...reduceOps('ReduceL1', 18, reduceL1, bigReduceL1),
  ...reduceOps('ReduceL2', 18, reduceL2),
  ...reduceOps('ReduceLogSum', 18, reduceLogSum),
  ...reduceOps('ReduceLogSumExp', 18, reduceLogSumExp),
  ...reduceOps('ReduceSumSquare', 18, reduceSumSquare, bigReduceSumSquare),

  argReduceOp('ArgMax', (a, b) => a > b),
  argReduceOp('ArgMin', (a, b) => a < b),

  defineOp({
    name: 'CumSum',
    since: 11,
    inputs: ['x', 'axis'],
    outputs: ['y'],
    attributes: { exclusive: attr.int(0), reverse: attr.int(0) },
    infer: sameShapeAs(0),
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      const axisValues = integersOf(ctx.tensor(1));
      if (axisValues.length !== 1) {
        ctx.fail('INVALID_ARGUMENT', `input 'axis' must hold one value, got ${axisValues.length}`);
      }
      const layout = layoutAround(x.dims, normalizeAxis(axisValues[0]!, x.dims.length));
      if (isBigIntType(x.type)) return [cumSumBigInts(x, layout, ctx.attrs.exclusive !== 0, ctx.attrs.reverse !== 0)];
      const scan = cumSumLine(ctx.attrs.exclusive !== 0, ctx.attrs.reverse !== 0);
      return [tensorFromNumbers(x.type, x.dims, transformLines(numbersOf(x), layout, scan))];
    },
  }),

  ...softmaxFamily('Softmax', softmaxLine),
  ...softmaxFamily('LogSoftmax', logSoftmaxLine),
  ...softmaxFamily('Hardmax', hardmaxLine),

  ...topKOps,

  defineOp({
    name: 'Einsum',
    since: 12,
    inputs: ['Inputs...'],
    outputs: ['Output'],
    attributes: { equation: attr.string('') },
    infer: ({ inputTypes, attrs }) => {
      const first = inputTypes[0];
      if (first?.kind !== 'tensor') return [undefined];
      const shapes = inputTypes.map(shapeOf);
      const known = shapes.every((shape) => shape !== undefined) ? (shapes as Dim[][]) : undefined;
      return [tensorType(first.dtype, known && einsumOutputDims(attrs.equation, known))];
    },
    kernel: (ctx) => [einsum(ctx.attrs.equation, ctx.inputs.map((_, n) => ctx.tensor(n)))],
  }),

  defineOp({
    name: 'Det',
    since: 11,
    inputs: ['X'],
    outputs: ['Y'],
    infer: ({ inputTypes }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor') return [undefined];
      return [tensorType(input.dtype, input.shape?.slice(0, -2))];
    },
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      const rank = x.dims.length;
      const n = x.dims[rank - 1]!;
      if (rank < 2 || x.dims[rank - 2] !== n) {
        ctx.fail('INVALID_ARGUMENT', `input 'X' must be square matrices [..., M, M], got dims [${x.dims.join(', ')}]`);
      }
      const values = numbersOf(x);
      const batchDims = x.dims.slice(0, -2);
      const out = Float64Array.from({ length: elementCount(batchDims) }, (_, b) => determinant(values, b * n * n, n));
      return [tensorFromNumbers(x.type, batchDims, out)];
    },
  }),
];
