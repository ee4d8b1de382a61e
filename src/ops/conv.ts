import type { DataType } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import type { Dim, ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { type Floats, floatsFor, floatsLike, floatsOf, integersOf, product, shapeOf, tensorOf, tensorType } from './common.js';
import { gemmTransposedB, transposed } from './matmul.js';

/**
 * Convolutions: Conv, ConvTranspose, DeformConv and Col2Im, and the sliding-window geometry (auto_pad, pads,
 * strides, dilations, output sizes) that pooling and the quantized convolutions share.
 *
 * Conv is im2col + the plain blocked matrix product of matmul.ts. Spatial ranks 1 and 2 run as rank 3 with
 * leading axes of size 1, so one loop nest serves 1-D, 2-D and 3-D.
 */

// ---------------------------------------------------------------------------------------------------------
// Spatial geometry shared by convolutions and pooling

/** One spatial axis of a sliding window: input and output extent, kernel, stride, dilation and padding. */
export interface WindowAxis {
  input: number;
  output: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
}

export interface WindowAttrs {
  /** NOTSET when absent (DeformConv has no auto_pad). */
  auto_pad?: string;
  pads?: number[];
  strides?: number[];
  dilations?: number[];
  ceil_mode?: number;
}

/** Output extent and padding per spatial axis, as the spec's auto_pad / pads / ceil_mode rules give them. */
function windowAxes(inputDims: readonly number[], kernel: readonly number[], options: WindowAttrs, fail: KernelContext['fail']): WindowAxis[] {
  const rank = inputDims.length;
  if (kernel.length !== rank) fail('INVALID_ARGUMENT', `kernel_shape [${kernel.join(', ')}] must have ${rank} values, one per spatial axis`);
  return inputDims.map((input, i) => windowAxis(input, i, rank, kernel[i]!, options, fail));
}

/** Spatial axis `i` of `rank` (pads hold rank begin values, then rank end values) of a window of `kernelSize`. */
function windowAxis(input: number, i: number, rank: number, kernelSize: number, options: WindowAttrs, fail: KernelContext['fail']): WindowAxis {
  const stride = options.strides?.[i] ?? 1;
  const dilation = options.dilations?.[i] ?? 1;
  const span = (kernelSize - 1) * dilation + 1;
  const round = options.ceil_mode ? Math.ceil : Math.floor;
  let padBegin = 0;
  let padEnd = 0;
  let output: number;
  if (options.auto_pad === 'SAME_UPPER' || options.auto_pad === 'SAME_LOWER') {
    output = Math.ceil(input / stride);
    const total = Math.max(0, (output - 1) * stride + span - input);
    // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
    padBegin = options.auto_pad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    padEnd = total - padBegin;
  } else {
    if (options.auto_pad !== 'VALID') {
      padBegin = options.pads?.[i] ?? 0;
      padEnd = options.pads?.[i + rank] ?? 0;
    }
    output = round((input + padBegin + padEnd - span) / stride) + 1;
    // A window may not start inside the end padding only (ceil_mode would otherwise add an empty window).
    if (options.ceil_mode && (output - 1) * stride >= input + padBegin) output--;
  }
  if (output < 1) fail('INVALID_ARGUMENT', `spatial axis ${i} of size ${input} is too small for a window of ${span}`);
  return { input, output, kernel: kernelSize, stride, dilation, padBegin, padEnd };
}

const UNIT_AXIS: WindowAxis = { input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0 };

/** Rank 1 and 2 windows as rank 3 with leading unit axes, so one triple loop serves all ranks. */
export function asRank3(axes: WindowAxis[], fail: KernelContext['fail']): [WindowAxis, WindowAxis, WindowAxis] {
  if (axes.length > 3) fail('INVALID_ARGUMENT', `${axes.length} spatial axes are not supported (at most 3)`);
  const padded = [...new Array<WindowAxis>(3 - axes.length).fill(UNIT_AXIS), ...axes];
  return [padded[0]!, padded[1]!, padded[2]!];
}

/** The window axes of X [N, C, spatial...]. */
export function spatialAxes(attrs: WindowAttrs, xDims: readonly number[], kernel: readonly number[], fail: KernelContext['fail']): WindowAxis[] {
  if (xDims.length < 3) fail('INVALID_ARGUMENT', `input X must be [N, C, spatial...], got [${xDims.join(', ')}]`);
  return windowAxes(xDims.slice(2), kernel, attrs, fail);
}

/** The dims when every one is a number. */
function numericDims(shape: readonly Dim[] | undefined): number[] | undefined {
  return shape?.every((dim): dim is number => typeof dim === 'number') ? (shape as number[]) : undefined;
}

/** A kernel's `fail` for inference: throws, and inference (advisory) leaves the output unknown. */
function inferFail(code: EdgerunError['code'], detail: string): never {
  throw new EdgerunError(code, detail);
}

/**
 * Spatial output dims of a window of `kernel` over X's spatial dims `spatial`, per axis as the kernels
 * compute them: a symbolic or unknown input extent gives an unknown output extent.
 */
function windowedSpatialDims(
  spatial: readonly Dim[], kernel: readonly number[], attrs: WindowAttrs,
  axisOf: (input: number, i: number, rank: number, kernelSize: number) => WindowAxis = (input, i, rank, kernelSize) => windowAxis(input, i, rank, kernelSize, attrs, inferFail),
): Dim[] {
  const rank = spatial.length;
  if (kernel.length !== rank) inferFail('INVALID_ARGUMENT', `kernel_shape [${kernel.join(', ')}] must have ${rank} values, one per spatial axis`);
  return spatial.map((input, i) => (typeof input === 'number' ? axisOf(input, i, rank, kernel[i]!).output : undefined));
}

/** What a sliding-window op's inference reads besides X (input 0) and its attributes. */
export interface WindowedOutputs {
  /** The input holding W [M, C/group, kernel...], if the op has weights. */
  weightsIndex?: number;
  /** The output's element type when it is not X's. */
  dtype?: (inputTypes: readonly (ValueType | undefined)[]) => DataType | undefined;
  /** The element type of a second output shaped like the first (MaxPool's Indices). */
  extraOutput?: DataType;
}

/**
 * Output type of a sliding-window op (Conv, pooling) from X [N, C, spatial...]: the channels come from W's
 * first dim, or from X when there are no weights; the kernel from kernel_shape or W's spatial dims; each
 * spatial extent from windowAxis, as the kernels compute it.
 */
export function inferWindowed(options: WindowedOutputs = {}) {
  return ({ inputTypes, attrs }: InferContext<WindowAttrs & { kernel_shape?: number[] }>): (ValueType | undefined)[] => {
    const x = inputTypes[0];
    const dtype = options.dtype ? options.dtype(inputTypes) : x?.kind === 'tensor' ? x.dtype : undefined;
    if (dtype === undefined) return [undefined];
    const outputs = (type: ValueType) => (options.extraOutput ? [type, { ...type, dtype: options.extraOutput }] : [type]);
    const shape = shapeOf(x);
    const weights = options.weightsIndex === undefined ? undefined : shapeOf(inputTypes[options.weightsIndex]);
    const kernel = attrs.kernel_shape ?? numericDims(weights?.slice(2));
    if (!shape || shape.length < 3) return outputs(tensorType(dtype));
    try {
      const channels = options.weightsIndex === undefined ? shape[1] : weights?.[0];
      const spatial = kernel ? windowedSpatialDims(shape.slice(2), kernel, attrs) : shape.slice(2).map(() => undefined);
      return outputs(tensorType(dtype, [shape[0], channels, ...spatial]));
    } catch {
      return outputs(tensorType(dtype));
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Convolution

export interface ConvAttrs extends WindowAttrs {
  group: number;
  kernel_shape?: number[];
}

/** Conv's attributes with the spec defaults; ConvTranspose, ConvInteger and QLinearConv build on them. */
export const CONV_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

/**
 * The convolution of X [N, C, spatial...] with W [M, C/group, kernel...], without bias, in X's float type.
 * It is im2col + matrix product, one tile of output positions at a time: each output position's receptive
 * field is copied into one contiguous row of `patches`, so the product reads weights and patches as rows.
 */
export function convolution(
  x: Floats, xDims: readonly number[],
  w: Floats, wDims: readonly number[],
  attrs: ConvAttrs, fail: KernelContext['fail'],
): { dims: number[]; values: Floats } {
  const axes = spatialAxes(attrs, xDims, attrs.kernel_shape ?? wDims.slice(2), fail);
  const [batch, channels] = [xDims[0]!, xDims[1]!];
  const outChannels = wDims[0]!;
  const group = attrs.group;
  if (channels !== wDims[1]! * group) {
    fail('SHAPE_MISMATCH', `Conv input X has ${channels} channels, W expects ${wDims[1]} per group × ${group} groups`);
  }
  if (outChannels % group !== 0) fail('SHAPE_MISMATCH', `Conv W has ${outChannels} output channels, not a multiple of group ${group}`);
  const rank3 = asRank3(axes, fail);
  const [ad, ah, aw] = rank3;
  const groupChannels = channels / group;
  const groupOutChannels = outChannels / group;
  const K = groupChannels * ad.kernel * ah.kernel * aw.kernel;
  const inPlane = ad.input * ah.input * aw.input;
  const outPlane = ad.output * ah.output * aw.output;
  const out = floatsLike(x, batch * outChannels * outPlane);
  // Tiles of a multiple of 4 positions (the product's block width) whose patches stay in cache.
  const tileSize = Math.min(outPlane, Math.max(16, Math.floor(131072 / K) & ~3));
  const patches = floatsLike(x, tileSize * K);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < group; g++) {
      const channelBase = (n * channels + g * groupChannels) * inPlane;
      for (let tileStart = 0; tileStart < outPlane; tileStart += tileSize) {
        const tileEnd = Math.min(outPlane, tileStart + tileSize);
        gatherPatches(x, channelBase, groupChannels, rank3, tileStart, tileEnd, patches);
        gemmTransposedB(
          groupOutChannels, tileEnd - tileStart, K,
          w, g * groupOutChannels * K, K,
          patches, 0, K,
          out, (n * outChannels + g * groupOutChannels) * outPlane + tileStart, outPlane,
        );
      }
    }
  }
  return { dims: [batch, outChannels, ...axes.map((axis) => axis.output)], values: out };
}

/** Rows of `patches`: for output positions [from, to), the receptive field over all channels (0 in padding). */
function gatherPatches(
  x: Floats, channelBase: number, channels: number,
  [ad, ah, aw]: [WindowAxis, WindowAxis, WindowAxis],
  from: number, to: number, patches: Floats,
): void {
  const D = ad.input;
  const H = ah.input;
  const W = aw.input;
  const inPlane = D * H * W;
  let j = 0;
  for (let p = from; p < to; p++) {
    const ow = p % aw.output;
    const oh = Math.floor(p / aw.output) % ah.output;
    const od = Math.floor(p / (aw.output * ah.output));
    const d0 = od * ad.stride - ad.padBegin;
    const h0 = oh * ah.stride - ah.padBegin;
    const w0 = ow * aw.stride - aw.padBegin;
    for (let c = 0; c < channels; c++) {
      const plane = channelBase + c * inPlane;
      for (let kd = 0; kd < ad.kernel; kd++) {
        const id = d0 + kd * ad.dilation;
        for (let kh = 0; kh < ah.kernel; kh++) {
          const ih = h0 + kh * ah.dilation;
          if (id < 0 || id >= D || ih < 0 || ih >= H) {
            for (let kw = 0; kw < aw.kernel; kw++) patches[j++] = 0;
            continue;
          }
          const row = plane + (id * H + ih) * W;
          for (let kw = 0; kw < aw.kernel; kw++) {
            const iw = w0 + kw * aw.dilation;
            patches[j++] = iw >= 0 && iw < W ? x[row + iw]! : 0;
          }
        }
      }
    }
  }
}

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

function convKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<ConvAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const bias = optionalTensor(2);
  const { dims, values } = convolution(floatsOf(x), x.dims, floatsOf(w), w.dims, attrs, fail);
  addChannelBias(values, bias && floatsOf(bias), dims[0]!, dims[1]!, product(dims, 2));
  return [tensorOf(x.type, dims, values)];
}

/**
 * The inverse of gatherPatches for one image: each column entry (channel, kernel tap, window position) is
 * added to the image position the tap lands on; taps landing in padding are dropped.
 */
function scatterPatches(
  columns: Floats, columnsOffset: number, channels: number,
  [ad, ah, aw]: [WindowAxis, WindowAxis, WindowAxis],
  windows: [number, number, number],
  image: Floats, imageOffset: number,
): void {
  const [gd, gh, gw] = windows;
  const positions = gd * gh * gw;
  const D = ad.output;
  const H = ah.output;
  const W = aw.output;
  let row = columnsOffset;
  for (let c = 0; c < channels; c++) {
    const plane = imageOffset + c * D * H * W;
    for (let kd = 0; kd < ad.kernel; kd++) {
      for (let kh = 0; kh < ah.kernel; kh++) {
        for (let kw = 0; kw < aw.kernel; kw++, row += positions) {
          let p = row;
          for (let pd = 0; pd < gd; pd++) {
            const od = pd * ad.stride - ad.padBegin + kd * ad.dilation;
            for (let ph = 0; ph < gh; ph++, p += gw) {
              const oh = ph * ah.stride - ah.padBegin + kh * ah.dilation;
              if (od < 0 || od >= D || oh < 0 || oh >= H) continue;
              const target = plane + (od * H + oh) * W;
              for (let pw = 0; pw < gw; pw++) {
                const ow = pw * aw.stride - aw.padBegin + kw * aw.dilation;
                if (ow >= 0 && ow < W) image[target + ow]! += columns[p + pw]!;
              }
            }
          }
        }
      }
    }
  }
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
    const weightsT = transposed(wValues, g * groupChannels * rows, groupChannels, rows);
    for (let n = 0; n < batch; n++) {
      const inputT = transposed(xValues, (n * channels + g * groupChannels) * inPlane, groupChannels, inPlane);
      gemmTransposedB(rows, inPlane, groupChannels, weightsT, 0, groupChannels, inputT, 0, groupChannels, columns, 0, inPlane);
      scatterPatches(columns, 0, groupOutChannels, rank3, windows, out, (n * outChannels + g * groupOutChannels) * outPlane);
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
    scatterPatches(values, n * rows * positions, channels, rank3, windows, out, n * channels * imagePlane);
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
      gemmTransposedB(groupOut, outPlane, groupK, weights, g * groupOut * groupK, groupK, patches, g * groupK, rowLength, result, g * groupOut * outPlane, outPlane);
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
