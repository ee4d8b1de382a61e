/**
 * The arena: one block of memory for every tensor of a static-shape run, each placed at an offset so that
 * tensors alive at the same time never overlap. Greedy by size, as TFLite's arena planner does: the largest
 * buffers are placed first, each at the lowest offset that fits between the buffers already placed whose
 * lifetimes overlap its own.
 */
export interface BufferLifetime {
  /** Bytes the buffer needs. */
  readonly bytes: number;
  /** First and last step (inclusive) during which the buffer must hold its value. */
  readonly first: number;
  readonly last: number;
}

export interface ArenaLayout {
  /** Byte offset of each buffer, in the order given. */
  readonly offsets: number[];
  /** Bytes the whole arena needs. */
  readonly size: number;
}

/** Offsets are aligned for SIMD loads and 64-bit elements alike (a cache line). */
export const ARENA_ALIGNMENT = 64;

const align = (bytes: number) => Math.ceil(bytes / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;

export function planArena(buffers: readonly BufferLifetime[]): ArenaLayout {
  const offsets = buffers.map(() => 0);
  const order = buffers.map((_, index) => index).sort((a, b) => buffers[b]!.bytes - buffers[a]!.bytes || a - b);
  const placed: number[] = [];
  let size = 0;
  for (const index of order) {
    const buffer = buffers[index]!;
    const bytes = align(buffer.bytes);
    const overlapping = placed
      .filter((other) => buffers[other]!.first <= buffer.last && buffer.first <= buffers[other]!.last)
      .sort((a, b) => offsets[a]! - offsets[b]!);
    let offset = 0;
    for (const other of overlapping) {
      if (offset + bytes <= offsets[other]!) break;
      offset = Math.max(offset, offsets[other]! + align(buffers[other]!.bytes));
    }
    offsets[index] = offset;
    placed.push(index);
    size = Math.max(size, offset + bytes);
  }
  return { offsets, size };
}
