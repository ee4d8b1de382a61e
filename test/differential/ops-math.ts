import type { AttributeWithDoc } from '../../src/core/graph.js';
import type { DataType } from '../../src/core/dtype.js';
import { writeNumbers } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import { float, int, int64s, ints, Random, repeat, singleNodeCase, string, type NodeInput, type OpCase, type OpGenerator } from './harness.js';

/**
 * Math families against onnxruntime-node: MatMul/Gemm, the broadcasting binary ops, unary math and
 * activations, Cast, the Reduce* family, ArgMax/ArgMin, the softmax family, CumSum, TopK and Einsum, plus
 * int64 values past 2^53 for the ops that must stay exact there. Corners the spec leaves open, or where
 * onnxruntime is wrong, are left out, each with a comment saying why.
 */

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers




/** Floats in [-scale, scale), with NaN, infinities and signed zeros mixed in a tenth of the time. */
function withSpecials(random: Random, dtype: DataType, shape: readonly number[], scale = 1): Tensor {
  return tensorOf(dtype, shape, () => (random.bool(0.1) ? random.pick([NaN, Infinity, -Infinity, 0, -0]) : (random.float() * 2 - 1) * scale));
}

/** A shape that broadcasts against `shape`: a suffix of it with some dims set to 1, sometimes with leading 1s. */
function broadcastPartner(random: Random, shape: readonly number[]): number[] {
  const suffix = shape.slice(random.int(0, shape.length)).map((dim) => (random.bool(0.3) ? 1 : dim));
  return random.bool(0.15) && suffix.length < 5 ? [1, ...suffix] : suffix;
}

/** A tensor whose elements come from `value(i)`, encoded as `dtype`. */
function tensorOf(dtype: DataType, shape: readonly number[], value: (i: number) => number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return new Tensor(dtype, writeNumbers(dtype, Array.from({ length: count }, (_, i) => value(i))), shape);
}

/** Small integers (as any dtype), so float ties and exact integer results both occur. */
function smallInts(random: Random, dtype: DataType, shape: readonly number[], low = -3, high = 3): Tensor {
  return tensorOf(dtype, shape, () => random.int(low, high));
}

/** A graph input, or an initializer a third of the time. */
function input(random: Random, name: string, value: Tensor): NodeInput {
  return { name, value, constant: random.bool(0.3) };
}

/** `attributes` half the time, otherwise none (the spec defaults). */
function sometimes(random: Random, attributes: Record<string, AttributeWithDoc>): Record<string, AttributeWithDoc> {
  return random.bool() ? attributes : {};
}

const isFloat = (dtype: DataType): boolean => dtype === 'float32' || dtype === 'float64' || dtype === 'float16';

// ---------------------------------------------------------------------------------------------------------------
// MatMul and Gemm

/** A MatMul case; `bigInt64` makes int64 operands near ±2^28, whose products need more than a double's 53 bits. */
function matMulCase(random: Random, bigInt64 = false): OpCase {
  // Zero-sized M, K or N now and then: K = 0 gives zeros.
  const m = random.int(random.bool(0.05) ? 0 : 1, 7);
  const k = random.int(random.bool(0.05) ? 0 : 1, 9);
  const n = random.int(random.bool(0.05) ? 0 : 1, 7);
  const batch = random.dims(random.int(0, 2), 1, 3);
  const rankA = random.int(1, 2 + batch.length);
  // onnxruntime cannot multiply an empty A (M = 0) by a 1-D B ("left operand cannot broadcast"): B is 2-D+ then.
  const rankB = random.int(m === 0 ? 2 : 1, 2 + batch.length);
  // Batch dims of each operand: the shared batch shape with some dims 1, cut or padded to the operand's rank.
  const batchOf = (rank: number): number[] => padTo(broadcastPartner(random, batch), rank - 2);
  const a = rankA === 1 ? [k] : [...batchOf(rankA), m, k];
  const b = rankB === 1 ? [k] : [...batchOf(rankB), k, n];
  const dtype: DataType = bigInt64 ? 'int64' : random.pick(['float32', 'float32', 'float64', 'int32', 'int64']);
  const value = (shape: number[]): Tensor =>
    bigInt64 ? bigInt64s(random, shape, 28) : isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape);
  return singleNodeCase(`MatMul ${dtype} a[${a}] b[${b}]`, {
    opType: 'MatMul',
    opset: 13,
    inputs: [input(random, 'a', value(a)), input(random, 'b', value(b))],
    outputs: ['y'],
  });
}

/** `shape` cut or padded with 1s at the front to exactly `rank` dims. */
function padTo(shape: number[], rank: number): number[] {
  const cut = shape.slice(Math.max(0, shape.length - rank));
  return [...Array<number>(rank - cut.length).fill(1), ...cut];
}

