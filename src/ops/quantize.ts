import { EdgerunError } from '../core/errors.js';
import { dataTypeFromOnnx, isFloatType, writeNumbers, type DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { float16ToNumber, numberToFloat16, roundHalfEven } from '../core/numeric.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { defineOp, attr, type OpDef, type KernelContext } from './registry.js';
import { broadcastOffsets, broadcastShapes, normalizeAxis, numbersOf, stridesOf, tensorFromNumbers, tensorType } from './common.js';

/**
 * Linear quantization: QuantizeLinear / DequantizeLinear (per tensor, per axis, blocked), DynamicQuantizeLinear,
 * and the integer / quantized-linear forms of MatMul and Conv. Integer arithmetic runs in float64, which is
 * exact for every product and sum these ops can produce; float results are rounded to float32 where onnx's
 * reference computes in float32, so round-half-to-even lands on the same integer.
 */

// ---------------------------------------------------------------------------------------------------------
// Integer ranges and rounding

const INTEGER_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  int4: [-8, 7],
  uint4: [0, 15],
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
};

function integerRange(type: DataType): readonly [number, number] {
  const range = INTEGER_RANGES[type];
  if (!range) throw new EdgerunError('UNSUPPORTED_TYPE', `quantized values cannot be ${type}`);
  return range;
}

function clamp(value: number, [low, high]: readonly [number, number]): number {
  return value < low ? low : value > high ? high : value;
}

/** Rounds a float the way arithmetic in `type` would (float32 and float16 scales); others stay float64. */
function roundToFloatType(value: number, type: DataType): number {
  if (type === 'float32') return Math.fround(value);
  if (type === 'float16') return float16ToNumber(numberToFloat16(value));
  return value;
}

/** Float results quantized to an integer type: round half to even, add the zero point, saturate. */
function saturateToInteger(scaled: number, zeroPoint: number, range: readonly [number, number]): number {
  return clamp(roundHalfEven(scaled) + zeroPoint, range);
}

// ---------------------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear: which scale and zero point each element uses

/**
 * For each element of `dims`, the flat index of its scale / zero point: undefined for a per-tensor (one
 * value) parameter, the coordinate along `axis` for a 1-D per-axis parameter, and for blocked quantization
 * (opset 21, `blockSize` > 0) the element's coordinates with the axis coordinate divided by the block size.
 */
function parameterOffsets(dims: readonly number[], paramDims: readonly number[], axisAttr: number, blockSize: number): Int32Array | undefined {
  if (elementCount(paramDims) === 1 && blockSize === 0) return undefined;
  const axis = normalizeAxis(axisAttr, dims.length);
  const axisLength = dims[axis]!;
  const outer = elementCount(dims.slice(0, axis));
  const inner = elementCount(dims.slice(axis + 1));
  const offsets = new Int32Array(elementCount(dims));
  if (blockSize === 0) {
    if (paramDims.length !== 1 || paramDims[0] !== axisLength) {
      throw new EdgerunError('SHAPE_MISMATCH', `a per-axis scale must be 1-D of size ${axisLength}, got [${paramDims.join(', ')}]`);
    }
    for (let o = 0, index = 0; o < outer; o++) for (let a = 0; a < axisLength; a++) for (let i = 0; i < inner; i++) offsets[index++] = a;
    return offsets;
  }
  const blocks = Math.ceil(axisLength / blockSize);
  if (paramDims.length !== dims.length || paramDims[axis] !== blocks) {
    throw new EdgerunError('SHAPE_MISMATCH', `a blocked scale must have dims of the input with ${blocks} blocks on axis ${axis}, got [${paramDims.join(', ')}]`);
  }
  for (let o = 0, index = 0; o < outer; o++) {
    for (let a = 0; a < axisLength; a++) {
      const rowStart = (o * blocks + Math.floor(a / blockSize)) * inner;
      for (let i = 0; i < inner; i++) offsets[index++] = rowStart + i;
    }
  }
  return offsets;
}

