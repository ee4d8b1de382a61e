import { EdgerunError } from '../core/errors.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { defineOp, attr, type InferContext, type KernelContext, type OpDef, type ResolvedAttrs } from './registry.js';
import { integersOf, normalizeAxis, numbersOf, shapeOf, stridesOf, tensorFromNumbers, tensorType } from './common.js';

/**
 * Image ops: Resize / Upsample (separable interpolation, one axis at a time), GridSample and AffineGrid.
 * Semantics follow the ONNX reference implementation, which generated the backend test data; float32 linear
 * resizing of the last two axes follows onnxruntime's float32 arithmetic bit for bit (float32Bilinear).
 */

// ---------------------------------------------------------------------------------------------------
// Resize and Upsample

type CoordinateMode =
  | 'half_pixel'
  | 'half_pixel_symmetric'
  | 'pytorch_half_pixel'
  | 'align_corners'
  | 'asymmetric'
  | 'tf_half_pixel_for_nn'
  | 'tf_crop_and_resize';

/** 'simple' is the pre-opset-11 rule: floor when upsampling, ceil when downsampling (as onnxruntime). */
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'simple';

interface ResizeOptions {
  mode: 'nearest' | 'linear' | 'cubic';
  coordinateMode: CoordinateMode;
  nearestMode: NearestMode;
  cubicCoeffA: number;
  excludeOutside: boolean;
  extrapolationValue: number;
  antialias: boolean;
}

/** How one axis is resized: lengths, scale and the region of interest (fractions of the input). */
interface AxisResize {
  inLength: number;
  outLength: number;
  scale: number;
  roiStart: number;
  roiEnd: number;
}

/**
 * For one axis, the input taps of every output index: `tapCount` indices and weights per output index,
 * or `extrapolate[o]` set where tf_crop_and_resize samples outside the input.
 */
interface AxisTaps {
  tapCount: number;
  indices: Int32Array;
  weights: Float64Array;
  extrapolate: Uint8Array;
}

/** The input coordinate an output index samples, by the spec's coordinate_transformation_mode formulas. */
function originalCoordinate(x: number, axis: AxisResize, mode: CoordinateMode): number {
  const { inLength, outLength, scale, roiStart, roiEnd } = axis;
  // The reference uses the unrounded output length scale * input length in these formulas.
  const scaledLength = scale * inLength;
  switch (mode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adjustment = outLength / scaledLength;
      const offset = (inLength / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return scaledLength === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case 'align_corners':
      return scaledLength === 1 ? 0 : (x * (inLength - 1)) / (scaledLength - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const span = (roiEnd - roiStart) * (inLength - 1);
      const within = scaledLength === 1 ? span / 2 : (x * span) / (scaledLength - 1);
      return within + roiStart * (inLength - 1);
    }
  }
}

function nearestIndex(x: number, mode: NearestMode, downsampling: boolean): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'simple':
      return downsampling ? Math.ceil(x) : Math.trunc(x);
  }
}

