import type { AttributeWithDoc } from '../../src/core/graph.js';
import type { DataType } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import { float, int, ints, Random, repeat, singleNodeCase, string, type NodeInput, type OpCase, type OpGenerator } from './harness.js';

/**
 * Convolution, pooling and normalization: random spatial ranks 1 to 3, odd and unit sizes, every padding
 * mode, strides, dilations, groups and ceil_mode, weights and parameters given as initializers or fed.
 */

/** The largest spatial extent per spatial rank, so that cases stay at a few thousand elements. */
const MAX_EXTENT: Record<number, number> = { 1: 17, 2: 9, 3: 5 };


function dimsLabel(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}

function attrsLabel(attributes: Record<string, AttributeWithDoc>): string {
  return Object.entries(attributes)
    .map(([name, attribute]) => `${name}=${Array.isArray(attribute.value) ? dimsLabel(attribute.value as number[]) : String(attribute.value)}`)
    .join(' ');
}

/** A tensor of values in [low, high] (floats) for parameters that must stay positive, e.g. variances. */
function positive(random: Random, dtype: DataType, dims: number[], low = 0.1, high = 2): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const values = repeat(count, () => low + random.float() * (high - low));
  return new Tensor(dtype, dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), dims);
}

/** X, now and then an initializer: the whole node is then constant, as constant folding sees it. */
function dataInput(random: Random, value: Tensor): NodeInput {
  return { name: 'x', value, constant: random.bool(0.1) };
}

/** The sliding-window attributes of one random case, and the input extents that make them valid. */
interface Window {
  spatial: number[];
  kernel: number[];
  attributes: Record<string, AttributeWithDoc>;
}

interface WindowOptions {
  rank: number;
  /**
   * Pool rules: every pad smaller than the kernel (ORT requires it), and with SAME no stride above the kernel:
   * there the spec's SAME padding would be negative, which ORT applies (shifting windows) or rejects, and
   * onnx's reference cannot run; Conv clamps it to 0 in both runtimes.
   */
  pool: boolean;
  dilations: boolean;
  ceilMode: boolean;
  /** Conv reads kernel_shape from W: write it only sometimes. Pools always need it. */
  kernelShapeAlways: boolean;
}

