import type { Dim, ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { NO_ACTIVATION } from '../kernels/activation.js';
import { convolve, planConv } from '../kernels/conv.js';
import { gemm, rowMajor } from '../kernels/gemm.js';
import { col2im } from '../kernels/im2col.js';
import { asRank3, spatialAxes, type ConvAttrs, type WindowAxis } from '../kernels/window.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { type Floats, floatsFor, floatsOf, integersOf, product, shapeOf, tensorOf, tensorType } from './common.js';
import { CONV_ATTRIBUTES, inferWindowed, numericDims, windowedSpatialDims } from './geometry.js';
import { floatOutput } from './outputs.js';

/**
 * Convolutions: Conv, ConvTranspose, DeformConv and Col2Im: schemas and glue over the convolution, im2col
 * and GEMM kernels of kernels/.
 */

// ---------------------------------------------------------------------------------------------------------
// Convolution

function addChannelBias(out: Floats, bias: Floats | undefined, batch: number, channels: number, plane: number): void {
  if (!bias) return;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const value = bias[c]!;
      const base = (n * channels + c) * plane;
      for (let i = 0; i < plane; i++) out[base + i]! += value;
    }
  }
}

function convKernel(ctx: KernelContext<ConvAttrs>): Tensor[] {
  const x = ctx.tensor(0);
  const w = ctx.tensor(1);
  const bias = ctx.optionalTensor(2);
  const plan = planConv(x.dims, w.dims, ctx.attrs, ctx.fail);
  const y = floatOutput(ctx, 0, x.type, plan.dims);
  convolve(plan, floatsOf(x), floatsOf(w), bias && floatsOf(bias), NO_ACTIVATION, y.values);
  return [y.done()];
}

interface ConvTransposeAttrs extends ConvAttrs {
  output_padding?: number[];
  output_shape?: number[];
}

/** Output extent and padding per axis of ConvTranspose (the axis' `output` is the result's extent). */
function transposedAxes(inputDims: readonly number[], kernel: readonly number[], attrs: ConvTransposeAttrs): WindowAxis[] {
  return inputDims.map((input, i) => transposedAxis(input, i, inputDims.length, kernel[i]!, attrs));
}

/** Spatial axis `i` of `rank` of ConvTranspose: output_shape or SAME auto_pad decide the padding, else pads. */
function transposedAxis(input: number, i: number, rank: number, kernelSize: number, attrs: ConvTransposeAttrs): WindowAxis {
  const outputShape = attrs.output_shape?.slice(-rank);
  const stride = attrs.strides?.[i] ?? 1;
  const dilation = attrs.dilations?.[i] ?? 1;
  const span = (kernelSize - 1) * dilation + 1;
  const natural = stride * (input - 1) + (attrs.output_padding?.[i] ?? 0) + span;
  let padBegin = attrs.pads?.[i] ?? 0;
  let padEnd = attrs.pads?.[i + rank] ?? 0;
  const sameMode = attrs.auto_pad === 'SAME_UPPER' || attrs.auto_pad === 'SAME_LOWER';
  if (outputShape || sameMode) {
    const wanted = outputShape ? outputShape[i]! : input * stride;
    const total = natural - wanted;
    const half = Math.floor(total / 2);
    // SAME_UPPER pads less at the beginning; SAME_LOWER (and an explicit output_shape) less at the end.
    [padBegin, padEnd] = attrs.auto_pad === 'SAME_UPPER' ? [half, total - half] : [total - half, half];
  }
  return { input, output: natural - padBegin - padEnd, kernel: kernelSize, stride, dilation, padBegin, padEnd };
}

/** ConvTranspose's Y [N, W[1]·group, spatial...]: the output extents are transposedAxis', as the kernel's. */
function inferConvTranspose({ inputTypes, attrs }: InferContext<ConvTransposeAttrs>): (ValueType | undefined)[] {
  const x = inputTypes[0];
  if (x?.kind !== 'tensor') return [undefined];
  const shape = shapeOf(x);
  const weights = shapeOf(inputTypes[1]);
  const kernel = attrs.kernel_shape ?? numericDims(weights?.slice(2));
  if (!shape || shape.length < 3) return [tensorType(x.dtype)];
  try {
    const groupOutChannels = weights?.[1];
    const channels = typeof groupOutChannels === 'number' ? groupOutChannels * attrs.group : undefined;
    const spatial = kernel
      ? windowedSpatialDims(shape.slice(2), kernel, attrs, (input, i, rank, kernelSize) => transposedAxis(input, i, rank, kernelSize, attrs))
      : shape.slice(2).map(() => undefined);
    return [tensorType(x.dtype, [shape[0], channels, ...spatial])];
  } catch {
    return [tensorType(x.dtype)];
  }
}

