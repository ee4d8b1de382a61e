import { dataTypeFromOnnx, type DataType } from '../core/dtype.js';
import type { ValueType } from '../core/graph.js';
import { elementCount, type Tensor } from '../core/tensor.js';
import { seededUniform } from './random.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { at, broadcastOffsets, type Floats, floatsFor, floatsOf, normalizeAxis, numbersOf, product, sameShapeAs, shapeOf, tensorFromNumbers, tensorOf, tensorType } from './common.js';

/**
 * Normalizations (BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization,
 * MeanVarianceNormalization, LpNormalization, LRN) and Dropout: shape-preserving ops that scale values by
 * statistics of a group of them.
 */

// ---------------------------------------------------------------------------------------------------------
// Normalization

/** y = x·a[c] + b[c] per channel (axis 1), or per [C, spatial...] element when the parameters are that big. */
function affinePerChannel(x: Tensor, a: Float64Array, b: Float64Array): Tensor {
  const values = floatsOf(x);
  const channels = x.dims[1] ?? 1;
  const inner = product(x.dims, 2);
  const perElement = a.length !== channels;
  const out = floatsFor(x.type, values.length);
  for (let plane = 0; plane < values.length / inner; plane++) {
    const channel = plane % channels;
    const base = plane * inner;
    for (let i = 0; i < inner; i++) {
      const parameter = perElement ? channel * inner + i : channel;
      out[base + i] = values[base + i]! * a[parameter]! + b[parameter]!;
    }
  }
  return tensorOf(x.type, x.dims, out);
}

/** BatchNormalization with given statistics, folded into one scale and shift per parameter. */
function batchNormInference(x: Tensor, scale: Tensor, bias: Tensor, m: ArrayLike<number>, v: ArrayLike<number>, epsilon: number): Tensor {
  const s = numbersOf(scale);
  const b = numbersOf(bias);
  const a = new Float64Array(s.length);
  const shift = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    a[i] = s[i]! / Math.sqrt(v[i]! + epsilon);
    shift[i] = b[i]! - m[i]! * a[i]!;
  }
  return affinePerChannel(x, a, shift);
}

/** Mean and (population) variance of each channel over the batch and spatial axes. */
function channelStatistics(x: Tensor): { mean: Float64Array; variance: Float64Array } {
  const values = floatsOf(x);
  const channels = x.dims[1] ?? 1;
  const inner = product(x.dims, 2);
  const batch = x.dims[0]!;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const count = batch * inner;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let n = 0; n < batch; n++) for (let i = 0; i < inner; i++) sum += values[(n * channels + c) * inner + i]!;
    const average = sum / count;
    let squares = 0;
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < inner; i++) squares += (values[(n * channels + c) * inner + i]! - average) ** 2;
    }
    mean[c] = average;
    variance[c] = squares / count;
  }
  return { mean, variance };
}

interface BatchNormAttrs {
  epsilon: number;
  momentum: number;
  training_mode?: number;
}

function batchNormKernel({ tensor, attrs, outputWanted }: KernelContext<BatchNormAttrs>): (Tensor | undefined)[] {
  const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => tensor(i)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  if (!attrs.training_mode) return [batchNormInference(x, scale, bias, numbersOf(mean), numbersOf(variance), attrs.epsilon)];
  // Training: normalize with this batch's statistics and blend them into the running ones.
  const batch = channelStatistics(x);
  const y = batchNormInference(x, scale, bias, batch.mean, batch.variance, attrs.epsilon);
  const blend = (running: Tensor, current: Float64Array) => {
    const previous = numbersOf(running);
    return tensorFromNumbers(running.type, running.dims, current.map((value, i) => previous[i]! * attrs.momentum + value * (1 - attrs.momentum)));
  };
  return [y, outputWanted(1) ? blend(mean, batch.mean) : undefined, outputWanted(2) ? blend(variance, batch.variance) : undefined];
}

/** Y is shaped like X; in training mode the running statistics are shaped like the given ones. */
function inferBatchNorm({ inputTypes, attrs }: InferContext<BatchNormAttrs>): (ValueType | undefined)[] {
  return attrs.training_mode ? [inputTypes[0], inputTypes[3], inputTypes[4]] : [inputTypes[0]];
}