function gemmCase(random: Random): OpCase {
  const [m, k, n] = [random.int(1, 7), random.int(1, 9), random.int(1, 7)];
  const transA = random.int(0, 1);
  const transB = random.int(0, 1);
  const opset = random.pick([7, 9, 11, 13]);
  // C is required before opset 11.
  const cShape = random.pick<number[] | undefined>([
    ...(opset >= 11 ? [undefined] : []),
    [],
    [1],
    [n],
    [1, n],
    [m, 1],
    [m, n],
  ]);
  const attributes: Record<string, AttributeWithDoc> = { transA: int(transA), transB: int(transB) };
  if (random.bool()) attributes.alpha = float(random.pick([0, 0.5, -1.25, 2]));
  if (random.bool()) attributes.beta = float(random.pick([0, 0.5, -1, 3]));
  const a = transA ? [k, m] : [m, k];
  const b = transB ? [n, k] : [k, n];
  return singleNodeCase(`Gemm opset ${opset} a[${a}] b[${b}] c[${cShape ?? 'none'}] ${JSON.stringify(attributes)}`, {
    opType: 'Gemm',
    opset,
    inputs: [
      input(random, 'a', random.tensor('float32', a)),
      input(random, 'b', random.tensor('float32', b)),
      cShape ? input(random, 'c', random.tensor('float32', cShape)) : undefined,
    ],
    outputs: ['y'],
    attributes,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Binary and variadic elementwise ops

/** Two broadcasting operand shapes, in either order. */
function operandShapes(random: Random): [number[], number[]] {
  const a = random.sometimesEmpty(random.dims(random.int(0, 4)));
  const b = broadcastPartner(random, a);
  return random.bool() ? [a, b] : [b, a];
}

interface BinarySpec {
  opType: string;
  opset: number;
  dtypes: DataType[];
  /** Operand values for a dtype; defaults to floats in [-1, 1) or integers in [-5, 5]. */
  values?: (random: Random, dtype: DataType, shape: number[], which: 0 | 1) => Tensor;
  attributes?: (random: Random, dtype: DataType) => Record<string, AttributeWithDoc>;
}

function binaryGenerator(spec: BinarySpec, label = spec.opType): OpGenerator {
  return {
    op: label,
    cases: (random, count) =>
      repeat(count, () => {
        const dtype = random.pick(spec.dtypes);
        const [a, b] = operandShapes(random);
        const value = spec.values ?? ((r: Random, t: DataType, shape: number[]) => r.tensor(t, shape));
        const attributes = spec.attributes?.(random, dtype) ?? {};
        return singleNodeCase(`${spec.opType} ${dtype} a[${a}] b[${b}] ${JSON.stringify(attributes)}`, {
          opType: spec.opType,
          opset: spec.opset,
          inputs: [input(random, 'a', value(random, dtype, a, 0)), input(random, 'b', value(random, dtype, b, 1))],
          outputs: ['c'],
          attributes,
        });
      }),
  };
}

/** Div / Mod operands: integer divisors are never 0 (undefined), float ones sometimes are (IEEE: ±inf, NaN). */
function nonZeroDivisor(random: Random, dtype: DataType, shape: number[], which: 0 | 1): Tensor {
  if (which === 0) return isFloat(dtype) ? withSpecials(random, dtype, shape, 5) : smallInts(random, dtype, shape, dtype.startsWith('u') ? 0 : -20, 20);
  if (isFloat(dtype)) return tensorOf(dtype, shape, () => (random.bool(0.05) ? 0 : (random.bool() ? 1 : -1) * (0.25 + random.float() * 3)));
  return tensorOf(dtype, shape, () => (dtype.startsWith('u') || random.bool() ? 1 : -1) * random.int(1, 7));
}

/** Pow: positive float bases with any exponent, negative bases with integral exponents; integer powers stay small. */
function powOperands(random: Random, dtype: DataType, shape: number[], which: 0 | 1): Tensor {
  // IEEE pow's special cases now and then, where C's pow and JS's ** differ: pow(1, NaN) = 1, pow(-1, ±inf) = 1.
  if (isFloat(dtype) && random.bool(0.2)) return tensorOf(dtype, shape, () => random.pick([1, -1, 0, -0, NaN, Infinity, -Infinity, 2, 0.5]));
  if (which === 0) return isFloat(dtype) ? tensorOf(dtype, shape, () => random.int(-3, 3) + (random.bool() ? random.float() : 0)) : smallInts(random, dtype, shape, -4, 4);
  return isFloat(dtype) ? tensorOf(dtype, shape, () => random.int(0, 3)) : smallInts(random, dtype, shape, 0, 4);
}

/** Pow with base and exponent of different types (allowed since opset 12). */
const powMixed: OpGenerator = {
  op: 'Pow (mixed types)',
  cases: (random, count) =>
    repeat(count, () => {
      const [baseType, exponentType] = random.pick<[DataType, DataType]>([
        ['float32', 'int32'],
        ['float32', 'int64'],
        ['float32', 'float64'],
        ['int32', 'float32'],
        ['int64', 'int64'],
        ['float64', 'float32'],
      ]);
      const [a, b] = operandShapes(random);
      // A float exponent on an integer base: keep the exponent integral so the cast back to int is exact.
      const base = isFloat(baseType) ? random.tensor(baseType, a) : smallInts(random, baseType, a, -4, 4);
      const exponent = smallInts(random, exponentType, b, 0, 3);
      return singleNodeCase(`Pow ${baseType}^${exponentType} a[${a}] b[${b}]`, {
        opType: 'Pow',
        opset: 15,
        inputs: [input(random, 'a', base), input(random, 'b', exponent)],
        outputs: ['c'],
      });
    }),
};

/** Variadic Max/Min/Sum/Mean: one to four inputs, all broadcasting together. */
function variadicGenerator(opType: string, dtypes: DataType[]): OpGenerator {
  return {
    op: `${opType} (variadic)`,
    cases: (random, count) =>
      repeat(count, () => {
        const dtype = random.pick(dtypes);
        const full = random.dims(random.int(0, 4));
        const shapes = Array.from({ length: random.int(1, 4) }, () => (random.bool(0.4) ? full : broadcastPartner(random, full)));
        // Integer types arrived in opset 12.
        const opset = isFloat(dtype) ? random.pick([8, 13]) : random.pick([12, 13]);
        const specials = random.bool(0.3);
        const value = (shape: number[]): Tensor =>
          isFloat(dtype) ? (specials ? withSpecials(random, dtype, shape) : random.tensor(dtype, shape)) : smallInts(random, dtype, shape);
        return singleNodeCase(`${opType} opset ${opset} ${dtype} ${shapes.map((shape) => `[${shape}]`).join(' ')}`, {
          opType,
          opset,
          inputs: shapes.map((shape, i) => input(random, `x${i}`, value(shape))),
          outputs: ['y'],
        });
      }),
  };
}

const whereGenerator: OpGenerator = {
  op: 'Where',
  cases: (random, count) =>
    repeat(count, () => {
      const full = random.dims(random.int(0, 4));
      const [cond, x, y] = [0, 1, 2].map(() => (random.bool(0.3) ? full : broadcastPartner(random, full)));
      const dtype = random.pick<DataType>(['float32', 'int32', 'int64', 'uint8']); // onnxruntime has no bool Where kernel
      const value = (shape: number[]): Tensor => (isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape, 0, 5));
      return singleNodeCase(`Where ${dtype} cond[${cond}] x[${x}] y[${y}]`, {
        opType: 'Where',
        opset: 16,
        inputs: [input(random, 'cond', smallInts(random, 'bool', cond!, 0, 1)), input(random, 'x', value(x!)), input(random, 'y', value(y!))],
        outputs: ['z'],
      });
    }),
};

/** Comparisons on small integers so equal elements occur, in float and integer types. */
const comparisonGenerators = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'].map((opType) =>
  binaryGenerator({
    opType,
    opset: opType.endsWith('OrEqual') ? 16 : 13,
    dtypes: ['float32', 'int32', 'int64', 'uint8', 'float64'],
    values: (random, dtype, shape) =>
      isFloat(dtype) && random.bool(0.3) ? withSpecials(random, dtype, shape, 2) : smallInts(random, dtype, shape, dtype === 'uint8' ? 0 : -2, 2),
  }),
);

const logicalGenerators = ['And', 'Or', 'Xor'].map((opType) =>
  binaryGenerator({ opType, opset: 7, dtypes: ['bool'], values: (random, dtype, shape) => smallInts(random, dtype, shape, 0, 1) }),
);

const UNSIGNED_BITS: Partial<Record<DataType, number>> = { uint8: 8, uint16: 16, uint32: 32, uint64: 64 };

const bitShiftGenerator = binaryGenerator({
  opType: 'BitShift',
  opset: 11,
  dtypes: ['uint8', 'uint32', 'uint64'],
  // Shifting by the bit width or more is undefined in C++ (and ORT); the spec does not say, so shifts stay below it.
  values: (random, dtype, shape, which) =>
    which === 0 ? smallInts(random, dtype, shape, 0, 255) : smallInts(random, dtype, shape, 0, UNSIGNED_BITS[dtype]! - 1),
  attributes: (random) => ({ direction: string(random.pick(['LEFT', 'RIGHT'])) }),
});

const bitwiseGenerators = ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor'].map((opType) =>
  binaryGenerator({
    opType,
    opset: 18,
    dtypes: ['int32', 'int64', 'uint8', 'int8', 'uint16'],
    values: (random, dtype, shape) => smallInts(random, dtype, shape, dtype.startsWith('u') ? 0 : -100, 100),
  }),
);