function randomWindow(random: Random, options: WindowOptions): Window {
  const { rank } = options;
  const max = MAX_EXTENT[rank]!;
  const kernel = repeat(rank, () => random.int(1, Math.min(4, max)));
  const autoPad = random.pick(['NOTSET', 'NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);
  const same = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER';
  const strides = kernel.map((k) => Math.min(random.pick([1, 1, 2, 3]), same && options.pool ? k : 3));
  // ORT refuses dilated Conv with SAME padding, and sizes a pool's SAME padding from the undilated kernel
  // (the spec and onnx's reference use the dilated span): no dilations with SAME.
  const dilations = options.dilations && !same && random.bool(0.4) ? repeat(rank, () => random.pick([1, 2, 3])) : undefined;
  const span = kernel.map((k, i) => (k - 1) * (dilations?.[i] ?? 1) + 1);
  const pads = autoPad === 'NOTSET' && random.bool(0.7)
    ? [...kernel, ...kernel].map((k, i) => random.int(0, options.pool ? k - 1 : span[i % rank]!))
    : undefined;
  // Every spatial extent big enough for at least one window.
  const spatial = span.map((s, i) => {
    const padding = pads ? pads[i]! + pads[i + rank]! : 0;
    const least = same ? 1 : Math.max(1, s - padding);
    return Math.max(least, random.int(1, max));
  });
  // ceil_mode with auto_pad is left open: the spec's text keeps VALID's extents, ORT and onnx's shape inference
  // round them up, onnx's reference rejects the pair. Explicit pads only.
  const ceilMode = options.ceilMode && autoPad === 'NOTSET' && random.bool(0.5);
  // A pool window of padding only has no value in the spec (ORT gives the lowest value or 0, onnx's reference
  // NaN or an error): draw again when dilations let a window skip over the input.
  const windowsTouchInput = spatial.every((input, i) =>
    everyWindowTouchesInput(input, kernel[i]!, strides[i]!, dilations?.[i] ?? 1, pads?.[i] ?? 0, pads?.[i + rank] ?? 0, ceilMode));
  if (options.pool && !windowsTouchInput) return randomWindow(random, options);
  const attributes: Record<string, AttributeWithDoc> = {};
  if (options.kernelShapeAlways || random.bool(0.3)) attributes.kernel_shape = ints(kernel);
  if (autoPad !== 'NOTSET' || random.bool(0.2)) attributes.auto_pad = string(autoPad);
  if (pads) attributes.pads = ints(pads);
  if (!strides.every((s) => s === 1) || random.bool(0.2)) attributes.strides = ints(strides);
  if (dilations) attributes.dilations = ints(dilations);
  if (ceilMode) attributes.ceil_mode = int(1);
  return { spatial, kernel, attributes };
}

/** Whether each window of one explicitly padded axis holds at least one input element. */
function everyWindowTouchesInput(input: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceilMode: boolean): boolean {
  const span = (kernel - 1) * dilation + 1;
  let output = (ceilMode ? Math.ceil : Math.floor)((input + padBegin + padEnd - span) / stride) + 1;
  if (ceilMode && (output - 1) * stride >= input + padBegin) output--;
  for (let o = 0; o < output; o++) {
    const start = o * stride - padBegin;
    const taps = Array.from({ length: kernel }, (_, k) => start + k * dilation);
    if (!taps.some((position) => position >= 0 && position < input)) return false;
  }
  return true;
}

/** Conv: 1-D to 3-D, groups (depthwise included), strides, dilations, explicit pads or auto_pad, optional bias. */
function convCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 2, 3]);
  const window = randomWindow(random, { rank, pool: false, dilations: true, ceilMode: false, kernelShapeAlways: false });
  const group = random.pick([1, 1, 2, 3]);
  const depthwise = group > 1 && random.bool(0.3);
  const groupChannels = depthwise ? 1 : random.int(1, 3);
  const groupOutChannels = random.int(1, 3);
  const x = [random.int(1, 2), groupChannels * group, ...window.spatial];
  const w = [groupOutChannels * group, groupChannels, ...window.kernel];
  const attributes = { ...window.attributes, ...(group > 1 || random.bool(0.2) ? { group: int(group) } : {}) };
  const bias = random.bool(0.5);
  const constant = random.bool(0.7);
  return singleNodeCase(`Conv x${dimsLabel(x)} w${dimsLabel(w)} bias=${bias} ${attrsLabel(attributes)}`, {
    opType: 'Conv',
    opset: 11,
    inputs: [
      dataInput(random, random.tensor('float32', x)),
      { name: 'w', value: random.tensor('float32', w), constant },
      bias ? { name: 'b', value: random.tensor('float32', [w[0]!]), constant } : undefined,
    ],
    outputs: ['y'],
    attributes,
  });
}

/**
 * Conv with many input channels, so that im2col's tiles of output positions (131072 / K of them) end inside
 * the image, and output channel counts around the matrix product's blocks of 4.
 */
function convTilesCase(random: Random): OpCase {
  const group = random.pick([1, 2]);
  const kernel = [random.int(3, 4), random.int(3, 4)];
  const groupChannels = random.int(24, 40);
  const x = [1, groupChannels * group, random.int(14, 20), random.int(14, 20)];
  const w = [random.int(1, 5) * group, groupChannels, ...kernel];
  const attributes: Record<string, AttributeWithDoc> = { pads: ints([1, 1, 1, 1]) };
  if (group > 1) attributes.group = int(group);
  return singleNodeCase(`Conv x${dimsLabel(x)} w${dimsLabel(w)} ${attrsLabel(attributes)}`, {
    opType: 'Conv',
    opset: 11,
    inputs: [
      dataInput(random, random.tensor('float32', x)),
      { name: 'w', value: random.tensor('float32', w), constant: random.bool() },
      { name: 'b', value: random.tensor('float32', [w[0]!]), constant: true },
    ],
    outputs: ['y'],
    attributes,
  });
}

/**
 * ConvTranspose: groups, strides, dilations, output_padding, explicit pads, or output_shape with the padding
 * split as auto_pad says.
 */
function convTransposeCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 2, 3]);
  const max = MAX_EXTENT[rank]! - 2;
  const kernel = repeat(rank, () => random.int(1, 3));
  const strides = repeat(rank, () => random.pick([1, 2, 3]));
  const dilations = random.bool(0.3) ? repeat(rank, () => random.pick([1, 2])) : undefined;
  const span = kernel.map((k, i) => (k - 1) * (dilations?.[i] ?? 1) + 1);
  const spatial = repeat(rank, () => random.int(1, Math.max(1, Math.floor(max / 2))));
  const group = random.pick([1, 1, 2, 3]);
  const groupChannels = random.int(1, 3);
  const groupOutChannels = random.int(1, 3);
  const x = [random.int(1, 2), groupChannels * group, ...spatial];
  const w = [groupChannels * group, groupOutChannels, ...kernel];
  const attributes: Record<string, AttributeWithDoc> = {};
  if (group > 1) attributes.group = int(group);
  if (!strides.every((s) => s === 1) || random.bool(0.2)) attributes.strides = ints(strides);
  if (dilations) attributes.dilations = ints(dilations);
  if (random.bool(0.3)) attributes.kernel_shape = ints(kernel);
  // output_padding below the stride: the spec also allows it up to the dilation, which ORT rejects.
  const outputPadding = random.bool(0.4) ? strides.map((s) => random.int(0, s - 1)) : undefined;
  const natural = spatial.map((input, i) => strides[i]! * (input - 1) + (outputPadding?.[i] ?? 0) + span[i]!);
  const mode = random.pick(['pads', 'pads', 'output_shape', 'none']);
  if (outputPadding) attributes.output_padding = ints(outputPadding);
  if (mode === 'pads') {
    // Pads may take away all but one output element per axis.
    const pads = repeat(2 * rank, () => 0);
    for (let i = 0; i < rank; i++) {
      pads[i] = random.int(0, Math.min(span[i]! - 1, natural[i]! - 1));
      pads[i + rank] = random.int(0, Math.min(span[i]! - 1, natural[i]! - 1 - pads[i]!));
    }
    attributes.pads = ints(pads);
  } else if (mode === 'output_shape') {
    // Any extent from the natural one down to that less the dilated kernel span (total padding within it).
    // Spatial extents only: onnx's shape inference (so ORT) rejects the [N, C, spatial...] spelling.
    attributes.output_shape = ints(natural.map((extent, i) => Math.max(1, extent - random.int(0, span[i]! - 1))));
    // auto_pad SAME_UPPER puts an odd total padding's extra element at the end, else at the beginning.
    if (random.bool(0.5)) attributes.auto_pad = string(random.pick(['NOTSET', 'SAME_UPPER', 'SAME_LOWER']));
  }
  const bias = random.bool(0.5);
  const constant = random.bool(0.7);
  return singleNodeCase(`ConvTranspose x${dimsLabel(x)} w${dimsLabel(w)} bias=${bias} ${attrsLabel(attributes)}`, {
    opType: 'ConvTranspose',
    opset: 11,
    inputs: [
      dataInput(random, random.tensor('float32', x)),
      { name: 'w', value: random.tensor('float32', w), constant },
      bias ? { name: 'b', value: random.tensor('float32', [groupOutChannels * group]), constant } : undefined,
    ],
    outputs: ['y'],
    attributes,
  });
}

/** ConvTranspose with auto_pad SAME_UPPER / SAME_LOWER / VALID: output extent input·stride for SAME. */
function convTransposeAutoPadCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 3]);
  const kernel = repeat(rank, () => random.int(1, 3));
  const dilations = random.bool(0.3) ? repeat(rank, () => random.pick([1, 2])) : undefined;
  const span = kernel.map((k, i) => (k - 1) * (dilations?.[i] ?? 1) + 1);
  // ORT clamps a negative SAME total padding (stride above the dilated kernel span) to 0, so its output is
  // smaller than the spec's (and onnx reference's) input·stride: strides up to the span only.
  const strides = span.map((extent) => random.int(1, Math.min(extent, 3)));
  const outputPadding = random.bool(0.3) ? strides.map((stride) => random.int(0, stride - 1)) : undefined;
  const spatial = repeat(rank, () => random.int(1, Math.floor(MAX_EXTENT[rank]! / 2)));
  const group = random.pick([1, 2]);
  const x = [1, 2 * group, ...spatial];
  const w = [2 * group, random.int(1, 2), ...kernel];
  const autoPad = random.pick(['SAME_UPPER', 'SAME_LOWER', 'VALID']);
  const attributes: Record<string, AttributeWithDoc> = { auto_pad: string(autoPad), strides: ints(strides) };
  if (group > 1) attributes.group = int(group);
  if (dilations) attributes.dilations = ints(dilations);
  if (outputPadding) attributes.output_padding = ints(outputPadding);
  return singleNodeCase(`ConvTranspose x${dimsLabel(x)} w${dimsLabel(w)} ${attrsLabel(attributes)}`, {
    opType: 'ConvTranspose',
    opset: 11,
    inputs: [
      dataInput(random, random.tensor('float32', x)),
      { name: 'w', value: random.tensor('float32', w), constant: random.bool() },
    ],
    outputs: ['y'],
    attributes,
  });
}

