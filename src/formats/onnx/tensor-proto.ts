import { create } from '@bufbuild/protobuf';
import { SparseTensorProtoSchema, TensorProtoSchema, TensorProto_DataLocation, type SparseTensorProto, type TensorProto } from 'onnx-buf';
import { EdgerunError } from '../../core/errors.js';
import { DATA_TYPES, allocate, arrayLengthFor, dataTypeFromOnnx, onnxCodeOf, type DataType, type TensorData, type TypedArrayConstructor } from '../../core/dtype.js';
import { Tensor, elementCount } from '../../core/tensor.js';

/** Where external tensor data lives: returns `length` bytes (or the rest) of `location` from `offset`. */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

/**
 * Where a tensor's bytes come from: external data, and the model file's buffer when the loader owns it (read
 * from a path, not handed in by a caller), which raw data may then be realigned in (see alignedInPlace).
 */
export interface TensorSource {
  readExternal?: ExternalDataReader;
  ownedBuffer?: ArrayBufferLike;
}

/** Tensors larger than this are refused before anything is allocated (hostile length fields). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export function checkedDims(dims: readonly bigint[], where: string): number[] {
  const result = dims.map((dim) => {
    if (dim < 0n || dim > BigInt(MAX_TENSOR_ELEMENTS)) {
      throw new EdgerunError('MODEL_INVALID', `${where}: dimension ${dim} is out of range`);
    }
    return Number(dim);
  });
  if (elementCount(result) > MAX_TENSOR_ELEMENTS) {
    throw new EdgerunError('LIMIT_EXCEEDED', `${where}: dims [${result.join(', ')}] hold more than ${MAX_TENSOR_ELEMENTS} elements`);
  }
  return result;
}

/** TensorProto -> Tensor. raw_data is viewed in place when its alignment allows (no copy). */
export function tensorFromProto(proto: TensorProto, source: TensorSource = {}): Tensor {
  const where = `tensor '${proto.name}'`;
  const type = dataTypeFromOnnx(proto.dataType, where);
  const dims = checkedDims(proto.dims, where);
  const elements = elementCount(dims);
  if (proto.segment) throw new EdgerunError('MODEL_INVALID', `${where}: segmented tensors are not supported`);
  if (proto.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    return new Tensor(type, fromRawBytes(type, readExternalData(proto, source.readExternal, where), elements, where), dims);
  }
  if (type !== 'string' && proto.rawData.length > 0) {
    return new Tensor(type, fromRawBytes(type, proto.rawData, elements, where, source.ownedBuffer), dims);
  }
  return new Tensor(type, fromTypedFields(type, proto, elements, where), dims);
}

function readExternalData(proto: TensorProto, readExternal: ExternalDataReader | undefined, where: string): Uint8Array {
  const entries = new Map(proto.externalData.map((entry) => [entry.key, entry.value]));
  const location = entries.get('location');
  if (!location) throw new EdgerunError('EXTERNAL_DATA', `${where}: external data has no location`);
  if (!readExternal) {
    throw new EdgerunError('EXTERNAL_DATA', `${where}: data is in external file '${location}'; load the model from a path or pass options.externalData`);
  }
  const offset = Number(entries.get('offset') ?? 0);
  const lengthText = entries.get('length');
  const length = lengthText === undefined ? undefined : Number(lengthText);
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new EdgerunError('EXTERNAL_DATA', `${where}: bad external data offset/length (${entries.get('offset')}, ${lengthText})`);
  }
  try {
    return readExternal(location, offset, length);
  } catch (error) {
    if (error instanceof EdgerunError) throw error.withContext(where);
    throw new EdgerunError('EXTERNAL_DATA', `${where}: cannot read external data '${location}': ${(error as Error).message}`);
  }
}

function rawByteLength(type: DataType, elements: number): number {
  return Math.ceil((elements * DATA_TYPES[type].bits) / 8);
}

/** Bytes of the varint that encodes `value` (a protobuf length). */
function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}