const BATCH_NORM_OUTPUTS_OLD = ['Y', 'mean?', 'var?', 'saved_mean?', 'saved_var?'];

/**
 * Normalizes each of `groups` contiguous runs of `groupSize` values to zero mean and unit variance
 * (with `epsilon`), writing into `out`; returns each group's mean and 1/sqrt(var + epsilon).
 */
function normalizeGroups(values: Floats, groups: number, groupSize: number, epsilon: number, out: Float64Array) {
  const means = new Float64Array(groups);
  const inverseStdDevs = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const from = g * groupSize;
    let sum = 0;
    for (let i = 0; i < groupSize; i++) sum += values[from + i]!;
    const mean = sum / groupSize;
    let squares = 0;
    for (let i = 0; i < groupSize; i++) squares += (values[from + i]! - mean) ** 2;
    const inverseStdDev = 1 / Math.sqrt(squares / groupSize + epsilon);
    for (let i = 0; i < groupSize; i++) out[from + i] = (values[from + i]! - mean) * inverseStdDev;
    means[g] = mean;
    inverseStdDevs[g] = inverseStdDev;
  }
  return { means, inverseStdDevs };
}

function instanceNormKernel({ tensor, attrs }: KernelContext<{ epsilon: number }>): Tensor[] {
  const x = tensor(0);
  const scale = numbersOf(tensor(1));
  const bias = numbersOf(tensor(2));
  const channels = x.dims[1]!;
  const inner = product(x.dims, 2);
  const normalized = new Float64Array(x.size);
  normalizeGroups(floatsOf(x), x.dims[0]! * channels, inner, attrs.epsilon, normalized);
  for (let i = 0; i < normalized.length; i++) {
    const channel = Math.floor(i / inner) % channels;
    normalized[i] = normalized[i]! * scale[channel]! + bias[channel]!;
  }
  return [tensorFromNumbers(x.type, x.dims, normalized)];
}

interface LayerNormAttrs {
  axis: number;
  epsilon: number;
  stash_type: number;
}

/** Mean and InvStdDev keep the axes before `axis` and reduce the rest to 1. */
function layerNormStatsDims<D>(dims: readonly D[], axis: number): (D | 1)[] {
  return dims.map((dim, i) => (i < axis ? dim : 1));
}

/** Mean and InvStdDev have the element type stash_type names, as an ONNX TensorProto type code (1, float32, by default). */
function layerNormStatsType(attrs: LayerNormAttrs): DataType {
  return dataTypeFromOnnx(attrs.stash_type, 'attribute stash_type');
}

function inferLayerNorm({ inputTypes, attrs }: InferContext<LayerNormAttrs>): (ValueType | undefined)[] {
  const x = inputTypes[0];
  if (x?.kind !== 'tensor') return [undefined];
  const shape = shapeOf(x);
  const statsType = layerNormStatsType(attrs);
  const stats = shape ? tensorType(statsType, layerNormStatsDims(shape, normalizeAxis(attrs.axis, shape.length))) : tensorType(statsType);
  return [x, stats, stats];
}

function layerNormKernel({ tensor, optionalTensor, attrs, outputWanted }: KernelContext<LayerNormAttrs>): (Tensor | undefined)[] {
  const x = tensor(0);
  const scale = tensor(1);
  const bias = optionalTensor(2);
  const axis = normalizeAxis(attrs.axis, x.dims.length);
  const normalizedDims = x.dims.slice(axis);
  const groupSize = product(normalizedDims);
  const groups = product(x.dims, 0, axis);
  const out = new Float64Array(x.size);
  const { means, inverseStdDevs } = normalizeGroups(floatsOf(x), groups, groupSize, attrs.epsilon, out);
  const scaleValues = numbersOf(scale);
  const scaleOffsets = broadcastOffsets(normalizedDims, scale.dims);
  const biasValues = bias && numbersOf(bias);
  const biasOffsets = bias && broadcastOffsets(normalizedDims, bias.dims);
  for (let i = 0; i < out.length; i++) {
    const within = i % groupSize;
    out[i] = out[i]! * at(scaleValues, scaleOffsets, within) + (biasValues ? at(biasValues, biasOffsets, within) : 0);
  }
  const statsDims = layerNormStatsDims(x.dims, axis);
  const statsType = layerNormStatsType(attrs);
  return [
    tensorFromNumbers(x.type, x.dims, out),
    outputWanted(1) ? tensorFromNumbers(statsType, statsDims, means) : undefined,
    outputWanted(2) ? tensorFromNumbers(statsType, statsDims, inverseStdDevs) : undefined,
  ];
}

