import { defineOp, attr, type AttrSpecs, type KernelContext, type OpDef, type ResolvedAttrs } from './registry.js';
import { floatsFor, numbersOf, sameShapeAs, tensorFromNumbers, tensorType } from './common.js';
import { allocate, type BigIntArray, type DataType } from '../core/dtype.js';
import { roundHalfEven } from '../core/numeric.js';
import { Tensor } from '../core/tensor.js';
import type { ValueType } from '../core/graph.js';
import { activate, type Activation } from '../kernels/activation.js';
import type { Floats } from '../kernels/floats.js';

/**
 * Element-wise ops of one input. float32/float64 inputs are computed in one pass into the output tensor
 * (through the fused-activation loops where the op is one); narrow floats are decoded, computed in double
 * and encoded back to the input's type; 64-bit integers take an exact BigInt path where the op allows integers.
 * Sigmoid on float32 and float16 evaluates onnxruntime's float32 approximation instead (see sigmoidFloat32).
 */

// ---- Element access shared by the element-wise families (math-binary.ts and cast.ts import these) ----

export function isBigIntType(type: DataType): type is 'int64' | 'uint64' {
  return type === 'int64' || type === 'uint64';
}

/** A tensor's elements as BigInts: 64-bit integer data as is, other numbers truncated toward zero. */
export function bigintsOf(tensor: Tensor): ArrayLike<bigint> {
  if (isBigIntType(tensor.type)) return tensor.data as BigIntArray;
  return Array.from(numbersOf(tensor), (value) => (Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n));
}

/** Elements for comparing: BigInts for 64-bit integers (exact), strings as strings, numbers otherwise. */
export function scalarsOf(tensor: Tensor): ArrayLike<number | bigint | string> {
  if (isBigIntType(tensor.type)) return tensor.data as BigIntArray;
  if (tensor.type === 'string') return tensor.data as string[];
  return numbersOf(tensor);
}

/** A 64-bit integer tensor from BigInts; the typed array wraps values into range as C casts do. */
export function tensorFromBigInts(type: 'int64' | 'uint64', dims: readonly number[], values: ArrayLike<bigint>): Tensor {
  const out = allocate(type, values.length) as BigIntArray;
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return new Tensor(type, out, dims);
}

/** A bool tensor from a predicate over element indices. */
export function boolTensor(dims: readonly number[], count: number, test: (index: number) => boolean): Tensor {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = test(i) ? 1 : 0;
  return new Tensor('bool', out, dims);
}

function boolTypeLike(input: ValueType | undefined): ValueType | undefined {
  return input?.kind === 'tensor' ? tensorType('bool', input.shape) : undefined;
}

// ---- Op builders ----

interface UnarySpec<A extends AttrSpecs> {
  name: string;
  since: number;
  attributes?: A;
  /** The scalar function, built once per node from its attributes. */
  number: (attrs: ResolvedAttrs<A>) => (x: number) => number;
  /** Exact path for int64/uint64 inputs; without it they go through `number`. */
  bigint?: (x: bigint) => bigint;
  /** The same function as a fused activation, whose loop float32/float64 inputs run. */
  activation?: (attrs: ResolvedAttrs<A>) => Activation;
  /** The function as onnxruntime's CPU kernel computes it in float32, for float32 and float16 inputs. */
  float32?: (x: number) => number;
}

/** The output tensor of an element-wise op on float32/float64 data, filled by `compute(input, output)`. */
function floatsInto(output: KernelContext['output'], x: Tensor, compute: (input: Floats, output: Floats) => void): Tensor {
  const result = output(0, x.type, x.dims);
  compute(x.data as Floats, result.data as Floats);
  return result;
}

function isFloats(type: DataType): type is 'float32' | 'float64' {
  return type === 'float32' || type === 'float64';
}

function unaryOp<A extends AttrSpecs = Record<string, never>>(spec: UnarySpec<A>): OpDef {
  return defineOp({
    name: spec.name,
    since: spec.since,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: spec.attributes,
    infer: sameShapeAs(0),
    kernel: ({ tensor, attrs, output }) => {
      const x = tensor(0);
      if (spec.bigint && isBigIntType(x.type)) {
        const values = x.data as BigIntArray;
        const out = allocate(x.type, values.length) as BigIntArray;
        for (let i = 0; i < values.length; i++) out[i] = spec.bigint(values[i]!);
        return [new Tensor(x.type, out, x.dims)];
      }
      const fn = spec.float32 && (x.type === 'float32' || x.type === 'float16') ? spec.float32 : spec.number(attrs);
      if (isFloats(x.type)) {
        // onnxruntime's own float32 function, where the op has one, wins over the generic activation loop.
        const activation = spec.float32 ? undefined : spec.activation?.(attrs);
        return [
          floatsInto(output, x, (values, out) => {
            if (activation) activate(values, out, 0, values.length, activation);
            else for (let i = 0; i < values.length; i++) out[i] = fn(values[i]!);
          }),
        ];
      }
      const values = numbersOf(x);
      const out = floatsFor(x.type, values.length);
      for (let i = 0; i < values.length; i++) out[i] = fn(values[i]!);
      return [tensorFromNumbers(x.type, x.dims, out)];
    },
  });
}