/** The zero points, one per scale; no zero point means zero for every scale. */
function zeroPointsLike(scale: Tensor, zeroPoint: Tensor | undefined): ArrayLike<number> {
  if (!zeroPoint) return new Float64Array(scale.size);
  if (zeroPoint.size !== scale.size) {
    throw new EdgerunError('SHAPE_MISMATCH', `the zero point has dims [${zeroPoint.dims.join(', ')}] but the scale has [${scale.dims.join(', ')}]`);
  }
  return numbersOf(zeroPoint);
}

interface QuantizeAttrs {
  axis: number;
  saturate: number;
  blockSize: number;
  outputDtype: number;
}

function quantizeLinear(ctx: KernelContext<unknown>, { axis, saturate, blockSize, outputDtype }: QuantizeAttrs): Tensor {
  const x = ctx.tensor(0);
  const scale = ctx.tensor(1);
  const zeroPoint = ctx.optionalTensor(2);
  const outType = outputDtype ? dataTypeFromOnnx(outputDtype, 'output_dtype') : (zeroPoint?.type ?? 'uint8');
  if (zeroPoint && zeroPoint.type !== outType) ctx.fail('TYPE_MISMATCH', `y_zero_point is ${zeroPoint.type} but output_dtype is ${outType}`);
  const offsets = parameterOffsets(x.dims, scale.dims, axis, blockSize);
  const xValues = numbersOf(x);
  const scales = numbersOf(scale);
  const zeroPoints = zeroPointsLike(scale, zeroPoint);
  const out = new Float64Array(xValues.length);
  // onnx divides in the input's float type (float32 for float32 inputs) before rounding.
  const divisionType = x.type === 'float16' ? 'float16' : 'float32';
  if (isFloatType(outType)) {
    for (let i = 0; i < out.length; i++) {
      const p = offsets ? offsets[i]! : 0;
      out[i] = roundToFloatType(xValues[i]! / scales[p]!, divisionType) + zeroPoints[p]!;
    }
    // float8 outputs: `saturate` picks between clamping to the largest finite value and infinity / NaN.
    return new Tensor(outType, writeNumbers(outType, out, saturate !== 0), x.dims);
  }
  const range = integerRange(outType);
  for (let i = 0; i < out.length; i++) {
    const p = offsets ? offsets[i]! : 0;
    out[i] = saturateToInteger(roundToFloatType(xValues[i]! / scales[p]!, divisionType), zeroPoints[p]!, range);
  }
  return tensorFromNumbers(outType, x.dims, out);
}

function dequantizeLinear(ctx: KernelContext<unknown>, axis: number, blockSize: number): Tensor {
  const x = ctx.tensor(0);
  const scale = ctx.tensor(1);
  const zeroPoint = ctx.optionalTensor(2);
  if (zeroPoint && zeroPoint.type !== x.type) ctx.fail('TYPE_MISMATCH', `x_zero_point is ${zeroPoint.type} but x is ${x.type}`);
  const offsets = parameterOffsets(x.dims, scale.dims, axis, blockSize);
  const xValues = numbersOf(x);
  const scales = numbersOf(scale);
  const zeroPoints = zeroPointsLike(scale, zeroPoint);
  const out = new Float64Array(xValues.length);
  // onnx subtracts and multiplies in float32, then casts to the scale's type.
  for (let i = 0; i < out.length; i++) {
    const p = offsets ? offsets[i]! : 0;
    out[i] = Math.fround(Math.fround(xValues[i]! - zeroPoints[p]!) * scales[p]!);
  }
  return tensorFromNumbers(scale.type, x.dims, out);
}

// ---------------------------------------------------------------------------------------------------------
// DynamicQuantizeLinear

