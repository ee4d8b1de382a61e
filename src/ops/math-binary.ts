import { defineOp, attr, type OpDef } from './registry.js';
import { at, broadcastDims, broadcastOffsets, broadcastShapes, numbersOf, shapeOf, tensorFromNumbers, tensorType } from './common.js';
import { allocate, type BigIntArray, type DataType, type TensorData } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { bigintsOf, boolTensor, isBigIntType, scalarsOf, tensorFromBigInts } from './math-unary.js';

/**
 * Element-wise ops of two or more inputs with multidirectional (numpy) broadcasting. Before opset 7 the
 * arithmetic ops broadcast only B onto A, when `broadcast` = 1, starting at `axis`.
 */

/** The two inputs of a binary op, with their broadcast output shape and per-input element offsets. */
interface Broadcast {
  dims: number[];
  count: number;
  aOffsets: Int32Array | undefined;
  bOffsets: Int32Array | undefined;
}

function broadcastPair(a: Tensor, b: Tensor): Broadcast {
  const dims = broadcastShapes(a.dims, b.dims);
  return { dims, count: elementCount(dims), aOffsets: broadcastOffsets(dims, a.dims), bOffsets: broadcastOffsets(dims, b.dims) };
}

/** Output type of a broadcasting op: `dtypeFrom`'s element type (or `outType`), the broadcast of `shapes`. */
function broadcastType(dtypeFrom: ValueType | undefined, shapes: readonly (readonly Dim[] | undefined)[], outType?: 'bool'): ValueType | undefined {
  if (dtypeFrom?.kind !== 'tensor') return undefined;
  return tensorType(outType ?? dtypeFrom.dtype, broadcastDims(shapes));
}

// ---- Legacy (opset < 7) broadcasting ----

const legacyAttributes = { broadcast: attr.int(0), axis: attr.int() };

/** B's dims lined up with A's from `axis` on, padded with 1s (numpy's suffix alignment when axis is unset). */
function legacyAlignedDims<D extends Dim>(aDims: readonly D[], bDims: readonly D[], broadcast: number, axis: number | undefined): D[] {
  if (broadcast === 0 || axis === undefined) return [...bDims];
  const start = axis < 0 ? axis + aDims.length : axis;
  const trailing = aDims.length - start - bDims.length;
  if (start < 0 || trailing < 0) {
    throw new EdgerunError('SHAPE_MISMATCH', `input 'B' of dims [${bDims.join(', ')}] does not fit into A's dims [${aDims.join(', ')}] at axis ${axis}`);
  }
  return [...new Array<D>(start).fill(1 as D), ...bDims, ...new Array<D>(trailing).fill(1 as D)];
}

/** B reshaped so that its dims line up with A's (see legacyAlignedDims). */
function alignLegacy(a: Tensor, b: Tensor, broadcast: number, axis: number | undefined): Tensor {
  if (broadcast === 0 || axis === undefined) return b;
  return new Tensor(b.type, b.data, legacyAlignedDims(a.dims, b.dims, broadcast, axis));
}

/** Where an op may write its output (the kernel context's planned buffer). */
type Allocate = (dtype: DataType, dims: readonly number[]) => Tensor;
type Binary = (a: Tensor, b: Tensor, allocate: Allocate) => Tensor;

interface BinaryForms {
  /** Opset of the numpy-broadcasting form. */
  since?: number;
  /** Whether the op also has the opset-1 form with the `broadcast`/`axis` attributes. */
  legacy?: boolean;
  inputs?: readonly string[];
  outputs?: readonly string[];
  /** Output element type when it is not the first input's. */
  outType?: 'bool';
}

/** Output type inference of a numpy-broadcast op from its first two inputs. */
function inferBroadcast(outType?: 'bool') {
  return ({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }) => [
    broadcastType(inputTypes[0], inputTypes.slice(0, 2).map(shapeOf), outType),
  ];
}

/** The opset-1 form of a binary op: B aligned onto A by the legacy `broadcast`/`axis` attributes. */
function legacyForm(name: string, inputs: readonly string[], outputs: readonly string[], apply: Binary, outType?: 'bool'): OpDef {
  return defineOp({
    name,
    since: 1,
    inputs,
    outputs,
    attributes: legacyAttributes,
    infer: ({ inputTypes, attrs }) => {
      const [a, b] = inputTypes;
      const aDims = shapeOf(a);
      const bDims = shapeOf(b);
      const aligned = aDims && bDims ? legacyAlignedDims(aDims, bDims, attrs.broadcast, attrs.axis) : undefined;
      return [broadcastType(a, [aDims, aligned], outType)];
    },
    kernel: ({ tensor, attrs, output }) => {
      const a = tensor(0);
      return [apply(a, alignLegacy(a, tensor(1), attrs.broadcast, attrs.axis), (dtype, dims) => output(0, dtype, dims))];
    },
  });
}

