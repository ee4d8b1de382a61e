// NHWC convolution helpers: im2col for the general convolution (then the GEMM of gemm.ts), the depthwise
// convolution, and the 2-D transpose that moves NCHW tensors to NHWC and back. Geometry (output sizes,
// padding) is computed by the caller; pads are the leading pads, trailing padding follows from the sizes.
import { clamp, madd, storeLanes, transpose4x4 } from './simd';

/** Copies `bytes` (a multiple of 4) from src to dst: vectors, then single floats (memory.copy is a call in V8). */
@inline function copyFloats(dst: usize, src: usize, bytes: usize): void {
  const vectorEnd = dst + (bytes & ~15);
  const end = dst + bytes;
  for (; dst < vectorEnd; dst += 16, src += 16) v128.store(dst, v128.load(src));
  for (; dst < end; dst += 4, src += 4) store<f32>(dst, load<f32>(src));
}

/**
 * Patches of X [h, w, channels] for output pixels [oh, ow]: one row of kh * kw * count values per pixel,
 * ordered (ky, kx, channel), for channels [first, first + count); zeros where the window leaves X. When the
 * patch takes every channel without column dilation, a window row inside X is one contiguous run.
 */
export function f32_im2col_nhwc(
  x: usize, h: i32, w: i32, channels: i32, first: i32, count: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, padTop: i32, padLeft: i32,
  oh: i32, ow: i32, out: usize,
): void {
  const runBytes = <usize>count << 2;
  const wholeRows = count == channels && dilationW == 1;
  const windowRowBytes = <usize>kw * runBytes;
  let dst = out;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const ix0 = ox * strideW - padLeft;
      const columnsInside = ix0 >= 0 && ix0 + (kw - 1) * dilationW < w;
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * strideH - padTop + ky * dilationH;
        if (iy < 0 || iy >= h) {
          memory.fill(dst, 0, windowRowBytes);
          dst += windowRowBytes;
        } else if (wholeRows && columnsInside) {
          copyFloats(dst, x + ((<usize>(iy * w + ix0) * channels + first) << 2), windowRowBytes);
          dst += windowRowBytes;
        } else {
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dilationW;
            if (ix < 0 || ix >= w) {
              memory.fill(dst, 0, runBytes);
            } else {
              copyFloats(dst, x + ((<usize>(iy * w + ix) * channels + first) << 2), runBytes);
            }
            dst += runBytes;
          }
        }
      }
    }
  }
}

/** Stores 4 channels, or the first `count` of them at the end of a pixel. */
@inline function storeChannels(ptr: usize, value: v128, count: i32): void {
  if (count >= 4) v128.store(ptr, value);
  else storeLanes(ptr, value, count);
}

/** Bytes of depthwise weights packed for `channels` and a kh x kw window. */
export function f32_dwconv_packed_size(channels: i32, kh: i32, kw: i32): i32 {
  return (kh * kw + 1) * (((channels + 3) >> 2) << 4);
}

/**
 * Packs depthwise weights W [channels, 1, kh, kw] and bias (or 0) into [kh * kw][stride] then [stride] of
 * bias, stride = channels rounded up to 4, zero-filled, so 4 channels load as one vector.
 */
export function f32_dwconv_pack(channels: i32, kh: i32, kw: i32, weights: usize, bias: usize, packed: usize): void {
  const stride = (channels + 3) & ~3;
  const taps = kh * kw;
  for (let tap = 0; tap < taps; tap++) {
    for (let c = 0; c < stride; c++) {
      const value: f32 = c < channels ? load<f32>(weights + (<usize>(c * taps + tap) << 2)) : 0;
      store<f32>(packed + (<usize>(tap * stride + c) << 2), value);
    }
  }
  for (let c = 0; c < stride; c++) {
    store<f32>(packed + (<usize>(taps * stride + c) << 2), bias != 0 && c < channels ? load<f32>(bias + (<usize>c << 2)) : 0);
  }
}

/** First tap index t in [0, taps) with 0 <= origin + t * dilation, or taps. */
@inline function firstTapInside(origin: i32, dilation: i32, taps: i32): i32 {
  let t = 0;
  while (t < taps && origin + t * dilation < 0) t++;
  return t;
}

