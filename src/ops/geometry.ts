import type { DataType } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import type { Dim, ValueType } from '../core/graph.js';
import { windowAxis, type WindowAttrs, type WindowAxis } from '../kernels/window.js';
import { broadcastDim, shapeOf, tensorType } from './common.js';
import { attr, type InferContext } from './registry.js';

/**
 * Schema and shape inference shared by op families: the attributes and output shapes of sliding-window ops
 * (Conv, ConvTranspose, pooling, the quantized convolutions) and of matrix products (MatMul and the integer
 * and quantized products). The geometry itself is the kernels' (kernels/window.ts), so inference and
 * kernels agree on every extent.
 */

/** Conv's attributes with the spec defaults; ConvTranspose, ConvInteger and QLinearConv build on them. */
export const CONV_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

/** The dims when every one is a number. */
export function numericDims(shape: readonly Dim[] | undefined): number[] | undefined {
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
export function windowedSpatialDims(
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

/**
 * MatMul's output dims from the operands' dims (numpy rules, as the kernels compute them), or undefined when
 * a rank is unknown or an operand is a scalar.
 */
export function matMulShape(aShape: readonly Dim[] | undefined, bShape: readonly Dim[] | undefined): Dim[] | undefined {
  if (!aShape?.length || !bShape?.length) return undefined;
  const aDims = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bDims = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const rank = Math.max(aDims.length, bDims.length) - 2;
  const dims: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    dims.push(broadcastDim(aDims[aDims.length - 2 - rank + i] ?? 1, bDims[bDims.length - 2 - rank + i] ?? 1));
  }
  if (aShape.length > 1) dims.push(aDims[aDims.length - 2]);
  if (bShape.length > 1) dims.push(bDims[bDims.length - 1]);
  return dims;
}
