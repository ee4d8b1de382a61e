import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { EdgerunError, Tensor, decodeOnnxValue, encodeOnnxTensor, readNpy, writeNpy, type DataType, type Value } from '../node.js';
import type { ValueType } from '../core/graph.js';

/** Reading input files and writing outputs for the CLI: .pb (ONNX TensorProto), .npy, or JSON. */
export function readInputFile(path: string, expected: ValueType | undefined): Value {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new EdgerunError('IO_ERROR', `cannot read input file '${path}': ${(error as Error).message}`);
  }
  const extension = extname(path).toLowerCase();
  try {
    if (extension === '.npy') return readNpy(bytes, path);
    if (extension === '.json') return tensorFromJson(JSON.parse(new TextDecoder().decode(bytes)) as JsonTensor);
    return decodeOnnxValue(bytes, expected);
  } catch (error) {
    if (error instanceof EdgerunError) throw error.withContext(`input file '${path}'`);
    throw new EdgerunError('INVALID_ARGUMENT', `input file '${path}': ${(error as Error).message}`);
  }
}

interface JsonTensor {
  type: DataType;
  dims: number[];
  data: (number | string | boolean)[];
}

function tensorFromJson(json: JsonTensor): Tensor {
  if (!json || typeof json.type !== 'string' || !Array.isArray(json.dims) || !Array.isArray(json.data)) {
    throw new EdgerunError('INVALID_ARGUMENT', 'a JSON tensor is {"type": "float32", "dims": [...], "data": [...]}');
  }
  const data = json.type === 'int64' || json.type === 'uint64' ? json.data.map((value) => BigInt(value as number)) : json.data;
  return new Tensor(json.type, data as number[], json.dims);
}

export function saveOutputs(dir: string, names: readonly string[], outputs: Record<string, Value>): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  names.forEach((name, index) => {
    const value = outputs[name];
    if (!(value instanceof Tensor)) return;
    const pb = join(dir, `output_${index}.pb`);
    writeFileSync(pb, encodeOnnxTensor(value, name));
    written.push(pb);
    if (value.type !== 'string' && !value.type.startsWith('float8') && value.type !== 'bfloat16' && !value.type.endsWith('int4')) {
      const npy = join(dir, `output_${index}.npy`);
      writeFileSync(npy, writeNpy(value));
      written.push(npy);
    }
  });
  return written;
}
