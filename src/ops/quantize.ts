import { EdgerunError } from '../core/errors.js';
import { dataTypeFromOnnx, isFloatType, writeNumbers, type DataType } from '../core/dtype.js';
import type { ValueType } from '../core/graph.js';
import { float16ToNumber, numberToFloat16, roundHalfEven } from '../core/numeric.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { defineOp, attr, type OpDef, type InferContext, type KernelContext } from './registry.js';
import { broadcastOffsets, normalizeAxis, numbersOf, shapeOf, tensorFromNumbers, tensorType } from './common.js';
import { convolution, type ConvAttrs } from '../kernels/conv.js';
import { matmul } from '../kernels/matmul.js';
import { CONV_ATTRIBUTES, inferWindowed, matMulShape } from './geometry.js';

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
  // float32 arithmetic step by step, as onnxruntime computes it; an all-zero input has no range, and like
  // onnxruntime it gets scale 1 (every value then quantizes to zero point 0).
  const scale = max === min ? 1 : Math.fround(Math.fround(max - min) / (range[1] - range[0]));
  const zeroPoint = roundHalfEven(clamp(Math.fround(-Math.fround(min / scale)), range));
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = saturateToInteger(Math.fround(values[i]! / scale), zeroPoint, range);
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
// Zero points of convolution operands (the convolution itself is conv.ts', on zero-point-adjusted integers)

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
// Integer products of zero-point-adjusted operands (matmul.ts' and conv.ts' float kernels, run in float64)

/**
 * The integer product (A - a_zero_point)·(B - b_zero_point). A is input 0 and a_zero_point input 2 in both
 * layouts: (A, B, a_zero_point, b_zero_point) of MatMulInteger and (a, a_scale, a_zero_point, b, b_scale,
 * b_zero_point, ...) of QLinearMatMul; B and b_zero_point are at `bIndex` and `bZeroPointIndex`.
 */
function integerMatMul(ctx: KernelContext<unknown>, bIndex: number, bZeroPointIndex: number) {
  const a = ctx.tensor(0);
  const b = ctx.tensor(bIndex);
  const aAdjusted = subtractZeroPoint(numbersOf(a), a.dims, ctx.optionalTensor(2), true);
  const bAdjusted = subtractZeroPoint(numbersOf(b), b.dims, ctx.optionalTensor(bZeroPointIndex), false);
  return matmul(aAdjusted, a.dims, bAdjusted, b.dims, ctx.fail);
}

/** (X - x_zero_point) convolved with (W - w_zero_point), the inputs laid out as integerMatMul's. */
function integerConv(ctx: KernelContext<ConvAttrs>, wIndex: number, wZeroPointIndex: number) {
  const x = ctx.tensor(0);
  const w = ctx.tensor(wIndex);
  const xZeroPoint = scalarZeroPoint(ctx, 2, 'x_zero_point');
  const xAdjusted = Float64Array.from(numbersOf(x), (value) => value - xZeroPoint);
  const wAdjusted = weightsMinusZeroPoint(w, ctx.optionalTensor(wZeroPointIndex));
  return convolution(xAdjusted, x.dims, wAdjusted, w.dims, ctx.attrs, ctx.fail);
}

// ---------------------------------------------------------------------------------------------------------
// Requantizing an integer accumulator: y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point)

/** The combined multiplier a_scale * b_scale / y_scale, computed in the scales' float type as onnx does. */
function requantizeMultiplier(aScale: number, bScale: number, yScale: number, scaleType: DataType): number {
  return roundToFloatType(roundToFloatType(aScale * bScale, scaleType) / yScale, scaleType);
}

/** Per output element: the scales of the two operands, y_scale and y_zero_point. */
interface Requantization {
  scaleType: DataType;
  aScaleAt(index: number): number;
  bScaleAt(index: number): number;
  yScaleAt(index: number): number;
  yZeroPoint: Tensor;
  yZeroPointAt(index: number): number;
}

/** Each integer accumulator requantized into y_zero_point's type. */
function requantize({ dims, values }: { dims: number[]; values: ArrayLike<number> }, q: Requantization): Tensor {
  const range = integerRange(q.yZeroPoint.type);
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) {
    const multiplier = requantizeMultiplier(q.aScaleAt(i), q.bScaleAt(i), q.yScaleAt(i), q.scaleType);
    // onnxruntime converts the accumulator to float32 and multiplies in float32 before rounding.
    out[i] = saturateToInteger(roundToFloatType(Math.fround(values[i]!) * multiplier, q.scaleType), q.yZeroPointAt(i), range);
  }
  return tensorFromNumbers(q.yZeroPoint.type, dims, out);
}

function qlinearMatMul(ctx: KernelContext<unknown>): Tensor {
  const product = integerMatMul(ctx, 3, 5);
  const aScale = ctx.tensor(1);
  const yZeroPoint = ctx.tensor(7);
  return requantize(product, {
    scaleType: aScale.type,
    aScaleAt: spreadOver(product.dims, aScale, true),
    bScaleAt: spreadOver(product.dims, ctx.tensor(4), false),
    yScaleAt: spreadOver(product.dims, ctx.tensor(6), false),
    yZeroPoint,
    yZeroPointAt: spreadOver(product.dims, yZeroPoint, false),
  });
}

