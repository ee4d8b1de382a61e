/** The Node entry point: everything in index.ts, plus sessions created from file paths. */
import { readFileSync, realpathSync, openSync, readSync, closeSync, fstatSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { EdgerunError } from './core/errors.js';
import { InferenceSession as BaseSession, type SessionOptions } from './runtime/session.js';
import type { TraceEvent } from './runtime/profile.js';
import type { ExternalDataReader } from './formats/onnx/tensor-proto.js';

export * from './index.js';

export class InferenceSession extends BaseSession {
  /** A session from a file path (external data is read beside it) or from bytes. */
  static override async create(source: string | Uint8Array | ArrayBuffer, options: SessionOptions = {}): Promise<BaseSession> {
    const bytes = typeof source === 'string' ? readModelFileAsync(source) : source instanceof Uint8Array ? source : new Uint8Array(source);
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
    throw cannotRead(path, error);
  }
}

/**
 * The whole file in one read on libuv's thread pool: `readFile` reads 512 KB at a time, each a turn of the
 * event loop, and the main thread is busy starting the wasm compile meanwhile (mobilenet_v2's read and
 * compile took 23-29 ms that way, 13-21 in one read).
 */
async function readModelFileAsync(path: string): Promise<Uint8Array> {
  try {
    const file = await open(path, 'r');
    try {
      const stats = await file.stat();
      // A pipe, or a /proc file (size 0), has no size to read up to: read it to its end.
      if (!stats.isFile() || stats.size === 0) return await file.readFile();
      const { size } = stats;
      const bytes = new Uint8Array(size);
      for (let offset = 0; offset < size; ) {
        const { bytesRead } = await file.read(bytes, offset, size - offset, offset);
        if (bytesRead === 0) throw new Error(`the file ended after ${offset} of its ${size} bytes`);
        offset += bytesRead;
      }
      return bytes;
    } finally {
      await file.close();
    }
  } catch (error) {
    throw cannotRead(path, error);
  }
}

function cannotRead(path: string, error: unknown): EdgerunError {
  return new EdgerunError('IO_ERROR', `cannot read '${path}': ${(error as Error).message}`);
}

function modelFolder(modelPath: string): string {
  try {
    return realpathSync(dirname(resolve(modelPath)));
  } catch (error) {
    throw new EdgerunError('EXTERNAL_DATA', `the folder of '${modelPath}' is gone: ${(error as Error).message}`);
  }
}

/** External data files must stay inside the model's folder: a hostile model cannot read other files. */
export function externalDataBeside(modelPath: string): ExternalDataReader {
  // Resolved at the first read: the model file itself may not exist, and its read reports that.
  let folder: string | undefined;
  return (location, offset, length) => {
    folder ??= modelFolder(modelPath);
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