/** ConvTranspose: per group, columns = Wᵀ·X (one row per output channel and tap), then scattered into Y. */
function convTransposeKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<ConvTransposeAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const bias = optionalTensor(2);
  if (x.dims.length < 3) fail('INVALID_ARGUMENT', `input X must be [N, C, spatial...], got [${x.dims.join(', ')}]`);
  const kernel = attrs.kernel_shape ?? w.dims.slice(2);
  const axes = transposedAxes(x.dims.slice(2), kernel, attrs);
  const rank3 = asRank3(axes, fail);
  const [batch, channels] = [x.dims[0]!, x.dims[1]!];
  const group = attrs.group;
  if (w.dims[0] !== channels) fail('SHAPE_MISMATCH', `ConvTranspose W must have ${channels} rows (input channels), got ${w.dims[0]}`);
  const groupChannels = channels / group;
  const groupOutChannels = w.dims[1]!;
  const outChannels = groupOutChannels * group;
  const kernelVolume = product(kernel);
  const rows = groupOutChannels * kernelVolume;
  const inPlane = product(x.dims, 2);
  const outPlane = rank3[0].output * rank3[1].output * rank3[2].output;
  const xValues = floatsOf(x);
  const wValues = floatsOf(w);
  const out = floatsFor(x.type, batch * outChannels * outPlane);
  const columns = floatsFor(x.type, rows * inPlane);
  const windows: [number, number, number] = [rank3[0].input, rank3[1].input, rank3[2].input];
  for (let g = 0; g < group; g++) {
    // W_g is [C/group, rows]: read transposed in place.
    const weightsT = rowMajor(wValues, g * groupChannels * rows, rows, true);
    for (let n = 0; n < batch; n++) {
      gemm(rows, inPlane, groupChannels, weightsT, rowMajor(xValues, (n * channels + g * groupChannels) * inPlane, inPlane), columns, 0, inPlane);
      col2im(columns, 0, groupOutChannels, rank3, windows, out, (n * outChannels + g * groupOutChannels) * outPlane);
    }
  }
  addChannelBias(out, bias && floatsOf(bias), batch, outChannels, outPlane);
  return [tensorOf(x.type, [batch, outChannels, ...axes.map((axis) => axis.output)], out)];
}

/** Col2Im's output dims [N, C, image...] for input [N, C·∏block, L]; C is unknown when it does not divide. */
function col2ImOutputDims(inputDims: readonly Dim[], imageShape: readonly number[], blockShape: readonly number[]): Dim[] {
  const rows = inputDims[1];
  const channels = typeof rows === 'number' ? rows / product(blockShape) : undefined;
  return [inputDims[0], channels !== undefined && Number.isInteger(channels) ? channels : undefined, ...imageShape];
}

/** Col2Im's output dims need image_shape and block_shape as constants; else only the rank is known. */
function inferCol2Im({ inputTypes, constant }: InferContext): (ValueType | undefined)[] {
  const input = inputTypes[0];
  if (input?.kind !== 'tensor') return [undefined];
  const shape = shapeOf(input);
  const imageShape = constant(1);
  const blockShape = constant(2);
  if (shape?.length === 3 && imageShape && blockShape) {
    return [tensorType(input.dtype, col2ImOutputDims(shape, integersOf(imageShape), integersOf(blockShape)))];
  }
  const imageRank = shapeOf(inputTypes[1])?.[0];
  if (typeof imageRank !== 'number') return [tensorType(input.dtype)];
  return [tensorType(input.dtype, [shape?.[0], undefined, ...new Array<Dim>(imageRank).fill(undefined)])];
}