/** An op without attributes whose scalar function applies as is (and may be a fused activation too). */
function simple(name: string, since: number, fn: (x: number) => number, bigint?: (x: bigint) => bigint, activation?: Activation): OpDef {
  return unaryOp({ name, since, number: () => fn, bigint, activation: activation && (() => activation) });
}

// ---- float32 arithmetic as onnxruntime's CPU kernels do it ----

const scratch = new DataView(new ArrayBuffer(8));

/** The double next to `x` (not zero) in the direction of `direction`'s sign. */
function nextDouble(x: number, direction: number): number {
  scratch.setFloat64(0, x);
  scratch.setBigUint64(0, scratch.getBigUint64(0) + ((x > 0) === (direction > 0) ? 1n : -1n));
  return scratch.getFloat64(0);
}

/**
 * A fused float32 multiply-add, a * b + c rounded once. The product of two float32 values is exact in a double;
 * the sum is rounded to a double, and where that rounding lost something (err), the double is moved one step
 * towards the lost part so that it cannot sit on a float32 tie it was not really on.
 */
function fusedMultiplyAdd32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const cPart = sum - product;
  const err = product - (sum - cPart) + (c - cPart);
  return Math.fround(err === 0 || sum === 0 ? sum : nextDouble(sum, err));
}

/** The logistic function's rational approximation (Eigen's coefficients) that onnxruntime's MLAS evaluates. */
const LOGISTIC_NUMERATOR = [4.37031012579801e-11, 1.15627324459942e-7, 6.08574864600143e-5, 8.51377133304701e-3, 2.48287947061529e-1].map(Math.fround);
const LOGISTIC_DENOMINATOR = [6.10247389755681e-13, 5.76102136993427e-9, 6.29106785017040e-6, 1.70198817374094e-3, 1.16817656904453e-1, 9.93151921023180e-1].map(Math.fround);

/** Horner's rule in `square` with fused multiply-adds, as MLAS's FMA kernels evaluate its polynomials. */
function hornerFused(coefficients: readonly number[], square: number): number {
  let result = fusedMultiplyAdd32(square, coefficients[0]!, coefficients[1]!);
  for (let k = 2; k < coefficients.length; k++) result = fusedMultiplyAdd32(result, square, coefficients[k]!);
  return result;
}

/**
 * Sigmoid as onnxruntime computes float32 (and, through float32, float16) on CPU: p(x) / q(x) + 0.5 on x clamped
 * to [-18, 18], within a few float32 steps of the exact value; matching it bit for bit keeps a quantizer that
 * follows on the same side of every rounding boundary.
 */
function sigmoidFloat32(x: number): number {
  if (Number.isNaN(x)) return x;
  const clamped = Math.fround(Math.min(18, Math.max(-18, x)));
  const square = Math.fround(clamped * clamped);
  const p = Math.fround(hornerFused(LOGISTIC_NUMERATOR, square) * clamped);
  const q = hornerFused(LOGISTIC_DENOMINATOR, square);
  // The x86-64 kernel clamps at 0 only: near x = 18 a result may be one step above 1, as onnxruntime's is.
  return Math.max(0, Math.fround(Math.fround(p / q) + 0.5));
}

// ---- Scalar functions that Math lacks ----

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erf to near double precision: its Taylor series below |x| = 3 (alternating terms cost at most four of the
 * sixteen digits there), a continued fraction for erfc beyond, where 1 - erfc loses nothing; past 6 it is ±1.
 */