/** GroupNormalization: statistics per (sample, group of channels); scale/bias per group (18) or channel (21). */
function groupNormKernel(perChannel: boolean) {
  return ({ tensor, attrs, fail }: KernelContext<{ epsilon: number; num_groups?: number }>): Tensor[] => {
    const x = tensor(0);
    const scale = numbersOf(tensor(1));
    const bias = numbersOf(tensor(2));
    const groups = attrs.num_groups ?? fail('INVALID_ARGUMENT', 'attribute num_groups is required');
    const channels = x.dims[1]!;
    if (channels % groups !== 0) fail('INVALID_ARGUMENT', `num_groups must divide the ${channels} channels of X`);
    const inner = product(x.dims, 2);
    const out = new Float64Array(x.size);
    normalizeGroups(floatsOf(x), x.dims[0]! * groups, (channels / groups) * inner, attrs.epsilon, out);
    for (let i = 0; i < out.length; i++) {
      const channel = Math.floor(i / inner) % channels;
      const parameter = perChannel ? channel : Math.floor(channel / (channels / groups));
      out[i] = out[i]! * scale[parameter]! + bias[parameter]!;
    }
    return [tensorFromNumbers(x.type, x.dims, out)];
  };
}

/** MeanVarianceNormalization: (x - mean) / (stddev + 1e-9) over `axes`, as the op's function body defines it. */
function meanVarianceNormKernel({ tensor, attrs }: KernelContext<{ axes: number[] }>): Tensor[] {
  const x = tensor(0);
  const axes = attrs.axes.map((axis) => normalizeAxis(axis, x.dims.length));
  const reducedDims = x.dims.map((dim, i) => (axes.includes(i) ? 1 : dim));
  const offsets = broadcastOffsets(x.dims, reducedDims);
  const values = numbersOf(x);
  const groups = elementCount(reducedDims);
  const sums = new Float64Array(groups);
  const squares = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) {
    const group = offsets ? offsets[i]! : i;
    sums[group]! += values[i]!;
    squares[group]! += values[i]! ** 2;
  }
  const count = values.length / groups;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const group = offsets ? offsets[i]! : i;
    const mean = sums[group]! / count;
    const variance = squares[group]! / count - mean * mean;
    out[i] = (values[i]! - mean) / (Math.sqrt(variance) + 1e-9);
  }
  return [tensorFromNumbers(x.type, x.dims, out)];
}

function lpNormalizationKernel({ tensor, attrs, fail }: KernelContext<{ axis: number; p: number }>): Tensor[] {
  const x = tensor(0);
  if (attrs.p !== 1 && attrs.p !== 2) fail('INVALID_ARGUMENT', `attribute p must be 1 or 2, got ${attrs.p}`);
  const axis = normalizeAxis(attrs.axis, x.dims.length);
  const length = x.dims[axis]!;
  const inner = product(x.dims, axis + 1);
  const outer = product(x.dims, 0, axis);
  const values = numbersOf(x);
  const out = new Float64Array(values.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      let norm = 0;
      for (let k = 0; k < length; k++) norm += attrs.p === 1 ? Math.abs(values[base + k * inner]!) : values[base + k * inner]! ** 2;
      if (attrs.p === 2) norm = Math.sqrt(norm);
      for (let k = 0; k < length; k++) out[base + k * inner] = values[base + k * inner]! / norm;
    }
  }
  return [tensorFromNumbers(x.type, x.dims, out)];
}

