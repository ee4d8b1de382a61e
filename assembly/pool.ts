// Pooling: global average over NHWC (means of columns) and NCHW (means of rows), and windowed max / average
// pooling over NHWC, 4 channels per step.
import { storeLanes } from './simd';

/** y[c] = mean over `pixels` rows of x [pixels, channels] (NHWC global average pooling of one image). */
export function f32_column_means(x: usize, pixels: i32, channels: i32, y: usize): void {
  const scale = f32x4.splat(<f32>1 / <f32>pixels);
  const pixel = <usize>channels << 2;
  for (let c = 0; c < channels; c += 4) {
    const lane = <usize>c << 2;
    let sum = f32x4.splat(0);
    let at = x + lane;
    for (let p = 0; p < pixels; p++) {
      sum = f32x4.add(sum, v128.load(at));
      at += pixel;
    }
    const mean = f32x4.mul(sum, scale);
    if (channels - c >= 4) v128.store(y + lane, mean);
    else storeLanes(y + lane, mean, channels - c);
  }
}

/** y[r] = mean of row r of x [rows, cols] (NCHW global average pooling). */
export function f32_row_means(x: usize, rows: i32, cols: i32, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let sum = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= cols; i += 4) sum = f32x4.add(sum, v128.load(row + (<usize>i << 2)));
    let total = f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
    for (; i < cols; i++) total += load<f32>(row + (<usize>i << 2));
    store<f32>(y + (<usize>r << 2), total / <f32>cols);
  }
}

/** The first tap k with start + k * dilation >= 0. */
@inline function firstTapInside(start: i32, dilation: i32): i32 {
  return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
}

/** One past the last tap k with start + k * dilation < size (uncapped by the window). */
@inline function endTapInside(start: i32, dilation: i32, size: i32): i32 {
  return size - start <= 0 ? 0 : (size - start + dilation - 1) / dilation;
}

/**
 * Max (isMax; NaN propagates, as f32x4.max does) or average pooling of X [h, w, channels] into
 * Y [oh, ow, channels]. Average divides by the taps inside X, or with countPad by the whole window.
 */
export function f32_pool_nhwc(
  x: usize, h: i32, w: i32, channels: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, y: usize, isMax: bool, countPad: bool,
): void {
  const pixel = <usize>channels << 2;
  let out = y;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const iy0 = oy * strideH - padTop;
      const ix0 = ox * strideW - padLeft;
      // Taps [kyBegin, kyEnd) x [kxBegin, kxEnd) fall inside X.
      const kyBegin = firstTapInside(iy0, dilationH);
      const kyEnd = max(kyBegin, min(kh, endTapInside(iy0, dilationH, h)));
      const kxBegin = firstTapInside(ix0, dilationW);
      const kxEnd = max(kxBegin, min(kw, endTapInside(ix0, dilationW, w)));
      const scale = f32x4.splat(<f32>1 / <f32>(countPad ? kh * kw : (kyEnd - kyBegin) * (kxEnd - kxBegin)));
      for (let c = 0; c < channels; c += 4) {
        const lane = <usize>c << 2;
        let acc = f32x4.splat(isMax ? -Infinity : 0);
        for (let ky = kyBegin; ky < kyEnd; ky++) {
          const row = x + <usize>((iy0 + ky * dilationH) * w) * pixel + lane;
          for (let kx = kxBegin; kx < kxEnd; kx++) {
            const value = v128.load(row + <usize>(ix0 + kx * dilationW) * pixel);
            acc = isMax ? f32x4.max(acc, value) : f32x4.add(acc, value);
          }
        }
        const result = isMax ? acc : f32x4.mul(acc, scale);
        if (channels - c >= 4) v128.store(out + lane, result);
        else storeLanes(out + lane, result, channels - c);
      }
      out += pixel;
    }
  }
}
