import { EdgerunError } from './errors.js';
import {
  bfloat16ToNumber,
  float16ToNumber,
  float8ToNumber,
  numberToBfloat16,
  numberToFloat16,
  numberToFloat8,
  type Float8Format,
} from './numeric.js';

/** Element types, named as onnxruntime-web names them where it has a name. */
export type DataType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'int4'
  | 'uint4'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'complex64'
  | 'complex128';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;
export type BigIntArray = BigInt64Array | BigUint64Array;
export type TensorData = NumericArray | BigIntArray | string[];

export type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;
type ArrayConstructorOf = TypedArrayConstructor | ArrayConstructor;

interface DataTypeInfo {
  /** TensorProto.DataType code. */
  onnx: number;
  array: ArrayConstructorOf;
  /** Bits per element in ONNX raw_data. */
  bits: number;
}

export const DATA_TYPES: Readonly<Record<DataType, DataTypeInfo>> = {
  float32: { onnx: 1, array: Float32Array, bits: 32 },
  uint8: { onnx: 2, array: Uint8Array, bits: 8 },
  int8: { onnx: 3, array: Int8Array, bits: 8 },
  uint16: { onnx: 4, array: Uint16Array, bits: 16 },
  int16: { onnx: 5, array: Int16Array, bits: 16 },
  int32: { onnx: 6, array: Int32Array, bits: 32 },
  int64: { onnx: 7, array: BigInt64Array, bits: 64 },
  string: { onnx: 8, array: Array, bits: 0 },
  bool: { onnx: 9, array: Uint8Array, bits: 8 },
  float16: { onnx: 10, array: Uint16Array, bits: 16 },
  float64: { onnx: 11, array: Float64Array, bits: 64 },
  uint32: { onnx: 12, array: Uint32Array, bits: 32 },
  uint64: { onnx: 13, array: BigUint64Array, bits: 64 },
  complex64: { onnx: 14, array: Float32Array, bits: 64 },
  complex128: { onnx: 15, array: Float64Array, bits: 128 },
  bfloat16: { onnx: 16, array: Uint16Array, bits: 16 },
  float8e4m3fn: { onnx: 17, array: Uint8Array, bits: 8 },
  float8e4m3fnuz: { onnx: 18, array: Uint8Array, bits: 8 },
  float8e5m2: { onnx: 19, array: Uint8Array, bits: 8 },
  float8e5m2fnuz: { onnx: 20, array: Uint8Array, bits: 8 },
  uint4: { onnx: 21, array: Uint8Array, bits: 4 },
  int4: { onnx: 22, array: Int8Array, bits: 4 },
};

const BY_ONNX_CODE = new Map<number, DataType>(
  Object.entries(DATA_TYPES).map(([name, info]) => [info.onnx, name as DataType]),
);

export function dataTypeFromOnnx(code: number, where: string): DataType {
  const type = BY_ONNX_CODE.get(code);
  if (!type) throw new EdgerunError('UNSUPPORTED_TYPE', `${where}: unknown ONNX element type ${code}`);
  return type;
}

export function onnxCodeOf(type: DataType): number {
  return DATA_TYPES[type].onnx;
}

export function isDataType(name: string): name is DataType {
  return Object.hasOwn(DATA_TYPES, name);
}

export const FLOAT_TYPES: ReadonlySet<DataType> = new Set([
  'float32', 'float64', 'float16', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz',
]);
export const SIGNED_INT_TYPES: ReadonlySet<DataType> = new Set(['int4', 'int8', 'int16', 'int32', 'int64']);
export const UNSIGNED_INT_TYPES: ReadonlySet<DataType> = new Set(['uint4', 'uint8', 'uint16', 'uint32', 'uint64']);

export function isFloatType(type: DataType): boolean {
  return FLOAT_TYPES.has(type);
}
export function isIntegerType(type: DataType): boolean {
  return SIGNED_INT_TYPES.has(type) || UNSIGNED_INT_TYPES.has(type);
}

