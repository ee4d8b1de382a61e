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

/** Max (NaN lanes collected in `nan`) or sum of the accumulator and one tap. */
@inline function accumulate(acc: v128, value: v128, isMax: bool): v128 {
  return isMax ? f32x4.pmax(acc, value) : f32x4.add(acc, value);
}

/** All-ones lanes where `value` is NaN. */
@inline function nanLanes(value: v128): v128 {
  return f32x4.ne(value, value);
}

/**
 * Max (isMax; NaN propagates) or sum of 4 channels over a window clipped to X: `rows` rows `rowStep` bytes
 * apart of `taps` taps `colStep` bytes apart, the first at `at`. The max is pmax (one instruction, where
 * f32x4.max is a sequence of seven on x86) with the NaN lanes collected apart and set at the end
 * (all-ones lanes are NaN). Rows of 3 taps are unrolled: three loads with no loop between them.
 */
@inline function reduceWindow(at: usize, rows: i32, taps: i32, rowStep: usize, colStep: usize, isMax: bool): v128 {
  let acc = f32x4.splat(isMax ? -Infinity : 0);
  let nan = v128.splat<i32>(0);
  let row = at;
  if (taps == 3) {
    for (let ky = 0; ky < rows; ky++) {
      const a = v128.load(row);
      const b = v128.load(row + colStep);
      const c = v128.load(row + 2 * colStep);
      acc = accumulate(acc, accumulate(accumulate(a, b, isMax), c, isMax), isMax);
      if (isMax) nan = v128.or(nan, v128.or(v128.or(nanLanes(a), nanLanes(b)), nanLanes(c)));
      row += rowStep;
    }
  } else {
    for (let ky = 0; ky < rows; ky++) {
      let tap = row;
      for (let kx = 0; kx < taps; kx++) {
        const value = v128.load(tap);
        acc = accumulate(acc, value, isMax);
        if (isMax) nan = v128.or(nan, nanLanes(value));
        tap += colStep;
      }
      row += rowStep;
    }
  }
  return isMax ? v128.or(acc, nan) : acc;
}

/**
 * Output pixels [first, end) of one output row, every channel, each window clipped to X: `rows` x `taps`
 * taps from `window` (the first pixel's first tap), the next pixel's `step` bytes on. The scale of an
 * average is the same for every pixel in the range.
 */
@inline function poolPixels(
  window: usize, channels: i32, rows: i32, taps: i32, rowStep: usize, colStep: usize, step: usize,
  first: i32, end: i32, out: usize, isMax: bool, scale: v128,
): void {
  const pixel = <usize>channels << 2;
  const whole = channels & ~3;
  for (let ox = first; ox < end; ox++) {
    let c = 0;
    for (; c < whole; c += 4) {
      const lane = <usize>c << 2;
      const acc = reduceWindow(window + lane, rows, taps, rowStep, colStep, isMax);
      v128.store(out + lane, isMax ? acc : f32x4.mul(acc, scale));
    }
    if (c < channels) {
      const lane = <usize>c << 2;
      const acc = reduceWindow(window + lane, rows, taps, rowStep, colStep, isMax);
      storeLanes(out + lane, isMax ? acc : f32x4.mul(acc, scale), channels - c);
    }
    window += step;
    out += pixel;
  }
}

/** The pooling of f32_pool_nhwc with isMax a compile-time constant (the tap loop holds no choice). */
@inline function poolNhwc(
  x: usize, h: i32, w: i32, channels: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, y: usize, isMax: bool, countPad: bool,
): void {
  const pixel = <usize>channels << 2;
  const rowStep = <usize>(dilationH * w) * pixel;
  const colStep = <usize>dilationW * pixel;
  // Output columns whose window lies inside X horizontally: [interiorStart, interiorEnd).
  const interiorStart = min(ow, (padLeft + strideW - 1) / strideW);
  const lastStart = w - 1 - (kw - 1) * dilationW + padLeft;
  const interiorEnd = lastStart < 0 ? interiorStart : max(interiorStart, min(ow, lastStart / strideW + 1));
  for (let oy = 0; oy < oh; oy++) {
    const iy0 = oy * strideH - padTop;
    // Taps [kyBegin, kyEnd) fall inside X.
    const kyBegin = firstTapInside(iy0, dilationH);
    const kyEnd = max(kyBegin, min(kh, endTapInside(iy0, dilationH, h)));
    const rows = kyEnd - kyBegin;
    const inputRow = rows > 0 ? x + <usize>((iy0 + kyBegin * dilationH) * w) * pixel : x;
    const yRow = y + <usize>(oy * ow) * pixel;
    for (let ox = 0; ox < ow; ) {
      // The interior columns as one run, every other column on its own.
      const inside = ox == interiorStart && interiorStart < interiorEnd;
      const end = inside ? interiorEnd : ox + 1;
      const ix0 = ox * strideW - padLeft;
      const kxBegin = firstTapInside(ix0, dilationW);
      const kxEnd = max(kxBegin, min(kw, endTapInside(ix0, dilationW, w)));
      const taps = kxEnd - kxBegin;
      const window = inputRow + <usize>(ix0 + kxBegin * dilationW) * pixel;
      const scale = f32x4.splat(<f32>1 / <f32>(countPad ? kh * kw : rows * taps));
      poolPixels(rows > 0 && taps > 0 ? window : x, channels, rows, taps, rowStep, colStep, <usize>strideW * pixel, ox, end, yRow + <usize>ox * pixel, isMax, scale);
      ox = end;
    }
  }
}

/**
 * Max (isMax; NaN propagates, as f32x4.max does) or average pooling of X [h, w, channels] into
 * Y [oh, ow, channels]. Average divides by the taps inside X, or with countPad by the whole window.
 * Each window is clipped to X once per pixel; the interior columns of a row run without any checks.
 */
export function f32_pool_nhwc(
  x: usize, h: i32, w: i32, channels: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, y: usize, isMax: bool, countPad: bool,
): void {
  if (isMax) poolNhwc(x, h, w, channels, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, oh, ow, y, true, countPad);
  else poolNhwc(x, h, w, channels, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, oh, ow, y, false, countPad);
}
