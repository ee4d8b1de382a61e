import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, statSync, writeSync, type Stats } from 'node:fs';
import { EdgerunError } from '../core/errors.js';

/**
 * File access for the CLI that never blocks on a special file and reports every file system failure with
 * its path. Files are opened non-blocking and checked with fstat before a byte moves: a FIFO, a device or a
 * folder is refused by name, and only a regular file's stated size is read, so a /proc file (size 0, which
 * may block or never end) is refused instead of read until an end that may not come.
 */

/** The bytes of the regular, non-empty file at `path`; `what` says what it is for ('input file'). */
export function readRegularFile(path: string, what: string): Uint8Array {
  const fd = openOrFail(path, constants.O_RDONLY | constants.O_NONBLOCK, `cannot read ${what} '${path}'`);
  try {
    const stats = fstatSync(fd);
    refuseSpecial(stats, path, what);
    const bytes = new Uint8Array(stats.size);
    let done = 0;
    while (done < bytes.length) {
      const count = readSync(fd, bytes, done, bytes.length - done, done);
      if (count === 0) break;
      done += count;
    }
    return bytes.subarray(0, done);
  } catch (error) {
    throw asIoError(error, `cannot read ${what} '${path}'`);
  } finally {
    closeSync(fd);
  }
}

/** Checks, without opening it, that `path` is a regular, non-empty file (before a library reads it whole). */
export function checkRegularFile(path: string, what: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw asIoError(error, `cannot read ${what} '${path}'`);
  }
  refuseSpecial(stats, path, what);
}

/** Creates `dir` (and its parents) unless it is already a folder. */
export function ensureFolder(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw asIoError(error, `cannot create ${what} '${dir}'`);
  }
  if (!statSync(dir).isDirectory()) throw new EdgerunError('IO_ERROR', `${what} '${dir}' exists and is not a folder`);
}

/** Writes `bytes` to `path`, creating or replacing a regular file; anything else there is refused. */
export function writeRegularFile(path: string, bytes: Uint8Array): void {
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) throw new EdgerunError('IO_ERROR', `cannot write '${path}': it is ${fileKind(existing)}, not a regular file`);
  // Non-blocking too, so a FIFO put there meanwhile fails (ENXIO) instead of waiting for a reader.
  const fd = openOrFail(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK, `cannot write '${path}'`);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new EdgerunError('IO_ERROR', `cannot write '${path}': it is ${fileKind(stats)}, not a regular file`);
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, done);
  } catch (error) {
    throw asIoError(error, `cannot write '${path}'`);
  } finally {
    closeSync(fd);
  }
}

function openOrFail(path: string, flags: number, failure: string): number {
  try {
    return openSync(path, flags, 0o666);
  } catch (error) {
    throw asIoError(error, failure);
  }
}

function refuseSpecial(stats: Stats, path: string, what: string): void {
  if (!stats.isFile()) throw new EdgerunError('IO_ERROR', `${what} '${path}' is ${fileKind(stats)}, not a regular file`);
  if (stats.size === 0) {
    throw new EdgerunError('IO_ERROR', `${what} '${path}' is empty (or a special file that states no size, as under /proc)`);
  }
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'a special file';
}

/** A Node file system error as IO_ERROR: `failure`, then the system's reason and code. */
function asIoError(error: unknown, failure: string): EdgerunError {
  if (error instanceof EdgerunError) return error;
  const system = error as NodeJS.ErrnoException;
  if (typeof system.code === 'string') {
    // Node's message is "CODE: reason, syscall 'path'": keep the reason, the path is in `failure` already.
    const reason = system.message.replace(`${system.code}: `, '').replace(/, \w+ '.*'$/, '');
    return new EdgerunError('IO_ERROR', `${failure}: ${reason} (${system.code})`);
  }
  return new EdgerunError('IO_ERROR', `${failure}: ${error instanceof Error ? error.message : String(error)}`);
}
