// 8-bit integer matrix product C[m, n] (int32) = (A - aZeroPoint) * B' + bias, B' = B - its zero points, for
// int8 (qs8) or uint8 (qu8) A. B' is packed once (by the TypeScript side) into panels of 8 columns:
//   i32 column sums of B' [8], i32 bias [8], then per pair of k rows 8 columns x (B'[k], B'[k+1]) as i16.
// The kernel widens a pair of A values to i16 and multiplies-adds with i32x4.dot_i16x8_s (pmaddwd), two k
// at a time; A's zero point is taken out once per tile as aZeroPoint times the column sums. An odd k is padded
// with a zero row in the panel, so the kernel reads one byte past the end of an A row and multiplies it by zero.
// Also here: the int8 im2col (padding with the input's zero point, which the correction above cancels) and
// a byte transpose for NCHW <-> NHWC.
import { storeRow } from './simd';

/** Bytes of the packed header (column sums and bias) of one panel. */
const HEADER = 64;

@inline function widenPair(ptr: usize, signed: bool): v128 {
  const pair = v128.load16_splat(ptr);
  return signed ? i16x8.extend_low_i8x16_s(pair) : i16x8.extend_low_i8x16_u(pair);
}

/** acc + the i32 dot products of lane pairs of x (A[k], A[k+1] repeated) and a packed B' vector. */
@inline function dot(x: v128, b: v128, acc: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(x, b));
}

@inline function gemm4x8c2(signed: bool, m: i32, n: i32, k: i32, a: usize, lda: i32, aZeroPoint: i32, packed: usize, c: usize, ldc: i32): void {
  const zero = i32x4.splat(aZeroPoint);
  const aStride = <usize>lda;
  const cStride = <usize>ldc << 2;
  const pairs = (k + 1) >> 1;
  const panelBytes = <usize>HEADER + (<usize>pairs << 5);
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
      let acc0l = i32x4.sub(v128.load(panel, 32), i32x4.mul(v128.load(panel), zero));
      let acc0h = i32x4.sub(v128.load(panel, 48), i32x4.mul(v128.load(panel, 16), zero));
      let acc1l = acc0l;
      let acc1h = acc0h;
      let acc2l = acc0l;
      let acc2h = acc0h;
      let acc3l = acc0l;
      let acc3h = acc0h;
      let w = panel + HEADER;
      let p0 = a0;
      let p1 = a1;
      let p2 = a2;
      let p3 = a3;
      for (let pair = pairs; pair > 0; pair--) {
        const bl = v128.load(w);
        const bh = v128.load(w, 16);
        const x0 = widenPair(p0, signed);
        const x1 = widenPair(p1, signed);
        const x2 = widenPair(p2, signed);
        const x3 = widenPair(p3, signed);
        acc0l = dot(x0, bl, acc0l);
        acc0h = dot(x0, bh, acc0h);
        acc1l = dot(x1, bl, acc1l);
        acc1h = dot(x1, bh, acc1h);
        acc2l = dot(x2, bl, acc2l);
        acc2h = dot(x2, bh, acc2h);
        acc3l = dot(x3, bl, acc3l);
        acc3h = dot(x3, bh, acc3h);
        w += 32;
        p0 += 2;
        p1 += 2;
        p2 += 2;
        p3 += 2;
      }
      const width = n - col;
      const offset = <usize>col << 2;
      storeRow(c3 + offset, acc3l, acc3h, width);
      storeRow(c2 + offset, acc2l, acc2h, width);
      storeRow(c1 + offset, acc1l, acc1h, width);
      storeRow(c0 + offset, acc0l, acc0h, width);
      panel += panelBytes;
    }
  }
}

/**
 * C[m, n] int32 (row stride ldc elements) = (A[m, k] int8 (row stride lda bytes) - aZeroPoint) * packed B'
 * + bias. Rows past m alias the last row (computed twice, stored identically).
 */
export function qs8_gemm_4x8c2(m: i32, n: i32, k: i32, a: usize, lda: i32, aZeroPoint: i32, packed: usize, c: usize, ldc: i32): void {
  gemm4x8c2(true, m, n, k, a, lda, aZeroPoint, packed, c, ldc);
}

/** qs8_gemm_4x8c2 for uint8 A. */
export function qu8_gemm_4x8c2(m: i32, n: i32, k: i32, a: usize, lda: i32, aZeroPoint: i32, packed: usize, c: usize, ldc: i32): void {
  gemm4x8c2(false, m, n, k, a, lda, aZeroPoint, packed, c, ldc);
}

/**
 * Copies `count` bytes in 16-byte vectors, the last one whole: it may write up to 15 bytes past the run,
 * which the next run overwrites (the caller leaves 16 bytes of room after the last). Runs here are a few
 * channels long, where memory.copy's call costs more than the copy.
 */
@inline function copyRun(to: usize, from: usize, count: usize): void {
  let offset: usize = 0;
  for (; offset + 16 < count; offset += 16) v128.store(to + offset, v128.load(from + offset));
  v128.store(to + offset, v128.load(from + offset));
}

/** copyRun's fill: `count` bytes of `value`, up to 15 more past them. */
@inline function fillRun(to: usize, value: v128, count: usize): void {
  let offset: usize = 0;
  for (; offset + 16 < count; offset += 16) v128.store(to + offset, value);
  v128.store(to + offset, value);
}

/**
 * 8-bit im2col of NHWC x [h, w, channels]: one row per output pixel of kh * kw * count bytes, ordered
 * (ky, kx, c) over channels [first, first + count); taps in the padding get `padValue` (x's zero point).
 * Writes up to 15 bytes past the last row.
 */
export function x8_im2col_nhwc(
  x: usize, h: i32, w: i32, channels: i32, first: i32, count: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, padTop: i32, padLeft: i32,
  oh: i32, ow: i32, padValue: i32, out: usize,
): void {
  let to = out;
  const run = <usize>count;
  const pad = i8x16.splat(<i8>padValue);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * strideH - padTop + ky * dilationH;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * strideW - padLeft + kx * dilationW;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) fillRun(to, pad, run);
          else copyRun(to, x + <usize>((iy * w + ix) * channels + first), run);
          to += run;
        }
      }
    }
  }
}

/** dst [cols, rows] = transpose of the bytes src [rows, cols]. */
export function x8_transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    let from = src + <usize>r * cols;
    let to = dst + <usize>r;
    for (let c = 0; c < cols; c++) {
      store<u8>(to, load<u8>(from));
      from += 1;
      to += <usize>rows;
    }
  }
}
