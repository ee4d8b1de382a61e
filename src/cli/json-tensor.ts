import { DATA_TYPES, SIGNED_INT_TYPES, isDataType, isFloatType, isIntegerType, type DataType } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import { Tensor, elementCount } from '../core/tensor.js';

/**
 * A tensor from the CLI's JSON form `{"type": "float32", "dims": [1, 3], "data": [...]}`, refusing every
 * element that would otherwise be coerced: no string becomes NaN, no null becomes 0, no 1.5 becomes 1, no
 * 300 wraps into an int8. 64-bit integers may be given as decimal strings and are read exactly (BigInt);
 * floats accept the strings "NaN", "Infinity" and "-Infinity", which JSON has no literal for.
 */
export function tensorFromJson(text: string): Tensor {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EdgerunError('INVALID_ARGUMENT', `not valid JSON: ${(error as Error).message}`);
  }
  const { type, dims, data } = (json ?? {}) as { type?: unknown; dims?: unknown; data?: unknown };
  if (typeof type !== 'string' || !Array.isArray(dims) || !Array.isArray(data)) {
    throw new EdgerunError('INVALID_ARGUMENT', 'a JSON tensor is {"type": "float32", "dims": [...], "data": [...]}');
  }
  if (!isDataType(type)) throw new EdgerunError('UNSUPPORTED_TYPE', `"type" is '${type}', not one of ${Object.keys(DATA_TYPES).join(', ')}`);
  if (type === 'complex64' || type === 'complex128') throw new EdgerunError('UNSUPPORTED_TYPE', `${type} tensors cannot be given as JSON; use .npy or .pb`);
  dims.forEach((dim, index) => {
    if (!Number.isSafeInteger(dim) || (dim as number) < 0) {
      throw new EdgerunError('INVALID_ARGUMENT', `dims[${index}] is ${JSON.stringify(dim)}, not a non-negative integer`);
    }
  });
  const expected = elementCount(dims as number[]);
  if (data.length !== expected) {
    throw new EdgerunError('SHAPE_MISMATCH', `dims [${dims.join(', ')}] need ${expected} values, "data" has ${data.length} (give it flat, in row-major order)`);
  }
  const element = elementReader(type);
  return new Tensor(type, data.map((value, index) => element(value, index)) as number[] | bigint[] | string[], dims as number[]);
}

type ElementReader = (value: unknown, index: number) => number | bigint | string;

function elementReader(type: DataType): ElementReader {
  const refuse = (value: unknown, index: number, wanted: string): never => {
    throw new EdgerunError('INVALID_ARGUMENT', `data[${index}] is ${JSON.stringify(value)}; a ${type} tensor takes ${wanted}`);
  };
  if (type === 'string') return (value, index) => (typeof value === 'string' ? value : refuse(value, index, 'strings'));
  if (type === 'bool') {
    return (value, index) => (typeof value === 'boolean' ? Number(value) : value === 0 || value === 1 ? value : refuse(value, index, 'true / false (or 0 / 1)'));
  }
  if (isFloatType(type)) {
    return (value, index) => {
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
      return refuse(value, index, 'numbers (or "NaN", "Infinity", "-Infinity")');
    };
  }
  if (!isIntegerType(type)) throw new EdgerunError('UNSUPPORTED_TYPE', `${type} tensors cannot be given as JSON`);
  const bits = DATA_TYPES[type].bits;
  const signed = SIGNED_INT_TYPES.has(type);
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  const wide = bits === 64;
  const wanted = `integers from ${min} to ${max}${wide ? ' (as decimal strings beyond 2^53, to stay exact)' : ''}`;
  return (value, index) => {
    let integer: bigint;
    if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
    else if (wide && typeof value === 'string' && /^-?\d+$/.test(value)) integer = BigInt(value);
    else return refuse(value, index, wanted);
    if (integer < min || integer > max) return refuse(value, index, wanted);
    return wide ? integer : Number(integer);
  };
}