function erf(x: number): number {
  const z = Math.abs(x);
  if (Number.isNaN(x)) return NaN;
  if (z < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (z >= 6) return Math.sign(x);
  // erfc(z) = exp(-z^2) / sqrt(pi) / (z + (1/2) / (z + (2/2) / (z + (3/2) / ...))), evaluated from the tail.
  let fraction = z;
  for (let k = 60; k >= 1; k--) fraction = z + k / 2 / fraction;
  const erfc = Math.exp(-z * z) / (Math.sqrt(Math.PI) * fraction);
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** log(1 + e^x) without overflow for large x. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x; // keeps 0 and NaN
}

const SQRT_TWO_OVER_PI = Math.sqrt(2 / Math.PI);

// ---- Ops ----

const arithmetic: OpDef[] = [
  simple('Abs', 1, Math.abs, (x) => (x < 0n ? -x : x)),
  simple('Neg', 1, (x) => -x, (x) => -x),
  simple('Sign', 9, sign, (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n)),
  simple('Reciprocal', 1, (x) => 1 / x),
  simple('Sqrt', 1, Math.sqrt),
  simple('Exp', 1, Math.exp),
  simple('Log', 1, Math.log),
  simple('Ceil', 1, Math.ceil),
  simple('Floor', 1, Math.floor),
  simple('Round', 11, roundHalfEven),
  simple('Erf', 9, erf),
];

const trigonometric: OpDef[] = [
  simple('Sin', 7, Math.sin),
  simple('Cos', 7, Math.cos),
  simple('Tan', 7, Math.tan),
  simple('Asin', 7, Math.asin),
  simple('Acos', 7, Math.acos),
  simple('Atan', 7, Math.atan),
  simple('Sinh', 9, Math.sinh),
  simple('Cosh', 9, Math.cosh),
  simple('Asinh', 9, Math.asinh),
  simple('Acosh', 9, Math.acosh),
  simple('Atanh', 9, Math.atanh),
];

const activations: OpDef[] = [
  // max(0, x): NaN stays NaN.
  simple('Relu', 1, (x) => (x < 0 ? 0 : x), (x) => (x > 0n ? x : 0n), { kind: 'Relu' }),
  unaryOp({ name: 'Sigmoid', since: 1, number: () => sigmoid, float32: sigmoidFloat32 }),
  simple('Tanh', 1, Math.tanh, undefined, { kind: 'Tanh' }),
  simple('Softplus', 1, softplus),
  simple('Softsign', 1, (x) => x / (1 + Math.abs(x))),
  simple('HardSwish', 14, (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)), undefined, { kind: 'HardSwish' }),
  simple('Mish', 18, (x) => x * Math.tanh(softplus(x))),
  unaryOp({
    name: 'Elu',
    since: 1,
    attributes: { alpha: attr.float(1) },
    number: ({ alpha }) => (x) => (x >= 0 ? x : alpha * Math.expm1(x)),
  }),
  unaryOp({
    name: 'Celu',
    since: 12,
    attributes: { alpha: attr.float(1) },
    number: ({ alpha }) => (x) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha)),
  }),
  // Selu-1's schema rounds its defaults to 1.6732 and 1.0507; Selu-6 gives the float32 nearest the true values.
  ...[
    { since: 1, alpha: 1.6732, gamma: 1.0507 },
    { since: 6, alpha: 1.67326319217681884765625, gamma: 1.05070102214813232421875 },
  ].map(({ since, alpha, gamma }) =>
    unaryOp({
      name: 'Selu',
      since,
      attributes: { alpha: attr.float(alpha), gamma: attr.float(gamma) },
      number: ({ alpha, gamma }) => (x) => gamma * (x > 0 ? x : alpha * Math.expm1(x)),
    }),
  ),
  unaryOp({
    name: 'LeakyRelu',
    since: 1,
    attributes: { alpha: attr.float(0.01) },
    number: ({ alpha }) => (x) => (x >= 0 ? x : alpha * x),
    activation: ({ alpha }) => ({ kind: 'LeakyRelu', alpha }),
  }),
  unaryOp({
    name: 'ThresholdedRelu',
    since: 10,
    attributes: { alpha: attr.float(1) },
    number: ({ alpha }) => (x) => (x > alpha ? x : 0),
  }),
  unaryOp({
    name: 'HardSigmoid',
    since: 1,
    attributes: { alpha: attr.float(0.2), beta: attr.float(0.5) },
    number: ({ alpha, beta }) => (x) => Math.max(0, Math.min(1, alpha * x + beta)),
    activation: ({ alpha, beta }) => ({ kind: 'HardSigmoid', alpha, beta }),
  }),
  unaryOp({
    name: 'Shrink',
    since: 9,
    attributes: { bias: attr.float(0), lambd: attr.float(0.5) },
    number: ({ bias, lambd }) => (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0),
  }),
  unaryOp({
    name: 'Gelu',
    since: 20,
    attributes: { approximate: attr.string('none') },
    number: ({ approximate }) =>
      approximate === 'tanh'
        ? (x) => 0.5 * x * (1 + Math.tanh(SQRT_TWO_OVER_PI * (x + 0.044715 * x * x * x)))
        : (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  }),
];