/** Keys' cubic convolution kernel with parameter a, at distance |s|. */
function cubicKernel(s: number, a: number): number {
  const d = Math.abs(s);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/**
 * Interpolation weights around a sample at `ratio` (in (0, 1]) past input index `base`: tap k reads index
 * base + first + k. With antialias, downsampling stretches the kernel by 1 / scale and normalizes it.
 */
function interpolationWeights(ratio: number, scale: number, options: ResizeOptions): { first: number; weights: number[] } {
  const support = options.mode === 'cubic' ? 2 : 1;
  const kernel = options.mode === 'cubic' ? (s: number) => cubicKernel(s, options.cubicCoeffA) : (s: number) => Math.max(0, 1 - Math.abs(s));
  const stretch = options.antialias ? Math.min(scale, 1) : 1;
  const first = Math.floor(-support / stretch) + 1;
  const weights: number[] = [];
  for (let k = first; k < 2 - first; k++) weights.push(kernel(stretch * (k - ratio)));
  if (options.antialias) normalize(weights);
  return { first, weights };
}

function normalize(weights: number[]): void {
  const total = weights.reduce((sum, w) => sum + w, 0);
  for (let k = 0; k < weights.length; k++) weights[k]! /= total;
}

function axisTaps(axis: AxisResize, options: ResizeOptions): AxisTaps {
  const { inLength, outLength } = axis;
  const extrapolate = new Uint8Array(outLength);
  const tapsPerOutput: { indices: number[]; weights: number[] }[] = [];
  for (let o = 0; o < outLength; o++) {
    const x = originalCoordinate(o, axis, options.coordinateMode);
    if (options.coordinateMode === 'tf_crop_and_resize' && (x < 0 || x > inLength - 1)) {
      extrapolate[o] = 1;
      tapsPerOutput.push({ indices: [], weights: [] });
      continue;
    }
    if (options.mode === 'nearest') {
      const index = nearestIndex(x, options.nearestMode, axis.scale < 1);
      tapsPerOutput.push({ indices: [clamp(index, 0, inLength - 1)], weights: [1] });
      continue;
    }
    // The reference measures the fraction from the neighbour on the left, so it lies in (0, 1].
    const base = Number.isInteger(x) ? x - 1 : Math.floor(x);
    const { first, weights } = interpolationWeights(x - base, axis.scale, options);
    const indices = weights.map((_, k) => base + first + k);
    if (options.excludeOutside) {
      indices.forEach((index, k) => {
        if (index < 0 || index >= inLength) weights[k] = 0;
      });
      normalize(weights);
    }
    // Samples past the edges repeat the edge value.
    tapsPerOutput.push({ indices: indices.map((index) => clamp(index, 0, inLength - 1)), weights });
  }
  const tapCount = tapsPerOutput.reduce((widest, taps) => Math.max(widest, taps.indices.length), 1);
  const indices = new Int32Array(outLength * tapCount);
  const weights = new Float64Array(outLength * tapCount);
  tapsPerOutput.forEach((taps, o) => {
    taps.indices.forEach((index, k) => {
      indices[o * tapCount + k] = index;
      weights[o * tapCount + k] = taps.weights[k]!;
    });
  });
  return { tapCount, indices, weights, extrapolate };
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

/** Resizes `values` (laid out by `dims`) along one axis with precomputed taps. */
function resizeAlongAxis(values: ArrayLike<number>, dims: readonly number[], axis: number, taps: AxisTaps, extrapolationValue: number): Float64Array {
  const inLength = dims[axis]!;
  const outLength = taps.extrapolate.length;
  const inner = stridesOf(dims)[axis]!;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const out = new Float64Array(outer * outLength * inner);
  const { tapCount, indices, weights, extrapolate } = taps;
  for (let b = 0; b < outer; b++) {
    const inBase = b * inLength * inner;
    const outBase = b * outLength * inner;
    for (let o = 0; o < outLength; o++) {
      const outRow = outBase + o * inner;
      if (extrapolate[o]) {
        out.fill(extrapolationValue, outRow, outRow + inner);
        continue;
      }
      for (let k = 0; k < tapCount; k++) {
        const weight = weights[o * tapCount + k]!;
        if (weight === 0) continue;
        const inRow = inBase + indices[o * tapCount + k]! * inner;
        for (let i = 0; i < inner; i++) out[outRow + i]! += weight * values[inRow + i]!;
      }
    }
  }
  return out;
}

function resizeTensor(x: Tensor, axes: AxisResize[], options: ResizeOptions): Tensor {
  const bilinear = float32Bilinear(x, axes, options);
  if (bilinear) return bilinear;
  let values: ArrayLike<number> = numbersOf(x);
  const dims = x.dims.slice();
  axes.forEach((axis, index) => {
    const identity =
      axis.outLength === axis.inLength &&
      axis.scale === 1 &&
      (options.coordinateMode !== 'tf_crop_and_resize' || (axis.roiStart === 0 && axis.roiEnd === 1));
    if (identity) return;
    values = resizeAlongAxis(values, dims, index, axisTaps(axis, options), options.extrapolationValue);
    dims[index] = axis.outLength;
  });
  return tensorFromNumbers(x.type, dims, values);
}

/**
 * The input coordinate of output index `x` in float32 arithmetic, as onnxruntime's CPU kernel computes it,
 * for the modes whose formula is written here (undefined for the others).
 */
function originalCoordinateFloat32(x: number, axis: AxisResize, mode: CoordinateMode): number | undefined {
  const f = Math.fround;
  const scale = f(axis.scale);
  if (scale === 1) return x;
  // Where the spec's formula reads the unrounded output length scale * input length, onnxruntime reads the
  // output length: the two agree only when the scaled length is whole (up to the rounding of sizes / input).
  const lengthIsWhole = Math.abs(axis.scale * axis.inLength - axis.outLength) <= 1e-12 * axis.outLength;
  switch (mode) {
    case 'half_pixel':
      return f(f(f(x + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      if (!lengthIsWhole) return undefined;
      return axis.outLength > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case 'asymmetric':
      return f(x / scale);
    case 'align_corners':
      if (!lengthIsWhole) return undefined;
      return axis.outLength === 1 ? 0 : f(f(x * (axis.inLength - 1)) / (axis.outLength - 1));
    default:
      return undefined;
  }
}

/** The two neighbours of each output index along one axis and their float32 weights (d1 for the second). */
interface BilinearAxis {
  first: Int32Array;
  second: Int32Array;
  weightFirst: Float32Array;
  weightSecond: Float32Array;
}

function bilinearAxis(axis: AxisResize, mode: CoordinateMode): BilinearAxis | undefined {
  const { inLength, outLength } = axis;
  const result = {
    first: new Int32Array(outLength),
    second: new Int32Array(outLength),
    weightFirst: new Float32Array(outLength),
    weightSecond: new Float32Array(outLength),
  };
  for (let o = 0; o < outLength; o++) {
    const coordinate = originalCoordinateFloat32(o, axis, mode);
    if (coordinate === undefined) return undefined;
    const x = clamp(coordinate, 0, inLength - 1);
    const first = Math.min(Math.trunc(x), inLength - 1);
    const second = Math.min(first + 1, inLength - 1);
    result.first[o] = first;
    result.second[o] = second;
    // The weight of one neighbour is the distance to the other; a clamped edge sample weighs both halves.
    result.weightFirst[o] = first === second ? 0.5 : Math.abs(x - second);
    result.weightSecond[o] = first === second ? 0.5 : Math.abs(x - first);
  }
  return result;
}

/**
 * Linear resizing of the last two axes of a float32 (or float16) [N, C, H, W] or [H, W] tensor, computed as
 * onnxruntime's CPU kernel does: one float32 sum of the four neighbours weighted by products of the axis
 * weights, in its order. The separable float64 path differs from it in the last bit, and a DynamicQuantizeLinear
 * downstream turns a last-bit difference at a rounding boundary into a whole quantization step.
 * Undefined when the case is not one this path computes.
 */
function float32Bilinear(x: Tensor, axes: AxisResize[], options: ResizeOptions): Tensor | undefined {
  if ((x.type !== 'float32' && x.type !== 'float16') || options.mode !== 'linear' || options.antialias) return undefined;
  const rank = axes.length;
  if (rank !== 2 && rank !== 4) return undefined;
  if (axes.slice(0, rank - 2).some((axis) => axis.outLength !== axis.inLength || axis.scale !== 1)) return undefined;
  const rows = bilinearAxis(axes[rank - 2]!, options.coordinateMode);
  const columns = bilinearAxis(axes[rank - 1]!, options.coordinateMode);
  if (!rows || !columns) return undefined;
  const f = Math.fround;
  const values = numbersOf(x);
  const [inHeight, inWidth] = [axes[rank - 2]!.inLength, axes[rank - 1]!.inLength];
  const [outHeight, outWidth] = [rows.first.length, columns.first.length];
  const planes = rank === 4 ? axes[0]!.inLength * axes[1]!.inLength : 1;
  const out = new Float32Array(planes * outHeight * outWidth);
  for (let plane = 0, o = 0; plane < planes; plane++) {
    const base = plane * inHeight * inWidth;
    for (let y = 0; y < outHeight; y++) {
      const row1 = base + rows.first[y]! * inWidth;
      const row2 = base + rows.second[y]! * inWidth;
      const [wy1, wy2] = [rows.weightFirst[y]!, rows.weightSecond[y]!];
      for (let c = 0; c < outWidth; c++, o++) {
        const [x1, x2] = [columns.first[c]!, columns.second[c]!];
        const [wx1, wx2] = [columns.weightFirst[c]!, columns.weightSecond[c]!];
        const sum = f(f(f(f(wx1 * wy1) * values[row1 + x1]!) + f(f(wx2 * wy1) * values[row1 + x2]!)) + f(f(wx1 * wy2) * values[row2 + x1]!));
        out[o] = f(sum + f(f(wx2 * wy2) * values[row2 + x2]!));
      }
    }
  }
  return tensorFromNumbers(x.type, [...axes.slice(0, rank - 2).map((axis) => axis.outLength), outHeight, outWidth], out);
}

/** Treats an empty tensor as an omitted input, as opset-11 models write '' inputs as empty constants. */
function nonEmptyTensor(ctx: KernelContext, index: number): Tensor | undefined {
  const tensor = ctx.optionalTensor(index);
  return tensor && tensor.size > 0 ? tensor : undefined;
}

/** An axis resized by `scale` has floor(input * scale) samples. */
function scaledLength(inLength: number, scale: number): number {
  return Math.floor(inLength * scale);
}

/** Axis plans from scales (output = floor(input * scale)) for every axis of `dims`. */
function axesFromScales(dims: readonly number[], scales: ArrayLike<number>): AxisResize[] {
  return dims.map((inLength, i) => ({
    inLength,
    outLength: scaledLength(inLength, scales[i]!),
    scale: scales[i]!,
    roiStart: 0,
    roiEnd: 1,
  }));
}

/** How kernels and inference report a bad attribute or input: ctx.fail in kernels, a plain throw in inference. */
type Fail = (code: EdgerunError['code'], detail: string) => never;

const throwError: Fail = (code, detail) => {
  throw new EdgerunError(code, detail);
};

function axesFromSizes(dims: readonly number[], sizes: readonly number[], resized: readonly number[], policy: string, fail: Fail): AxisResize[] {
  const plans = dims.map((inLength, i) => ({ inLength, outLength: sizes[i]!, scale: sizes[i]! / inLength, roiStart: 0, roiEnd: 1 }));
  if (policy === 'stretch') return plans;
  if (policy !== 'not_larger' && policy !== 'not_smaller') fail('INVALID_ATTRIBUTE', `keep_aspect_ratio_policy '${policy}' is not supported`);
  // One scale for all resized axes keeps the aspect ratio; sizes are then rounded half up.
  const candidates = resized.map((axis) => plans[axis]!.scale);
  const scale = policy === 'not_larger' ? Math.min(...candidates) : Math.max(...candidates);
  for (const axis of resized) {
    plans[axis]!.scale = scale;
    plans[axis]!.outLength = Math.floor(scale * dims[axis]! + 0.5);
  }
  return plans;
}

const resizeAttributes = {
  antialias: attr.int(0),
  axes: attr.ints(),
  coordinate_transformation_mode: attr.string('half_pixel'),
  cubic_coeff_a: attr.float(-0.75),
  exclude_outside: attr.int(0),
  extrapolation_value: attr.float(0),
  keep_aspect_ratio_policy: attr.string('stretch'),
  mode: attr.string('nearest'),
  nearest_mode: attr.string('round_prefer_floor'),
};

function checkedMode(ctx: KernelContext, mode: string): ResizeOptions['mode'] {
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') ctx.fail('INVALID_ATTRIBUTE', `mode must be nearest, linear or cubic, got '${mode}'`);
  return mode;
}

/** Values for every axis of a rank-`rank` input from values for the `resized` axes, `fill` elsewhere. */
function expandToAllAxes(
  given: ArrayLike<number>,
  rank: number,
  resized: readonly number[],
  fill: (axis: number) => number,
  what: string,
  fail: Fail,
): number[] {
  if (given.length !== resized.length) fail('INVALID_ARGUMENT', `${what} has ${given.length} values, expected ${resized.length}`);
  const full = Array.from({ length: rank }, (_, axis) => fill(axis));
  resized.forEach((axis, i) => (full[axis] = given[i]!));
  return full;
}

/** Resize's axis plans (roi aside) from X's dims and the scales or, when scales are omitted, the sizes. */
function resizePlans(
  dims: readonly number[],
  resized: readonly number[],
  scales: ArrayLike<number> | undefined,
  sizes: readonly number[] | undefined,
  policy: string,
  fail: Fail,
): AxisResize[] {
  if (scales) return axesFromScales(dims, expandToAllAxes(scales, dims.length, resized, () => 1, 'scales', fail));
  if (!sizes) fail('INVALID_ARGUMENT', 'one of scales or sizes must be given');
  return axesFromSizes(dims, expandToAllAxes(sizes!, dims.length, resized, (axis) => dims[axis]!, 'sizes', fail), resized, policy, fail);
}

/**
 * An optional input as inference sees it: omitted (no name, or empty as opset-11 models write omitted
 * inputs), its value when constant, or unknown.
 */
function optionalInputValue(ctx: InferContext<unknown>, index: number): Tensor | 'omitted' | 'unknown' {
  if ((ctx.node.inputs[index] ?? '') === '') return 'omitted';
  const tensor = ctx.constant(index);
  if (tensor) return tensor.size > 0 ? tensor : 'omitted';
  return shapeOf(ctx.inputTypes[index])?.includes(0) ? 'omitted' : 'unknown';
}

/**
 * Output dims when X's shape is known: exact through the kernel's own plan when every dim is a number,
 * else per axis where that is enough (scales, or sizes without an aspect-ratio policy). Axes not resized
 * keep their dim; resized axes whose length cannot be told stay unknown.
 */
function resizedShape(
  shape: readonly Dim[],
  resized: readonly number[],
  scales: ArrayLike<number> | undefined,
  sizes: readonly number[] | undefined,
  policy: string,
): Dim[] {
  if (shape.every((dim) => typeof dim === 'number')) {
    return resizePlans(shape as number[], resized, scales, sizes, policy, throwError).map((plan) => plan.outLength);
  }
  const out = [...shape];
  resized.forEach((axis, i) => {
    const dim = shape[axis];
    if (scales) out[axis] = scales[i] === 1 ? dim : typeof dim === 'number' ? scaledLength(dim, scales[i]!) : undefined;
    else out[axis] = sizes && policy === 'stretch' ? sizes[i] : undefined;
  });
  return out;
}

type ResizeAttrs = ResolvedAttrs<typeof resizeAttributes>;

function inferResize(ctx: InferContext<ResizeAttrs>): (ValueType | undefined)[] {
  const input = ctx.inputTypes[0];
  if (input?.kind !== 'tensor') return [undefined];
  const shape = input.shape;
  if (!shape) return [tensorType(input.dtype)];
  const resized = (ctx.attrs.axes ?? shape.map((_, i) => i)).map((axis) => normalizeAxis(axis, shape.length, 'axes'));
  const scales = optionalInputValue(ctx, 2);
  const sizes = scales === 'omitted' ? optionalInputValue(ctx, 3) : 'omitted';
  if (scales === 'unknown' || sizes === 'unknown') return [tensorType(input.dtype, shape.map((dim, axis) => (resized.includes(axis) ? undefined : dim)))];
  const scaleValues = scales === 'omitted' ? undefined : numbersOf(scales);
  const sizeValues = sizes === 'omitted' ? undefined : integersOf(sizes);
  return [tensorType(input.dtype, resizedShape(shape, resized, scaleValues, sizeValues, ctx.attrs.keep_aspect_ratio_policy))];
}

/** Upsample and Resize-10: every axis scaled by `scales` (attribute or constant input), when known. */
function scaledType(input: ValueType | undefined, scales: ArrayLike<number> | undefined): ValueType | undefined {
  if (input?.kind !== 'tensor') return undefined;
  const shape = input.shape;
  if (!shape) return tensorType(input.dtype);
  if (!scales) return tensorType(input.dtype, shape.map(() => undefined));
  if (scales.length !== shape.length) throwError('INVALID_ARGUMENT', `scales has ${scales.length} values for a rank-${shape.length} input`);
  return tensorType(input.dtype, resizedShape(shape, shape.map((_, i) => i), scales, undefined, 'stretch'));
}

/** Resize from opset 11: roi, scales or sizes, optionally for a subset of axes (opset 18). */
function resize(since: number): OpDef {
  return defineOp({
    name: 'Resize',
    since,
    inputs: ['X', 'roi?', 'scales?', 'sizes?'],
    outputs: ['Y'],
    attributes: resizeAttributes,
    infer: inferResize,
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      const a = ctx.attrs;
      const rank = x.dims.length;
      const resized = (a.axes ?? x.dims.map((_, i) => i)).map((axis) => normalizeAxis(axis, rank, 'axes'));
      const roi = nonEmptyTensor(ctx, 1);
      const scales = nonEmptyTensor(ctx, 2);
      const sizes = nonEmptyTensor(ctx, 3);
      const fail: Fail = (code, detail) => ctx.fail(code, detail);
      const plans = resizePlans(x.dims, resized, scales && numbersOf(scales), sizes && integersOf(sizes), a.keep_aspect_ratio_policy, fail);
      if (roi && a.coordinate_transformation_mode === 'tf_crop_and_resize') {
        const values = numbersOf(roi);
        const count = resized.length;
        if (values.length !== 2 * count) ctx.fail('INVALID_ARGUMENT', `roi has ${values.length} values, expected ${2 * count}`);
        resized.forEach((axis, i) => {
          plans[axis]!.roiStart = values[i]!;
          plans[axis]!.roiEnd = values[count + i]!;
        });
      }
      const options: ResizeOptions = {
        mode: checkedMode(ctx, a.mode),
        coordinateMode: a.coordinate_transformation_mode as CoordinateMode,
        nearestMode: a.nearest_mode as NearestMode,
        cubicCoeffA: a.cubic_coeff_a,
        excludeOutside: a.exclude_outside !== 0,
        extrapolationValue: a.extrapolation_value,
        antialias: a.antialias !== 0,
      };
      return [resizeTensor(x, plans, options)];
    },
  });
}

/** Upsample and Resize-10: scales only, asymmetric coordinates, nearest or (bi/tri)linear. */
function scalesOnlyKernel(ctx: KernelContext, x: Tensor, scales: ArrayLike<number>, mode: string): Tensor {
  if (scales.length !== x.dims.length) ctx.fail('INVALID_ARGUMENT', `scales has ${scales.length} values for a rank-${x.dims.length} input`);
  const interpolation = mode === 'bilinear' || mode === 'trilinear' ? 'linear' : checkedMode(ctx, mode);
  if (interpolation === 'cubic') ctx.fail('INVALID_ATTRIBUTE', 'mode must be nearest or linear');
  const options: ResizeOptions = {
    mode: interpolation,
    coordinateMode: 'asymmetric',
    nearestMode: 'simple',
    cubicCoeffA: -0.75,
    excludeOutside: false,
    extrapolationValue: 0,
    antialias: false,
  };
  return resizeTensor(x, axesFromScales(x.dims, scales), options);
}

const upsample7 = defineOp({
  name: 'Upsample',
  since: 7,
  inputs: ['X'],
  outputs: ['Y'],
  attributes: { mode: attr.string('nearest'), scales: attr.floats() },
  infer: ({ attrs, inputTypes }) => [scaledType(inputTypes[0], attrs.scales)],
  kernel: (ctx) => {
    if (!ctx.attrs.scales) ctx.fail('INVALID_ATTRIBUTE', "attribute 'scales' is required");
    return [scalesOnlyKernel(ctx, ctx.tensor(0), ctx.attrs.scales ?? [], ctx.attrs.mode)];
  },
});

/** Upsample 9 and Resize 10 are one op under two names: scales as an input, only the mode attribute. */
const scalesInputOps: OpDef[] = [
  { name: 'Upsample', since: 9 },
  { name: 'Resize', since: 10 },
].map(({ name, since }) =>
  defineOp({
    name,
    since,
    inputs: ['X', 'scales'],
    outputs: ['Y'],
    attributes: { mode: attr.string('nearest') },
    infer: (ctx) => {
      const scales = ctx.constant(1);
      return [scaledType(ctx.inputTypes[0], scales && numbersOf(scales))];
    },
    kernel: (ctx) => [scalesOnlyKernel(ctx, ctx.tensor(0), numbersOf(ctx.tensor(1)), ctx.attrs.mode)],
  }),
);

// ---------------------------------------------------------------------------------------------------
// GridSample and AffineGrid

type Padding = 'zeros' | 'border' | 'reflection';

/** Grid values in [-1, 1] to input pixel coordinates. */
function denormalize(n: number, length: number, alignCorners: boolean): number {
  return alignCorners ? ((n + 1) / 2) * (length - 1) : ((n + 1) * length - 1) / 2;
}

/** Reflects x back into [low, high] by the nearest border, repeatedly. */
function reflect(x: number, low: number, high: number): number {
  const range = high - low;
  // A one-pixel axis with align_corners has nothing to fold over: every x reflects onto its one pixel
  // (as PyTorch's reflect_coordinates, which GridSample follows; dividing by the zero range gave NaN).
  if (range === 0) return low;
  if (x < low) {
    const distance = low - x;
    const folds = Math.trunc(distance / range);
    const rest = distance - folds * range;
    return folds % 2 === 0 ? low + rest : high - rest;
  }
  if (x > high) {
    const distance = x - high;
    const folds = Math.trunc(distance / range);
    const rest = distance - folds * range;
    return folds % 2 === 0 ? high - rest : low + rest;
  }
  return x;
}

/** Round half to even, as std::nearbyint (the backend test data uses it for 2-D and 3-D grids alike). */
function roundHalfEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}


interface GridSampleSetup {
  mode: 'nearest' | 'linear' | 'cubic';
  padding: Padding;
  alignCorners: boolean;
}

/**
 * Taps along one spatial axis for a sample at pixel coordinate `x`: input indices and weights, with
 * zeros padding expressed as zero weights (index 0) for taps outside the input.
 */
function gridAxisTaps(x: number, length: number, setup: GridSampleSetup, indices: number[], weights: number[]): void {
  const low = setup.alignCorners ? 0 : -0.5;
  const high = setup.alignCorners ? length - 1 : length - 0.5;
  let coordinate = x;
  if (setup.mode === 'nearest') coordinate = roundHalfEven(coordinate);
  if (coordinate < low || coordinate > high) {
    if (setup.padding === 'border') coordinate = clamp(coordinate, 0, length - 1);
    else if (setup.padding === 'reflection') coordinate = reflect(coordinate, low, high);
  }
  indices.length = 0;
  weights.length = 0;
  const push = (index: number, weight: number) => {
    if (setup.padding === 'zeros') {
      const inside = index >= 0 && index < length;
      indices.push(inside ? index : 0);
      weights.push(inside ? weight : 0);
    } else if (setup.padding === 'border') {
      indices.push(clamp(index, 0, length - 1));
      weights.push(weight);
    } else {
      indices.push(Math.trunc(reflect(index, low, high)));
      weights.push(weight);
    }
  };
  if (setup.mode === 'nearest') {
    push(Math.trunc(coordinate), 1);
    return;
  }
  const base = Math.floor(coordinate);
  const t = coordinate - base;
  if (setup.mode === 'linear') {
    push(base, 1 - t);
    push(base + 1, t);
    return;
  }
  for (let k = -1; k <= 2; k++) push(base + k, cubicKernel(k - t, -0.75));
}

function gridSampleKernel(ctx: KernelContext, setup: GridSampleSetup): Tensor {
  const x = ctx.tensor(0);
  const grid = ctx.tensor(1);
  const spatialRank = x.dims.length - 2;
  if (spatialRank < 1 || grid.dims.length !== x.dims.length || grid.dims[grid.dims.length - 1] !== spatialRank || grid.dims[0] !== x.dims[0]) {
    ctx.fail('INVALID_ARGUMENT', `grid [${grid.dims.join(', ')}] does not match X [${x.dims.join(', ')}]`);
  }
  const [batch, channels] = x.dims as [number, number];
  const inSpatial = x.dims.slice(2);
  const outSpatial = grid.dims.slice(1, -1);
  const inStrides = stridesOf(inSpatial);
  const inPlane = inSpatial.reduce((p, d) => p * d, 1);
  const outPlane = outSpatial.reduce((p, d) => p * d, 1);
  const values = numbersOf(x);
  const gridValues = numbersOf(grid);
  const out = new Float64Array(batch * channels * outPlane);
  const tapIndices = inSpatial.map(() => [] as number[]);
  const tapWeights = inSpatial.map(() => [] as number[]);
  // Every combination of one tap per axis: flat offsets into a plane and the product of weights.
  const offsets: number[] = [];
  const products: number[] = [];
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < outPlane; p++) {
      const gridBase = (n * outPlane + p) * spatialRank;
      for (let axis = 0; axis < spatialRank; axis++) {
        // The grid lists coordinates innermost axis first: (x, y[, z]) address (W, H[, D]).
        const normalized = gridValues[gridBase + spatialRank - 1 - axis]!;
        const pixel = denormalize(normalized, inSpatial[axis]!, setup.alignCorners);
        gridAxisTaps(pixel, inSpatial[axis]!, setup, tapIndices[axis]!, tapWeights[axis]!);
      }
      combineTaps(tapIndices, tapWeights, inStrides, offsets, products);
      for (let c = 0; c < channels; c++) {
        const planeBase = (n * channels + c) * inPlane;
        let sum = 0;
        for (let t = 0; t < offsets.length; t++) sum += products[t]! * values[planeBase + offsets[t]!]!;
        out[(n * channels + c) * outPlane + p] = sum;
      }
    }
  }
  return tensorFromNumbers(x.type, [batch, channels, ...outSpatial], out);
}

function combineTaps(indices: number[][], weights: number[][], strides: number[], offsets: number[], products: number[]): void {
  offsets.length = 0;
  products.length = 0;
  offsets.push(0);
  products.push(1);
  indices.forEach((axisIndices, axis) => {
    const previousOffsets = offsets.splice(0);
    const previousProducts = products.splice(0);
    previousOffsets.forEach((offset, i) => {
      axisIndices.forEach((index, k) => {
        offsets.push(offset + index * strides[axis]!);
        products.push(previousProducts[i]! * weights[axis]![k]!);
      });
    });
  });
}

const GRID_MODE_NAMES: Record<string, GridSampleSetup['mode']> = {
  bilinear: 'linear',
  linear: 'linear',
  bicubic: 'cubic',
  cubic: 'cubic',
  nearest: 'nearest',
};

function gridSample(since: number, defaultMode: string): OpDef {
  return defineOp({
    name: 'GridSample',
    since,
    inputs: ['X', 'grid'],
    outputs: ['Y'],
    attributes: { align_corners: attr.int(0), mode: attr.string(defaultMode), padding_mode: attr.string('zeros') },
    infer: ({ inputTypes }) => {
      const [x, grid] = inputTypes;
      if (x?.kind !== 'tensor') return [undefined];
      if (!x.shape || grid?.kind !== 'tensor' || !grid.shape) return [tensorType(x.dtype)];
      return [tensorType(x.dtype, [x.shape[0], x.shape[1], ...grid.shape.slice(1, -1)])];
    },
    kernel: (ctx) => {
      const mode = GRID_MODE_NAMES[ctx.attrs.mode];
      if (!mode) ctx.fail('INVALID_ATTRIBUTE', `mode '${ctx.attrs.mode}' is not supported`);
      const padding = ctx.attrs.padding_mode;
      if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') {
        ctx.fail('INVALID_ATTRIBUTE', `padding_mode must be zeros, border or reflection, got '${padding}'`);
      }
      return [gridSampleKernel(ctx, { mode: mode!, padding: padding as Padding, alignCorners: ctx.attrs.align_corners !== 0 })];
    },
  });
}

