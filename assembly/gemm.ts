// f32 matrix product C = clamp(A * B + bias, min, max), with B packed once into panels of 8 columns:
// per panel, 8 bias values, then for each k the 8 values of row k (zero-filled past n). The micro-kernel
// keeps a 4x8 tile of C in 8 registers (two f32x4 per row) and broadcasts A elements from memory with
// load32_splat; larger tiles or an unrolled k loop make V8 spill (16 xmm registers).
import { clamp, madd, storeLanes } from './simd';

/** Bytes of B packed for `n` columns and depth `k`. */
export function f32_gemm_packed_size(n: i32, k: i32): i32 {
  return ((n + 7) >> 3) * (k + 1) * 32;
}

/**
 * Packs B (element (row, col) at b + 4 * (row * rowStride + col * colStride), so a transposed B is packed by
 * swapping strides) and `bias` (n values, or 0 for none) into `packed`.
 */
export function f32_gemm_pack(n: i32, k: i32, b: usize, rowStride: i32, colStride: i32, bias: usize, packed: usize): void {
  let out = packed;
  for (let col0 = 0; col0 < n; col0 += 8) {
    const width = min(8, n - col0);
    for (let j = 0; j < 8; j++) store<f32>(out + (<usize>j << 2), bias != 0 && j < width ? load<f32>(bias + (<usize>(col0 + j) << 2)) : 0);
    out += 32;
    for (let row = 0; row < k; row++) {
      for (let j = 0; j < 8; j++) {
        const value: f32 = j < width ? load<f32>(b + ((<usize>row * rowStride + <usize>(col0 + j) * colStride) << 2)) : 0;
        store<f32>(out + (<usize>j << 2), value);
      }
      out += 32;
    }
  }
}

@inline function storeRow(ptr: usize, low: v128, high: v128, width: i32): void {
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
 * C[m, n] (row stride ldc) = clamp(A[m, k] (row stride lda) * packed B + bias, low, high); strides in
 * elements. Rows past m alias the last row (computed twice, stored identically), as XNNPACK does.
 */
export function f32_gemm_minmax_4x8(m: i32, n: i32, k: i32, a: usize, lda: i32, packed: usize, c: usize, ldc: i32, low: f32, high: f32): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  const aStride = <usize>lda << 2;
  const cStride = <usize>ldc << 2;
  const panelBytes = <usize>(k + 1) << 5;
  for (let row = 0; row < m; row += 4) {
    const a0 = a + <usize>row * aStride;
    const a1 = row + 1 < m ? a0 + aStride : a0;
    const a2 = row + 2 < m ? a1 + aStride : a1;
    const a3 = row + 3 < m ? a2 + aStride : a2;
    const c0 = c + <usize>row * cStride;
    const c1 = row + 1 < m ? c0 + cStride : c0;
    const c2 = row + 2 < m ? c1 + cStride : c1;
    const c3 = row + 3 < m ? c2 + cStride : c2;
    let panel = packed;
    for (let col = 0; col < n; col += 8) {
      let acc0l = v128.load(panel);
      let acc0h = v128.load(panel, 16);
      let acc1l = acc0l;
      let acc1h = acc0h;
      let acc2l = acc0l;
      let acc2h = acc0h;
      let acc3l = acc0l;
      let acc3h = acc0h;
      let w = panel + 32;
      let p0 = a0;
      let p1 = a1;
      let p2 = a2;
      let p3 = a3;
      for (let depth = k; depth > 0; depth--) {
        const bl = v128.load(w);
        const bh = v128.load(w, 16);
        const x0 = v128.load32_splat(p0);
        const x1 = v128.load32_splat(p1);
        const x2 = v128.load32_splat(p2);
        const x3 = v128.load32_splat(p3);
        acc0l = madd(x0, bl, acc0l);
        acc0h = madd(x0, bh, acc0h);
        acc1l = madd(x1, bl, acc1l);
        acc1h = madd(x1, bh, acc1h);
        acc2l = madd(x2, bl, acc2l);
        acc2h = madd(x2, bh, acc2h);
        acc3l = madd(x3, bl, acc3l);
        acc3h = madd(x3, bh, acc3h);
        w += 32;
        p0 += 4;
        p1 += 4;
        p2 += 4;
        p3 += 4;
      }
      const width = n - col;
      const offset = <usize>col << 2;
      storeRow(c3 + offset, clamp(acc3l, vlow, vhigh), clamp(acc3h, vlow, vhigh), width);
      storeRow(c2 + offset, clamp(acc2l, vlow, vhigh), clamp(acc2h, vlow, vhigh), width);
      storeRow(c1 + offset, clamp(acc1l, vlow, vhigh), clamp(acc1h, vlow, vhigh), width);
      storeRow(c0 + offset, clamp(acc0l, vlow, vhigh), clamp(acc0h, vlow, vhigh), width);
      panel += panelBytes;
    }
  }
}
