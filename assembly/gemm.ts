// f32 matrix product C = clamp(A * B + bias, min, max), with B packed once into panels of 8 columns:
// per panel, 8 bias values, then for each k the 8 values of row k (zero-filled past n). The main micro-kernel
// keeps a 4x8 tile of C in 8 registers (two f32x4 per row) and broadcasts A elements from memory with
// load32_splat; larger tiles or an unrolled k loop make V8 spill (16 xmm registers). Rows past the last
// multiple of 4 (every row when m < 4, as in a matrix-vector product) run 1x24 tiles instead: six
// independent accumulators over three panels. Panels are walked in blocks that stay in L2.
import { clamp, madd, storeRow, transpose4x4 } from './simd';

/** Bytes of B packed for `n` columns and depth `k`. */
export function f32_gemm_packed_size(n: i32, k: i32): i32 {
  return ((n + 7) >> 3) * (k + 1) * 32;
}

/**
 * Packs B (element (row, col) at b + 4 * (row * rowStride + col * colStride), so a transposed B is packed by
 * swapping strides) and `bias` (n values, or 0 for none) into `packed`. Full panels of a row-major B copy
 * two vectors per row; of a transposed B (each column contiguous, as Conv and Gemm transB store weights)
 * they transpose 4x4 blocks in registers: weights are packed at create, and element by element this was
 * a tenth of mobilenet_v2's session create.
 */
export function f32_gemm_pack(n: i32, k: i32, b: usize, rowStride: i32, colStride: i32, bias: usize, packed: usize): void {
  let out = packed;
  for (let col0 = 0; col0 < n; col0 += 8) {
    const width = min(8, n - col0);
    for (let j = 0; j < 8; j++) store<f32>(out + (<usize>j << 2), bias != 0 && j < width ? load<f32>(bias + (<usize>(col0 + j) << 2)) : 0);
    out += 32;
    const panel = b + (<usize>col0 * colStride << 2);
    let row = 0;
    if (width == 8 && colStride == 1) {
      for (; row < k; row++) {
        const from = panel + (<usize>row * rowStride << 2);
        v128.store(out, v128.load(from));
        v128.store(out, v128.load(from, 16), 16);
        out += 32;
      }
    } else if (width == 8 && rowStride == 1) {
      const column = <usize>colStride << 2;
      for (; row + 4 <= k; row += 4) {
        const c0 = panel + (<usize>row << 2);
        // Columns 0-3 into the first halves of four packed rows, columns 4-7 into the second halves.
        transpose4x4(c0, column, out, 32);
        transpose4x4(c0 + 4 * column, column, out + 16, 32);
        out += 128;
      }
    }
    for (; row < k; row++) {
      for (let j = 0; j < 8; j++) {
        const value: f32 = j < width ? load<f32>(panel + ((<usize>row * rowStride + <usize>j * colStride) << 2)) : 0;
        store<f32>(out + (<usize>j << 2), value);
      }
      out += 32;
    }
  }
}

/** Rows a0 .. a0 + 3 * aStride of C's 8 columns at c0 (the first `width` of them stored). */
@inline function tile4x8(a0: usize, aStride: usize, panel: usize, k: i32, c0: usize, cStride: usize, width: i32, vlow: v128, vhigh: v128): void {
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
  let p1 = a0 + aStride;
  let p2 = p1 + aStride;
  let p3 = p2 + aStride;
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
  let c = c0;
  storeRow(c, clamp(acc0l, vlow, vhigh), clamp(acc0h, vlow, vhigh), width);
  c += cStride;
  storeRow(c, clamp(acc1l, vlow, vhigh), clamp(acc1h, vlow, vhigh), width);
  c += cStride;
  storeRow(c, clamp(acc2l, vlow, vhigh), clamp(acc2h, vlow, vhigh), width);
  c += cStride;
  storeRow(c, clamp(acc3l, vlow, vhigh), clamp(acc3h, vlow, vhigh), width);
}

/** One row of C over one panel: the columns a 1x24 tile does not cover. */
@inline function tile1x8(a0: usize, panel: usize, k: i32, c0: usize, width: i32, vlow: v128, vhigh: v128): void {
  let accl = v128.load(panel);
  let acch = v128.load(panel, 16);
  let w = panel + 32;
  let p0 = a0;
  for (let depth = k; depth > 0; depth--) {
    const x0 = v128.load32_splat(p0);
    accl = madd(x0, v128.load(w), accl);
    acch = madd(x0, v128.load(w, 16), acch);
    w += 32;
    p0 += 4;
  }
  storeRow(c0, clamp(accl, vlow, vhigh), clamp(acch, vlow, vhigh), width);
}