/**
 * Normalized base coordinates of `length` pixels along one axis. With align_corners a single pixel is both
 * corners, -1 and 1 alike: it sits at 0, as in PyTorch's affine_grid (linspace_from_neg_one), which the
 * spec points to; onnx's reference divides by zero there.
 */
function baseCoordinates(length: number, alignCorners: boolean): number[] {
  return Array.from({ length }, (_, i) => {
    if (alignCorners) return length === 1 ? 0 : -1 + (2 * i) / (length - 1);
    return (2 * i + 1) / length - 1;
  });
}

/** The grid AffineGrid makes for size [N, C, (D,) H, W]: [N, (D,) H, W, spatial rank]. */
function affineGridShape(size: readonly Dim[]): Dim[] {
  return [size[0], ...size.slice(2), size.length - 2];
}

/** The grid's shape from a constant size, else its rank and batch from size's and theta's shapes. */
function inferAffineGrid(ctx: InferContext<unknown>): (ValueType | undefined)[] {
  const theta = ctx.inputTypes[0];
  if (theta?.kind !== 'tensor') return [undefined];
  const size = ctx.constant(1);
  if (size) return [tensorType(theta.dtype, affineGridShape(integersOf(size)))];
  const thetaShape = shapeOf(theta);
  const sizeLength = shapeOf(ctx.inputTypes[1])?.[0];
  const spatialRank = typeof sizeLength === 'number' ? sizeLength - 2 : thetaShape?.length === 3 ? thetaShape[1] : undefined;
  if (typeof spatialRank !== 'number') return [tensorType(theta.dtype)];
  return [tensorType(theta.dtype, affineGridShape([thetaShape?.[0], undefined, ...new Array<Dim>(spatialRank).fill(undefined)]))];
}