/** One past the last tap index t in [first, taps) with origin + t * dilation < size. */
@inline function endTapInside(origin: i32, dilation: i32, taps: i32, size: i32, first: i32): i32 {
  let t = taps;
  while (t > first && origin + (t - 1) * dilation >= size) t--;
  return t;
}

/**
 * The window sum of dwPixelChecked for `groups` (1 or 4, a constant once inlined) groups of 4 channels from
 * `lane`: four groups keep four independent sums, since one sum's chain of multiply-adds would wait on each
 * add's latency; one group stores its first `count` channels.
 */
@inline function dwWindowGroups(
  firstInput: usize, firstWeight: usize, biasAt: usize, lane: usize, ky0: i32, ky1: i32, kx0: i32, kx1: i32,
  rowStep: usize, colStep: usize, tapBytes: usize, rowTaps: usize, groups: i32, y: usize, count: i32, vlow: v128, vhigh: v128,
): void {
  let acc0 = v128.load(biasAt + lane);
  let acc1 = groups > 1 ? v128.load(biasAt + lane, 16) : acc0;
  let acc2 = groups > 1 ? v128.load(biasAt + lane, 32) : acc0;
  let acc3 = groups > 1 ? v128.load(biasAt + lane, 48) : acc0;
  let inputRow = firstInput + lane;
  let weightRow = firstWeight + lane;
  for (let ky = ky0; ky < ky1; ky++) {
    let input = inputRow;
    let weight = weightRow;
    for (let kx = kx0; kx < kx1; kx++) {
      acc0 = madd(v128.load(input), v128.load(weight), acc0);
      if (groups > 1) {
        acc1 = madd(v128.load(input, 16), v128.load(weight, 16), acc1);
        acc2 = madd(v128.load(input, 32), v128.load(weight, 32), acc2);
        acc3 = madd(v128.load(input, 48), v128.load(weight, 48), acc3);
      }
      input += colStep;
      weight += tapBytes;
    }
    inputRow += rowStep;
    weightRow += rowTaps;
  }
  const out = y + lane;
  if (groups > 1) {
    v128.store(out, clamp(acc0, vlow, vhigh));
    v128.store(out, clamp(acc1, vlow, vhigh), 16);
    v128.store(out, clamp(acc2, vlow, vhigh), 32);
    v128.store(out, clamp(acc3, vlow, vhigh), 48);
  } else {
    storeChannels(out, clamp(acc0, vlow, vhigh), count);
  }
}

/**
 * One output pixel of the depthwise convolution at borders and for general windows: the taps inside X are
 * found once per pixel, then the sub-window is summed with pointers stepped, no per-tap checks, 16 channels
 * at a time, then the channels left 4 at a time.
 */
function dwPixelChecked(
  x: usize, h: i32, w: i32, channels: i32, kh: i32, kw: i32, dilationH: i32, dilationW: i32,
  iy0: i32, ix0: i32, packed: usize, y: usize, vlow: v128, vhigh: v128,
): void {
  const tapBytes = <usize>((channels + 3) & ~3) << 2;
  const biasAt = packed + <usize>(kh * kw) * tapBytes;
  const ky0 = firstTapInside(iy0, dilationH, kh);
  const ky1 = endTapInside(iy0, dilationH, kh, h, ky0);
  const kx0 = firstTapInside(ix0, dilationW, kw);
  const kx1 = endTapInside(ix0, dilationW, kw, w, kx0);
  const pixel = <usize>channels << 2;
  const rowStep = <usize>(dilationH * w) * pixel;
  const colStep = <usize>dilationW * pixel;
  const inside = ky0 < ky1 && kx0 < kx1;
  const firstInput = inside ? x + <usize>((iy0 + ky0 * dilationH) * w + ix0 + kx0 * dilationW) * pixel : x;
  const firstWeight = packed + <usize>(ky0 * kw + kx0) * tapBytes;
  const rowTaps = <usize>kw * tapBytes;
  let c = 0;
  for (; c + 16 <= channels; c += 16) {
    dwWindowGroups(firstInput, firstWeight, biasAt, <usize>c << 2, ky0, ky1, kx0, kx1, rowStep, colStep, tapBytes, rowTaps, 4, y, 16, vlow, vhigh);
  }
  for (; c < channels; c += 4) {
    dwWindowGroups(firstInput, firstWeight, biasAt, <usize>c << 2, ky0, ky1, kx0, kx1, rowStep, colStep, tapBytes, rowTaps, 1, y, channels - c, vlow, vhigh);
  }
}

