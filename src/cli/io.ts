import { extname, join } from 'node:path';
import { DATA_TYPES, type DataType, type TypedArrayConstructor } from '../core/dtype.js';
import { describeType, type ValueType } from '../core/graph.js';
import { EdgerunError, Tensor, decodeOnnxValue, encodeOnnxTensor, readNpy, writeNpy, type Value } from '../node.js';
import { ensureFolder, readRegularFile, writeRegularFile } from './files.js';
import { tensorFromJson } from './json-tensor.js';

/** Reading input files and writing outputs for the CLI: .npy, .pb (ONNX TensorProto), JSON or raw bytes. */

const ACCEPTED_INPUTS =
  '.npy (NumPy), .pb (ONNX TensorProto, or a Sequence/Optional proto for such inputs), ' +
  '.json ({"type", "dims", "data"}), .raw or .bin (the bare little-endian values of the input\'s declared type and shape)';

/** The value for model input `name` (declared as `expected`) from the file at `path`. */
export function readInputFile(path: string, name: string, expected: ValueType | undefined): Value {
  const where = `input '${name}' from '${path}'`;
  const extension = extname(path).toLowerCase();
  const decode = DECODERS[extension];
  if (!decode) {
    const given = extension ? `extension '${extension}'` : 'no extension';
    throw new EdgerunError('INVALID_ARGUMENT', `${where}: the file has ${given}; accepted: ${ACCEPTED_INPUTS}`);
  }
  const bytes = readRegularFile(path, 'input file');
  try {
    return decode(bytes, expected);
  } catch (error) {
    if (error instanceof EdgerunError) throw error.withContext(where);
    throw new EdgerunError('INVALID_ARGUMENT', `${where}: ${(error as Error).message}`);
  }
}

const DECODERS: Record<string, (bytes: Uint8Array, expected: ValueType | undefined) => Value> = {
  '.npy': (bytes) => readNpy(bytes),
  '.pb': (bytes, expected) => decodeOnnxValue(bytes, expected),
  '.json': (bytes) => tensorFromJson(new TextDecoder().decode(bytes)),
  '.raw': rawTensor,
  '.bin': rawTensor,
};

/** Element types whose values are whole bytes in a typed array of their own. */
const RAW_TYPES: ReadonlySet<DataType> = new Set(['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

/** Bare values: the type and shape come from the model; one dim it leaves open is worked out from the size. */
function rawTensor(bytes: Uint8Array, expected: ValueType | undefined): Tensor {
  if (expected?.kind !== 'tensor' || !expected.shape || !RAW_TYPES.has(expected.dtype)) {
    throw new EdgerunError('INVALID_ARGUMENT', `raw bytes need a numeric tensor input of known rank, but the model declares ${describeType(expected)}; use .npy, .pb or .json`);
  }
  const dtype = expected.dtype;
  const shape = expected.shape;
  const width = DATA_TYPES[dtype].bits / 8;
  const openAxes = shape.filter((dim) => typeof dim !== 'number').length;
  const known = shape.reduce<number>((product, dim) => product * (typeof dim === 'number' ? dim : 1), 1);
  const elements = bytes.length / width;
  const openSize = known === 0 ? 0 : elements / known;
  const fits = Number.isInteger(elements) && (openAxes === 0 ? elements === known : openAxes === 1 && Number.isInteger(openSize));
  if (!fits) {
    const why = openAxes > 1 ? 'more than one dim is open: use .npy, which states its shape' : `${width} byte(s) per value`;
    throw new EdgerunError('SHAPE_MISMATCH', `${bytes.length} bytes do not make a ${dtype} tensor of dims [${shape.map((dim) => dim ?? '?').join(', ')}] (${why})`);
  }
  const dims = shape.map((dim) => (typeof dim === 'number' ? dim : openSize));
  const ArrayType = DATA_TYPES[dtype].array as TypedArrayConstructor;
  // A copy with its own aligned buffer (the file's bytes may sit at any offset).
  return new Tensor(dtype, new ArrayType(new Uint8Array(bytes).buffer), dims);
}

/** Writes each tensor output as output_<i>.pb and, where NumPy has the type, output_<i>.npy; returns the paths. */
export function saveOutputs(dir: string, names: readonly string[], outputs: Record<string, Value>): string[] {
  ensureFolder(dir, 'the --save-outputs folder');
  const written: string[] = [];
  names.forEach((name, index) => {
    const value = outputs[name];
    if (!(value instanceof Tensor)) return;
    const pb = join(dir, `output_${index}.pb`);
    writeRegularFile(pb, encodeOnnxTensor(value, name));
    written.push(pb);
    if (value.type !== 'string' && !value.type.startsWith('float8') && value.type !== 'bfloat16' && !value.type.endsWith('int4')) {
      const npy = join(dir, `output_${index}.npy`);
      writeRegularFile(npy, writeNpy(value));
      written.push(npy);
    }
  });
  return written;
}