// ---------------------------------------------------------------------------------------------------------------
// Unary math and activations

interface UnarySpec {
  opType: string;
  opset: number;
  dtypes?: DataType[];
  /** Input range scale: floats are drawn in [-scale, scale). */
  scale?: number;
  attributes?: (random: Random) => Record<string, AttributeWithDoc>;
}

function unaryGenerator(spec: UnarySpec): OpGenerator {
  return {
    op: spec.opType,
    cases: (random, count) =>
      repeat(count, () => {
        const dtype = random.pick<DataType>(spec.dtypes ?? ['float32']);
        const shape = random.sometimesEmpty(random.dims(random.int(0, 4), 1, 6));
        const x = isFloat(dtype) ? withSpecials(random, dtype, shape, spec.scale ?? 4) : tensorOf(dtype, shape, () => (random.float() * 2 - 1) * (spec.scale ?? 4));
        const attributes = spec.attributes?.(random) ?? {};
        return singleNodeCase(`${spec.opType} ${dtype} x[${shape}] ${JSON.stringify(attributes)}`, {
          opType: spec.opType,
          opset: spec.opset,
          inputs: [input(random, 'x', x)],
          outputs: ['y'],
          attributes,
        });
      }),
  };
}

/** Round: exact halves (ties to even), near-halves, negatives and whole numbers. */
const roundGenerator: OpGenerator = {
  op: 'Round',
  cases: (random, count) =>
    repeat(count, () => {
      const dtype = random.pick<DataType>(['float32', 'float64', 'float16']);
      const shape = random.dims(random.int(1, 3), 1, 6);
      const x = tensorOf(dtype, shape, () => random.int(-6, 6) / 2 + (random.bool(0.3) ? (random.float() - 0.5) * 0.1 : 0));
      return singleNodeCase(`Round ${dtype} x[${shape}]`, { opType: 'Round', opset: 11, inputs: [input(random, 'x', x)], outputs: ['y'] });
    }),
};