/** QLinearConv: x_scale, y_scale and y_zero_point are per tensor, w_scale per tensor or per output channel. */
function qlinearConv(ctx: KernelContext<ConvAttrs>): Tensor {
  const result = integerConv(ctx, 3, 5);
  const filters = result.dims[1]!;
  const outPerFilter = elementCount(result.dims.slice(2));
  const filterOf = (index: number) => Math.floor(index / outPerFilter) % filters;
  const bias = ctx.optionalTensor(8);
  if (bias) {
    const biases = numbersOf(bias);
    for (let i = 0; i < result.values.length; i++) result.values[i]! += biases[filterOf(i)]!;
  }
  const xScale = ctx.tensor(1);
  const wScaleOf = perFilter(ctx.tensor(4), filters, 'w_scale');
  const [xScaleValue, yScaleValue] = [numbersOf(xScale)[0]!, numbersOf(ctx.tensor(6))[0]!];
  const yZeroPoint = ctx.tensor(7);
  const yZeroPointValue = numbersOf(yZeroPoint)[0]!;
  return requantize(result, {
    scaleType: xScale.type,
    aScaleAt: () => xScaleValue,
    bScaleAt: (i) => wScaleOf(filterOf(i)),
    yScaleAt: () => yScaleValue,
    yZeroPoint,
    yZeroPointAt: () => yZeroPointValue,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Op definitions

function quantizeOutputType(inputTypes: readonly (ValueType | undefined)[]): DataType {
  const zeroPointType = inputTypes[2];
  return zeroPointType?.kind === 'tensor' ? zeroPointType.dtype : 'uint8';
}

/** QuantizeLinear's y: x's shape in output_dtype (opset 21), else y_zero_point's type or uint8. */
function quantizeInfer({ node, inputTypes, attrs }: InferContext): (ValueType | undefined)[] {
  const outputDtype = typeof attrs.output_dtype === 'number' ? attrs.output_dtype : 0;
  // A y_zero_point of unknown type leaves the output type unknown (it is not uint8 by default then).
  if (!outputDtype && (node.inputs[2] ?? '') !== '' && inputTypes[2]?.kind !== 'tensor') return [undefined];
  const outType = outputDtype ? dataTypeFromOnnx(outputDtype, 'output_dtype') : quantizeOutputType(inputTypes);
  return [tensorType(outType, shapeOf(inputTypes[0]))];
}

/** The element type of input `index` (y_zero_point gives a quantized output's type). */
function dtypeOfInput(inputTypes: readonly (ValueType | undefined)[], index: number): DataType | undefined {
  const type = inputTypes[index];
  return type?.kind === 'tensor' ? type.dtype : undefined;
}

function dequantizeInfer({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] {
  const scaleType = inputTypes[1];
  return [scaleType?.kind === 'tensor' ? tensorType(scaleType.dtype, shapeOf(inputTypes[0])) : undefined];
}

export const ops: OpDef[] = [
  defineOp({
    name: 'QuantizeLinear',
    since: 10,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    infer: quantizeInfer,
    kernel: (ctx) => [quantizeLinear(ctx, { axis: 1, saturate: 1, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 13,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1) },
    infer: quantizeInfer,
    kernel: (ctx) => [quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: 1, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 19,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1), saturate: attr.int(1) },
    infer: quantizeInfer,
    kernel: (ctx) => [quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: ctx.attrs.saturate, blockSize: 0, outputDtype: 0 })],
  }),
  defineOp({
    name: 'QuantizeLinear',
    since: 21,
    inputs: ['x', 'y_scale', 'y_zero_point?'],
    outputs: ['y'],
    attributes: { axis: attr.int(1), saturate: attr.int(1), block_size: attr.int(0), output_dtype: attr.int(0) },
    infer: quantizeInfer,
    kernel: (ctx) => [
      quantizeLinear(ctx, { axis: ctx.attrs.axis, saturate: ctx.attrs.saturate, blockSize: ctx.attrs.block_size, outputDtype: ctx.attrs.output_dtype }),
    ],
  }),
  defineOp({
    name: 'DequantizeLinear',
    since: 10,
    inputs: ['x', 'x_scale', 'x_zero_point?'],
    outputs: ['y'],
    infer: dequantizeInfer,
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
    infer: ({ inputTypes }) => [tensorType('int32', matMulShape(shapeOf(inputTypes[0]), shapeOf(inputTypes[1])))],
    kernel: (ctx) => {
      const product = integerMatMul(ctx, 1, 3);
      return [tensorFromNumbers('int32', product.dims, product.values)];
    },
  }),
  defineOp({
    name: 'ConvInteger',
    since: 10,
    inputs: ['x', 'w', 'x_zero_point?', 'w_zero_point?'],
    outputs: ['y'],
    attributes: CONV_ATTRIBUTES,
    infer: inferWindowed({ weightsIndex: 1, dtype: () => 'int32' }),
    kernel: (ctx) => {
      const result = integerConv(ctx, 1, 3);
      return [tensorFromNumbers('int32', result.dims, result.values)];
    },
  }),
  defineOp({
    name: 'QLinearConv',
    since: 10,
    inputs: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point', 'B?'],
    outputs: ['y'],
    attributes: CONV_ATTRIBUTES,
    infer: inferWindowed({ weightsIndex: 3, dtype: (inputTypes) => dtypeOfInput(inputTypes, 7) }),
    kernel: (ctx) => [qlinearConv(ctx)],
  }),
  defineOp({
    name: 'QLinearMatMul',
    since: 10,
    inputs: ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point'],
    outputs: ['y'],
    infer: ({ inputTypes }) => {
      const dtype = dtypeOfInput(inputTypes, 7);
      return [dtype && tensorType(dtype, matMulShape(shapeOf(inputTypes[0]), shapeOf(inputTypes[3])))];
    },
    kernel: (ctx) => [qlinearMatMul(ctx)],
  }),
];
