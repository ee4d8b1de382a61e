// Direct NHWC convolution for layers with few input channels (a network's first layer: 3 channels, 3x3,
// stride 2). Each output row's windows are first regrouped into scratch so that one window is one run of
// kw * kh * channels consecutive floats, ordered (kx, ky, channel), the windows strideW * kh * channels floats
// apart; the row is then one GEMM over those runs (gemm.ts), its 4x8 tiles at full speed. The padding's zeros
// are written by the regrouping, so X needs no padded copy and the patches no im2col buffer: one output
// row's patches (a few KiB) stay in L1 while the GEMM reads them.
import { f32_gemm_minmax } from './gemm';

/** Columns of X, padding included, that an output row of width `ow` reads. */
@inline function paddedWidth(kw: i32, strideW: i32, ow: i32): i32 {
  return (ow - 1) * strideW + kw;
}

/** Bytes of scratch f32_conv_direct_minmax needs: one regrouped output row. */
export function f32_conv_direct_scratch_size(channels: i32, kh: i32, kw: i32, strideW: i32, ow: i32): i32 {
  return (paddedWidth(kw, strideW, ow) * kh * channels) << 2;
}

/**
 * Y [oh, ow, m] = clamp(conv(X, W) + bias, low, high) for X [h, w, channels] (channels <= 4), or X
 * [channels, h, w] when `planar` is 1 (an NCHW image, read without a transpose first), a kh x kw window at
 * strides (strideH, strideW), dilation 1, padded by padTop rows and padLeft columns of zeros (and at the
 * bottom and right as far as the windows reach). `packed` is B' [kw * kh * channels, m] in f32_gemm_pack's
 * panels, its rows ordered (kx, ky, channel), bias included. `scratch` holds f32_conv_direct_scratch_size
 * bytes.
 */
export function f32_conv_direct_minmax(
  x: usize, h: i32, w: i32, channels: i32, planar: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
  oh: i32, ow: i32, packed: usize, m: i32, y: usize, low: f32, high: f32, scratch: usize,
): void {
  const pw = paddedWidth(kw, strideW, ow);
  const pixel = <usize>channels << 2;
  const column = <usize>kh * pixel;
  // Bytes from a pixel of X to the next in its row, and from a channel to the next.
  const xColumn = planar != 0 ? 4 : pixel;
  const plane = <usize>(h * w) << 2;
  // Columns [inStart, inEnd) of the regrouped row lie inside X; the others are padding.
  const inStart = min(pw, max(0, padLeft));
  const inEnd = max(inStart, min(pw, padLeft + w));
  const yRowBytes = <usize>(ow * m) << 2;
  for (let oy = 0; oy < oh; oy++) {
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * strideH - padTop + ky;
      const slot = scratch + <usize>ky * pixel;
      if (iy < 0 || iy >= h) {
        zeroSlots(slot, 0, pw, column, channels);
        continue;
      }
      zeroSlots(slot, 0, inStart, column, channels);
      let from = x + <usize>(iy * w + inStart - padLeft) * xColumn;
      let to = slot + <usize>inStart * column;
      if (planar != 0) {
        for (let col = inStart; col < inEnd; col++) {
          storePixel(to, loadPlanarPixel(from, plane, channels), channels);
          from += 4;
          to += column;
        }
      } else {
        for (let col = inStart; col < inEnd; col++) {
          storePixel(to, loadPixel(from, channels), channels);
          from += pixel;
          to += column;
        }
      }
      zeroSlots(slot, inEnd, pw, column, channels);
    }
    f32_gemm_minmax(ow, m, kw * kh * channels, scratch, strideW * kh * channels, packed, y + <usize>oy * yRowBytes, m, low, high);
  }
}

/** The `channels` (1 to 4) floats of a pixel at `from`, read exactly (the next lanes are zero). */
@inline function loadPixel(from: usize, channels: i32): v128 {
  if (channels == 4) return v128.load(from);
  if (channels == 3) return v128.load32_lane(from, v128.load64_zero(from), 2, 8);
  if (channels == 2) return v128.load64_zero(from);
  return v128.load32_zero(from);
}

/** The `channels` (1 to 4) floats of a pixel of a planar image at `from`, its channels `plane` bytes apart. */
@inline function loadPlanarPixel(from: usize, plane: usize, channels: i32): v128 {
  let value = v128.load32_zero(from);
  if (channels > 1) value = v128.load32_lane(from + plane, value, 1);
  if (channels > 2) value = v128.load32_lane(from + 2 * plane, value, 2);
  if (channels > 3) value = v128.load32_lane(from + 3 * plane, value, 3);
  return value;
}

/** Stores the first `channels` (1 to 4) lanes of `value` at `to`, and nothing past them. */
@inline function storePixel(to: usize, value: v128, channels: i32): void {
  if (channels == 4) {
    v128.store(to, value);
  } else if (channels == 3) {
    v128.store64_lane(to, value, 0);
    v128.store32_lane(to, value, 2, 8);
  } else if (channels == 2) {
    v128.store64_lane(to, value, 0);
  } else {
    v128.store32_lane(to, value, 0);
  }
}

/** Zeros the pixel slots of regrouped columns [first, end) at `slot`, `column` bytes apart. */
@inline function zeroSlots(slot: usize, first: i32, end: i32, column: usize, channels: i32): void {
  const zero = i32x4.splat(0);
  let to = slot + <usize>first * column;
  for (let col = first; col < end; col++) {
    storePixel(to, zero, channels);
    to += column;
  }
}