/** A binary op with numpy broadcasting from `since` (7 by default), preceded by its legacy form unless `legacy` is false. */
function binaryOps(name: string, apply: Binary, forms: BinaryForms = {}): OpDef[] {
  const { since = 7, legacy = true, inputs = ['A', 'B'], outputs = ['C'], outType } = forms;
  const modern = defineOp({
    name,
    since,
    inputs,
    outputs,
    infer: inferBroadcast(outType),
    kernel: ({ tensor, output }) => [apply(tensor(0), tensor(1), (dtype, dims) => output(0, dtype, dims))],
  });
  return legacy ? [legacyForm(name, inputs, outputs, apply, outType), modern] : [modern];
}

// ---- Arithmetic: output has A's type ----

interface Arithmetic {
  number: (a: number, b: number) => number;
  /** Exact path for int64/uint64 inputs. */
  bigint: (a: bigint, b: bigint) => bigint;
}

function arithmetic(a: Tensor, b: Tensor, fns: Arithmetic, outputOf?: Allocate): Tensor {
  const { dims, count, aOffsets, bOffsets } = broadcastPair(a, b);
  if (outputOf && a.type === 'float32' && b.type === 'float32') {
    // One rounding of the double result is exactly float32 arithmetic for + - * / (53 >= 2 * 24 + 2 bits).
    const result = outputOf('float32', dims);
    const out = result.data as Float32Array;
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    for (let i = 0; i < count; i++) out[i] = fns.number(at(x, aOffsets, i), at(y, bOffsets, i));
    return result;
  }
  if (isBigIntType(a.type)) {
    const x = bigintsOf(a);
    const y = bigintsOf(b);
    const out = allocate(a.type, count) as BigIntArray;
    for (let i = 0; i < count; i++) out[i] = fns.bigint(at(x, aOffsets, i), at(y, bOffsets, i));
    return new Tensor(a.type, out, dims);
  }
  const x = numbersOf(a);
  const y = numbersOf(b);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = fns.number(at(x, aOffsets, i), at(y, bOffsets, i));
  return tensorFromNumbers(a.type, dims, out);
}

/** Registers the op from opset 1 with the legacy broadcast attributes and from opset 7 with numpy broadcasting. */
function arithmeticOp(name: string, fns: Arithmetic, since = 7, legacy = true): OpDef[] {
  return binaryOps(name, (a, b, outputOf) => arithmetic(a, b, fns, outputOf), { since, legacy });
}

/** Integer division truncates toward zero like C; the typed-array store truncates the number path. */
function divideBigInt(a: bigint, b: bigint): bigint {
  return b === 0n ? 0n : a / b;
}

/** Remainder with the sign of the divisor (Python's %), or of the dividend with fmod (C's fmod). */
function modOp(): OpDef {
  return defineOp({
    name: 'Mod',
    since: 10,
    inputs: ['A', 'B'],
    outputs: ['C'],
    attributes: { fmod: attr.int(0) },
    infer: inferBroadcast(),
    kernel: ({ tensor, attrs }) => {
      const truncated = attrs.fmod === 1;
      return [
        arithmetic(tensor(0), tensor(1), {
          number: (a, b) => {
            const remainder = a % b;
            return truncated || remainder === 0 || remainder < 0 === b < 0 ? remainder : remainder + b;
          },
          bigint: (a, b) => {
            if (b === 0n) return 0n;
            const remainder = a % b;
            return truncated || remainder === 0n || remainder < 0n === b < 0n ? remainder : remainder + b;
          },
        }),
      ];
    },
  });
}

// ---- Pow: the exponent may have another type; the result has the base's type ----

function integerPower(base: bigint, exponent: bigint): bigint {
  if (exponent >= 0n) return base ** exponent;
  // A negative exponent leaves only 1 / base^n, which truncates to 0 unless |base| is 1.
  if (base === 1n) return 1n;
  if (base === -1n) return exponent % 2n === 0n ? 1n : -1n;
  return 0n;
}

/**
 * x^y as C's pow (and numpy, onnx's reference) defines it: where JS's ** gives NaN, pow(1, y) is 1 for every y
 * (NaN included) and pow(-1, ±inf) is 1.
 */
function pow(x: number, y: number): number {
  if (x === 1 || (x === -1 && !Number.isFinite(y) && !Number.isNaN(y))) return 1;
  return x ** y;
}

