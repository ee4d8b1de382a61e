import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { TensorProtoSchema } from 'onnx-buf';
import { EdgerunError } from '../../core/errors.js';
import type { Value, ValueType } from '../../core/graph.js';
import { Tensor } from '../../core/tensor.js';
import { tensorFromProto, tensorToProto } from './tensor-proto.js';

/**
 * Values stored as ONNX test data: a TensorProto, or (onnx-data.proto, written here from the spec) a
 * SequenceProto or OptionalProto. The bytes carry no type tag, so the expected ValueType decides.
 *
 * SequenceProto: name=1, elem_type=2, tensor_values=3, sparse_tensor_values=4, sequence_values=5,
 * map_values=6, optional_values=7. OptionalProto: name=1, elem_type=2, tensor_value=3,
 * sparse_tensor_value=4, sequence_value=5, map_value=6, optional_value=7.
 */
export function decodeValue(bytes: Uint8Array, type: ValueType | undefined): Value {
  try {
    if (type?.kind === 'sequence') return decodeSequence(bytes);
    if (type?.kind === 'optional') return decodeOptional(bytes);
    const tensor = decodeTensor(bytes);
    // ONNX's own test data stores bfloat16 values as uint16 (same bits): the declared type says what they are.
    if (type?.kind === 'tensor' && type.dtype === 'bfloat16' && tensor.type === 'uint16') return new Tensor('bfloat16', tensor.data, tensor.dims);
    return tensor;
  } catch (error) {
    if (error instanceof EdgerunError) throw error;
    throw new EdgerunError('MODEL_INVALID', `cannot decode a ${type?.kind ?? 'tensor'} value: ${(error as Error).message}`);
  }
}

export function decodeTensor(bytes: Uint8Array): Tensor {
  return tensorFromProto(fromBinary(TensorProtoSchema, bytes));
}

export function encodeTensor(tensor: Tensor, name = ''): Uint8Array {
  return toBinary(TensorProtoSchema, tensorToProto(tensor, name));
}

function decodeSequence(bytes: Uint8Array): Value[] {
  const items: Value[] = [];
  readFields(bytes, (field, payload) => {
    if (field === 3) items.push(decodeTensor(payload));
    else if (field === 5) items.push(decodeSequence(payload));
    else if (field === 7) items.push(decodeOptional(payload));
    else if (field === 4 || field === 6) throw new EdgerunError('UNSUPPORTED_TYPE', 'sparse tensor and map sequence elements are not supported');
  });
  return items;
}

function decodeOptional(bytes: Uint8Array): Value {
  let value: Value = null;
  readFields(bytes, (field, payload) => {
    if (field === 3) value = decodeTensor(payload);
    else if (field === 5) value = decodeSequence(payload);
    else if (field === 7) value = decodeOptional(payload);
    else if (field === 4 || field === 6) throw new EdgerunError('UNSUPPORTED_TYPE', 'sparse tensor and map optionals are not supported');
  });
  return value;
}

/** Calls `onMessage` for each length-delimited field; varint fields (name tags, elem_type) are skipped. */
function readFields(bytes: Uint8Array, onMessage: (field: number, payload: Uint8Array) => void): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType === WireType.LengthDelimited && field !== 1) onMessage(field, reader.bytes());
    else reader.skip(wireType, field);
  }
}