/** Clip: bounds as attributes (opset 6) or optional inputs (11/12/13, each present or not), float and int. */
const clipGenerator: OpGenerator = {
  op: 'Clip',
  cases: (random, count) =>
    repeat(count, () => {
      // Opset 10 still means Clip-6, with the bounds as attributes.
      const opset = random.pick([10, 11, 12, 13]);
      // Integer Clip arrived in opset 12.
      const dtype = random.pick<DataType>(opset >= 12 ? ['float32', 'int32', 'int64', 'uint8', 'float64'] : ['float32']);
      const shape = random.dims(random.int(0, 4), 1, 6);
      const x = isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape, dtype === 'uint8' ? 0 : -6, 6);
      const bound = (): number => (isFloat(dtype) ? random.int(-4, 4) / 4 : random.int(dtype === 'uint8' ? 0 : -4, 4));
      let low = random.bool(0.7) ? bound() : undefined;
      let high = random.bool(0.7) ? bound() : undefined;
      // min > max: Clip-11+ says every output is max; Clip-6 says nothing and onnxruntime refuses it, so order them there.
      if (low !== undefined && high !== undefined && low > high && (opset === 10 || random.bool(0.7))) [low, high] = [high, low];
      const label = `Clip opset ${opset} ${dtype} x[${shape}] min=${low} max=${high}`;
      if (opset === 10) {
        const attributes: Record<string, AttributeWithDoc> = {};
        if (low !== undefined) attributes.min = float(low);
        if (high !== undefined) attributes.max = float(high);
        return singleNodeCase(label, { opType: 'Clip', opset, inputs: [input(random, 'x', x)], outputs: ['y'], attributes });
      }
      const scalar = (value: number | undefined, name: string): NodeInput | undefined =>
        value === undefined ? undefined : input(random, name, tensorOf(dtype, [], () => value));
      const inputs = [input(random, 'x', x), scalar(low, 'min'), scalar(high, 'max')];
      while (inputs.length > 1 && inputs[inputs.length - 1] === undefined) inputs.pop();
      return singleNodeCase(label, { opType: 'Clip', opset, inputs, outputs: ['y'] });
    }),
};

const unaryGenerators: OpGenerator[] = [
  unaryGenerator({ opType: 'Sigmoid', opset: 13, dtypes: ['float32', 'float64'], scale: 20 }),
  unaryGenerator({ opType: 'Tanh', opset: 13, dtypes: ['float32', 'float64'], scale: 10 }),
  unaryGenerator({ opType: 'Erf', opset: 13, dtypes: ['float32'], scale: 4 }),
  unaryGenerator({ opType: 'Gelu', opset: 20, scale: 5, attributes: (random) => sometimes(random, { approximate: string(random.pick(['none', 'tanh'])) }) }),
  unaryGenerator({ opType: 'HardSwish', opset: 14, scale: 5 }),
  unaryGenerator({ opType: 'HardSigmoid', opset: 7, scale: 5, attributes: (random) => sometimes(random, { alpha: float(0.3), beta: float(0.4) }) }),
  unaryGenerator({ opType: 'Elu', opset: 7, scale: 3, attributes: (random) => sometimes(random, { alpha: float(random.pick([0.5, 2])) }) }),
  unaryGenerator({ opType: 'Selu', opset: 7, scale: 3, attributes: (random) => sometimes(random, { alpha: float(1.5), gamma: float(0.8) }) }),
  unaryGenerator({ opType: 'LeakyRelu', opset: 16, scale: 3, attributes: (random) => sometimes(random, { alpha: float(random.pick([0.2, -0.5, 1.5])) }) }),
  unaryGenerator({ opType: 'Softplus', opset: 7, scale: 30 }),
  unaryGenerator({ opType: 'Softsign', opset: 7, scale: 5 }),
  unaryGenerator({ opType: 'Relu', opset: 14, dtypes: ['float32', 'int32', 'int8'], scale: 5 }),
  unaryGenerator({ opType: 'Neg', opset: 13, dtypes: ['float32', 'int32', 'int64', 'int8'], scale: 50 }),
  unaryGenerator({ opType: 'Abs', opset: 13, dtypes: ['float32', 'int32', 'int64', 'int8'], scale: 50 }),
  unaryGenerator({ opType: 'Sign', opset: 13, dtypes: ['float32', 'int32', 'int64'], scale: 2 }),
  unaryGenerator({ opType: 'Floor', opset: 13, dtypes: ['float32', 'float64'] }),
  unaryGenerator({ opType: 'Ceil', opset: 13, dtypes: ['float32', 'float64'] }),
  unaryGenerator({ opType: 'Exp', opset: 13, dtypes: ['float32', 'float64'], scale: 10 }),
  unaryGenerator({ opType: 'Reciprocal', opset: 13, dtypes: ['float32'], scale: 4 }),
  unaryGenerator({ opType: 'BitwiseNot', opset: 18, dtypes: ['int32', 'uint8', 'int64', 'uint16'], scale: 100 }),
  roundGenerator,
  clipGenerator,
];

// ---------------------------------------------------------------------------------------------------------------
// Cast