/** Col2Im: the sliding blocks of `input` [N, C·∏block, L] summed back into images of `image_shape`. */
function col2ImKernel({ tensor, attrs, fail }: KernelContext<{ dilations?: number[]; pads?: number[]; strides?: number[] }>): Tensor[] {
  const input = tensor(0);
  const imageShape = integersOf(tensor(1));
  const blockShape = integersOf(tensor(2));
  const rank = imageShape.length;
  if (blockShape.length !== rank) fail('INVALID_ARGUMENT', 'block_shape must have one value per image axis');
  const axes: WindowAxis[] = imageShape.map((image, i) => ({
    input: 0,
    output: image,
    kernel: blockShape[i]!,
    stride: attrs.strides?.[i] ?? 1,
    dilation: attrs.dilations?.[i] ?? 1,
    padBegin: attrs.pads?.[i] ?? 0,
    padEnd: attrs.pads?.[i + rank] ?? 0,
  }));
  for (const axis of axes) {
    axis.input = Math.floor((axis.output + axis.padBegin + axis.padEnd - ((axis.kernel - 1) * axis.dilation + 1)) / axis.stride) + 1;
  }
  const rank3 = asRank3(axes, fail);
  const [batch, rows, positions] = [input.dims[0]!, input.dims[1]!, input.dims[2]!];
  const channels = col2ImOutputDims(input.dims, imageShape, blockShape)[1];
  if (typeof channels !== 'number' || positions !== product(axes.map((axis) => axis.input))) {
    return fail('SHAPE_MISMATCH', `input [${input.dims.join(', ')}] does not match image_shape [${imageShape.join(', ')}] and block_shape [${blockShape.join(', ')}]`);
  }
  const imagePlane = product(imageShape);
  const out = floatsFor(input.type, batch * channels * imagePlane);
  const values = floatsOf(input);
  const windows: [number, number, number] = [rank3[0].input, rank3[1].input, rank3[2].input];
  for (let n = 0; n < batch; n++) {
    col2im(values, n * rows * positions, channels, rank3, windows, out, n * channels * imagePlane);
  }
  return [tensorOf(input.type, [batch, channels, ...imageShape], out)];
}

type DeformConvAttrs = Omit<ConvAttrs, 'auto_pad'> & { offset_group: number };

/**
 * DeformConv (2-D): Conv whose kernel taps sample X bilinearly at their position moved by a learned offset
 * (and weighted by an optional mask); the sampled patches then go through the same matrix product as Conv.
 */
function deformConvKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<DeformConvAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const bias = optionalTensor(3);
  if (x.dims.length !== 4) fail('INVALID_ARGUMENT', 'DeformConv supports 2-D inputs [N, C, H, W] only');
  const kernel = attrs.kernel_shape ?? w.dims.slice(2);
  const [ah, aw] = spatialAxes({ ...attrs, auto_pad: 'NOTSET' }, x.dims, kernel, fail) as [WindowAxis, WindowAxis];
  const [batch, channels] = [x.dims[0]!, x.dims[1]!];
  const outChannels = w.dims[0]!;
  const group = attrs.group;
  const taps = ah.kernel * aw.kernel;
  const outPlane = ah.output * aw.output;
  const rowLength = channels * taps;
  const patches = new Float64Array(outPlane * rowLength);
  const weights = Float64Array.from(floatsOf(w));
  const result = new Float64Array(outChannels * outPlane);
  const out = floatsFor(x.type, batch * outChannels * outPlane);
  const groupK = (channels / group) * taps;
  const groupOut = outChannels / group;
  const offset = floatsOf(tensor(2));
  const mask = optionalTensor(4);
  for (let n = 0; n < batch; n++) {
    sampleDeformedPatches(n, x, offset, mask, attrs.offset_group, ah, aw, patches);
    for (let g = 0; g < group; g++) {
      // patches holds one row per output position: read as [groupK, outPlane], transposed in place.
      gemm(groupOut, outPlane, groupK, rowMajor(weights, g * groupOut * groupK, groupK), rowMajor(patches, g * groupK, rowLength, true), result, g * groupOut * outPlane, outPlane);
    }
    out.set(result, n * outChannels * outPlane);
  }
  addChannelBias(out, bias && floatsOf(bias), batch, outChannels, outPlane);
  return [tensorOf(x.type, [batch, outChannels, ah.output, aw.output], out)];
}

