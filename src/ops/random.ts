import { dataTypeFromOnnx, isFloatType, type DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { numbersOf, shapeOf, tensorFromNumbers, tensorType } from './common.js';
import { attr, defineOp, type KernelContext, type OpDef } from './registry.js';

/**
 * Random generators. With a `seed` attribute the numbers are those numpy's legacy generator gives for that
 * seed (what the ONNX reference and its test data use), so a node gives the same output on every run;
 * without one they come from Math.random.
 */

type Uniform01 = () => number;

/**
 * Uniform [0, 1) numbers from a seed, as numpy's legacy `np.random.seed(seed); np.random.uniform()` draws them
 * (MT19937, 53-bit doubles): the spec leaves the generator open, and this one reproduces the ONNX test data.
 */
export function seededUniform(seed: number): Uniform01 {
  const state = new Uint32Array(624);
  state[0] = seed >>> 0;
  for (let i = 1; i < 624; i++) {
    const previous = state[i - 1]! ^ (state[i - 1]! >>> 30);
    state[i] = (Math.imul(1812433253, previous) + i) >>> 0;
  }
  let index = 624;
  const twist = () => {
    for (let i = 0; i < 624; i++) {
      const y = (state[i]! & 0x80000000) | (state[(i + 1) % 624]! & 0x7fffffff);
      state[i] = state[(i + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    index = 0;
  };
  const next32 = () => {
    if (index >= 624) twist();
    let y = state[index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

function uniformSource(seed: number | undefined): Uniform01 {
  // numpy takes an integer seed; ONNX stores it as a float.
  return seed === undefined ? Math.random : seededUniform(Math.trunc(seed));
}

/** Standard normal samples by the Box-Muller transform. */
function normalSample(uniform: Uniform01): number {
  const u1 = 1 - uniform(); // in (0, 1], so the logarithm stays finite
  const u2 = uniform();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function floatDtype(ctx: KernelContext<unknown>, code: number | undefined, fallback: DataType): DataType {
  const dtype = code === undefined ? fallback : dataTypeFromOnnx(code, 'dtype attribute');
  if (!isFloatType(dtype)) ctx.fail('INVALID_ATTRIBUTE', `dtype must be a floating-point type, got ${dtype}`);
  return dtype;
}

function filled(dtype: DataType, dims: readonly number[], sample: () => number): Tensor {
  const values = new Float64Array(elementCount(dims));
  for (let i = 0; i < values.length; i++) values[i] = sample();
  return tensorFromNumbers(dtype, dims, values);
}

/** The output type: the dtype attribute's element type or `fallback`, with `shape` where known. */
function typeFromAttr(code: number | undefined, fallback: DataType | undefined, shape?: readonly Dim[]): ValueType[] {
  const dtype = code === undefined ? fallback : dataTypeFromOnnx(code, 'dtype attribute');
  return dtype ? [tensorType(dtype, shape && [...shape])] : [];
}

/** Multinomial's output: `sampleSize` draws for each row of the [batch, classes] input. */
function multinomialShape(input: readonly Dim[], sampleSize: number): Dim[] {
  return [input[0], sampleSize];
}

const uniformAttrs = { dtype: attr.int(1), high: attr.float(1), low: attr.float(0), seed: attr.float() };
const normalAttrs = { dtype: attr.int(1), mean: attr.float(0), scale: attr.float(1), seed: attr.float() };

/** A distribution's sampler over a source of uniform numbers in [0, 1). */
type Sampler = (uniform: Uniform01) => () => number;

function uniformSampler({ low, high }: { low: number; high: number }): Sampler {
  return (uniform) => () => low + (high - low) * uniform();
}

function normalSampler({ mean, scale }: { mean: number; scale: number }): Sampler {
  return (uniform) => () => mean + scale * normalSample(uniform);
}

/** RandomUniform, RandomNormal: dims from the (required) shape attribute, float32 unless dtype says otherwise. */
function sampleShape(ctx: KernelContext<{ dtype: number; seed: number | undefined; shape: number[] | undefined }>, sampler: Sampler): Tensor {
  const shape = ctx.attrs.shape ?? ctx.fail('INVALID_ATTRIBUTE', "attribute 'shape' is required");
  const uniform = uniformSource(ctx.attrs.seed);
  return filled(floatDtype(ctx, ctx.attrs.dtype, 'float32'), shape, sampler(uniform));
}

/** RandomUniformLike, RandomNormalLike: the input's dims, and its type unless dtype says otherwise. */
function sampleLike(ctx: KernelContext<{ dtype: number | undefined; seed: number | undefined }>, sampler: Sampler): Tensor {
  const input = ctx.tensor(0);
  const uniform = uniformSource(ctx.attrs.seed);
  return filled(floatDtype(ctx, ctx.attrs.dtype, input.type), input.dims, sampler(uniform));
}

function inputDtype(types: readonly (ValueType | undefined)[]): DataType | undefined {
  const type = types[0];
  return type?.kind === 'tensor' ? type.dtype : undefined;
}

/** Multinomial: `sampleSize` class indices per batch row, drawn from the softmax of the row's logits. */
function multinomialSamples(logits: Tensor, sampleSize: number, uniform: Uniform01): Float64Array {
  const [batch, classes] = logits.dims as [number, number];
  const values = numbersOf(logits);
  const out = new Float64Array(batch * sampleSize);
  const cumulative = new Float64Array(classes);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, values[b * classes + c]!);
    let total = 0;
    for (let c = 0; c < classes; c++) {
      total += Math.exp(values[b * classes + c]! - max);
      cumulative[c] = total;
    }
    for (let s = 0; s < sampleSize; s++) {
      const target = uniform() * total;
      let chosen = 0;
      while (chosen < classes - 1 && cumulative[chosen]! <= target) chosen++;
      out[b * sampleSize + s] = chosen;
    }
  }
  return out;
}

export const ops: OpDef[] = [
  defineOp({
    name: 'RandomUniform',
    since: 1,
    inputs: [],
    outputs: ['output'],
    attributes: { ...uniformAttrs, shape: attr.ints() },
    infer: ({ attrs }) => typeFromAttr(attrs.dtype, 'float32', attrs.shape),
    kernel: (ctx) => [sampleShape(ctx, uniformSampler(ctx.attrs))],
  }),

  defineOp({
    name: 'RandomNormal',
    since: 1,
    inputs: [],
    outputs: ['output'],
    attributes: { ...normalAttrs, shape: attr.ints() },
    infer: ({ attrs }) => typeFromAttr(attrs.dtype, 'float32', attrs.shape),
    kernel: (ctx) => [sampleShape(ctx, normalSampler(ctx.attrs))],
  }),

  defineOp({
    name: 'RandomUniformLike',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { ...uniformAttrs, dtype: attr.int() },
    infer: ({ attrs, inputTypes }) => typeFromAttr(attrs.dtype, inputDtype(inputTypes), shapeOf(inputTypes[0])),
    kernel: (ctx) => [sampleLike(ctx, uniformSampler(ctx.attrs))],
  }),

  defineOp({
    name: 'RandomNormalLike',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { ...normalAttrs, dtype: attr.int() },
    infer: ({ attrs, inputTypes }) => typeFromAttr(attrs.dtype, inputDtype(inputTypes), shapeOf(inputTypes[0])),
    kernel: (ctx) => [sampleLike(ctx, normalSampler(ctx.attrs))],
  }),

  defineOp({
    name: 'Bernoulli',
    since: 15,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { dtype: attr.int(), seed: attr.float() },
    infer: ({ attrs, inputTypes }) => typeFromAttr(attrs.dtype, inputDtype(inputTypes), shapeOf(inputTypes[0])),
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      const probabilities = numbersOf(input);
      const uniform = uniformSource(ctx.attrs.seed);
      const dtype = ctx.attrs.dtype === undefined ? input.type : dataTypeFromOnnx(ctx.attrs.dtype, 'dtype attribute');
      const draws = Array.from(probabilities, (p) => (uniform() < p ? 1 : 0));
      return [tensorFromNumbers(dtype, input.dims, draws)];
    },
  }),

  defineOp({
    name: 'Multinomial',
    since: 7,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { dtype: attr.int(6), sample_size: attr.int(1), seed: attr.float() },
    infer: ({ attrs, inputTypes }) => {
      const shape = shapeOf(inputTypes[0]);
      return typeFromAttr(attrs.dtype, 'int32', shape?.length === 2 ? multinomialShape(shape, attrs.sample_size) : undefined);
    },
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      if (input.dims.length !== 2) ctx.fail('INVALID_ARGUMENT', `input must be [batch_size, class_size], got [${input.dims.join(', ')}]`);
      const dtype = dataTypeFromOnnx(ctx.attrs.dtype, 'dtype attribute');
      if (dtype !== 'int32' && dtype !== 'int64') ctx.fail('INVALID_ATTRIBUTE', `dtype must be int32 or int64, got ${dtype}`);
      const samples = multinomialSamples(input, ctx.attrs.sample_size, uniformSource(ctx.attrs.seed));
      return [tensorFromNumbers(dtype, multinomialShape(input.dims, ctx.attrs.sample_size) as number[], samples)];
    },
  }),
];