/**
 * raw_data moved down in the model's own buffer to the element alignment, when that only overwrites its own
 * field header (the 1-byte tag of field 9 and the length varint, already parsed): a large model then needs no
 * second copy of its weights, which on a cold process costs as much as reading the file (fresh pages).
 */
function alignedInPlace(bytes: Uint8Array, elementBytes: number, owned: ArrayBufferLike | undefined): Uint8Array | undefined {
  const shift = bytes.byteOffset % elementBytes;
  const header = 1 + varintBytes(bytes.length);
  if (owned === undefined || bytes.buffer !== owned || shift > header) return undefined;
  const whole = new Uint8Array(owned);
  const target = bytes.byteOffset - shift;
  whole.copyWithin(target, bytes.byteOffset, bytes.byteOffset + bytes.length);
  return whole.subarray(target, target + bytes.length);
}

function fromRawBytes(type: DataType, bytes: Uint8Array, elements: number, where: string, owned?: ArrayBufferLike): TensorData {
  if (type === 'string') throw new EdgerunError('MODEL_INVALID', `${where}: string tensors cannot use raw_data`);
  const expected = rawByteLength(type, elements);
  if (bytes.length !== expected) {
    throw new EdgerunError('MODEL_INVALID', `${where}: raw data has ${bytes.length} bytes, ${type} x ${elements} needs ${expected}`);
  }
  if (type === 'int4' || type === 'uint4') return unpackNibbles(type, Array.from(bytes), elements);
  const Ctor = DATA_TYPES[type].array as TypedArrayConstructor;
  const length = arrayLengthFor(type, elements);
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, length);
  }
  const moved = alignedInPlace(bytes, Ctor.BYTES_PER_ELEMENT, owned);
  if (moved) return new Ctor(moved.buffer as ArrayBuffer, moved.byteOffset, length);
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  return new Ctor(aligned.buffer, 0, length);
}