/** MaxPool with its Indices output: float and 8-bit integer inputs, storage_order, ceil_mode, dilations. */
function maxPoolCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 2, 3]);
  // Opset 8 has neither dilations nor ceil_mode; 12 adds 8-bit integer inputs.
  const opset = random.pick([8, 10, 11, 12, 12]);
  const window = randomWindow(random, { rank, pool: true, dilations: opset >= 10, ceilMode: opset >= 10, kernelShapeAlways: true });
  const dtype = random.pick<DataType>(opset >= 12 ? ['float32', 'float32', 'float64', 'float16', 'int8', 'uint8'] : ['float32', 'float64', 'float16']);
  const x = [random.int(1, 2), random.int(1, 4), ...window.spatial];
  const indices = random.bool(0.6);
  const attributes = { ...window.attributes };
  if (indices && random.bool(0.3)) attributes.storage_order = int(1);
  // Integer inputs from a range wide enough that ties (whose index the spec leaves open) are rare.
  const value = dtype === 'uint8' ? random.tensor(dtype, x, 0, 255) : random.tensor(dtype, x, -128, 127);
  return singleNodeCase(`MaxPool opset ${opset} ${dtype} x${dimsLabel(x)} indices=${indices} ${attrsLabel(attributes)}`, {
    opType: 'MaxPool',
    opset,
    inputs: [dataInput(random, value)],
    outputs: indices ? ['y', 'indices'] : ['y'],
    attributes,
  });
}

/** AveragePool (float32: ORT has no float64 kernel): count_include_pad, ceil_mode, pads, auto_pad, dilations. */
function averagePoolCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 2, 3]);
  const countIncludePad = random.pick([undefined, 0, 1]);
  // Opset 7 has no ceil_mode, 19 adds dilations.
  const opset = random.pick([7, 10, 11, 19, 19]);
  // count_include_pad 1 with a window that ceil_mode runs past the end padding: ORT divides by the taps within
  // the padding, onnx's node test averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True (which
  // edgerun passes) by the whole kernel, and the reference shifts windows overhanging by 2: no ceil_mode there.
  const window = randomWindow(random, { rank, pool: true, dilations: opset >= 19, ceilMode: opset >= 10 && countIncludePad !== 1, kernelShapeAlways: true });
  const x = [random.int(1, 2), random.int(1, 4), ...window.spatial];
  const attributes = { ...window.attributes };
  if (countIncludePad !== undefined) attributes.count_include_pad = int(countIncludePad);
  return singleNodeCase(`AveragePool opset ${opset} x${dimsLabel(x)} ${attrsLabel(attributes)}`, {
    opType: 'AveragePool',
    opset,
    inputs: [dataInput(random, random.tensor('float32', x))],
    outputs: ['y'],
    attributes,
  });
}

/** LpPool: p 1 to 3, pads, strides, dilations, ceil_mode. */
function lpPoolCase(random: Random): OpCase {
  const rank = random.pick([1, 2, 2, 3]);
  // Opset 18 adds dilations and ceil_mode.
  const opset = random.pick([2, 11, 18, 18]);
  const window = randomWindow(random, { rank, pool: true, dilations: opset >= 18, ceilMode: opset >= 18, kernelShapeAlways: true });
  const x = [random.int(1, 2), random.int(1, 4), ...window.spatial];
  const attributes = { ...window.attributes };
  if (random.bool(0.7)) attributes.p = int(random.int(1, 3));
  return singleNodeCase(`LpPool opset ${opset} x${dimsLabel(x)} ${attrsLabel(attributes)}`, {
    opType: 'LpPool',
    opset,
    inputs: [dataInput(random, random.tensor('float32', x))],
    outputs: ['y'],
    attributes,
  });
}