/** LRN: each value divided by (bias + alpha/size · Σ squares of `size` neighbouring channels)^beta. */
function lrnKernel({ tensor, attrs, fail }: KernelContext<{ alpha: number; beta: number; bias: number; size?: number }>): Tensor[] {
  const x = tensor(0);
  const size = attrs.size ?? fail('INVALID_ARGUMENT', 'attribute size is required');
  const values = floatsOf(x);
  const channels = x.dims[1]!;
  const inner = product(x.dims, 2);
  const before = Math.floor((size - 1) / 2);
  const after = Math.ceil((size - 1) / 2);
  const out = floatsFor(x.type, values.length);
  for (let n = 0; n < x.dims[0]!; n++) {
    for (let c = 0; c < channels; c++) {
      const from = Math.max(0, c - before);
      const to = Math.min(channels - 1, c + after);
      for (let i = 0; i < inner; i++) {
        let squares = 0;
        for (let k = from; k <= to; k++) squares += values[(n * channels + k) * inner + i]! ** 2;
        const index = (n * channels + c) * inner + i;
        out[index] = values[index]! / Math.pow(attrs.bias + (attrs.alpha / size) * squares, attrs.beta);
      }
    }
  }
  return [tensorOf(x.type, x.dims, out)];
}

// ---------------------------------------------------------------------------------------------------------
// Dropout

/**
 * Dropout in inference is the identity with an all-kept mask. In training each value is dropped with
 * probability `ratio` and the kept ones scaled by 1/(1 - ratio), drawing from `uniform`.
 */
function dropout(x: Tensor, ratio: number, training: boolean, maskType: DataType, uniform: () => number = Math.random): [Tensor, Tensor] {
  if (!training || ratio === 0) {
    return [x, tensorFromNumbers(maskType, x.dims, new Uint8Array(x.size).fill(1))];
  }
  const values = numbersOf(x);
  const keep = new Uint8Array(values.length);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    keep[i] = uniform() >= ratio ? 1 : 0;
    out[i] = keep[i] ? values[i]! / (1 - ratio) : 0;
  }
  return [tensorFromNumbers(x.type, x.dims, out), tensorFromNumbers(maskType, x.dims, keep)];
}

/** Output like the data; the mask has the data's shape, bool from opset 10 (`maskIsBool`), else the data's type. */
function inferDropout(maskIsBool: boolean) {
  return ({ inputTypes }: InferContext): (ValueType | undefined)[] => {
    const x = inputTypes[0];
    if (x?.kind !== 'tensor') return [undefined];
    return [x, tensorType(maskIsBool ? 'bool' : x.dtype, shapeOf(x))];
  };
}

function dropoutOld(maskIsBool: boolean) {
  return ({ tensor, attrs, outputWanted }: KernelContext<{ ratio: number; is_test?: number }>): (Tensor | undefined)[] => {
    const x = tensor(0);
    // Before opset 7 `is_test` 0 meant training; from 7 on the attribute-only form is always inference.
    const [y, mask] = dropout(x, attrs.ratio, attrs.is_test === 0, maskIsBool ? 'bool' : x.type);
    return [y, outputWanted(1) ? mask : undefined];
  };
}

function dropoutKernel({ tensor, optionalTensor, attrs, outputWanted }: KernelContext<{ seed?: number }>): (Tensor | undefined)[] {
  const x = tensor(0);
  const ratio = optionalTensor(1);
  const training = optionalTensor(2);
  const uniform = attrs.seed === undefined ? Math.random : seededUniform(attrs.seed);
  const [y, mask] = dropout(x, ratio ? numbersOf(ratio)[0]! : 0.5, training ? numbersOf(training)[0] !== 0 : false, 'bool', uniform);
  return [y, outputWanted(1) ? mask : undefined];
}

// ---------------------------------------------------------------------------------------------------------
// Catalogue