/** One 3x3 output pixel of 4 channels: bias plus the 9 taps at rows i0, i1, i2 (pixel stride `pixel` bytes). */
@inline function dw3x3Pixel(
  i0: usize, i1: usize, i2: usize, pixel: usize, bias: v128,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
): v128 {
  let acc = madd(v128.load(i0), w0, bias);
  acc = madd(v128.load(i0 + pixel), w1, acc);
  acc = madd(v128.load(i0 + 2 * pixel), w2, acc);
  acc = madd(v128.load(i1), w3, acc);
  acc = madd(v128.load(i1 + pixel), w4, acc);
  acc = madd(v128.load(i1 + 2 * pixel), w5, acc);
  acc = madd(v128.load(i2), w6, acc);
  acc = madd(v128.load(i2 + pixel), w7, acc);
  return madd(v128.load(i2 + 2 * pixel), w8, acc);
}

/**
 * One input row's three taps of a 3x3 window starting at `row`, added to `acc`. A stride-1 pair of outputs
 * keeps two independent sums (the right window starts one pixel later), so no load waits on a store.
 */
@inline function dw3x3Row(row: usize, pixel: usize, wa: v128, wb: v128, wc: v128, acc: v128): v128 {
  acc = madd(v128.load(row), wa, acc);
  acc = madd(v128.load(row + pixel), wb, acc);
  return madd(v128.load(row + 2 * pixel), wc, acc);
}

/**
 * One kernel row's pass of the 3x3 depthwise interior over `count` output pixels of 4 channels: y = base +
 * the three taps of `row` (base: `bias` when first, else y's partial sum; clamped when last). Used where a
 * window's top or bottom row lies in the padding; inside, dw3x3FullPass sums all nine taps at once.
 */
@inline function dw3x3RowPass(
  row: usize, pixel: usize, step: usize, y: usize, count: i32, wa: v128, wb: v128, wc: v128,
  bias: v128, first: bool, last: bool, low: v128, high: v128,
): void {
  let input = row;
  let out = y;
  let ox = 0;
  for (; ox + 1 < count; ox += 2) {
    let acc0 = dw3x3Row(input, pixel, wa, wb, wc, first ? bias : v128.load(out));
    let acc1 = dw3x3Row(input + step, pixel, wa, wb, wc, first ? bias : v128.load(out + pixel));
    if (last) {
      acc0 = clamp(acc0, low, high);
      acc1 = clamp(acc1, low, high);
    }
    v128.store(out, acc0);
    v128.store(out + pixel, acc1);
    input += 2 * step;
    out += 2 * pixel;
  }
  if (ox < count) {
    const acc = dw3x3Row(input, pixel, wa, wb, wc, first ? bias : v128.load(out));
    v128.store(out, last ? clamp(acc, low, high) : acc);
  }
}

/**
 * All nine taps of a 3x3 window over `count` output pixels of 4 channels in one pass: y = clamp(bias + taps of
 * rows i0, i1, i2), the nine weight vectors held in registers, two pixels a step. Stride 1 loads each input
 * pixel of a row once for both windows (the right one starts a pixel later).
 */