/** Values that reach the corners of each conversion: halves, negatives, out of range of narrow types. */
const castGenerator: OpGenerator = {
  op: 'Cast',
  cases: (random, count) =>
    repeat(count, () => {
      const from = random.pick<DataType>(['float32', 'float64', 'float16', 'int32', 'int64', 'int8', 'uint8', 'int16', 'uint16', 'uint32', 'uint64', 'bool']);
      // No bfloat16: onnxruntime-node cannot hand a bfloat16 tensor back to JS.
      const to = random.pick<DataType>(['float32', 'float64', 'float16', 'int32', 'int64', 'int8', 'uint8', 'int16', 'uint16', 'uint32', 'uint64', 'bool']);
      const shape = random.dims(random.int(0, 3), 1, 6);
      const x = castSource(random, from, to, shape);
      return singleNodeCase(`Cast ${from}->${to} x[${shape}]`, {
        opType: 'Cast',
        opset: random.pick([13, 19]),
        inputs: [input(random, 'x', x)],
        outputs: ['y'],
        attributes: { to: int(onnxCode(to)) },
      });
    }),
};

const ONNX_CODES: Partial<Record<DataType, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13,
};
const onnxCode = (dtype: DataType): number => ONNX_CODES[dtype]!;

const INTEGER_RANGE: Partial<Record<DataType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1], int64: [-(2 ** 53), 2 ** 53], uint64: [0, 2 ** 53], bool: [0, 1],
};

/** Values at the edges of float-to-float casts: overflow to infinity, float16 subnormals and rounding ties. */
const FLOAT_EDGES = [NaN, Infinity, -Infinity, -0, 65504, 65519, 65520, -70000, 1e-5, 6e-8, 2e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3.4e38, 1e39, 1e-46, 0.1];

function castSource(random: Random, from: DataType, to: DataType, shape: number[]): Tensor {
  const target = INTEGER_RANGE[to];
  if (isFloat(from) && !target) return tensorOf(from, shape, () => (random.bool(0.4) ? random.pick(FLOAT_EDGES) : (random.float() * 2 - 1) * 300));
  if (isFloat(from)) {
    // Float to integer: C++ (and so ORT) leaves out-of-range conversions undefined, and so does the spec, so values
    // stay inside the target's range; a negative float to an unsigned type is out of range too.
    const [low, high] = target ? [Math.max(target[0], -300), Math.min(target[1], 300)] : [-300, 300];
    const spread = to === 'bool' ? 2 : high - low;
    return tensorOf(from, shape, () => {
      const value = to === 'bool' ? random.pick([0, -0, -0.5, 1, 2.5, -3, NaN, Infinity]) : low + random.float() * spread;
      return random.bool(0.2) ? Math.round(value * 2) / 2 : value;
    });
  }
  // Integer sources: any value of the source type; narrowing integer casts wrap (two's complement), as in numpy,
  // and big ones round when they become floats (2^24 + 1 in float32, 70000 overflows float16).
  const [low, high] = INTEGER_RANGE[from]!;
  const value = (): number => {
    if (random.bool(0.4)) return random.int(-3, 3);
    if (random.bool(0.3)) return random.int(low, high);
    return random.pick([2 ** 24 + 1, 70000, 65505, -40000, 2 ** 31 + 5, 2 ** 33 - 1, 255, 256, -129, 2 ** 53]);
  };
  return tensorOf(from, shape, () => Math.min(high, Math.max(low, value())));
}

// ---------------------------------------------------------------------------------------------------------------
// Reduce*, ArgMax/ArgMin

const REDUCE_OPS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** Distinct axes of a rank-`rank` tensor, each given as positive or negative at random. */
function randomAxes(random: Random, rank: number, atLeast = 0): number[] {
  const axes = Array.from({ length: rank }, (_, axis) => axis).filter(() => random.bool(0.4));
  while (axes.length < Math.min(atLeast, rank)) {
    const axis = random.int(0, rank - 1);
    if (!axes.includes(axis)) axes.push(axis);
  }
  return axes.map((axis) => (random.bool() ? axis - rank : axis));
}

function reduceGenerator(opType: string): OpGenerator {
  return {
    op: opType,
    cases: (random, count) =>
      repeat(count, () => {
        // Axes moved from attribute to input: opset 13 for ReduceSum, 18 for the rest.
        const opset = random.pick(opType === 'ReduceSum' ? [11, 13] : [11, 13, 18]);
        const axesAsInput = opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
        const integerAllowed = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceSumSquare'].includes(opType);
        const dtype = random.pick<DataType>(integerAllowed ? ['float32', 'float32', 'int32', 'int64'] : ['float32', 'float64']);
        // The spec leaves the mean of an empty set undefined (onnxruntime gives 0, numpy NaN): no empty ReduceMean.
        const shape = opType === 'ReduceMean' ? random.dims(random.int(0, 4), 1, 5) : random.sometimesEmpty(random.dims(random.int(0, 4), 1, 5));
        const positive = opType === 'ReduceLogSum'; // log of a negative sum is NaN on both sides; keep it meaningful
        const x = isFloat(dtype)
          ? tensorOf(dtype, shape, () => (positive ? 0.1 + random.float() : random.float() * 2 - 1))
          : smallInts(random, dtype, shape, opType === 'ReduceProd' ? -2 : -5, opType === 'ReduceProd' ? 2 : 5);
        // onnxruntime ignores negative axes when the input is empty (x[3,0] axes=[-2] keeps [3,0]): positive ones there.
        const axes = random.bool(0.25) ? [] : randomAxes(random, shape.length).map((axis) => (shape.includes(0) && axis < 0 ? axis + shape.length : axis));
        const attributes: Record<string, AttributeWithDoc> = {};
        if (random.bool()) attributes.keepdims = int(random.int(0, 1));
        const inputs: (NodeInput | undefined)[] = [input(random, 'x', x)];
        if (axesAsInput) {
          if (random.bool()) attributes.noop_with_empty_axes = int(random.int(0, 1));
          // Empty axes: either an empty tensor or the input left out altogether.
          if (axes.length > 0 || random.bool()) inputs.push({ name: 'axes', value: int64s(axes), constant: random.bool(0.6) });
        } else if (axes.length > 0) {
          attributes.axes = ints(axes);
        }
        return singleNodeCase(`${opType} opset ${opset} ${dtype} x[${shape}] axes=[${axes}]${axesAsInput ? ' (input)' : ''} ${JSON.stringify(attributes)}`, {
          opType,
          opset,
          inputs,
          outputs: ['y'],
          attributes,
        });
      }),
  };
}