const affineGrid = defineOp({
  name: 'AffineGrid',
  since: 20,
  inputs: ['theta', 'size'],
  outputs: ['grid'],
  attributes: { align_corners: attr.int(0) },
  infer: inferAffineGrid,
  kernel: (ctx) => {
    const theta = ctx.tensor(0);
    const size = integersOf(ctx.tensor(1));
    const spatialRank = size.length - 2;
    if ((spatialRank !== 2 && spatialRank !== 3) || theta.dims.join() !== [size[0], spatialRank, spatialRank + 1].join()) {
      ctx.fail('INVALID_ARGUMENT', `theta [${theta.dims.join(', ')}] does not match size [${size.join(', ')}]`);
    }
    const alignCorners = ctx.attrs.align_corners !== 0;
    const batch = size[0]!;
    const spatial = size.slice(2);
    // Coordinates listed innermost axis first: (x, y[, z]) for (W, H[, D]).
    const bases = spatial.map((length) => baseCoordinates(length, alignCorners)).reverse();
    const points = spatial.reduce((p, d) => p * d, 1);
    const thetaValues = numbersOf(theta);
    const out = new Float64Array(batch * points * spatialRank);
    const spatialStrides = stridesOf(spatial);
    const point = new Array<number>(spatialRank + 1).fill(1);
    for (let n = 0; n < batch; n++) {
      for (let p = 0; p < points; p++) {
        for (let axis = 0; axis < spatialRank; axis++) {
          const index = Math.floor(p / spatialStrides[axis]!) % spatial[axis]!;
          point[spatialRank - 1 - axis] = bases[spatialRank - 1 - axis]![index]!;
        }
        for (let row = 0; row < spatialRank; row++) {
          let sum = 0;
          for (let col = 0; col <= spatialRank; col++) sum += thetaValues[(n * spatialRank + row) * (spatialRank + 1) + col]! * point[col]!;
          out[(n * points + p) * spatialRank + row] = sum;
        }
      }
    }
    return [tensorFromNumbers(theta.type, affineGridShape(size) as number[], out)];
  },
});

export const ops: OpDef[] = [
  upsample7,
  ...scalesInputOps,
  ...[11, 13, 18, 19].map(resize),
  gridSample(16, 'bilinear'),
  gridSample(20, 'linear'),
  affineGrid,
];