@inline function dw3x3FullPass(
  i0: usize, i1: usize, i2: usize, pixel: usize, step: usize, y: usize, count: i32, w: usize, tap: usize,
  bias: v128, low: v128, high: v128,
): void {
  const w0 = v128.load(w);
  const w1 = v128.load(w + tap);
  const w2 = v128.load(w + 2 * tap);
  const w3 = v128.load(w + 3 * tap);
  const w4 = v128.load(w + 4 * tap);
  const w5 = v128.load(w + 5 * tap);
  const w6 = v128.load(w + 6 * tap);
  const w7 = v128.load(w + 7 * tap);
  const w8 = v128.load(w + 8 * tap);
  let out = y;
  let ox = 0;
  if (step == pixel) {
    for (; ox + 1 < count; ox += 2) {
      let q1 = v128.load(i0 + pixel);
      let q2 = v128.load(i0 + 2 * pixel);
      let a0 = madd(q2, w2, madd(q1, w1, madd(v128.load(i0), w0, bias)));
      let a1 = madd(v128.load(i0 + 3 * pixel), w2, madd(q2, w1, madd(q1, w0, bias)));
      q1 = v128.load(i1 + pixel);
      q2 = v128.load(i1 + 2 * pixel);
      a0 = madd(q2, w5, madd(q1, w4, madd(v128.load(i1), w3, a0)));
      a1 = madd(v128.load(i1 + 3 * pixel), w5, madd(q2, w4, madd(q1, w3, a1)));
      q1 = v128.load(i2 + pixel);
      q2 = v128.load(i2 + 2 * pixel);
      a0 = madd(q2, w8, madd(q1, w7, madd(v128.load(i2), w6, a0)));
      a1 = madd(v128.load(i2 + 3 * pixel), w8, madd(q2, w7, madd(q1, w6, a1)));
      v128.store(out, clamp(a0, low, high));
      v128.store(out + pixel, clamp(a1, low, high));
      i0 += 2 * pixel;
      i1 += 2 * pixel;
      i2 += 2 * pixel;
      out += 2 * pixel;
    }
  } else {
    for (; ox + 1 < count; ox += 2) {
      let a0 = madd(v128.load(i0 + 2 * pixel), w2, madd(v128.load(i0 + pixel), w1, madd(v128.load(i0), w0, bias)));
      let a1 = madd(v128.load(i0 + step + 2 * pixel), w2, madd(v128.load(i0 + step + pixel), w1, madd(v128.load(i0 + step), w0, bias)));
      a0 = madd(v128.load(i1 + 2 * pixel), w5, madd(v128.load(i1 + pixel), w4, madd(v128.load(i1), w3, a0)));
      a1 = madd(v128.load(i1 + step + 2 * pixel), w5, madd(v128.load(i1 + step + pixel), w4, madd(v128.load(i1 + step), w3, a1)));
      a0 = madd(v128.load(i2 + 2 * pixel), w8, madd(v128.load(i2 + pixel), w7, madd(v128.load(i2), w6, a0)));
      a1 = madd(v128.load(i2 + step + 2 * pixel), w8, madd(v128.load(i2 + step + pixel), w7, madd(v128.load(i2 + step), w6, a1)));
      v128.store(out, clamp(a0, low, high));
      v128.store(out + pixel, clamp(a1, low, high));
      i0 += 2 * step;
      i1 += 2 * step;
      i2 += 2 * step;
      out += 2 * pixel;
    }
  }
  if (ox < count) v128.store(out, clamp(dw3x3Pixel(i0, i1, i2, pixel, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8), low, high));
}

/** Bytes of input rows a chunk of the depthwise interior reads (see dw3x3Interior). */
const DW_CHUNK_BYTES: usize = 24 << 10;

/**
 * Depthwise 3x3, dilation 1, over output columns [first, end) of one output row whose windows need no
 * column check, with kernel rows [kyBegin, kyBegin + rows) inside X (the others are in the padding), the
 * first of them at `row0`, the next `rowBytes` on: per chunk of columns and 4 channels, one pass with all
 * nine taps when the three rows are inside (dw3x3FullPass), else one pass per kernel row inside
 * (dw3x3RowPass, the top and bottom rows of a padded layer). The last channels (fewer than 4, only when all
 * three rows are inside) a pixel at a time.
 */