function dynamicQuantizeLinear(x: Tensor): Tensor[] {
  const values = numbersOf(x);
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const range = INTEGER_RANGES.uint8!;
  const scale = Math.fround((max - min) / (range[1] - range[0]));
  // An all-zero input has no range; every value then quantizes to zero with zero point 0.
  const zeroPoint = scale === 0 ? 0 : clamp(roundHalfEven(Math.fround(-min / scale)), range);
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = scale === 0 ? zeroPoint : saturateToInteger(Math.fround(values[i]! / scale), zeroPoint, range);
  }
  return [
    tensorFromNumbers('uint8', x.dims, out),
    tensorFromNumbers('float32', [], [scale]),
    tensorFromNumbers('uint8', [], [zeroPoint]),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Zero points and scales broadcast against matrices (MatMulInteger, QLinearMatMul)

/**
 * A 1-D parameter of a matrix operand means one value per row for the left operand ([M] -> [M, 1]) and one
 * per column for the right one ([N] broadcasts as is); N-D parameters broadcast as numpy does.
 */
function matrixParameterDims(param: Tensor, perRow: boolean): readonly number[] {
  if (perRow && param.dims.length === 1 && param.size > 1) return [param.dims[0]!, 1];
  return param.dims;
}

/** `values - zeroPoint`, the zero point broadcast against `dims`. */
function subtractZeroPoint(values: ArrayLike<number>, dims: readonly number[], zeroPoint: Tensor | undefined, perRow: boolean): Float64Array {
  const out = Float64Array.from(values);
  if (!zeroPoint) return out;
  const zeroPoints = numbersOf(zeroPoint);
  if (zeroPoint.size === 1) {
    for (let i = 0; i < out.length; i++) out[i]! -= zeroPoints[0]!;
    return out;
  }
  const offsets = broadcastOffsets(dims, matrixParameterDims(zeroPoint, perRow));
  for (let i = 0; i < out.length; i++) out[i]! -= zeroPoints[offsets ? offsets[i]! : i]!;
  return out;
}

/** Parameter values spread over an output of `dims`, or a single value. */
function spreadOver(dims: readonly number[], param: Tensor, perRow: boolean): (index: number) => number {
  const values = numbersOf(param);
  if (param.size === 1) return () => values[0]!;
  const offsets = broadcastOffsets(dims, matrixParameterDims(param, perRow));
  return (index) => values[offsets ? offsets[index]! : index]!;
}

// ---------------------------------------------------------------------------------------------------------
// Matrix product with numpy.matmul's rank rules

interface NumericResult {
  dims: number[];
  values: Float64Array;
}

function matmul(a: Float64Array, aDims: readonly number[], b: Float64Array, bDims: readonly number[]): NumericResult {
  if (aDims.length === 0 || bDims.length === 0) throw new EdgerunError('SHAPE_MISMATCH', 'matmul operands must have rank >= 1');
  // A vector on the left is a single row, on the right a single column; the added axis is dropped after.
  const left = aDims.length === 1 ? [1, aDims[0]!] : aDims;
  const right = bDims.length === 1 ? [bDims[0]!, 1] : bDims;
  const m = left[left.length - 2]!;
  const k = left[left.length - 1]!;
  const n = right[right.length - 1]!;
  if (right[right.length - 2] !== k) {
    throw new EdgerunError('SHAPE_MISMATCH', `matmul inner dimensions differ: [${aDims.join(', ')}] x [${bDims.join(', ')}]`);
  }
  const batchDims = broadcastShapes(left.slice(0, -2), right.slice(0, -2));
  const batches = elementCount(batchDims);
  const leftBatches = broadcastOffsets(batchDims, left.slice(0, -2));
  const rightBatches = broadcastOffsets(batchDims, right.slice(0, -2));
  const out = new Float64Array(batches * m * n);
  for (let batch = 0; batch < batches; batch++) {
    const aStart = (leftBatches ? leftBatches[batch]! : batch) * m * k;
    const bStart = (rightBatches ? rightBatches[batch]! : batch) * k * n;
    const outStart = batch * m * n;
    for (let row = 0; row < m; row++) {
      for (let inner = 0; inner < k; inner++) {
        const aValue = a[aStart + row * k + inner]!;
        if (aValue === 0) continue;
        const bRow = bStart + inner * n;
        const outRow = outStart + row * n;
        for (let col = 0; col < n; col++) out[outRow + col]! += aValue * b[bRow + col]!;
      }
    }
  }
  const dims = [...batchDims];
  if (aDims.length > 1) dims.push(m);
  if (bDims.length > 1) dims.push(n);
  return { dims, values: out };
}

// ---------------------------------------------------------------------------------------------------------
// N-dimensional grouped convolution on zero-point-adjusted integers (padding contributes zero)

interface ConvAttrs {
  auto_pad: string;
  dilations: number[] | undefined;
  group: number;
  kernel_shape: number[] | undefined;
  pads: number[] | undefined;
  strides: number[] | undefined;
}

const CONV_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

interface ConvGeometry {
  inSpatial: number[];
  kernel: number[];
  outSpatial: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
}

function convGeometry(xDims: readonly number[], wDims: readonly number[], attrs: ConvAttrs): ConvGeometry {
  const inSpatial = xDims.slice(2);
  const rank = inSpatial.length;
  const kernel = attrs.kernel_shape ?? wDims.slice(2);
  const strides = attrs.strides ?? new Array<number>(rank).fill(1);
  const dilations = attrs.dilations ?? new Array<number>(rank).fill(1);
  const pads = attrs.pads ?? new Array<number>(rank * 2).fill(0);
  const padsBegin: number[] = [];
  const outSpatial: number[] = [];
  for (let d = 0; d < rank; d++) {
    const extent = (kernel[d]! - 1) * dilations[d]! + 1;
    let begin = pads[d]!;
    let end = pads[d + rank]!;
    if (attrs.auto_pad === 'VALID') {
      begin = 0;
      end = 0;
    } else if (attrs.auto_pad === 'SAME_UPPER' || attrs.auto_pad === 'SAME_LOWER') {
      const wanted = Math.ceil(inSpatial[d]! / strides[d]!);
      const total = Math.max(0, (wanted - 1) * strides[d]! + extent - inSpatial[d]!);
      begin = attrs.auto_pad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      end = total - begin;
    }
    padsBegin.push(begin);
    outSpatial.push(Math.floor((inSpatial[d]! + begin + end - extent) / strides[d]!) + 1);
  }
  return { inSpatial, kernel, outSpatial, strides, dilations, padsBegin };
}

/** All coordinates of a box of `dims`, row-major, flattened (rank numbers per point). */
function coordinatesOf(dims: readonly number[]): Int32Array {
  const rank = dims.length;
  const count = elementCount(dims);
  const coords = new Int32Array(count * rank);
  const strides = stridesOf(dims);
  for (let index = 0; index < count; index++) {
    for (let d = 0; d < rank; d++) coords[index * rank + d] = Math.floor(index / strides[d]!) % dims[d]!;
  }
  return coords;
}

function convolve(x: Float64Array, xDims: readonly number[], w: Float64Array, wDims: readonly number[], attrs: ConvAttrs): NumericResult {
  const [batches, channels] = xDims as [number, number];
  const [filters, groupChannels] = wDims as [number, number];
  const group = attrs.group;
  if (channels !== groupChannels * group || filters % group !== 0) {
    throw new EdgerunError('SHAPE_MISMATCH', `conv input [${xDims.join(', ')}] and weights [${wDims.join(', ')}] do not match group ${group}`);
  }
  const geometry = convGeometry(xDims, wDims, attrs);
  const { inSpatial, kernel, outSpatial, strides, dilations, padsBegin } = geometry;
  const rank = inSpatial.length;
  const inSize = elementCount(inSpatial);
  const kernelSize = elementCount(kernel);
  const outSize = elementCount(outSpatial);
  const inStrides = stridesOf(inSpatial);
  const outCoords = coordinatesOf(outSpatial);
  const kernelCoords = coordinatesOf(kernel);
  const filtersPerGroup = filters / group;
  const out = new Float64Array(batches * filters * outSize);
  const origin = new Int32Array(rank);
  for (let n = 0; n < batches; n++) {
    for (let f = 0; f < filters; f++) {
      const firstChannel = Math.floor(f / filtersPerGroup) * groupChannels;
      const outStart = (n * filters + f) * outSize;
      for (let o = 0; o < outSize; o++) {
        for (let d = 0; d < rank; d++) origin[d] = outCoords[o * rank + d]! * strides[d]! - padsBegin[d]!;
        let sum = 0;
        for (let kIndex = 0; kIndex < kernelSize; kIndex++) {
          let inOffset = 0;
          let inside = true;
          for (let d = 0; d < rank; d++) {
            const position = origin[d]! + kernelCoords[kIndex * rank + d]! * dilations[d]!;
            if (position < 0 || position >= inSpatial[d]!) {
              inside = false;
              break;
            }
            inOffset += position * inStrides[d]!;
          }
          if (!inside) continue;
          for (let c = 0; c < groupChannels; c++) {
            const xValue = x[(n * channels + firstChannel + c) * inSize + inOffset]!;
            sum += xValue * w[(f * groupChannels + c) * kernelSize + kIndex]!;
          }
        }
        out[outStart + o] = sum;
      }
    }
  }
  return { dims: [batches, filters, ...outSpatial], values: out };
}

/** A weight zero point / scale is per tensor or one value per output channel (axis 0 of W). */
function perFilter(param: Tensor, filters: number, what: string): (filter: number) => number {
  const values = numbersOf(param);
  if (param.size === 1) return () => values[0]!;
  if (param.size !== filters) throw new EdgerunError('SHAPE_MISMATCH', `${what} must have 1 or ${filters} values, got ${param.size}`);
  return (filter) => values[filter]!;
}

/** W minus its zero point, per tensor or per output channel. */
function weightsMinusZeroPoint(w: Tensor, zeroPoint: Tensor | undefined): Float64Array {
  const out = Float64Array.from(numbersOf(w));
  if (!zeroPoint) return out;
  const filters = w.dims[0]!;
  const zeroPointOf = perFilter(zeroPoint, filters, 'w_zero_point');
  const perFilterSize = out.length / filters;
  for (let i = 0; i < out.length; i++) out[i]! -= zeroPointOf(Math.floor(i / perFilterSize));
  return out;
}

function scalarZeroPoint(ctx: KernelContext<unknown>, index: number, what: string): number {
  const zeroPoint = ctx.optionalTensor(index);
  if (!zeroPoint) return 0;
  if (zeroPoint.size !== 1) ctx.fail('INVALID_ARGUMENT', `${what} must be a single value, got dims [${zeroPoint.dims.join(', ')}]`);
  return numbersOf(zeroPoint)[0]!;
}

// ---------------------------------------------------------------------------------------------------------
// Requantizing an integer accumulator: y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point)

/** The combined multiplier a_scale * b_scale / y_scale, computed in the scales' float type as onnx does. */
function requantizeMultiplier(aScale: number, bScale: number, yScale: number, scaleType: DataType): number {
  return roundToFloatType(roundToFloatType(aScale * bScale, scaleType) / yScale, scaleType);
}

function qlinearMatMul(ctx: KernelContext<unknown>): Tensor {
  const a = ctx.tensor(0);
  const aScale = ctx.tensor(1);
  const b = ctx.tensor(3);
  const bScale = ctx.tensor(4);
  const yScale = ctx.tensor(6);
  const yZeroPoint = ctx.tensor(7);
  const product = matmul(
    subtractZeroPoint(numbersOf(a), a.dims, ctx.optionalTensor(2), true),
    a.dims,
    subtractZeroPoint(numbersOf(b), b.dims, ctx.optionalTensor(5), false),
    b.dims,
  );
  const aScaleAt = spreadOver(product.dims, aScale, true);
  const bScaleAt = spreadOver(product.dims, bScale, false);
  const yScaleAt = spreadOver(product.dims, yScale, false);
  const yZeroPointAt = spreadOver(product.dims, yZeroPoint, false);
  const range = integerRange(yZeroPoint.type);
  const out = new Float64Array(product.values.length);
  for (let i = 0; i < out.length; i++) {
    const multiplier = requantizeMultiplier(aScaleAt(i), bScaleAt(i), yScaleAt(i), aScale.type);
    out[i] = saturateToInteger(product.values[i]! * multiplier, yZeroPointAt(i), range);
  }
  return tensorFromNumbers(yZeroPoint.type, product.dims, out);
}

function qlinearConv(ctx: KernelContext<ConvAttrs>): Tensor {
  const x = ctx.tensor(0);
  const xScale = ctx.tensor(1);
  const w = ctx.tensor(3);
  const wScale = ctx.tensor(4);
  const yScale = ctx.tensor(6);
  const yZeroPoint = ctx.tensor(7);
  const bias = ctx.optionalTensor(8);
  const xZeroPoint = scalarZeroPoint(ctx, 2, 'x_zero_point');
  const xAdjusted = Float64Array.from(numbersOf(x), (value) => value - xZeroPoint);
  const result = convolve(xAdjusted, x.dims, weightsMinusZeroPoint(w, ctx.optionalTensor(5)), w.dims, ctx.attrs);
  const filters = w.dims[0]!;
  const wScaleOf = perFilter(wScale, filters, 'w_scale');
  const biases = bias ? numbersOf(bias) : undefined;
  const xScaleValue = numbersOf(xScale)[0]!;
  const yScaleValue = numbersOf(yScale)[0]!;
  const yZeroPointValue = numbersOf(yZeroPoint)[0]!;
  const range = integerRange(yZeroPoint.type);
  const outPerFilter = elementCount(result.dims.slice(2));
  const out = result.values;
  for (let i = 0; i < out.length; i++) {
    const filter = Math.floor(i / outPerFilter) % filters;
    const accumulator = out[i]! + (biases ? biases[filter]! : 0);
    const multiplier = requantizeMultiplier(xScaleValue, wScaleOf(filter), yScaleValue, xScale.type);
    out[i] = saturateToInteger(accumulator * multiplier, yZeroPointValue, range);
  }
  return tensorFromNumbers(yZeroPoint.type, result.dims, out);
}

// ---------------------------------------------------------------------------------------------------------
// Op definitions

function quantizeOutputType(inputTypes: readonly (ValueType | undefined)[]): DataType {
  const zeroPointType = inputTypes[2];
  return zeroPointType?.kind === 'tensor' ? zeroPointType.dtype : 'uint8';
}

function dequantizeInfer({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] {
  const scaleType = inputTypes[1];
  return [scaleType?.kind === 'tensor' ? tensorType(scaleType.dtype, shapeOf(inputTypes[0])) : undefined];
}

function shapeOf(type: ValueType | undefined): Dim[] | undefined {
  return type?.kind === 'tensor' ? type.shape : undefined;
}

export const ops: OpDef[] = [
  defineOp({
    name: 'QuantizeLinear',
    since: 10,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    kernel: (ctx) => [quantizeLinear(ctx, { axis: 1, saturate: 1, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 13,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1) },
    kernel: (ctx) => [quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: 1, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 19,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1), saturate: attr.int(1) },
    infer: (ctx) => [tensorType(quantizeOutputType(ctx.inputTypes), shapeOf(ctx.inputTypes[0]))],
    kernel: (ctx) => [quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: ctx.attrs.saturate, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 21,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1), saturate: attr.int(1), block_size: attr.int(0), output_dtype: attr.int(0) },
    infer: (ctx) => [
      tensorType(ctx.attrs.output_dtype ? dataTypeFromOnnx(ctx.attrs.output_dtype, 'output_dtype') : quantizeOutputType(ctx.inputTypes), shapeOf(ctx.inputTypes[0])),
    ],
    kernel: (ctx) => [
      quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: ctx.attrs.saturate, blockSize: ctx.attrs.block_size, outputDtype: ctx.attrs.output_dtype }),
    ],
  }),
  defineOp({
    name: 'DequantizeLinear',
    since: 10,
    inputs: ['x', 'x_scale', 'x_zero_point?'],
    outputs: ['y'],
    kernel: (ctx) => [dequantizeLinear(ctx, 1, 0)],
  }),
  defineOp({
    name: 'DequantizeLinear',
    since: 13,
    inputs: ['x', 'x_scale', 'x_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1) },
    infer: dequantizeInfer,
    kernel: (ctx) => [dequantizeLinear(ctx, ctx.attrs.axis, 0)],
  }),
  defineOp({
    name: 'DequantizeLinear',
    since: 21,
    inputs: ['x', 'x_scale', 'x_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1), block_size: attr.int(0) },
    infer: dequantizeInfer,
    kernel: (ctx) => [dequantizeLinear(ctx, ctx.attrs.axis, ctx.attrs.block_size)],
  }),
  defineOp({
    name: 'DynamicQuantizeLinear',
    since: 11,
    inputs: ['x'],
    outputs: ['y', 'y_scale', 'y_zero_point'],
    infer: ({ inputTypes }) => [tensorType('uint8', shapeOf(inputTypes[0])), tensorType('float32', []), tensorType('uint8', [])],
    kernel: (ctx) => dynamicQuantizeLinear(ctx.tensor(0)),
  }),
  defineOp({
    name: 'MatMulInteger',
    since: 10,
    inputs: ['A', 'B', 'a_zero_point?', 'b_zero_point?'],
    outputs: ['Y'],
    infer: () => [tensorType('int32')],
    kernel: (ctx) => {
      const a = ctx.tensor(0);
      const b = ctx.tensor(1);
      const product = matmul(
        subtractZeroPoint(numbersOf(a), a.dims, ctx.optionalTensor(2), true),
        a.dims,
        subtractZeroPoint(numbersOf(b), b.dims, ctx.optionalTensor(3), false),
        b.dims,
      );
      return [tensorFromNumbers('int32', product.dims, product.values)];
    },
  }),
  defineOp({
    name: 'ConvInteger',
    since: 10,
    inputs: ['x', 'w', 'x_zero_point?', 'w_zero_point?'],
    outputs: ['y'],
    attributes: CONV_ATTRIBUTES,
    infer: () => [tensorType('int32')],
    kernel: (ctx) => {
      const x = ctx.tensor(0);
      const w = ctx.tensor(1);
      const xZeroPoint = scalarZeroPoint(ctx, 2, 'x_zero_point');
      const xAdjusted = Float64Array.from(numbersOf(x), (value) => value - xZeroPoint);
      const result = convolve(xAdjusted, x.dims, weightsMinusZeroPoint(w, ctx.optionalTensor(3)), w.dims, ctx.attrs);
      return [tensorFromNumbers('int32', result.dims, result.values)];
    },
  }),
  defineOp({
    name: 'QLinearConv',
    since: 10,
    inputs: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point', 'B?'],
    outputs: ['y'],
    attributes: CONV_ATTRIBUTES,
    kernel: (ctx) => [qlinearConv(ctx)],
  }),
  defineOp({
    name: 'QLinearMatMul',
    since: 10,
    inputs: ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point'],
    outputs: ['y'],
    kernel: (ctx) => [qlinearMatMul(ctx)],
  }),
];