/** Rows of `patches` for sample n: per output position, every channel's kernel taps sampled at their offsets. */
function sampleDeformedPatches(
  n: number, x: Tensor, offset: Floats, maskTensor: Tensor | undefined, offsetGroups: number,
  ah: WindowAxis, aw: WindowAxis, patches: Float64Array,
): void {
  const [channels, H, W] = [x.dims[1]!, x.dims[2]!, x.dims[3]!];
  const xValues = floatsOf(x);
  const mask = maskTensor && floatsOf(maskTensor);
  const offsetGroupChannels = channels / offsetGroups;
  const taps = ah.kernel * aw.kernel;
  const outPlane = ah.output * aw.output;
  const rowLength = channels * taps;
  for (let p = 0; p < outPlane; p++) {
    const oh = Math.floor(p / aw.output);
    const ow = p % aw.output;
    for (let c = 0; c < channels; c++) {
      const offsetGroup = Math.floor(c / offsetGroupChannels);
      const image = (n * channels + c) * H * W;
      for (let tap = 0; tap < taps; tap++) {
        const kh = Math.floor(tap / aw.kernel);
        const kw = tap % aw.kernel;
        const offsetChannel = (n * offsetGroups + offsetGroup) * 2 * taps + 2 * tap;
        const dy = offset[offsetChannel * outPlane + p]!;
        const dx = offset[(offsetChannel + 1) * outPlane + p]!;
        const y = oh * ah.stride - ah.padBegin + kh * ah.dilation + dy;
        const xPos = ow * aw.stride - aw.padBegin + kw * aw.dilation + dx;
        const scale = mask ? mask[((n * offsetGroups + offsetGroup) * taps + tap) * outPlane + p]! : 1;
        patches[p * rowLength + c * taps + tap] = scale * bilinear(xValues, image, H, W, y, xPos);
      }
    }
  }
}

/** Bilinear sample of one H×W image at (y, x); corners outside the image count as 0. */
function bilinear(values: Floats, base: number, H: number, W: number, y: number, x: number): number {
  if (y <= -1 || y >= H || x <= -1 || x >= W) return 0;
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  const sample = (row: number, col: number) => (row >= 0 && row < H && col >= 0 && col < W ? values[base + row * W + col]! : 0);
  return (
    (1 - fy) * ((1 - fx) * sample(y0, x0) + fx * sample(y0, x0 + 1)) +
    fy * ((1 - fx) * sample(y0 + 1, x0) + fx * sample(y0 + 1, x0 + 1))
  );
}

// ---------------------------------------------------------------------------------------------------------
// Catalogue

export const ops: OpDef[] = [
  ...[1, 11].map((since) => defineOp({ name: 'Conv', since, inputs: ['X', 'W', 'B?'], outputs: ['Y'], attributes: CONV_ATTRIBUTES, infer: inferWindowed({ weightsIndex: 1 }), kernel: convKernel })),
  ...[1, 11].map((since) =>
    defineOp({
      name: 'ConvTranspose',
      since,
      inputs: ['X', 'W', 'B?'],
      outputs: ['Y'],
      attributes: { ...CONV_ATTRIBUTES, output_padding: attr.ints(), output_shape: attr.ints() },
      infer: inferConvTranspose,
      kernel: convTransposeKernel,
    }),
  ),
  defineOp({
    name: 'DeformConv',
    since: 19,
    inputs: ['X', 'W', 'offset', 'B?', 'mask?'],
    outputs: ['Y'],
    attributes: { dilations: attr.ints(), group: attr.int(1), kernel_shape: attr.ints(), offset_group: attr.int(1), pads: attr.ints(), strides: attr.ints() },
    // auto_pad is not an attribute of DeformConv: explicit pads, as the kernel's NOTSET.
    infer: inferWindowed({ weightsIndex: 1 }),
    kernel: deformConvKernel,
  }),
  defineOp({
    name: 'Col2Im',
    since: 18,
    inputs: ['input', 'image_shape', 'block_shape'],
    outputs: ['output'],
    attributes: { dilations: attr.ints(), pads: attr.ints(), strides: attr.ints() },
    infer: inferCol2Im,
    kernel: col2ImKernel,
  }),
];
