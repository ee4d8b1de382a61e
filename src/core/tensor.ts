import { EdgerunError } from './errors.js';
import { DATA_TYPES, arrayLengthFor, isDataType, writeNumbers, type DataType, type TensorData } from './dtype.js';

const TYPE_OF_ARRAY = new Map<string, DataType>([
  ['Float32Array', 'float32'],
  ['Float64Array', 'float64'],
  ['Int8Array', 'int8'],
  ['Uint8Array', 'uint8'],
  ['Int16Array', 'int16'],
  ['Uint16Array', 'uint16'],
  ['Int32Array', 'int32'],
  ['Uint32Array', 'uint32'],
  ['BigInt64Array', 'int64'],
  ['BigUint64Array', 'uint64'],
]);

/** The typed array's class name, from its tag rather than `instanceof`, so arrays from another realm
 * (an iframe, a worker, a vm context) are recognised too. */
function arrayKind(data: unknown): string {
  return Object.prototype.toString.call(data).slice(8, -1);
}

export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const dim of dims) count *= dim;
  return count;
}

/**
 * A dense tensor: `type`, `data`, `dims`, the shape onnxruntime users know. int64 data is a BigInt64Array,
 * bool a Uint8Array, string a string[], float16/bfloat16 raw bits in a Uint16Array, float8 raw bits in a
 * Uint8Array, int4/uint4 one value per element in an Int8Array/Uint8Array.
 */
export class Tensor {
  readonly type: DataType;
  readonly data: TensorData;
  readonly dims: readonly number[];

  constructor(type: DataType, data: TensorData | readonly number[] | readonly bigint[] | readonly boolean[], dims?: readonly number[]);
  constructor(data: TensorData, dims?: readonly number[]);
  constructor(
    typeOrData: DataType | TensorData,
    dataOrDims?: TensorData | readonly number[] | readonly bigint[] | readonly boolean[],
    maybeDims?: readonly number[],
  ) {
    let type: DataType;
    let data: unknown;
    let dims: readonly number[] | undefined;
    if (typeof typeOrData === 'string') {
      if (!isDataType(typeOrData)) throw new EdgerunError('UNSUPPORTED_TYPE', `unknown tensor type '${typeOrData}'`);
      type = typeOrData;
      data = dataOrDims;
      dims = maybeDims;
    } else {
      data = typeOrData;
      dims = dataOrDims as readonly number[] | undefined;
      const inferred = Array.isArray(data) ? 'string' : TYPE_OF_ARRAY.get(arrayKind(data));
      if (!inferred) throw new EdgerunError('INVALID_ARGUMENT', 'tensor data must be a typed array or a string[]');
      type = inferred;
    }
    this.type = type;
    this.data = coerceData(type, data);
    const length = this.data.length;
    const elements = type === 'complex64' || type === 'complex128' ? length / 2 : length;
    this.dims = Object.freeze([...(dims ?? [elements])]);
    for (const dim of this.dims) {
      if (!Number.isInteger(dim) || dim < 0) {
        throw new EdgerunError('INVALID_ARGUMENT', `tensor dims must be non-negative integers, got [${this.dims.join(', ')}]`);
      }
    }
    if (arrayLengthFor(type, elementCount(this.dims)) !== length) {
      throw new EdgerunError(
        'SHAPE_MISMATCH',
        `${type} tensor of dims [${this.dims.join(', ')}] needs ${elementCount(this.dims)} elements, data has ${elements}`,
      );
    }
  }

  /** Number of elements. */
  get size(): number {
    return elementCount(this.dims);
  }

  toString(): string {
    return `Tensor(${this.type}, [${this.dims.join(', ')}])`;
  }
}

function coerceData(type: DataType, data: unknown): TensorData {
  if (data === undefined || data === null) throw new EdgerunError('INVALID_ARGUMENT', `${type} tensor needs data`);
  const expected = DATA_TYPES[type].array;
  if (type === 'string') {
    if (Array.isArray(data) && data.every((item) => typeof item === 'string')) return data as string[];
    throw new EdgerunError('TYPE_MISMATCH', 'string tensor data must be a string[]');
  }
  if (arrayKind(data) === expected.name) return data as TensorData;
  if (Array.isArray(data)) {
    if (type === 'int64' || type === 'uint64') {
      const values = (data as (number | bigint)[]).map((value) => BigInt(value));
      return type === 'int64' ? BigInt64Array.from(values) : BigUint64Array.from(values);
    }
    return writeNumbers(type, (data as (number | boolean)[]).map(Number));
  }
  throw new EdgerunError(
    'TYPE_MISMATCH',
    `${type} tensor data must be a ${expected.name}, got ${arrayKind(data)}`,
  );
}
