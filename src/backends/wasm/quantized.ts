import { describeNode, type ValueType } from '../../core/graph.js';
import type { DataType } from '../../core/dtype.js';
import { EdgerunError } from '../../core/errors.js';
import { elementCount, type Tensor } from '../../core/tensor.js';
import { dynamicQuantizationParameters, requantizationMultiplier } from '../../kernels/quantization.js';
import { effectiveScale, quantizeMultiplier } from '../../kernels/fixed-point.js';
import { spatialAxes, type ConvAttrs, type WindowAxis } from '../../kernels/window.js';
import type { Kernel, KernelIO, NodeInfo } from '../backend.js';
import { rankOf, Staging, staticDims, type WasmOp } from './common.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * 8-bit quantized ops on the integer kernels of assembly/quantized.ts and assembly/quantize.ts:
 *   QuantizeLinear, DequantizeLinear   float32 <-> int8 / uint8, per tensor or per axis
 *   DynamicQuantizeLinear              range in wasm, scale and zero point on the host, then QuantizeLinear's kernel
 *   MatMulInteger, QLinearMatMul       a constant 2-D B packed at prepare, int8 GEMM, int32 out or requantized
 *   ConvInteger, QLinearConv           NCHW 2-D convolution: per image a byte transpose to NHWC, 8-bit im2col
 *                                      per group (1x1 stride-1 unpadded convolutions skip it), GEMM, then
 *                                      int32 or requantized bytes transposed back to NCHW
 * The GEMM takes A's zero point at run (DynamicQuantizeLinear produces it), so a runtime scalar zero point
 * is fine; B's zero points (per tensor or per output column) are subtracted at packing. Requantization has
 * two modes: 'onnx' (float32 multiplier, round half to even: bit-exact with onnxruntime and the reference
 * kernels) and 'fixed-point' (TFLite's 32-bit multiplier and shift, for TFLite models).
 */

export type RequantizationMode = 'onnx' | 'fixed-point';

interface IntegerRange {
  signed: boolean;
  low: number;
  high: number;
}

const EIGHT_BIT: Partial<Record<DataType, IntegerRange>> = {
  int8: { signed: true, low: -128, high: 127 },
  uint8: { signed: false, low: 0, high: 255 },
};

function dtypeOf(type: ValueType | undefined): DataType | undefined {
  return type?.kind === 'tensor' ? type.dtype : undefined;
}

function isEightBit(type: ValueType | undefined): boolean {
  const dtype = dtypeOf(type);
  return dtype !== undefined && EIGHT_BIT[dtype] !== undefined;
}

function isType(type: ValueType | undefined, dtype: DataType): boolean {
  return dtypeOf(type) === dtype;
}

function present(info: NodeInfo, index: number): boolean {
  return (info.node.inputs[index] ?? '') !== '';
}

/** A present input holds one value: a constant of one element, or a type whose static shape has one. */
function isScalar(info: NodeInfo, index: number): boolean {
  const constant = info.constants[index];
  if (constant) return constant.size === 1;
  const dims = staticDims(info, index);
  return dims !== undefined && elementCount(dims) === 1;
}

function fail(info: NodeInfo, code: EdgerunError['code'], detail: string): never {
  throw new EdgerunError(code, detail, [describeNode(info.node)]);
}

function tensorInput(info: NodeInfo, io: KernelIO, index: number): Tensor {
  const value = io.inputs[index];
  if (!value || Array.isArray(value)) fail(info, 'INVALID_ARGUMENT', `input #${index} ('${info.node.inputs[index] ?? ''}') must be a tensor`);
  return value as Tensor;
}

/** The numbers of a small host-side parameter tensor (scales, zero points). */
function numbers(tensor: Tensor): number[] {
  return Array.from(tensor.data as Float32Array);
}

/** An optional scalar zero point input, 0 when absent. */
function scalarInput(info: NodeInfo, io: KernelIO, index: number, what: string): number {
  if (!present(info, index)) return 0;
  const tensor = tensorInput(info, io, index);
  if (tensor.size !== 1) fail(info, 'INVALID_ARGUMENT', `${what} must be a single value, got dims [${tensor.dims.join(', ')}]`);
  return numbers(tensor)[0]!;
}

/** Per-column values of an optional parameter of 1 or `columns` values (zeros when absent). */
function perColumn(info: NodeInfo, tensor: Tensor | undefined, columns: number, what: string): number[] {
  if (!tensor) return new Array<number>(columns).fill(0);
  const values = numbers(tensor);
  if (tensor.size === 1) return new Array<number>(columns).fill(values[0]!);
  if (tensor.size !== columns) fail(info, 'SHAPE_MISMATCH', `${what} must have 1 or ${columns} values, got dims [${tensor.dims.join(', ')}]`);
  return values;
}

// ---------------------------------------------------------------------------------------------------------
// Packing B' = B - zero point for the int8 GEMM (layout in assembly/quantized.ts)

const PANEL_HEADER = 64;

/** Bytes of B packed for the int8 GEMM, depth k and n columns. */
export function packedBytes(k: number, n: number): number {
  return Math.ceil(n / 8) * (PANEL_HEADER + ((k + 1) >> 1) * 32);
}

/** B [k, n] given by `valueAt`, minus the per-column zero points, with an int32 bias per column, packed. */
function packWeights(runtime: WasmRuntime, k: number, n: number, valueAt: (row: number, col: number) => number, zeroPoints: readonly number[], bias?: readonly number[]): WasmBlock {
  const panelBytes = PANEL_HEADER + ((k + 1) >> 1) * 32;
  const block = runtime.alloc(packedBytes(k, n));
  const words = new Int32Array(runtime.buffer, block.pointer, block.byteLength / 4).fill(0);
  const halves = new Int16Array(runtime.buffer, block.pointer, block.byteLength / 2);
  for (let col = 0; col < n; col++) {
    const [panel, lane] = [Math.floor(col / 8), col % 8];
    const panelStart = panel * panelBytes;
    let sum = 0;
    for (let row = 0; row < k; row++) {
      const value = valueAt(row, col) - zeroPoints[col]!;
      sum += value;
      const byte = panelStart + PANEL_HEADER + (row >> 1) * 32 + (lane >> 2) * 16 + ((lane & 3) * 2 + (row & 1)) * 2;
      halves[byte / 2] = value;
    }
    words[panelStart / 4 + lane] = sum;
    words[panelStart / 4 + 8 + lane] = bias?.[col] ?? 0;
  }
  return block;
}

// ---------------------------------------------------------------------------------------------------------
// Requantization of the int32 accumulators to 8 bits

/** How a prepared kernel turns int32 accumulators [rows, columns] into its 8-bit output. */
interface Requantizer {
  range: IntegerRange;
  /** Frees the per-column parameters in wasm memory. */
  release(): void;
  run(acc: number, rows: number, columns: number, y: number): void;
}

/**
 * Uploads the per-column parameters of `mode` for the real scales a_scale * b_scale[col] / y_scale: a float32
 * multiplier computed as onnxruntime does ('onnx'), or TFLite's multiplier and shift ('fixed-point').
 */
function requantizer(runtime: WasmRuntime, mode: RequantizationMode, scales: { a: number; b: readonly number[]; y: number }, zeroPoint: number, range: IntegerRange): Requantizer {
  const columns = scales.b.length;
  const padded = Math.ceil(columns / 4) * 4;
  const { kernels } = runtime;
  if (mode === 'onnx') {
    const block = runtime.alloc(padded * 4);
    const multipliers = new Float32Array(padded);
    scales.b.forEach((b, col) => (multipliers[col] = requantizationMultiplier(scales.a, b, scales.y)));
    runtime.f32(block.pointer, padded).set(multipliers);
    return {
      range,
      release: () => block.release(),
      run: (acc, rows, cols, y) => kernels.qs32_requantize_fp32(acc, rows, cols, cols, block.pointer, zeroPoint, range.low, range.high, y, cols),
    };
  }
  const pairs = scales.b.map((b) => {
    const scale = effectiveScale(scales.a, b, scales.y);
    if (!(scale >= 0 && Number.isFinite(scale))) throw new EdgerunError('INVALID_ARGUMENT', `a fixed-point requantization needs finite scales of one sign, got ${scales.a} * ${b} / ${scales.y}`);
    return quantizeMultiplier(scale);
  });
  const block = runtime.alloc(columns * 8);
  const words = new Int32Array(runtime.buffer, block.pointer, columns * 2);
  pairs.forEach(({ multiplier, shift }, col) => {
    words[col] = multiplier;
    words[columns + col] = shift;
  });
  return {
    range,
    release: () => block.release(),
    run: (acc, rows, cols, y) => kernels.qs32_requantize_rndnu(acc, rows, cols, cols, block.pointer, block.pointer + columns * 4, zeroPoint, range.low, range.high, y, cols),
  };
}

/** QLinear*'s requantization from its constant scales (inputs aScale, bScale, yScale, yZeroPoint). */
function qlinearRequantizer(runtime: WasmRuntime, info: NodeInfo, mode: RequantizationMode, columns: number, [aScale, bScale, yScale, yZeroPoint]: number[]): Requantizer {
  const [a, b, y, zero] = [aScale!, bScale!, yScale!, yZeroPoint!].map((index) => info.constants[index]!);
  const range = EIGHT_BIT[zero!.type]!;
  const scales = { a: numbers(a!)[0]!, b: perColumn(info, b, columns, info.node.inputs[bScale!]!), y: numbers(y!)[0]! };
  return requantizer(runtime, mode, scales, numbers(zero!)[0]!, range);
}

/**
 * QLinear*'s scales and y_zero_point: float32 constants, one value each except b's (1 or per column), whose
 * multipliers are finite (a zero or subnormal y_scale is the reference's: NaN and infinity saturate there).
 */
function qlinearParametersSupported(info: NodeInfo, [aScale, bScale, yScale, yZeroPoint]: number[]): boolean {
  const [a, b, y, zero] = [aScale!, bScale!, yScale!, yZeroPoint!].map((index) => info.constants[index]);
  if (![a, b, y].every((scale) => scale?.type === 'float32') || a!.size !== 1 || y!.size !== 1) return false;
  if (!zero || zero.size !== 1 || EIGHT_BIT[zero.type] === undefined) return false;
  const [aValue, yValue] = [numbers(a!)[0]!, numbers(y!)[0]!];
  return numbers(b!).every((bValue) => Number.isFinite(requantizationMultiplier(aValue, bValue, yValue)));
}

// ---------------------------------------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear

/** Per-tensor or per-axis parameters of x [outer, channels, inner], as QuantizeLinear / DequantizeLinear read them. */
function channelLayout(info: NodeInfo, dims: readonly number[], scale: Tensor, zeroPoint: Tensor | undefined): { outer: number; channels: number; inner: number } {
  if (zeroPoint && zeroPoint.size !== scale.size) {
    fail(info, 'SHAPE_MISMATCH', `the zero point has dims [${zeroPoint.dims.join(', ')}] but the scale has [${scale.dims.join(', ')}]`);
  }
  if (scale.size === 1) return { outer: 1, channels: 1, inner: elementCount(dims) };
  const axisAttr = (info.attributes.axis as number | undefined) ?? 1;
  const axis = axisAttr < 0 ? axisAttr + dims.length : axisAttr;
  if (axis < 0 || axis >= dims.length) fail(info, 'INVALID_ARGUMENT', `axis ${axisAttr} is out of range for rank ${dims.length}`);
  if (scale.dims.length !== 1 || scale.dims[0] !== dims[axis]) {
    fail(info, 'SHAPE_MISMATCH', `a per-axis scale must be 1-D of size ${dims[axis]}, got [${scale.dims.join(', ')}]`);
  }
  return { outer: elementCount(dims.slice(0, axis)), channels: dims[axis]!, inner: elementCount(dims.slice(axis + 1)) };
}

/** Writes float32 scales, then int32 zero points, into a work buffer; returns their addresses. */
function writeParameters(runtime: WasmRuntime, at: number, scales: readonly number[], zeroPoints: readonly number[]): [number, number] {
  runtime.f32(at, scales.length).set(scales);
  const zeroAt = at + Math.ceil(scales.length / 4) * 16;
  new Int32Array(runtime.buffer, zeroAt, zeroPoints.length).set(zeroPoints);
  return [at, zeroAt];
}

const parameterBytes = (count: number) => Math.ceil(count / 4) * 32;

/**
 * Reserves at prepare the scratch a run of an elementwise conversion needs when x's dims are static (a run
 * must not grow the memory: that detaches a private memory's views): x and y staged, parameters for up to
 * the largest dim's channels, and `extra` bytes.
 */
function reserveConversion(runtime: WasmRuntime, info: NodeInfo, bytesPerElement: number, extra: number[] = []): void {
  const dims = staticDims(info, 0);
  if (!dims) return;
  const count = elementCount(dims);
  runtime.reserveScratch(Staging.bytesFor([count * 4, count * bytesPerElement], [...extra, parameterBytes(Math.max(1, ...dims))]));
}

/** Both ops: blocked quantization (opset 21 block_size) and other element types are the reference's. */
function unblocked(info: NodeInfo): boolean {
  return ((info.attributes.block_size as number | undefined) ?? 0) === 0;
}

/** QuantizeLinear's y type (output_dtype 0): y_zero_point's, uint8 without one. */
function quantizeOutputType(info: NodeInfo): DataType | undefined {
  return present(info, 2) ? dtypeOf(info.inputTypes[2]) : 'uint8';
}

const quantizeLinear: WasmOp = {
  supports(info) {
    const outputDtype = (info.attributes.output_dtype as number | undefined) ?? 0;
    const out = quantizeOutputType(info);
    return unblocked(info) && outputDtype === 0 && isType(info.inputTypes[0], 'float32') && isType(info.inputTypes[1], 'float32') && out !== undefined && EIGHT_BIT[out] !== undefined;
  },
  prepare(runtime, info) {
    const out = quantizeOutputType(info)!;
    const range = EIGHT_BIT[out]!;
    reserveConversion(runtime, info, 1);
    return {
      run(io) {
        const [x, scale] = [tensorInput(info, io, 0), tensorInput(info, io, 1)];
        const zeroPoint = present(info, 2) ? tensorInput(info, io, 2) : undefined;
        const { outer, channels, inner } = channelLayout(info, x.dims, scale, zeroPoint);
        const y = io.output(0, out, x.dims);
        const staging = new Staging(runtime, [x], [y], [parameterBytes(channels)]);
        const [scales, zeros] = writeParameters(runtime, staging.work(0), numbers(scale), perColumn(info, zeroPoint, channels, 'y_zero_point'));
        runtime.kernels.f32_quantize(staging.address(x), outer, channels, inner, scales, zeros, range.low, range.high, staging.address(y));
        staging.finish();
      },
    };
  },
};

const dequantizeLinear: WasmOp = {
  supports(info) {
    const zeroOk = !present(info, 2) || dtypeOf(info.inputTypes[2]) === dtypeOf(info.inputTypes[0]);
    return unblocked(info) && isEightBit(info.inputTypes[0]) && isType(info.inputTypes[1], 'float32') && zeroOk;
  },
  prepare(runtime, info) {
    const { signed } = EIGHT_BIT[dtypeOf(info.inputTypes[0])!]!;
    const dequantize = signed ? runtime.kernels.s8_dequantize : runtime.kernels.u8_dequantize;
    reserveConversion(runtime, info, 1);
    return {
      run(io) {
        const [x, scale] = [tensorInput(info, io, 0), tensorInput(info, io, 1)];
        const zeroPoint = present(info, 2) ? tensorInput(info, io, 2) : undefined;
        const { outer, channels, inner } = channelLayout(info, x.dims, scale, zeroPoint);
        const y = io.output(0, 'float32', x.dims);
        const staging = new Staging(runtime, [x], [y], [parameterBytes(channels)]);
        const [scales, zeros] = writeParameters(runtime, staging.work(0), numbers(scale), perColumn(info, zeroPoint, channels, 'x_zero_point'));
        dequantize(staging.address(x), outer, channels, inner, scales, zeros, staging.address(y));
        staging.finish();
      },
    };
  },
};

const dynamicQuantizeLinear: WasmOp = {
  supports: (info) => isType(info.inputTypes[0], 'float32'),
  prepare(runtime, info) {
    const { low, high } = EIGHT_BIT.uint8!;
    reserveConversion(runtime, info, 1, [16]);
    return {
      run(io) {
        const x = tensorInput(info, io, 0);
        const y = io.output(0, 'uint8', x.dims);
        const staging = new Staging(runtime, [x], [y], [16, parameterBytes(1)]);
        const [xAddress, range] = [staging.address(x), staging.work(0)];
        runtime.kernels.f32_range(xAddress, x.size, range);
        const [min, max] = runtime.f32(range, 2);
        const { scale, zeroPoint } = dynamicQuantizationParameters(min!, max!);
        const [scales, zeros] = writeParameters(runtime, staging.work(1), [scale], [zeroPoint]);
        runtime.kernels.f32_quantize(xAddress, 1, 1, x.size, scales, zeros, low, high, staging.address(y));
        staging.finish();
        (io.output(1, 'float32', []).data as Float32Array)[0] = scale;
        (io.output(2, 'uint8', []).data as Uint8Array)[0] = zeroPoint;
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------------------
// MatMulInteger, QLinearMatMul

/** Where MatMulInteger's and QLinearMatMul's operands are: a, its zero point, b, its zero point. */
interface MatMulInputs {
  a: number;
  aZeroPoint: number;
  b: number;
  bZeroPoint: number;
}

const MATMUL_INTEGER: MatMulInputs = { a: 0, aZeroPoint: 2, b: 1, bZeroPoint: 3 };
const QLINEAR_MATMUL: MatMulInputs = { a: 0, aZeroPoint: 2, b: 3, bZeroPoint: 5 };
/** QLinearMatMul's a_scale, b_scale, y_scale, y_zero_point. */
const QLINEAR_MATMUL_SCALES = [1, 4, 6, 7];

/** A of 8 bits and rank >= 1; B a constant 2-D 8-bit matrix; a scalar a zero point; b's per tensor or per column. */
function matMulSupported(info: NodeInfo, where: MatMulInputs): boolean {
  const b = info.constants[where.b];
  if (!isEightBit(info.inputTypes[where.a]) || !b || b.dims.length !== 2 || EIGHT_BIT[b.type] === undefined) return false;
  const aZeroOk = !present(info, where.aZeroPoint) || isScalar(info, where.aZeroPoint);
  const bZero = info.constants[where.bZeroPoint];
  const bZeroOk = !present(info, where.bZeroPoint) || (bZero !== undefined && (bZero.size === 1 || (bZero.dims.length === 1 && bZero.size === b.dims[1])));
  return aZeroOk && bZeroOk;
}

/**
 * The shared run of both ops: y [...A's leading dims, N] gets the int32 product (requantizer absent) or its
 * requantized bytes.
 */
function prepareMatMul(runtime: WasmRuntime, info: NodeInfo, where: MatMulInputs, requantize?: Requantizer): Kernel {
  runtime.warmUp('qu8_gemm');
  const b = info.constants[where.b]!;
  const [k, n] = b.dims as [number, number];
  const bValues = numbers(b);
  const bZeroPoints = perColumn(info, info.constants[where.bZeroPoint], n, info.node.inputs[where.bZeroPoint] ?? 'b_zero_point');
  const packed = packWeights(runtime, k, n, (row, col) => bValues[row * n + col]!, bZeroPoints);
  const aType = dtypeOf(info.inputTypes[where.a])!;
  const gemm = EIGHT_BIT[aType]!.signed ? runtime.kernels.qs8_gemm_4x8c2 : runtime.kernels.qu8_gemm_4x8c2;
  const outType: DataType = requantize ? (requantize.range.signed ? 'int8' : 'uint8') : 'int32';
  const aDims = staticDims(info, where.a);
  if (aDims) {
    const m = elementCount(aDims) / k;
    runtime.reserveScratch(Staging.bytesFor([m * k, m * n * (requantize ? 1 : 4)], requantize ? [m * n * 4] : []));
  }
  return {
    run(io) {
      const a = tensorInput(info, io, where.a);
      if (a.dims[a.dims.length - 1] !== k) fail(info, 'SHAPE_MISMATCH', `inner dimensions differ: A [${a.dims.join(', ')}], B [${b.dims.join(', ')}]`);
      const m = a.size / k;
      const aZeroPoint = scalarInput(info, io, where.aZeroPoint, 'a_zero_point');
      const y = io.output(0, outType, [...a.dims.slice(0, -1), n]);
      const staging = new Staging(runtime, [a], [y], requantize ? [m * n * 4] : []);
      const acc = requantize ? staging.work(0) : staging.address(y);
      gemm(m, n, k, staging.address(a), k, aZeroPoint, packed.pointer, acc, n);
      requantize?.run(acc, m, n, staging.address(y));
      staging.finish();
    },
    dispose() {
      packed.release();
      requantize?.release();
    },
  };
}

const matMulInteger: WasmOp = {
  supports: (info) => matMulSupported(info, MATMUL_INTEGER),
  prepare: (runtime, info) => prepareMatMul(runtime, info, MATMUL_INTEGER),
};

/** QLinearMatMul in either requantization mode (ONNX models use 'onnx'). */
export function prepareQLinearMatMul(runtime: WasmRuntime, info: NodeInfo, mode: RequantizationMode): Kernel {
  const n = info.constants[QLINEAR_MATMUL.b]!.dims[1]!;
  return prepareMatMul(runtime, info, QLINEAR_MATMUL, qlinearRequantizer(runtime, info, mode, n, QLINEAR_MATMUL_SCALES));
}

const qlinearMatMul: WasmOp = {
  supports: (info) => matMulSupported(info, QLINEAR_MATMUL) && qlinearParametersSupported(info, QLINEAR_MATMUL_SCALES),
  prepare: (runtime, info) => prepareQLinearMatMul(runtime, info, 'onnx'),
};

// ---------------------------------------------------------------------------------------------------------
// ConvInteger, QLinearConv (NCHW, 2-D)

const CONV_INTEGER: MatMulInputs = { a: 0, aZeroPoint: 2, b: 1, bZeroPoint: 3 };
const QLINEAR_CONV: MatMulInputs = { a: 0, aZeroPoint: 2, b: 3, bZeroPoint: 5 };
/** QLinearConv's x_scale, w_scale, y_scale, y_zero_point. */
const QLINEAR_CONV_SCALES = [1, 4, 6, 7];
const QLINEAR_CONV_BIAS = 8;

function convSupported(info: NodeInfo, where: MatMulInputs): boolean {
  const w = info.constants[where.b];
  if (!isEightBit(info.inputTypes[where.a]) || !w || w.dims.length !== 4 || EIGHT_BIT[w.type] === undefined) return false;
  const aZeroOk = !present(info, where.aZeroPoint) || isScalar(info, where.aZeroPoint);
  const wZero = info.constants[where.bZeroPoint];
  const wZeroOk = !present(info, where.bZeroPoint) || (wZero !== undefined && (wZero.size === 1 || wZero.size === w.dims[0]));
  return rankOf(info, where.a) === 4 && aZeroOk && wZeroOk;
}

/** ConvInteger and QLinearConv (requantizer present): NCHW in and out, NHWC in between. */
function prepareConv(runtime: WasmRuntime, info: NodeInfo, where: MatMulInputs, requantize?: Requantizer, bias?: readonly number[]): Kernel {
  runtime.warmUp('qu8_gemm');
  const attrs = info.attributes as unknown as ConvAttrs;
  const w = info.constants[where.b]!;
  const [outChannels, perGroup, kh, kw] = w.dims as [number, number, number, number];
  const group = attrs.group ?? 1;
  if (outChannels % group !== 0) fail(info, 'INVALID_ARGUMENT', `W's ${outChannels} output channels do not split into ${group} groups`);
  const outPerGroup = outChannels / group;
  const depth = kh * kw * perGroup;
  const wValues = numbers(w);
  const wZeroPoints = perColumn(info, info.constants[where.bZeroPoint], outChannels, info.node.inputs[where.bZeroPoint] ?? 'w_zero_point');
  // B' of group g: row (tap, c) in im2col's order, column n = output channel g * outPerGroup + n.
  const packed = Array.from({ length: group }, (_, g) => {
    const filter = (n: number) => g * outPerGroup + n;
    const valueAt = (row: number, n: number) => wValues[(filter(n) * perGroup + (row % perGroup)) * kh * kw + Math.floor(row / perGroup)]!;
    return packWeights(runtime, depth, outPerGroup, valueAt, wZeroPoints.slice(g * outPerGroup, (g + 1) * outPerGroup), bias?.slice(g * outPerGroup, (g + 1) * outPerGroup));
  });
  const unpadded = (attrs.auto_pad ?? 'NOTSET') === 'NOTSET' || attrs.auto_pad === 'VALID';
  const pointwise = group === 1 && kh === 1 && kw === 1 && unpadded && (attrs.strides ?? []).every((s) => s === 1) && (attrs.pads ?? []).every((p) => p === 0);
  const xType = dtypeOf(info.inputTypes[where.a])!;
  const { kernels } = runtime;
  const gemm = EIGHT_BIT[xType]!.signed ? kernels.qs8_gemm_4x8c2 : kernels.qu8_gemm_4x8c2;
  const outType: DataType = requantize ? (requantize.range.signed ? 'int8' : 'uint8') : 'int32';
  const failWith = (code: EdgerunError['code'], detail: string): never => fail(info, code, detail);

  const geometryOf = (dims: readonly number[]) => {
    if (dims.length !== 4) fail(info, 'INVALID_ARGUMENT', `input x must have rank 4, got [${dims.join(', ')}]`);
    const [batch, channels, height, width] = dims as [number, number, number, number];
    if (channels !== perGroup * group) fail(info, 'SHAPE_MISMATCH', `x has ${channels} channels, w expects ${perGroup} x ${group} groups`);
    const [rows, cols] = spatialAxes(attrs, [batch, channels, height, width], [kh, kw], failWith) as [WindowAxis, WindowAxis];
    return { batch, height, width, channels, outHeight: rows.output, outWidth: cols.output, rows, cols };
  };
  /** Work buffers: x of one image in NHWC, im2col patches, int32 accumulators, requantized NHWC bytes. */
  const workBytes = ({ height, width, channels, outHeight, outWidth }: ReturnType<typeof geometryOf>): number[] => {
    const pixels = outHeight * outWidth;
    // im2col writes up to 15 bytes past its patches.
    return [height * width * channels, pointwise ? 0 : pixels * depth + 16, pixels * outChannels * 4, requantize ? pixels * outChannels : 0];
  };
  const xDims = staticDims(info, where.a);
  if (xDims) {
    const geometry = geometryOf(xDims);
    const outBytes = geometry.batch * geometry.outHeight * geometry.outWidth * outChannels * (requantize ? 1 : 4);
    runtime.reserveScratch(Staging.bytesFor([elementCount(xDims), outBytes, 64], workBytes(geometry)));
  }

  return {
    run(io) {
      const x = tensorInput(info, io, where.a);
      const geometry = geometryOf(x.dims);
      const { batch, height, width, channels, outHeight, outWidth, rows, cols } = geometry;
      const xZeroPoint = scalarInput(info, io, where.aZeroPoint, 'x_zero_point');
      const y = io.output(0, outType, [batch, outChannels, outHeight, outWidth]);
      const staging = new Staging(runtime, [x], [y], workBytes(geometry));
      const [xNhwc, patches, acc, yNhwc] = [0, 1, 2, 3].map((index) => staging.work(index)) as [number, number, number, number];
      const pixels = outHeight * outWidth;
      const inImage = height * width * channels;
      const outImage = pixels * outChannels * (requantize ? 1 : 4);
      for (let image = 0; image < batch; image++) {
        kernels.x8_transpose(staging.address(x) + image * inImage, channels, height * width, xNhwc);
        for (let g = 0; g < group; g++) {
          if (!pointwise) {
            kernels.x8_im2col_nhwc(
              xNhwc, height, width, channels, g * perGroup, perGroup, kh, kw, rows.stride, cols.stride, rows.dilation, cols.dilation,
              rows.padBegin, cols.padBegin, outHeight, outWidth, xZeroPoint, patches,
            );
          }
          gemm(pixels, outPerGroup, depth, pointwise ? xNhwc : patches, depth, xZeroPoint, packed[g]!.pointer, acc + g * outPerGroup * 4, outChannels);
        }
        const yImage = staging.address(y) + image * outImage;
        if (requantize) {
          requantize.run(acc, pixels, outChannels, yNhwc);
          kernels.x8_transpose(yNhwc, pixels, outChannels, yImage);
        } else {
          kernels.f32_transpose(acc, pixels, outChannels, yImage);
        }
      }
      staging.finish();
    },
    dispose() {
      packed.forEach((block) => block.release());
      requantize?.release();
    },
  };
}

const convInteger: WasmOp = {
  supports: (info) => convSupported(info, CONV_INTEGER),
  prepare: (runtime, info) => prepareConv(runtime, info, CONV_INTEGER),
};

/** QLinearConv in either requantization mode (ONNX models use 'onnx'). */
export function prepareQLinearConv(runtime: WasmRuntime, info: NodeInfo, mode: RequantizationMode): Kernel {
  const outChannels = info.constants[QLINEAR_CONV.b]!.dims[0]!;
  const bias = info.constants[QLINEAR_CONV_BIAS];
  return prepareConv(runtime, info, QLINEAR_CONV, qlinearRequantizer(runtime, info, mode, outChannels, QLINEAR_CONV_SCALES), bias && numbers(bias));
}

const qlinearConv: WasmOp = {
  supports(info) {
    const bias = info.constants[QLINEAR_CONV_BIAS];
    const biasOk = !present(info, QLINEAR_CONV_BIAS) || (bias !== undefined && bias.type === 'int32' && bias.size === info.constants[QLINEAR_CONV.b]?.dims[0]);
    return convSupported(info, QLINEAR_CONV) && qlinearParametersSupported(info, QLINEAR_CONV_SCALES) && biasOk;
  },
  prepare: (runtime, info) => prepareQLinearConv(runtime, info, 'onnx'),
};

export const quantizedOps: Record<string, WasmOp> = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  MatMulInteger: matMulInteger,
  QLinearMatMul: qlinearMatMul,
  ConvInteger: convInteger,
  QLinearConv: qlinearConv,
};
