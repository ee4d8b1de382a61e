// Data movement: rows of bytes copied between strided places, the whole of Concat (and, later, Split and
// Slice on contiguous tails). memory.copy per row: rows of a channel block are short (16..512 floats).

/** Copies `rows` rows of `rowBytes` bytes from src (rows `srcStride` bytes apart) to dst (`dstStride` apart). */
export function copy_rows(rows: i32, rowBytes: i32, src: usize, srcStride: i32, dst: usize, dstStride: i32): void {
  for (let row = 0; row < rows; row++) {
    memory.copy(dst + <usize>row * dstStride, src + <usize>row * srcStride, rowBytes);
  }
}
