import type { EdgerunError } from '../core/errors.js';

/** The buffers float kernels compute on: float32 results in float32 storage, every other float type in float64. */
export type Floats = Float32Array | Float64Array;

/** A zeroed buffer of the same float type as `like`. */
export function floatsLike(like: Floats, length: number): Floats {
  return like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/** Reports bad input as a typed error; the op layer passes one that names the node. */
export type Fail = (code: EdgerunError['code'], detail: string) => never;

const scratchBuffers = { float32: new Float32Array(0), float64: new Float64Array(0) };

/**
 * A work buffer of `like`'s float type with at least `length` elements, contents undefined: reused from call
 * to call, so a kernel's temporary (im2col columns) costs no allocation and no first touch of fresh pages
 * per run. Valid until the next call; kernels run one at a time and never hold it across calls.
 */
export function scratchLike(like: Floats, length: number): Floats {
  if (like instanceof Float32Array) {
    if (scratchBuffers.float32.length < length) scratchBuffers.float32 = new Float32Array(length);
    return scratchBuffers.float32;
  }
  if (scratchBuffers.float64.length < length) scratchBuffers.float64 = new Float64Array(length);
  return scratchBuffers.float64;
}