function argGenerator(opType: 'ArgMax' | 'ArgMin'): OpGenerator {
  return {
    op: opType,
    cases: (random, count) =>
      repeat(count, () => {
        const opset = random.pick([11, 12, 13]);
        const dtype = random.pick<DataType>(['float32', 'int32', 'int64', 'float64', 'uint8']);
        const shape = random.dims(random.int(1, 4), 1, 5);
        // Small integers so ties are common and select_last_index matters.
        const x = smallInts(random, dtype, shape, dtype === 'uint8' ? 0 : -2, 2);
        const axis = random.int(-shape.length, shape.length - 1);
        const attributes: Record<string, AttributeWithDoc> = { axis: int(axis) };
        if (random.bool()) attributes.keepdims = int(random.int(0, 1));
        if (opset >= 12 && random.bool(0.6)) attributes.select_last_index = int(random.int(0, 1));
        return singleNodeCase(`${opType} opset ${opset} ${dtype} x[${shape}] ${JSON.stringify(attributes)}`, {
          opType,
          opset,
          inputs: [input(random, 'x', x)],
          outputs: ['y'],
          attributes,
        });
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax family, CumSum, TopK, Einsum

function softmaxGenerator(opType: 'Softmax' | 'LogSoftmax' | 'Hardmax'): OpGenerator {
  return {
    op: opType,
    cases: (random, count) =>
      repeat(count, () => {
        // Opset 11 flattens to 2-D at `axis`; opset 13 works along the one axis.
        const opset = random.pick([11, 13]);
        const shape = random.sometimesEmpty(random.dims(random.int(1, 4), 1, 6));
        // Large magnitudes now and then, where a softmax that does not subtract the max overflows.
        const scale = random.pick([1, 20, 1000]);
        const x = opType === 'Hardmax' ? smallInts(random, 'float32', shape, -2, 2) : tensorOf('float32', shape, () => (random.float() * 2 - 1) * scale);
        // The opset-11 default axis is 1, out of range (and rejected by onnxruntime) for rank 1: give one there.
        const defaultAxisValid = opset >= 13 || shape.length > 1;
        const attributes: Record<string, AttributeWithDoc> = !defaultAxisValid || random.bool(0.8) ? { axis: int(random.int(-shape.length, shape.length - 1)) } : {};
        return singleNodeCase(`${opType} opset ${opset} x[${shape}] ${JSON.stringify(attributes)}`, {
          opType,
          opset,
          inputs: [input(random, 'x', x)],
          outputs: ['y'],
          attributes,
        });
      }),
  };
}

const cumSumGenerator: OpGenerator = {
  op: 'CumSum',
  cases: (random, count) =>
    repeat(count, () => {
      const dtype = random.pick<DataType>(['float32', 'int32', 'int64', 'float64']);
      const shape = random.sometimesEmpty(random.dims(random.int(1, 4), 1, 6));
      const x = isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape);
      const axis = random.int(-shape.length, shape.length - 1);
      const axisType = random.pick<DataType>(['int32', 'int64']);
      const attributes: Record<string, AttributeWithDoc> = {};
      if (random.bool(0.6)) attributes.exclusive = int(random.int(0, 1));
      if (random.bool(0.6)) attributes.reverse = int(random.int(0, 1));
      return singleNodeCase(`CumSum ${dtype} x[${shape}] axis=${axis} (${axisType}) ${JSON.stringify(attributes)}`, {
        opType: 'CumSum',
        opset: 14,
        inputs: [input(random, 'x', x), input(random, 'axis', tensorOf(axisType, random.bool() ? [] : [1], () => axis))],
        outputs: ['y'],
        attributes,
      });
    }),
};

const topKGenerator: OpGenerator = {
  op: 'TopK',
  cases: (random, count) =>
    repeat(count, () => {
      const opset = random.pick([10, 11]);
      const dtype = random.pick<DataType>(opset >= 11 ? ['float32', 'int32', 'int64', 'float64'] : ['float32']);
      const shape = random.dims(random.int(1, 4), 1, 6);
      const axis = random.int(-shape.length, shape.length - 1);
      const k = random.int(0, shape[axis < 0 ? axis + shape.length : axis]!);
      // Ties are common; opset 11 says the lower index comes first.
      const x = random.bool() ? smallInts(random, dtype, shape, -2, 2) : isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape, -50, 50);
      const attributes: Record<string, AttributeWithDoc> = { axis: int(axis) };
      if (opset >= 11 && random.bool()) attributes.largest = int(random.int(0, 1));
      // sorted=0 leaves the output order unspecified, so it is asked for only where one order exists (k <= 1).
      if (opset >= 11 && k <= 1 && random.bool()) attributes.sorted = int(0);
      return singleNodeCase(`TopK opset ${opset} ${dtype} x[${shape}] k=${k} ${JSON.stringify(attributes)}`, {
        opType: 'TopK',
        opset,
        inputs: [input(random, 'x', x), input(random, 'k', int64s([k]))],
        outputs: ['values', 'indices'],
        attributes,
      });
    }),
};

/** Einsum equations: matmul, batched, transposes, traces, diagonals, outer products, ellipses, implicit output. */
const EINSUM_EQUATIONS: { equation: string; shapes: (d: number[]) => number[][] }[] = [
  { equation: 'ij,jk->ik', shapes: ([i, j, k]) => [[i!, j!], [j!, k!]] },
  { equation: 'bij,bjk->bik', shapes: ([b, i, j, k]) => [[b!, i!, j!], [b!, j!, k!]] },
  { equation: 'ij->ji', shapes: ([i, j]) => [[i!, j!]] },
  { equation: 'ii->i', shapes: ([i]) => [[i!, i!]] },
  { equation: 'ii', shapes: ([i]) => [[i!, i!]] },
  { equation: 'i,i->', shapes: ([i]) => [[i!], [i!]] },
  { equation: 'i,j->ij', shapes: ([i, j]) => [[i!], [j!]] },
  { equation: 'ij->', shapes: ([i, j]) => [[i!, j!]] },
  { equation: 'ij,kj->ik', shapes: ([i, j, k]) => [[i!, j!], [k!, j!]] },
  { equation: 'ij,jk', shapes: ([i, j, k]) => [[i!, j!], [j!, k!]] },
  { equation: 'bhid,bhjd->bhij', shapes: ([b, h, i, j]) => [[b!, h!, i!, 3], [b!, h!, j!, 3]] },
  { equation: '...ij,...jk->...ik', shapes: ([b, i, j, k]) => [[b!, i!, j!], [b!, j!, k!]] },
  { equation: '...i->...', shapes: ([a, b, c]) => [[a!, b!, c!]] },
  { equation: 'ijk->kji', shapes: ([i, j, k]) => [[i!, j!, k!]] },
  { equation: 'i,i,i->i', shapes: ([i]) => [[i!], [i!], [i!]] },
  { equation: 'ij,ij->i', shapes: ([i, j]) => [[i!, j!], [i!, j!]] },
  { equation: 'ij,ij->ij', shapes: ([i, j]) => [[i!, j!], [i!, j!]] },
  { equation: 'ij,jk,kl->il', shapes: ([i, j, k, l]) => [[i!, j!], [j!, k!], [k!, l!]] },
  { equation: 'bn,anm,bm->ba', shapes: ([b, n, a, m]) => [[b!, n!], [a!, n!, m!], [b!, m!]] },
  { equation: '...ij,jk->...ik', shapes: ([b, i, j, k]) => [[2, b!, i!, j!], [j!, k!]] },
  { equation: 'Ij,jK->IK', shapes: ([i, j, k]) => [[i!, j!], [j!, k!]] },
  { equation: 'iij->j', shapes: ([i, j]) => [[i!, i!, j!]] },
  { equation: 'i', shapes: ([i]) => [[i!]] },
  { equation: 'ba,ca', shapes: ([b, a, c]) => [[b!, a!], [c!, a!]] },
];

const einsumGenerator: OpGenerator = {
  op: 'Einsum',
  cases: (random, count) =>
    repeat(count, () => {
      const { equation, shapes } = random.pick(EINSUM_EQUATIONS);
      const dtype = random.pick<DataType>(['float32', 'float32', 'int32', 'int64', 'float64']);
      const operands = shapes(random.dims(4, 1, 5));
      return singleNodeCase(`Einsum '${equation}' ${dtype} ${operands.map((shape) => `[${shape}]`).join(' ')}`, {
        opType: 'Einsum',
        opset: 12,
        inputs: operands.map((shape, i) => input(random, `x${i}`, isFloat(dtype) ? random.tensor(dtype, shape) : smallInts(random, dtype, shape))),
        outputs: ['y'],
        attributes: { equation: string(equation) },
      });
    }),
};

// ---------------------------------------------------------------------------------------------------------------
// int64 beyond 2^53, where a double no longer tells neighbouring integers apart

/**
 * int64 values near ±2^`bits` that differ in their lowest bits (so a float64 detour merges them), built as
 * bigints so every bit is as drawn.
 */
function bigInt64s(random: Random, shape: readonly number[], bits: number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const base = 1n << BigInt(bits);
  const data = BigInt64Array.from({ length: count }, () => (random.bool() ? 1n : -1n) * (base + BigInt(random.int(0, 3))));
  return new Tensor('int64', data, shape);
}

interface BigIntSpec {
  opType: string;
  opset: number;
  /** Bits of the operand magnitudes, chosen so results stay inside int64 (overflow is not defined by ONNX). */
  bits: number;
  inputs: number;
  attributes?: (random: Random, rank: number) => Record<string, AttributeWithDoc>;
  /** Extra inputs after the int64 operands (axes, k). */
  extra?: (random: Random, shape: number[]) => NodeInput[];
  outputs?: string[];
}

function bigIntGenerator(spec: BigIntSpec): OpGenerator {
  return {
    op: `${spec.opType} (int64 > 2^53)`,
    cases: (random, count) =>
      repeat(count, () => {
        const shape = random.dims(random.int(1, 3), 1, 5);
        const shapes = Array.from({ length: spec.inputs }, (_, i) => (i === 0 ? shape : broadcastPartner(random, shape)));
        const attributes = spec.attributes?.(random, shape.length) ?? {};
        return singleNodeCase(`${spec.opType} int64 2^${spec.bits} ${shapes.map((s) => `[${s}]`).join(' ')} ${JSON.stringify(attributes)}`, {
          opType: spec.opType,
          opset: spec.opset,
          inputs: [...shapes.map((s, i) => input(random, `x${i}`, bigInt64s(random, s, spec.bits))), ...(spec.extra?.(random, shape) ?? [])],
          outputs: spec.outputs ?? ['y'],
          attributes,
        });
      }),
  };
}

const axisAttribute = (random: Random, rank: number): Record<string, AttributeWithDoc> => ({ axis: int(random.int(-rank, rank - 1)) });

const bigIntGenerators: OpGenerator[] = [
  ...['Add', 'Sub', 'Div', 'Equal', 'Less', 'Greater'].map((opType) => bigIntGenerator({ opType, opset: 14, bits: 60, inputs: 2 })),
  bigIntGenerator({ opType: 'Mul', opset: 14, bits: 30, inputs: 2 }),
  bigIntGenerator({ opType: 'Mod', opset: 13, bits: 60, inputs: 2 }),
  bigIntGenerator({ opType: 'Max', opset: 13, bits: 60, inputs: 3 }),
  bigIntGenerator({ opType: 'Abs', opset: 13, bits: 60, inputs: 1 }),
  bigIntGenerator({ opType: 'Cast', opset: 13, bits: 60, inputs: 1, attributes: (random) => ({ to: int(random.pick([6, 1, 11])) }) }),
  bigIntGenerator({ opType: 'ReduceMax', opset: 13, bits: 60, inputs: 1, attributes: (random, rank) => ({ axes: ints([random.int(0, rank - 1)]) }) }),
  // No ReduceSum: onnxruntime's int64 ReduceSum rounds through float64 (2^58 + 1 sums to 2^58); edgerun's is exact.
  bigIntGenerator({ opType: 'ReduceMin', opset: 18, bits: 60, inputs: 1 }),
  bigIntGenerator({ opType: 'ArgMax', opset: 13, bits: 60, inputs: 1, attributes: axisAttribute }),
  bigIntGenerator({ opType: 'CumSum', opset: 14, bits: 58, inputs: 1, extra: (random, shape) => [input(random, 'axis', int64s([random.int(0, shape.length - 1)], []))] }),
  bigIntGenerator({
    opType: 'TopK',
    opset: 11,
    bits: 60,
    inputs: 1,
    attributes: (_, rank) => ({ axis: int(rank - 1) }),
    extra: (random, shape) => [input(random, 'k', int64s([random.int(1, shape[shape.length - 1]!)]))],
    outputs: ['values', 'indices'],
  }),
  { op: 'MatMul (int64 > 2^53)', cases: (random, count) => repeat(count, () => matMulCase(random, true)) },
];

// ---------------------------------------------------------------------------------------------------------------

export const generators: OpGenerator[] = [
  { op: 'MatMul', cases: (random, count) => repeat(count, () => matMulCase(random)) },
  { op: 'Gemm', cases: (random, count) => repeat(count, () => gemmCase(random)) },
  binaryGenerator({ opType: 'Sub', opset: 14, dtypes: ['float32', 'int32', 'int64', 'uint8', 'float64'] }),
  binaryGenerator({ opType: 'Mul', opset: 14, dtypes: ['float32', 'int32', 'int64', 'int8', 'float64'] }),
  binaryGenerator({ opType: 'Div', opset: 14, dtypes: ['float32', 'int32', 'int64', 'float64', 'uint8', 'uint32'], values: nonZeroDivisor }),
  binaryGenerator({ opType: 'Pow', opset: 15, dtypes: ['float32', 'int32', 'int64', 'float64'], values: powOperands }),
  powMixed,
  // fmod=0 is integer-only (floats must use fmod=1).
  binaryGenerator({ opType: 'Mod', opset: 13, dtypes: ['int32', 'int64', 'int8', 'uint8', 'uint32'], values: nonZeroDivisor, attributes: () => ({ fmod: int(0) }) }, 'Mod fmod=0'),
  binaryGenerator({ opType: 'Mod', opset: 13, dtypes: ['float32', 'int32', 'int64', 'float64'], values: nonZeroDivisor, attributes: () => ({ fmod: int(1) }) }, 'Mod fmod=1'),
  variadicGenerator('Max', ['float32', 'int32', 'int64', 'uint8']),
  variadicGenerator('Min', ['float32', 'int32', 'int64', 'uint8']),
  variadicGenerator('Sum', ['float32', 'float64']),
  variadicGenerator('Mean', ['float32']), // onnxruntime has no float64 Mean kernel
  whereGenerator,
  ...comparisonGenerators,
  ...logicalGenerators,
  bitShiftGenerator,
  ...bitwiseGenerators,
  ...unaryGenerators,
  castGenerator,
  ...REDUCE_OPS.map(reduceGenerator),
  argGenerator('ArgMax'),
  argGenerator('ArgMin'),
  softmaxGenerator('Softmax'),
  softmaxGenerator('LogSoftmax'),
  softmaxGenerator('Hardmax'),
  cumSumGenerator,
  topKGenerator,
  einsumGenerator,
  ...bigIntGenerators,
];