/** GlobalAveragePool and GlobalMaxPool over 1 to 3 spatial axes (float32: ORT has no float64 kernels). */
function globalPoolCase(opType: string) {
  return (random: Random): OpCase => {
    const rank = random.pick([1, 2, 3]);
    const x = [random.int(1, 3), random.int(1, 5), ...repeat(rank, () => (random.bool(0.2) ? 1 : random.int(1, MAX_EXTENT[rank]!)))];
    return singleNodeCase(`${opType} x${dimsLabel(x)}`, {
      opType,
      opset: 1,
      inputs: [dataInput(random, random.tensor('float32', x))],
      outputs: ['y'],
    });
  };
}

/** BatchNormalization in inference mode (opsets 7, 9 and 15): ranks 2 to 5, parameters fed or constant. */
function batchNormCase(random: Random): OpCase {
  const rank = random.int(2, 5);
  const x = [random.int(1, 3), random.int(1, 6), ...repeat(rank - 2, () => random.int(1, 6))];
  const dtype = random.pick<DataType>(['float32', 'float32', 'float64']);
  const opset = random.pick([7, 9, 15, 15]);
  const constant = random.bool();
  const attributes: Record<string, AttributeWithDoc> = {};
  if (random.bool()) attributes.epsilon = float(random.pick([1e-5, 1e-3, 0.1]));
  if (random.bool(0.3)) attributes.momentum = float(0.8);
  // Opset 7's spatial 0: statistics and parameters per [C, spatial...] element, not per channel.
  if (opset === 7 && random.bool()) attributes.spatial = int(0);
  const parameterDims = attributes.spatial ? x.slice(1) : [x[1]!];
  return singleNodeCase(`BatchNormalization opset ${opset} ${dtype} x${dimsLabel(x)} constant=${constant} ${attrsLabel(attributes)}`, {
    opType: 'BatchNormalization',
    opset,
    inputs: [
      dataInput(random, random.tensor(dtype, x)),
      { name: 'scale', value: random.tensor(dtype, parameterDims), constant },
      { name: 'bias', value: random.tensor(dtype, parameterDims), constant },
      { name: 'mean', value: random.tensor(dtype, parameterDims), constant },
      { name: 'var', value: positive(random, dtype, parameterDims), constant },
    ],
    outputs: ['y'],
    attributes,
  });
}

/** InstanceNormalization: ranks 3 to 5, unit spatial sizes included. */
function instanceNormCase(random: Random): OpCase {
  const rank = random.int(3, 5);
  const x = [random.int(1, 3), random.int(1, 5), ...repeat(rank - 2, () => random.int(1, 7))];
  const channels = x[1]!;
  // float32 only: ORT has no float64 kernel for InstanceNormalization.
  const dtype: DataType = 'float32';
  const constant = random.bool();
  const attributes: Record<string, AttributeWithDoc> = {};
  if (random.bool()) attributes.epsilon = float(random.pick([1e-5, 1e-3, 0.1]));
  return singleNodeCase(`InstanceNormalization x${dimsLabel(x)} ${attrsLabel(attributes)}`, {
    opType: 'InstanceNormalization',
    opset: 6,
    inputs: [
      dataInput(random, random.tensor(dtype, x)),
      { name: 'scale', value: random.tensor(dtype, [channels]), constant },
      { name: 'bias', value: random.tensor(dtype, [channels]), constant },
    ],
    outputs: ['y'],
    attributes,
  });
}

/** LayerNormalization: every axis (negative too), optional bias, the Mean and InvStdDev outputs. */
function layerNormCase(random: Random): OpCase {
  const rank = random.int(1, 4);
  const x = repeat(rank, () => random.int(1, 7));
  const axis = random.int(-rank, rank - 1);
  const normalized = x.slice(axis < 0 ? axis + rank : axis);
  // Scale and B may also broadcast to the normalized dims (the function body multiplies and adds).
  const broadcast = random.bool(0.3);
  const parameterDims = broadcast ? normalized.slice(random.int(0, normalized.length)).map((dim) => (random.bool() ? 1 : dim)) : normalized;
  const dtype = random.pick<DataType>(['float32', 'float32', 'float64']);
  const bias = random.bool(0.6);
  const constant = random.bool();
  const statistics = random.bool(0.6);
  const attributes: Record<string, AttributeWithDoc> = {};
  if (axis !== -1 || random.bool(0.3)) attributes.axis = int(axis);
  // stash_type names Mean's element type: ORT runs 1 (float32) alone, bfloat16 (16) has no kernel there.
  if (random.bool(0.2)) attributes.stash_type = int(1);
  if (random.bool()) attributes.epsilon = float(random.pick([1e-5, 1e-3, 0.1]));
  return singleNodeCase(`LayerNormalization ${dtype} x${dimsLabel(x)} scale${dimsLabel(parameterDims)} bias=${bias} ${attrsLabel(attributes)}`, {
    opType: 'LayerNormalization',
    opset: 17,
    inputs: [
      dataInput(random, random.tensor(dtype, x)),
      { name: 'scale', value: random.tensor(dtype, parameterDims), constant },
      bias ? { name: 'bias', value: random.tensor(dtype, parameterDims), constant } : undefined,
    ],
    outputs: statistics ? ['y', 'mean', 'inv_std_dev'] : ['y'],
    attributes,
  });
}