/** Ops answering a yes/no question per element. */
const predicates: OpDef[] = [
  defineOp({
    name: 'IsNaN',
    since: 9,
    inputs: ['X'],
    outputs: ['Y'],
    infer: ({ inputTypes }) => [boolTypeLike(inputTypes[0])],
    kernel: ({ tensor }) => {
      const x = tensor(0);
      const values = numbersOf(x);
      return [boolTensor(x.dims, values.length, (i) => Number.isNaN(values[i]))];
    },
  }),
  defineOp({
    name: 'IsInf',
    since: 10,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: { detect_negative: attr.int(1), detect_positive: attr.int(1) },
    infer: ({ inputTypes }) => [boolTypeLike(inputTypes[0])],
    kernel: ({ tensor, attrs }) => {
      const x = tensor(0);
      const values = numbersOf(x);
      const positive = attrs.detect_positive !== 0;
      const negative = attrs.detect_negative !== 0;
      return [boolTensor(x.dims, values.length, (i) => (positive && values[i] === Infinity) || (negative && values[i] === -Infinity))];
    },
  }),
  defineOp({
    name: 'Not',
    since: 1,
    inputs: ['X'],
    outputs: ['Y'],
    infer: sameShapeAs(0),
    kernel: ({ tensor }) => {
      const x = tensor(0);
      const values = x.data as Uint8Array;
      return [boolTensor(x.dims, values.length, (i) => values[i] === 0)];
    },
  }),
];

/** Integer typed arrays wrap ~x into range on store, so one path serves signed and unsigned types. */
const bitwiseNot = defineOp({
  name: 'BitwiseNot',
  since: 18,
  inputs: ['X'],
  outputs: ['Y'],
  infer: sameShapeAs(0),
  kernel: ({ tensor }) => {
    const x = tensor(0);
    const out = allocate(x.type, x.size);
    if (isBigIntType(x.type)) {
      const values = x.data as BigIntArray;
      for (let i = 0; i < values.length; i++) (out as BigIntArray)[i] = ~values[i]!;
    } else {
      const values = x.data as Int32Array;
      for (let i = 0; i < values.length; i++) (out as Int32Array)[i] = ~values[i]!;
    }
    return [new Tensor(x.type, out, x.dims)];
  },
});

// ---- Clip: bounds were attributes before opset 11, optional scalar inputs since ----

/** Clamps x to [low, high] (either may be absent); NaN stays NaN, and low > high gives high, as the spec says. */
function clip(output: KernelContext['output'], x: Tensor, low: Tensor | number | undefined, high: Tensor | number | undefined): Tensor {
  if (isBigIntType(x.type)) {
    const lowBig = low === undefined ? undefined : typeof low === 'number' ? BigInt(Math.trunc(low)) : bigintsOf(low)[0]!;
    const highBig = high === undefined ? undefined : typeof high === 'number' ? BigInt(Math.trunc(high)) : bigintsOf(high)[0]!;
    const values = x.data as BigIntArray;
    const out = allocate(x.type, values.length) as BigIntArray;
    for (let i = 0; i < values.length; i++) {
      let value = values[i]!;
      if (lowBig !== undefined && value < lowBig) value = lowBig;
      if (highBig !== undefined && value > highBig) value = highBig;
      out[i] = value;
    }
    return new Tensor(x.type, out, x.dims);
  }
  const lowValue = low === undefined ? -Infinity : typeof low === 'number' ? low : numbersOf(low)[0]!;
  const highValue = high === undefined ? Infinity : typeof high === 'number' ? high : numbersOf(high)[0]!;
  if (isFloats(x.type)) return floatsInto(output, x, (values, out) => activate(values, out, 0, values.length, { kind: 'Clip', min: lowValue, max: highValue }));
  const values = numbersOf(x);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let value = values[i]!;
    if (value < lowValue) value = lowValue;
    if (value > highValue) value = highValue;
    out[i] = value;
  }
  return tensorFromNumbers(x.type, x.dims, out);
}

const FLOAT32_MAX = 3.4028234663852886e38;

const clipOps: OpDef[] = [
  defineOp({
    name: 'Clip',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { min: attr.float(-FLOAT32_MAX), max: attr.float(FLOAT32_MAX) },
    infer: sameShapeAs(0),
    kernel: ({ tensor, attrs, output }) => [clip(output, tensor(0), attrs.min, attrs.max)],
  }),
  defineOp({
    name: 'Clip',
    since: 11,
    inputs: ['input', 'min?', 'max?'],
    outputs: ['output'],
    infer: sameShapeAs(0),
    kernel: ({ tensor, optionalTensor, output }) => [clip(output, tensor(0), optionalTensor(1), optionalTensor(2))],
  }),
];

/** Identity passes any value through: a tensor, a sequence, or an optional (null when empty). */
const identity = defineOp({
  name: 'Identity',
  since: 1,
  inputs: ['input'],
  outputs: ['output'],
  infer: sameShapeAs(0),
  kernel: ({ inputs }) => [inputs[0] ?? null],
});

export const ops: OpDef[] = [...arithmetic, ...trigonometric, ...activations, ...predicates, bitwiseNot, ...clipOps, identity];