function power(base: Tensor, exponent: Tensor): Tensor {
  const { dims, count, aOffsets, bOffsets } = broadcastPair(base, exponent);
  if (isBigIntType(base.type)) {
    const x = base.data as BigIntArray;
    if (isBigIntType(exponent.type) || exponent.type.includes('int')) {
      const y = bigintsOf(exponent);
      const out = new Array<bigint>(count);
      for (let i = 0; i < count; i++) out[i] = integerPower(at(x, aOffsets, i), at(y, bOffsets, i));
      return tensorFromBigInts(base.type, dims, out);
    }
    const y = numbersOf(exponent);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = pow(Number(at(x, aOffsets, i)), at(y, bOffsets, i));
    return tensorFromNumbers(base.type, dims, out);
  }
  const x = numbersOf(base);
  const y = numbersOf(exponent);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = pow(at(x, aOffsets, i), at(y, bOffsets, i));
  return tensorFromNumbers(base.type, dims, out);
}

const powOps = binaryOps('Pow', power, { inputs: ['X', 'Y'], outputs: ['Z'] });

// ---- Bitwise ops on integers; typed-array stores wrap results into the type's range ----

function bitShift(): OpDef {
  return defineOp({
    name: 'BitShift',
    since: 11,
    inputs: ['X', 'Y'],
    outputs: ['Z'],
    attributes: { direction: attr.string('') },
    infer: inferBroadcast(),
    kernel: ({ tensor, attrs, fail }) => {
      if (attrs.direction !== 'LEFT' && attrs.direction !== 'RIGHT') fail('INVALID_ATTRIBUTE', `direction must be 'LEFT' or 'RIGHT', got '${attrs.direction}'`);
      const left = attrs.direction === 'LEFT';
      return [
        arithmetic(tensor(0), tensor(1), {
          // Inputs are unsigned: >>> keeps uint32 values above 2^31 positive; shifts of 32 or more give 0.
          number: (a, b) => (b >= 32 ? 0 : left ? a * 2 ** b : a >>> b),
          bigint: (a, b) => (left ? BigInt.asUintN(64, a << b) : a >> b),
        }),
      ];
    },
  });
}

// ---- Comparisons and logic: bool output ----

type Scalar = number | bigint | string;

function comparison(a: Tensor, b: Tensor, test: (x: Scalar, y: Scalar) => boolean): Tensor {
  const { dims, count, aOffsets, bOffsets } = broadcastPair(a, b);
  const x = scalarsOf(a);
  const y = scalarsOf(b);
  return boolTensor(dims, count, (i) => test(at(x, aOffsets, i), at(y, bOffsets, i)));
}

function comparisonOps(name: string, test: (x: Scalar, y: Scalar) => boolean, since = 7, legacy = true): OpDef[] {
  return binaryOps(name, (a, b) => comparison(a, b, test), { since, legacy, outType: 'bool' });
}

/** Mean is defined for floating-point types only, so the number path suffices. */
function divideBy(tensor: Tensor, divisor: number): Tensor {
  const values = numbersOf(tensor);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / divisor;
  return tensorFromNumbers(tensor.type, tensor.dims, out);
}

// ---- Variadic ops: Max, Min, Sum, Mean fold their inputs pairwise ----

function variadicOp(name: string, fns: Arithmetic, average = false): OpDef {
  return defineOp({
    name,
    since: 1,
    inputs: ['data_0...'],
    outputs: ['result'],
    infer: ({ inputTypes }) => [inputTypes.length === 1 ? inputTypes[0] : broadcastType(inputTypes[0], inputTypes.map(shapeOf))],
    kernel: ({ inputs, tensor, fail }) => {
      if (inputs.length === 0) fail('INVALID_ARGUMENT', `${name} needs at least one input`);
      let result = tensor(0);
      for (let index = 1; index < inputs.length; index++) result = arithmetic(result, tensor(index), fns);
      return [average ? divideBy(result, inputs.length) : result];
    },
  });
}

// ---- Where and PRelu ----

/** Where copies raw elements, so every type (strings, narrow floats, 64-bit integers) passes unchanged. */
const where = defineOp({
  name: 'Where',
  since: 9,
  inputs: ['condition', 'X', 'Y'],
  outputs: ['output'],
  infer: ({ inputTypes }) => [broadcastType(inputTypes[1]?.kind === 'tensor' ? inputTypes[1] : inputTypes[2], inputTypes.map(shapeOf))],
  kernel: ({ tensor }) => {
    const condition = tensor(0);
    const x = tensor(1);
    const y = tensor(2);
    const dims = broadcastShapes(condition.dims, x.dims, y.dims);
    const count = elementCount(dims);
    const conditionOffsets = broadcastOffsets(dims, condition.dims);
    const xOffsets = broadcastOffsets(dims, x.dims);
    const yOffsets = broadcastOffsets(dims, y.dims);
    const flags = condition.data as Uint8Array;
    const xData = x.data as ArrayLike<unknown>;
    const yData = y.data as ArrayLike<unknown>;
    const out = allocate(x.type, count) as unknown[];
    for (let i = 0; i < count; i++) out[i] = at(flags, conditionOffsets, i) ? at(xData, xOffsets, i) : at(yData, yOffsets, i);
    return [new Tensor(x.type, out as unknown as TensorData, dims)];
  },
});