/** Elements in JS arrays hold one value each; complex types hold (re, im) pairs. */
export function arrayLengthFor(type: DataType, elements: number): number {
  return type === 'complex64' || type === 'complex128' ? elements * 2 : elements;
}

export function allocate(type: DataType, elements: number): TensorData {
  const length = arrayLengthFor(type, elements);
  if (type === 'string') return new Array<string>(length).fill('');
  const Ctor = DATA_TYPES[type].array as TypedArrayConstructor;
  return new Ctor(length);
}

function isFloat8(type: DataType): type is Float8Format {
  return type.startsWith('float8');
}

/**
 * The elements as JS numbers: the typed array itself where it already holds plain values, otherwise a
 * decoded copy (narrow floats from their bits, 64-bit integers through Number, exact up to 2^53).
 */
export function readNumbers(type: DataType, data: TensorData): ArrayLike<number> {
  switch (type) {
    case 'float16':
      return Float32Array.from(data as Uint16Array, float16ToNumber);
    case 'bfloat16':
      return Float32Array.from(data as Uint16Array, bfloat16ToNumber);
    case 'int64':
    case 'uint64':
      return Float64Array.from(data as BigIntArray, Number);
    case 'string':
    case 'complex64':
    case 'complex128':
      throw new EdgerunError('UNSUPPORTED_TYPE', `${type} elements cannot be read as numbers`);
    default:
      if (isFloat8(type)) return Float32Array.from(data as Uint8Array, (code) => float8ToNumber(type, code));
      return data as NumericArray;
  }
}

/** Encodes numbers into a new array of `type`, with the conversion the ONNX Cast op specifies. */
export function writeNumbers(type: DataType, values: ArrayLike<number>, saturate = true): TensorData {
  const length = values.length;
  switch (type) {
    case 'float16':
      return Uint16Array.from({ length }, (_, i) => numberToFloat16(values[i]!));
    case 'bfloat16':
      return Uint16Array.from({ length }, (_, i) => numberToBfloat16(values[i]!));
    case 'int64':
      return BigInt64Array.from({ length }, (_, i) => toBigInt(values[i]!, 64, true));
    case 'uint64':
      return BigUint64Array.from({ length }, (_, i) => toBigInt(values[i]!, 64, false));
    case 'bool':
      return Uint8Array.from({ length }, (_, i) => (values[i] ? 1 : 0));
    case 'int4':
      return Int8Array.from({ length }, (_, i) => wrapInteger(values[i]!, 4, true));
    case 'uint4':
      return Uint8Array.from({ length }, (_, i) => wrapInteger(values[i]!, 4, false));
    case 'string':
    case 'complex64':
    case 'complex128':
      throw new EdgerunError('UNSUPPORTED_TYPE', `numbers cannot be written as ${type}`);
    default: {
      if (isFloat8(type)) return Uint8Array.from({ length }, (_, i) => numberToFloat8(type, values[i]!, saturate));
      const out = allocate(type, length) as NumericArray;
      if (isFloatType(type)) {
        for (let i = 0; i < length; i++) out[i] = values[i]!;
        return out;
      }
      // Typed-array stores of NaN/Infinity give 0; otherwise truncation toward zero, then wrap-around, as numpy.
      for (let i = 0; i < length; i++) {
        const value = values[i]!;
        out[i] = Number.isFinite(value) ? Math.trunc(value) : 0;
      }
      return out;
    }
  }
}

function wrapInteger(value: number, bits: number, signed: boolean): number {
  if (!Number.isFinite(value)) return 0;
  const range = 2 ** bits;
  let wrapped = ((Math.trunc(value) % range) + range) % range;
  if (signed && wrapped >= range / 2) wrapped -= range;
  return wrapped;
}

function toBigInt(value: number, bits: number, signed: boolean): bigint {
  if (!Number.isFinite(value)) return 0n;
  const big = BigInt(Math.trunc(value));
  return signed ? BigInt.asIntN(bits, big) : BigInt.asUintN(bits, big);
}
