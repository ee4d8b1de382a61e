// Helpers shared by the kernel files. Kernels take raw byte pointers into the imported memory, allocate
// nothing and keep no mutable statics: the TypeScript side owns every buffer, and in the threaded build
// each worker's instance shares the memory but not the statics.

/** acc + a * b; fused (one rounding) in the relaxed-SIMD build where the host has it. */
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * min/max clamp with the pseudo-min/max instructions: one x86 minps/maxps each, where f32x4.min/max cost
 * eight instructions (their NaN and -0 rules). The value is the operand returned on an unordered compare,
 * so NaN passes through as in ONNX; -0 against a bound of 0 stays -0 (equal values).
 */
@inline export function clamp(value: v128, low: v128, high: v128): v128 {
  return f32x4.pmin(f32x4.pmax(value, low), high);
}

/** Stores the first `count` (0 to 3) lanes of `value` at `ptr`. */
@inline export function storeLanes(ptr: usize, value: v128, count: i32): void {
  if (count >= 2) {
    v128.store64_lane(ptr, value, 0);
    if (count == 3) v128.store32_lane(ptr, value, 2, 8);
  } else if (count == 1) {
    v128.store32_lane(ptr, value, 0);
  }
}

/** Stores the first `width` (1 to 8) lanes of a row of two vectors of 32-bit lanes at `ptr`. */
@inline export function storeRow(ptr: usize, low: v128, high: v128, width: i32): void {
  if (width >= 8) {
    v128.store(ptr, low);
    v128.store(ptr, high, 16);
  } else if (width >= 4) {
    v128.store(ptr, low);
    storeLanes(ptr + 16, high, width - 4);
  } else {
    storeLanes(ptr, low, width);
  }
}

/**
 * The 4x4 block of floats whose rows are at from + k * fromRow, stored transposed: row k of the result (the
 * block's column k) at to + k * toRow.
 */
@inline export function transpose4x4(from: usize, fromRow: usize, to: usize, toRow: usize): void {
  const a = v128.load(from);
  const b = v128.load(from + fromRow);
  const c = v128.load(from + 2 * fromRow);
  const d = v128.load(from + 3 * fromRow);
  const ab0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
  const ab1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const cd0 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
  const cd1 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(to, v128.shuffle<i64>(ab0, cd0, 0, 2));
  v128.store(to + toRow, v128.shuffle<i64>(ab0, cd0, 1, 3));
  v128.store(to + 2 * toRow, v128.shuffle<i64>(ab1, cd1, 0, 2));
  v128.store(to + 3 * toRow, v128.shuffle<i64>(ab1, cd1, 1, 3));
}