const preluFns: Arithmetic = {
  number: (x, slope) => (x < 0 ? slope * x : x),
  bigint: (x, slope) => (x < 0n ? slope * x : x),
};

/**
 * Before opset 7, a 1-D slope of length C applies per channel (axis 1), as Caffe2 exported it: its dims become
 * [C, 1, ...]. Undefined when symbolic or unknown dims leave that open.
 */
function legacySlopeDims<D extends Dim>(xDims: readonly D[], slopeDims: readonly D[]): D[] | undefined {
  if (slopeDims.length !== 1 || xDims.length < 2) return [...slopeDims];
  const size = slopeDims[0]!;
  const channels = xDims[1]!;
  let perChannel: boolean;
  if (typeof size === 'number' && typeof channels === 'number') perChannel = size !== 1 && size === channels;
  // A name shared by both is per channel, or 1, which gives the same output shape either way.
  else if (size !== undefined && size === channels) perChannel = true;
  else return undefined;
  return perChannel ? [size, ...new Array<D>(xDims.length - 2).fill(1 as D)] : [...slopeDims];
}

function legacySlope(x: Tensor, slope: Tensor): Tensor {
  const dims = legacySlopeDims(x.dims, slope.dims)!;
  return dims.length === slope.dims.length ? slope : new Tensor(slope.type, slope.data, dims);
}

const preluOps: OpDef[] = [
  defineOp({
    name: 'PRelu',
    since: 1,
    inputs: ['X', 'slope'],
    outputs: ['Y'],
    infer: ({ inputTypes }) => {
      const [x, slope] = inputTypes;
      const xDims = shapeOf(x);
      const slopeDims = shapeOf(slope);
      const aligned = xDims && slopeDims ? legacySlopeDims(xDims, slopeDims) : undefined;
      return [broadcastType(x, [xDims, aligned])];
    },
    kernel: ({ tensor }) => {
      const x = tensor(0);
      return [arithmetic(x, legacySlope(x, tensor(1)), preluFns)];
    },
  }),
  defineOp({
    name: 'PRelu',
    since: 7,
    inputs: ['X', 'slope'],
    outputs: ['Y'],
    infer: ({ inputTypes }) => [broadcastType(inputTypes[0], inputTypes.map(shapeOf))],
    kernel: ({ tensor }) => [arithmetic(tensor(0), tensor(1), preluFns)],
  }),
];

// ---- The catalogue ----

export const ops: OpDef[] = [
  ...arithmeticOp('Add', { number: (a, b) => a + b, bigint: (a, b) => a + b }),
  ...arithmeticOp('Sub', { number: (a, b) => a - b, bigint: (a, b) => a - b }),
  ...arithmeticOp('Mul', { number: (a, b) => a * b, bigint: (a, b) => a * b }),
  ...arithmeticOp('Div', { number: (a, b) => a / b, bigint: divideBigInt }),
  modOp(),
  ...powOps,
  ...arithmeticOp('BitwiseAnd', { number: (a, b) => a & b, bigint: (a, b) => a & b }, 18, false),
  ...arithmeticOp('BitwiseOr', { number: (a, b) => a | b, bigint: (a, b) => a | b }, 18, false),
  ...arithmeticOp('BitwiseXor', { number: (a, b) => a ^ b, bigint: (a, b) => a ^ b }, 18, false),
  bitShift(),
  ...comparisonOps('Equal', (a, b) => a === b),
  ...comparisonOps('Greater', (a, b) => a > b),
  ...comparisonOps('Less', (a, b) => a < b),
  ...comparisonOps('GreaterOrEqual', (a, b) => a >= b, 12, false),
  ...comparisonOps('LessOrEqual', (a, b) => a <= b, 12, false),
  ...comparisonOps('And', (a, b) => Boolean(a) && Boolean(b)),
  ...comparisonOps('Or', (a, b) => Boolean(a) || Boolean(b)),
  ...comparisonOps('Xor', (a, b) => Boolean(a) !== Boolean(b)),
  variadicOp('Max', { number: (a, b) => (Number.isNaN(a) || a > b ? a : b), bigint: (a, b) => (a > b ? a : b) }),
  variadicOp('Min', { number: (a, b) => (Number.isNaN(a) || a < b ? a : b), bigint: (a, b) => (a < b ? a : b) }),
  variadicOp('Sum', { number: (a, b) => a + b, bigint: (a, b) => a + b }),
  variadicOp('Mean', { number: (a, b) => a + b, bigint: (a, b) => a + b }, true),
  where,
  ...preluOps,
];