function unpackNibbles(type: 'int4' | 'uint4', packed: ArrayLike<number>, elements: number): TensorData {
  const out = type === 'int4' ? new Int8Array(elements) : new Uint8Array(elements);
  for (let i = 0; i < elements; i++) {
    const nibble = (packed[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = type === 'int4' && nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}

function fromTypedFields(type: DataType, proto: TensorProto, elements: number, where: string): TensorData {
  const length = arrayLengthFor(type, elements);
  const check = (got: number, field: string) => {
    if (got !== length) {
      throw new EdgerunError('MODEL_INVALID', `${where}: ${field} has ${got} values, ${type} x ${elements} needs ${length}`);
    }
  };
  switch (type) {
    case 'float32':
    case 'complex64':
      check(proto.floatData.length, 'float_data');
      return Float32Array.from(proto.floatData);
    case 'float64':
    case 'complex128':
      check(proto.doubleData.length, 'double_data');
      return Float64Array.from(proto.doubleData);
    case 'int64':
      check(proto.int64Data.length, 'int64_data');
      return BigInt64Array.from(proto.int64Data);
    case 'uint64':
      check(proto.uint64Data.length, 'uint64_data');
      return BigUint64Array.from(proto.uint64Data, (value) => BigInt.asUintN(64, value));
    case 'uint32':
      check(proto.uint64Data.length, 'uint64_data');
      return Uint32Array.from(proto.uint64Data, Number);
    case 'string':
      check(proto.stringData.length, 'string_data');
      return proto.stringData.map((bytes) => utf8Decoder.decode(bytes));
    case 'int4':
    case 'uint4': {
      const packedLength = Math.ceil(elements / 2);
      if (proto.int32Data.length !== packedLength) {
        throw new EdgerunError('MODEL_INVALID', `${where}: int32_data has ${proto.int32Data.length} values, ${type} x ${elements} needs ${packedLength} packed bytes`);
      }
      return unpackNibbles(type, proto.int32Data, elements);
    }
    default: {
      check(proto.int32Data.length, 'int32_data');
      const out = allocate(type, elements) as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
      // int32_data carries the value (or, for 16/8-bit floats, the bit pattern) of each element.
      for (let i = 0; i < length; i++) out[i] = proto.int32Data[i]!;
      return out;
    }
  }
}

/** Tensor -> TensorProto; numeric data always goes to raw_data (little-endian), strings to string_data. */
export function tensorToProto(tensor: Tensor, name = ''): TensorProto {
  const proto = create(TensorProtoSchema, {
    name,
    dataType: onnxCodeOf(tensor.type),
    dims: tensor.dims.map((dim) => BigInt(dim)),
  });
  if (tensor.type === 'string') {
    proto.stringData = (tensor.data as string[]).map((text) => utf8Encoder.encode(text));
  } else if (tensor.type === 'int4' || tensor.type === 'uint4') {
    const values = tensor.data as Int8Array | Uint8Array;
    const packed = new Uint8Array(Math.ceil(values.length / 2));
    for (let i = 0; i < values.length; i++) packed[i >> 1]! |= (values[i]! & 0xf) << ((i & 1) * 4);
    proto.rawData = packed;
  } else {
    const data = tensor.data as Exclude<TensorData, string[]>;
    proto.rawData = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }
  return proto;
}

/**
 * SparseTensorProto -> dense Tensor. `indices` are either linear ([NNZ]) or coordinates ([NNZ, rank]);
 * every element not listed is zero (or '' for strings).
 */
export function tensorFromSparseProto(proto: SparseTensorProto, source: TensorSource = {}): Tensor {
  const where = `sparse tensor '${proto.values?.name ?? ''}'`;
  if (!proto.values || !proto.indices) throw new EdgerunError('MODEL_INVALID', `${where}: values and indices are required`);
  const values = tensorFromProto(proto.values, source);
  const indices = tensorFromProto(proto.indices, source);
  const dims = checkedDims(proto.dims, where);
  const count = elementCount(dims);
  const nonZero = values.size;
  const coordinates = indices.dims.length === 2;
  if (indices.type !== 'int64' || !(indices.dims[0] === nonZero && (!coordinates || indices.dims[1] === dims.length))) {
    throw new EdgerunError('MODEL_INVALID', `${where}: indices must be int64 [${nonZero}] or [${nonZero}, ${dims.length}], got ${indices.type} [${indices.dims.join(', ')}]`);
  }
  const dense = allocate(values.type, count) as { [index: number]: unknown };
  const at = indices.data as BigInt64Array;
  for (let k = 0; k < nonZero; k++) {
    let linear = 0;
    if (coordinates) {
      for (let axis = 0; axis < dims.length; axis++) {
        const coordinate = Number(at[k * dims.length + axis]);
        if (coordinate < 0 || coordinate >= dims[axis]!) throw new EdgerunError('MODEL_INVALID', `${where}: index ${coordinate} on axis ${axis} is out of [0, ${dims[axis]})`);
        linear = linear * dims[axis]! + coordinate;
      }
    } else {
      linear = Number(at[k]);
      if (linear < 0 || linear >= count) throw new EdgerunError('MODEL_INVALID', `${where}: index ${linear} is out of [0, ${count})`);
    }
    dense[linear] = (values.data as { [index: number]: unknown })[k];
  }
  return new Tensor(values.type, dense as TensorData, dims);
}

/** Dense Tensor -> SparseTensorProto listing its non-zero elements with linear indices. */
export function sparseProtoFromTensor(tensor: Tensor, name = ''): SparseTensorProto {
  const data = tensor.data as { [index: number]: unknown; length: number };
  const kept: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] !== 0 && data[i] !== 0n && data[i] !== '') kept.push(i);
  const values = allocate(tensor.type, kept.length) as { [index: number]: unknown };
  kept.forEach((index, k) => (values[k] = data[index]));
  return create(SparseTensorProtoSchema, {
    values: tensorToProto(new Tensor(tensor.type, values as TensorData, [kept.length]), name),
    indices: tensorToProto(new Tensor('int64', BigInt64Array.from(kept, BigInt), [kept.length])),
    dims: tensor.dims.map((dim) => BigInt(dim)),
  });
}