function dw3x3Interior(
  row0: usize, rowBytes: usize, kyBegin: i32, rows: i32, channels: i32, strideW: i32, padLeft: i32,
  first: i32, end: i32, packed: usize, yRow: usize, vlow: v128, vhigh: v128,
): void {
  const stride = (channels + 3) & ~3;
  const pixel = <usize>channels << 2;
  const step = pixel * <usize>strideW;
  const tap = <usize>stride << 2;
  const count = end - first;
  const start = <usize>(first * strideW - padLeft) * pixel;
  const yStart = yRow + <usize>first * pixel;
  const whole = channels & ~3;
  const row1 = row0 + rowBytes;
  const row2 = row1 + rowBytes;
  // Output columns in chunks whose input rows stay in L1 while every group of 4 channels passes over them
  // (a pass reads 16 bytes of each pixel; a whole row of a wide layer would leave L1 before the next group).
  const chunk = max(16, <i32>(DW_CHUNK_BYTES / (3 * step)) & ~1);
  for (let chunkFirst = 0; chunkFirst < count; chunkFirst += chunk) {
    const chunkCount = min(chunk, count - chunkFirst);
    for (let c = 0; c < whole; c += 4) {
      const lane = <usize>c << 2;
      const w = packed + lane + <usize>(3 * kyBegin) * tap;
      const bias = v128.load(packed + lane + 9 * tap);
      const at = start + lane + <usize>chunkFirst * step;
      const out = yStart + lane + <usize>chunkFirst * pixel;
      if (rows == 3) {
        dw3x3FullPass(row0 + at, row1 + at, row2 + at, pixel, step, out, chunkCount, w, tap, bias, vlow, vhigh);
      } else if (rows == 2) {
        dw3x3RowPass(row0 + at, pixel, step, out, chunkCount, v128.load(w), v128.load(w + tap), v128.load(w + 2 * tap), bias, true, false, vlow, vhigh);
        dw3x3RowPass(row1 + at, pixel, step, out, chunkCount, v128.load(w + 3 * tap), v128.load(w + 4 * tap), v128.load(w + 5 * tap), bias, false, true, vlow, vhigh);
      } else {
        dw3x3RowPass(row0 + at, pixel, step, out, chunkCount, v128.load(w), v128.load(w + tap), v128.load(w + 2 * tap), bias, true, true, vlow, vhigh);
      }
    }
  }
  if (whole < channels) {
    const lane = <usize>whole << 2;
    const w = packed + lane;
    let i0 = row0 + start + lane;
    let i1 = row1 + start + lane;
    let i2 = row2 + start + lane;
    let out = yStart + lane;
    for (let ox = first; ox < end; ox++) {
      const acc = dw3x3Pixel(
        i0, i1, i2, pixel, v128.load(w + 9 * tap), v128.load(w), v128.load(w + tap), v128.load(w + 2 * tap),
        v128.load(w + 3 * tap), v128.load(w + 4 * tap), v128.load(w + 5 * tap), v128.load(w + 6 * tap), v128.load(w + 7 * tap), v128.load(w + 8 * tap),
      );
      storeLanes(out, clamp(acc, vlow, vhigh), channels - whole);
      i0 += step;
      i1 += step;
      i2 += step;
      out += pixel;
    }
  }
}

/**
 * Depthwise convolution of X [h, w, channels] into Y [oh, ow, channels] with weights packed by
 * f32_dwconv_pack, clamped to [low, high]. 3x3 windows with dilation 1 take the register-blocked path
 * on every pixel whose window lies inside X; every other pixel is bounds-checked tap by tap.
 */