export const ops: OpDef[] = [
  // Opsets 1 and 6 also carry is_test / spatial; inference ignores is_test, and spatial 0 shows in the
  // parameter shapes ([C, spatial...] instead of [C]), which affinePerChannel follows.
  ...[1, 6, 7, 9].map((since) =>
    defineOp({
      name: 'BatchNormalization',
      since,
      inputs: ['X', 'scale', 'B', 'mean', 'var'],
      outputs: BATCH_NORM_OUTPUTS_OLD,
      attributes: { epsilon: attr.float(1e-5), momentum: attr.float(0.9), is_test: attr.int(0), spatial: attr.int(1) },
      // The kernel runs these versions in inference mode only, producing Y alone.
      infer: inferBatchNorm,
      kernel: batchNormKernel,
    }),
  ),
  ...[14, 15].map((since) =>
    defineOp({
      name: 'BatchNormalization',
      since,
      inputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
      outputs: ['Y', 'running_mean?', 'running_var?'],
      attributes: { epsilon: attr.float(1e-5), momentum: attr.float(0.9), training_mode: attr.int(0) },
      infer: inferBatchNorm,
      kernel: batchNormKernel,
    }),
  ),
  ...[1, 6].map((since) =>
    defineOp({ name: 'InstanceNormalization', since, inputs: ['input', 'scale', 'B'], outputs: ['output'], attributes: { epsilon: attr.float(1e-5) }, infer: sameShapeAs(0), kernel: instanceNormKernel }),
  ),
  defineOp({
    name: 'LayerNormalization',
    since: 17,
    inputs: ['X', 'Scale', 'B?'],
    outputs: ['Y', 'Mean?', 'InvStdDev?'],
    attributes: { axis: attr.int(-1), epsilon: attr.float(1e-5), stash_type: attr.int(1) },
    infer: inferLayerNorm,
    kernel: layerNormKernel,
  }),
  defineOp({
    name: 'GroupNormalization',
    since: 18,
    inputs: ['X', 'scale', 'bias'],
    outputs: ['Y'],
    attributes: { epsilon: attr.float(1e-5), num_groups: attr.int() },
    infer: sameShapeAs(0),
    kernel: groupNormKernel(false),
  }),
  defineOp({
    name: 'GroupNormalization',
    since: 21,
    inputs: ['X', 'scale', 'bias'],
    outputs: ['Y'],
    attributes: { epsilon: attr.float(1e-5), num_groups: attr.int(), stash_type: attr.int(1) },
    infer: sameShapeAs(0),
    kernel: groupNormKernel(true),
  }),
  ...[9, 13].map((since) =>
    defineOp({ name: 'MeanVarianceNormalization', since, inputs: ['X'], outputs: ['Y'], attributes: { axes: attr.ints([0, 2, 3]) }, infer: sameShapeAs(0), kernel: meanVarianceNormKernel }),
  ),
  defineOp({ name: 'LpNormalization', since: 1, inputs: ['input'], outputs: ['output'], attributes: { axis: attr.int(-1), p: attr.int(2) }, infer: sameShapeAs(0), kernel: lpNormalizationKernel }),
  ...[1, 13].map((since) =>
    defineOp({
      name: 'LRN',
      since,
      inputs: ['X'],
      outputs: ['Y'],
      attributes: { alpha: attr.float(1e-4), beta: attr.float(0.75), bias: attr.float(1), size: attr.int() },
      infer: sameShapeAs(0),
      kernel: lrnKernel,
    }),
  ),

  ...[1, 6].map((since) =>
    defineOp({ name: 'Dropout', since, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5), is_test: attr.int(0) }, infer: inferDropout(false), kernel: dropoutOld(false) }),
  ),
  defineOp({ name: 'Dropout', since: 7, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5) }, infer: inferDropout(false), kernel: dropoutOld(false) }),
  defineOp({ name: 'Dropout', since: 10, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5) }, infer: inferDropout(true), kernel: dropoutOld(true) }),
  ...[12, 13].map((since) =>
    defineOp({ name: 'Dropout', since, inputs: ['data', 'ratio?', 'training_mode?'], outputs: ['output', 'mask?'], attributes: { seed: attr.int() }, infer: inferDropout(true), kernel: dropoutKernel }),
  ),
];