/** One row of C over three whole panels (24 columns): six independent accumulators. */
@inline function tile1x24(a0: usize, panel: usize, panelBytes: usize, k: i32, c0: usize, vlow: v128, vhigh: v128): void {
  let w0 = panel;
  let w1 = w0 + panelBytes;
  let w2 = w1 + panelBytes;
  let acc0l = v128.load(w0);
  let acc0h = v128.load(w0, 16);
  let acc1l = v128.load(w1);
  let acc1h = v128.load(w1, 16);
  let acc2l = v128.load(w2);
  let acc2h = v128.load(w2, 16);
  let p0 = a0;
  for (let depth = k; depth > 0; depth--) {
    w0 += 32;
    w1 += 32;
    w2 += 32;
    const x = v128.load32_splat(p0);
    acc0l = madd(x, v128.load(w0), acc0l);
    acc0h = madd(x, v128.load(w0, 16), acc0h);
    acc1l = madd(x, v128.load(w1), acc1l);
    acc1h = madd(x, v128.load(w1, 16), acc1h);
    acc2l = madd(x, v128.load(w2), acc2l);
    acc2h = madd(x, v128.load(w2, 16), acc2h);
    p0 += 4;
  }
  v128.store(c0, clamp(acc0l, vlow, vhigh));
  v128.store(c0, clamp(acc0h, vlow, vhigh), 16);
  v128.store(c0, clamp(acc1l, vlow, vhigh), 32);
  v128.store(c0, clamp(acc1h, vlow, vhigh), 48);
  v128.store(c0, clamp(acc2l, vlow, vhigh), 64);
  v128.store(c0, clamp(acc2h, vlow, vhigh), 80);
}

/** Bytes of packed B one pass over the rows of A reads: columns are blocked so a block stays in L2. */
const BLOCK_BYTES: usize = 256 << 10;

/**
 * C[m, n] (row stride ldc) = clamp(A[m, k] (row stride lda) * packed B + bias, low, high); strides in
 * elements. Every element is summed in the same order (bias, then k ascending) whichever tile computes it.
 */
export function f32_gemm_minmax(m: i32, n: i32, k: i32, a: usize, lda: i32, packed: usize, c: usize, ldc: i32, low: f32, high: f32): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  const aStride = <usize>lda << 2;
  const cStride = <usize>ldc << 2;
  const panelBytes = <usize>(k + 1) << 5;
  const panels = (n + 7) >> 3;
  const fullPanels = n >> 3;
  const blockPanels = max(1, <i32>(BLOCK_BYTES / panelBytes));
  // Rows past the last multiple of 4 run row by row: a 1x24 tile costs about a third of a 4x8 tile's row
  // block per row, so this beats both aliasing rows and overlapping the last block with the one before.
  const tiledRows = m & ~3;
  for (let first = 0; first < panels; first += blockPanels) {
    const last = min(panels, first + blockPanels);
    const fullLast = min(last, fullPanels);
    for (let row = 0; row < tiledRows; row += 4) {
      const a0 = a + <usize>row * aStride;
      const c0 = c + <usize>row * cStride;
      for (let p = first; p < fullLast; p++) {
        tile4x8(a0, aStride, packed + <usize>p * panelBytes, k, c0 + (<usize>p << 5), cStride, 8, vlow, vhigh);
      }
      if (fullLast < last) tile4x8(a0, aStride, packed + <usize>fullLast * panelBytes, k, c0 + (<usize>fullLast << 5), cStride, n & 7, vlow, vhigh);
    }
    for (let row = tiledRows; row < m; row++) {
      const a0 = a + <usize>row * aStride;
      const c0 = c + <usize>row * cStride;
      let p = first;
      for (; p + 3 <= fullLast; p += 3) tile1x24(a0, packed + <usize>p * panelBytes, panelBytes, k, c0 + (<usize>p << 5), vlow, vhigh);
      for (; p < last; p++) tile1x8(a0, packed + <usize>p * panelBytes, k, c0 + (<usize>p << 5), min(8, n - (p << 3)), vlow, vhigh);
    }
  }
}
