/** The Node entry point: everything in index.ts, plus sessions created from file paths. */
import { readFileSync, realpathSync, openSync, readSync, closeSync, fstatSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { EdgerunError } from './core/errors.js';
import { InferenceSession as BaseSession, type SessionOptions } from './runtime/session.js';
import type { TraceEvent } from './runtime/profile.js';
import type { ExternalDataReader } from './formats/onnx/tensor-proto.js';

export * from './index.js';

export class InferenceSession extends BaseSession {
  /** A session from a file path (external data is read beside it) or from bytes. */
  static override async create(source: string | Uint8Array | ArrayBuffer, options: SessionOptions = {}): Promise<BaseSession> {
    const bytes = typeof source === 'string' ? readModelFile(source) : source instanceof Uint8Array ? source : new Uint8Array(source);
    const environment = typeof source === 'string' ? { readExternal: externalDataBeside(source), ownsBytes: true } : {};
    return InferenceSession.fromBytes(bytes, options, { ...environment, saveProfile: writeProfile, writeFile: writeModelFile });
  }
}

function writeModelFile(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (error) {
    throw new EdgerunError('IO_ERROR', `cannot write '${path}': ${(error as Error).message}`);
  }
}

/** Under Node the profile is a file, as onnxruntime writes it: a JSON array of Chrome trace events. */
function writeProfile(fileName: string, trace: readonly TraceEvent[]): string {
  try {
    writeFileSync(fileName, JSON.stringify(trace));
  } catch (error) {
    throw new EdgerunError('IO_ERROR', `cannot write the profile '${fileName}': ${(error as Error).message}`);
  }
  return fileName;
}

export function readModelFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new EdgerunError('IO_ERROR', `cannot read '${path}': ${(error as Error).message}`);
  }
}

/** External data files must stay inside the model's folder: a hostile model cannot read other files. */
export function externalDataBeside(modelPath: string): ExternalDataReader {
  const folder = realpathSync(dirname(resolve(modelPath)));
  return (location, offset, length) => {
    if (isAbsolute(location)) throw new EdgerunError('EXTERNAL_DATA', `external data path '${location}' is absolute; it must be relative to the model's folder`);
    let target: string;
    try {
      target = realpathSync(resolve(folder, location));
    } catch {
      throw new EdgerunError('EXTERNAL_DATA', `external data file '${location}' does not exist beside the model`);
    }
    const inside = relative(folder, target);
    if (inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..')) {
      throw new EdgerunError('EXTERNAL_DATA', `external data path '${location}' leaves the model's folder`);
    }
    const fd = openSync(target, 'r');
    try {
      const size = fstatSync(fd).size;
      const end = length === undefined ? size : offset + length;
      if (end > size) throw new EdgerunError('EXTERNAL_DATA', `'${location}' has ${size} bytes; the tensor needs bytes ${offset} to ${end}`);
      const bytes = new Uint8Array(end - offset);
      readSync(fd, bytes, 0, bytes.length, offset);
      return bytes;
    } finally {
      closeSync(fd);
    }
  };
}