/** GroupNormalization (opset 21, scale and bias per channel): every divisor of C as num_groups. */
function groupNormCase(random: Random): OpCase {
  const rank = random.int(3, 5);
  const x = [random.int(1, 3), random.pick([1, 2, 3, 4, 6]), ...repeat(rank - 2, () => random.int(1, 6))];
  const channels = x[1]!;
  const divisors = Array.from({ length: channels }, (_, i) => i + 1).filter((d) => channels % d === 0);
  const groups = random.pick(divisors);
  // ORT runs GroupNormalization-21 as its float32 function body, Var = E[x²] - E[x]², which loses digits on a
  // group of two or three close values: groups of at least 4 values.
  if ((channels / groups) * x.slice(2).reduce((a, b) => a * b, 1) < 4) return groupNormCase(random);
  const constant = random.bool();
  const attributes: Record<string, AttributeWithDoc> = { num_groups: int(groups) };
  if (random.bool()) attributes.epsilon = float(random.pick([1e-5, 1e-3, 0.1]));
  return singleNodeCase(`GroupNormalization x${dimsLabel(x)} ${attrsLabel(attributes)}`, {
    opType: 'GroupNormalization',
    opset: 21,
    inputs: [
      dataInput(random, random.tensor('float32', x)),
      { name: 'scale', value: random.tensor('float32', [channels]), constant },
      { name: 'bias', value: random.tensor('float32', [channels]), constant },
    ],
    outputs: ['y'],
    attributes,
  });
}

/** LRN: sizes up to and beyond the channel count, alpha, beta, bias. */
function lrnCase(random: Random): OpCase {
  // 4-D only: ORT's LRN takes [N, C, H, W] alone, though the spec allows any number of spatial axes.
  const x = [random.int(1, 2), random.int(1, 8), random.int(1, 6), random.int(1, 6)];
  // Odd sizes only: ORT rejects an even size, which the spec allows (one more channel after than before).
  const attributes: Record<string, AttributeWithDoc> = { size: int(random.pick([1, 3, 5, 7, 9])) };
  if (random.bool()) attributes.alpha = float(random.pick([1e-4, 0.01, 0.5]));
  if (random.bool()) attributes.beta = float(random.pick([0.5, 0.75, 1.3]));
  if (random.bool()) attributes.bias = float(random.pick([1, 2, 0.5]));
  return singleNodeCase(`LRN x${dimsLabel(x)} ${attrsLabel(attributes)}`, {
    opType: 'LRN',
    opset: 13,
    inputs: [dataInput(random, random.tensor('float32', x))],
    outputs: ['y'],
    attributes,
  });
}

function generator(op: string, make: (random: Random) => OpCase): OpGenerator {
  return { op, cases: (random: Random, count: number) => repeat(count, () => make(random)) };
}

export const generators: OpGenerator[] = [
  generator('Conv', convCase),
  generator('Conv (tiles)', convTilesCase),
  generator('ConvTranspose', convTransposeCase),
  generator('ConvTranspose (auto_pad)', convTransposeAutoPadCase),
  generator('MaxPool', maxPoolCase),
  generator('AveragePool', averagePoolCase),
  generator('LpPool', lpPoolCase),
  generator('GlobalAveragePool', globalPoolCase('GlobalAveragePool')),
  generator('GlobalMaxPool', globalPoolCase('GlobalMaxPool')),
  generator('BatchNormalization', batchNormCase),
  generator('InstanceNormalization', instanceNormCase),
  generator('LayerNormalization', layerNormCase),
  generator('GroupNormalization', groupNormCase),
  generator('LRN', lrnCase),
];
