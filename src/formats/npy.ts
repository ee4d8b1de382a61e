import { EdgerunError } from '../core/errors.js';
import { DATA_TYPES, type DataType, type TypedArrayConstructor } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';

/** NumPy .npy (format 1.0-3.0), little-endian, C order: the common exchange format for test tensors. */

const DESCR_TO_TYPE: Record<string, DataType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<i2': 'int16',
  '<u2': 'uint16',
  '<i4': 'int32',
  '<u4': 'uint32',
  '<i8': 'int64',
  '<u8': 'uint64',
  '|b1': 'bool',
};
const TYPE_TO_DESCR = Object.fromEntries(Object.entries(DESCR_TO_TYPE).map(([descr, type]) => [type, descr])) as Record<string, string>;

/**
 * The tensor in a .npy file. Errors say what is wrong with the bytes; `label` (a file name, say) is added as
 * their context once, so a caller that adds its own context leaves it out.
 */
export function readNpy(bytes: Uint8Array, label?: string): Tensor {
  if (label === undefined) return decodeNpy(bytes);
  try {
    return decodeNpy(bytes);
  } catch (error) {
    throw error instanceof EdgerunError ? error.withContext(label) : error;
  }
}

function decodeNpy(bytes: Uint8Array): Tensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((byte, i) => bytes[i] !== byte)) {
    throw new EdgerunError('INVALID_ARGUMENT', `not a .npy file (bad magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new EdgerunError('MODEL_TRUNCATED', `header runs past the end of the file`);
  const header = new TextDecoder().decode(bytes.subarray(headerStart, dataStart));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new EdgerunError('INVALID_ARGUMENT', `unreadable header ${header.trim()}`);
  if (fortran) throw new EdgerunError('INVALID_ARGUMENT', `Fortran-order arrays are not supported`);
  const type = DESCR_TO_TYPE[descr];
  if (!type) throw new EdgerunError('UNSUPPORTED_TYPE', `dtype '${descr}' is not supported`);
  const dims = shapeText.split(',').map((part) => part.trim()).filter(Boolean).map(Number);
  const elements = dims.reduce((a, b) => a * b, 1);
  const byteWidth = Number(descr.slice(2));
  // A copy with its own aligned buffer (a Node Buffer's slice would be a view into a shared pool).
  const payload = new Uint8Array(bytes.subarray(dataStart, dataStart + elements * byteWidth));
  if (payload.length !== elements * byteWidth) {
    throw new EdgerunError('MODEL_TRUNCATED', `expected ${elements * byteWidth} data bytes, found ${payload.length}`);
  }
  const ArrayType = DATA_TYPES[type].array as TypedArrayConstructor;
  const data = new ArrayType(payload.buffer);
  return new Tensor(type, data, dims);
}

export function writeNpy(tensor: Tensor): Uint8Array {
  const descr = TYPE_TO_DESCR[tensor.type];
  if (!descr || tensor.type === 'string') throw new EdgerunError('UNSUPPORTED_TYPE', `${tensor.type} tensors cannot be written as .npy`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const data = tensor.data as Exclude<Tensor['data'], string[]>;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