export function f32_dwconv_minmax_nhwc(
  x: usize, h: i32, w: i32, channels: i32, kh: i32, kw: i32,
  strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, padTop: i32, padLeft: i32,
  oh: i32, ow: i32, packed: usize, y: usize, low: f32, high: f32,
): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  const pixel = <usize>channels << 2;
  const fast = kh == 3 && kw == 3 && dilationH == 1 && dilationW == 1;
  // Output columns whose window lies inside X horizontally: [interiorStart, interiorEnd).
  const interiorStart = min(ow, (padLeft + strideW - 1) / strideW);
  const lastStart = w - 1 - (kw - 1) * dilationW + padLeft;
  const interiorEnd = lastStart < 0 ? interiorStart : max(interiorStart, min(ow, lastStart / strideW + 1));
  for (let oy = 0; oy < oh; oy++) {
    const iy0 = oy * strideH - padTop;
    const yRow = y + <usize>(oy * ow) * pixel;
    // Kernel rows [kyBegin, kyEnd) fall inside X; rows in the padding are skipped (channels in fours only).
    const kyBegin = firstTapInside(iy0, 1, 3);
    const kyEnd = endTapInside(iy0, 1, 3, h, kyBegin);
    const rows = kyEnd - kyBegin;
    if (fast && rows > 0 && (rows == 3 || (channels & 3) == 0)) {
      const row0 = x + <usize>((iy0 + kyBegin) * w) * pixel;
      dw3x3Interior(row0, <usize>w * pixel, kyBegin, rows, channels, strideW, padLeft, interiorStart, interiorEnd, packed, yRow, vlow, vhigh);
      for (let ox = 0; ox < interiorStart; ox++) {
        dwPixelChecked(x, h, w, channels, kh, kw, dilationH, dilationW, iy0, ox * strideW - padLeft, packed, yRow + <usize>ox * pixel, vlow, vhigh);
      }
      for (let ox = interiorEnd; ox < ow; ox++) {
        dwPixelChecked(x, h, w, channels, kh, kw, dilationH, dilationW, iy0, ox * strideW - padLeft, packed, yRow + <usize>ox * pixel, vlow, vhigh);
      }
    } else {
      for (let ox = 0; ox < ow; ox++) {
        dwPixelChecked(x, h, w, channels, kh, kw, dilationH, dilationW, iy0, ox * strideW - padLeft, packed, yRow + <usize>ox * pixel, vlow, vhigh);
      }
    }
  }
}

/**
 * Scalar transpose of the block [r0, r1) x [c0, c1) of src [rows, cols] into dst [cols, rows], a column of
 * src (a row of dst) at a time so the writes are consecutive.
 */
function transposeEdge(src: usize, rows: i32, cols: i32, dst: usize, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const srcRow = <usize>cols << 2;
  for (let c = c0; c < c1; c++) {
    let from = src + (<usize>(r0 * cols + c) << 2);
    let to = dst + (<usize>(c * rows + r0) << 2);
    const end = to + (<usize>(r1 - r0) << 2);
    for (; to < end; to += 4) {
      store<f32>(to, load<f32>(from));
      from += srcRow;
    }
  }
}

/**
 * dst [cols, rows] = transpose of src [rows, cols] (NCHW <-> NHWC per image): 4 x 4 blocks transposed in
 * registers with shuffles, the edges left by rows and cols not multiples of 4 element by element.
 */
export function f32_transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  const fullRows = rows & ~3;
  const fullCols = cols & ~3;
  const srcRow = <usize>cols << 2;
  const dstRow = <usize>rows << 2;
  if (rows == 3) {
    // Three planes (an RGB image into NHWC): 4 pixels of each interleaved by shuffles into 3 vectors.
    let from = src;
    let to = dst;
    for (let c = 0; c < fullCols; c += 4) {
      const x = v128.load(from);
      const y = v128.load(from + srcRow);
      const z = v128.load(from + 2 * srcRow);
      const xy0 = v128.shuffle<i32>(x, y, 0, 4, 1, 5);
      const xy1 = v128.shuffle<i32>(x, y, 2, 6, 3, 7);
      v128.store(to, v128.shuffle<i32>(xy0, z, 0, 1, 4, 2));
      v128.store(to, v128.shuffle<i32>(v128.shuffle<i32>(xy0, z, 3, 5, 3, 5), xy1, 0, 1, 4, 5), 16);
      v128.store(to, v128.shuffle<i32>(xy1, z, 6, 2, 3, 7), 32);
      from += 16;
      to += 48;
    }
    transposeEdge(src, rows, cols, dst, 0, rows, fullCols, cols);
    return;
  }
  for (let r = 0; r < fullRows; r += 4) {
    let from = src + <usize>(r * cols) * 4;
    let to = dst + (<usize>r << 2);
    for (let c = 0; c < fullCols; c += 4) {
      transpose4x4(from, srcRow, to, dstRow);
      from += 16;
      to += 4 * dstRow;
    }
  }
  transposeEdge(src, rows, cols, dst, 0, fullRows, fullCols, cols);
  transposeEdge(src, rows, cols, dst, fullRows, rows, 0, cols);
}
