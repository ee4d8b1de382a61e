// Winograd F(4x4, 3x3) for dense 3x3 stride-1 convolutions over NHWC (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015). Y = A^T [(G g G^T) . (B^T d B)] A per 6x6 input tile d giving a
// 4x4 output tile: the input and output transforms are here, the 36 element-wise products over channels
// are 36 matrix products (the GEMM kernel), the weights G g G^T are transformed once at prepare.
// Transformed tiles are laid out [36][tiles][channels]: matrix xi is the A (or C) of product xi.
import { clamp, storeLanes } from './simd';

/**
 * Bytes of work space the transforms need: the input's, a zero-padded 6x6 tile of `channels` then 36
 * vectors of one tile's sums; the output's (28 vectors) fits in it.
 */
export function f32_winograd_scratch_size(channels: i32): i32 {
  return 36 * (((channels + 3) & ~3) << 2) + 36 * 16;
}

/**
 * 1 when the `count` floats at x are all finite, else 0. The transforms add and subtract neighbouring
 * inputs, so one NaN or infinity would spread to a whole tile (inf - inf = NaN); such inputs take the
 * direct path, which keeps the reference's NaN and infinities.
 */
export function f32_all_finite(x: usize, count: i32): bool {
  // v - v is 0 for a finite v and NaN for an infinity or NaN; the sum of those stays 0 or turns NaN.
  let sum = f32x4.splat(0);
  const vectorEnd = x + (<usize>(count & ~3) << 2);
  for (let at = x; at < vectorEnd; at += 16) {
    const value = v128.load(at);
    sum = f32x4.add(sum, f32x4.sub(value, value));
  }
  let tail: f32 = 0;
  for (let at = vectorEnd; at < x + (<usize>count << 2); at += 4) tail += load<f32>(at) - load<f32>(at);
  return !v128.any_true(f32x4.ne(sum, sum)) && tail == tail;
}

@inline function storeVector(ptr: usize, value: v128, lanes: i32): void {
  if (lanes >= 4) v128.store(ptr, value);
  else storeLanes(ptr, value, lanes);
}

/**
 * B^T d of the 6 vectors at src + k * stride, stored at dst + k * dstStride (the first `lanes` lanes):
 * the rows of B^T are [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0], [0 2 -1 -2 1 0],
 * [0 4 0 -5 0 1].
 */
@inline function inputTransform6(src: usize, stride: usize, dst: usize, dstStride: usize, lanes: i32): void {
  const d0 = v128.load(src);
  const d1 = v128.load(src + stride);
  const d2 = v128.load(src + 2 * stride);
  const d3 = v128.load(src + 3 * stride);
  const d4 = v128.load(src + 4 * stride);
  const d5 = v128.load(src + 5 * stride);
  const four = f32x4.splat(4);
  const five = f32x4.splat(5);
  const two = f32x4.splat(2);
  // 4 d0 - 5 d2 + d4
  storeVector(dst, f32x4.add(f32x4.sub(f32x4.mul(d0, four), f32x4.mul(d2, five)), d4), lanes);
  // -4 (d1 + d2) + d3 + d4 and 4 (d1 - d2) - d3 + d4
  const d34 = f32x4.add(d3, d4);
  const d12 = f32x4.mul(f32x4.add(d1, d2), four);
  storeVector(dst + dstStride, f32x4.sub(d34, d12), lanes);
  const d43 = f32x4.sub(d4, d3);
  const d1m2 = f32x4.mul(f32x4.sub(d1, d2), four);
  storeVector(dst + 2 * dstStride, f32x4.add(d43, d1m2), lanes);
  // 2 (d3 - d1) + d4 - d2 and 2 (d1 - d3) + d4 - d2
  const d42 = f32x4.sub(d4, d2);
  const d31 = f32x4.mul(f32x4.sub(d3, d1), two);
  storeVector(dst + 3 * dstStride, f32x4.add(d42, d31), lanes);
  storeVector(dst + 4 * dstStride, f32x4.sub(d42, d31), lanes);
  // 4 d1 - 5 d3 + d5
  storeVector(dst + 5 * dstStride, f32x4.add(f32x4.sub(f32x4.mul(d1, four), f32x4.mul(d3, five)), d5), lanes);
}

/**
 * The transformed input tiles of X [h, w, channels] for tile rows [tileRow, tileRow + tileRows) of
 * `tilesW` tiles each (tile (ty, tx) reads X from row 4 ty - padTop, column 4 tx - padLeft, zeros outside
 * X) into v [36][tileRows * tilesW][channels], matrices `matrixBytes` apart. Tiles that reach outside X are first copied into the
 * zero-padded scratch; the others are read in place.
 */
export function f32_winograd_input_4x4_3x3(
  x: usize, h: i32, w: i32, channels: i32, padTop: i32, padLeft: i32,
  tileRow: i32, tileRows: i32, tilesW: i32, v: usize, matrixBytes: usize, scratch: usize,
): void {
  const pixel = <usize>channels << 2;
  const tiles = tileRows * tilesW;
  const padded = scratch;
  const paddedPixel = <usize>((channels + 3) & ~3) << 2;
  const sums = scratch + 36 * paddedPixel;
  for (let t = 0; t < tiles; t++) {
    const ty = tileRow + t / tilesW;
    const tx = t % tilesW;
    const iy0 = ty * 4 - padTop;
    const ix0 = tx * 4 - padLeft;
    let src: usize;
    let rowStride: usize;
    let colStride: usize;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= h && ix0 + 6 <= w) {
      src = x + <usize>(iy0 * w + ix0) * pixel;
      rowStride = <usize>w * pixel;
      colStride = pixel;
    } else {
      for (let r = 0; r < 6; r++) {
        for (let col = 0; col < 6; col++) {
          const at = padded + <usize>(r * 6 + col) * paddedPixel;
          const iy = iy0 + r;
          const ix = ix0 + col;
          // Whole vectors (the tail lanes past `channels` are never stored); memory.copy is a call in V8.
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            const from = x + <usize>(iy * w + ix) * pixel;
            for (let offset: usize = 0; offset < paddedPixel; offset += 16) v128.store(at + offset, v128.load(from + offset));
          } else {
            for (let offset: usize = 0; offset < paddedPixel; offset += 16) v128.store(at + offset, v128.splat<i32>(0));
          }
        }
      }
      src = padded;
      rowStride = 6 * paddedPixel;
      colStride = paddedPixel;
    }
    const out = v + <usize>t * pixel;
    for (let c = 0; c < channels; c += 4) {
      const lane = <usize>c << 2;
      // Rows: sums[r][k] = (d B)[r][k]; then columns: v[r][k] = (B^T sums)[r][k].
      for (let r = 0; r < 6; r++) inputTransform6(src + lane + <usize>r * rowStride, colStride, sums + <usize>(r * 6) * 16, 16, 4);
      for (let k = 0; k < 6; k++) inputTransform6(sums + <usize>k * 16, 96, out + lane + <usize>k * matrixBytes, 6 * matrixBytes, channels - c);
    }
  }
}

/**
 * A^T m of the 6 vectors at src + k * stride as 4 vectors at dst + k * 16: the rows of A^T are
 * [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
 */
@inline function outputRows(src: usize, stride: usize, dst: usize): void {
  const m0 = v128.load(src);
  const m1 = v128.load(src + stride);
  const m2 = v128.load(src + 2 * stride);
  const m3 = v128.load(src + 3 * stride);
  const m4 = v128.load(src + 4 * stride);
  const m5 = v128.load(src + 5 * stride);
  const sum12 = f32x4.add(m1, m2);
  const diff12 = f32x4.sub(m1, m2);
  const sum34 = f32x4.add(m3, m4);
  const diff34 = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, sum12), sum34));
  v128.store(dst, f32x4.add(diff12, f32x4.mul(diff34, f32x4.splat(2))), 16);
  v128.store(dst, f32x4.add(sum12, f32x4.mul(sum34, f32x4.splat(4))), 32);
  v128.store(dst, f32x4.add(f32x4.add(diff12, f32x4.mul(diff34, f32x4.splat(8))), m5), 48);
}

/**
 * The whole column of an output tile: clamp(A^T m + bias) of the 6 vectors at src + k * 64, stored at
 * dst + r * rowStride for the 4 rows r (the interior form of outputRows, no round trip through memory).
 */
@inline function outputColumn(src: usize, dst: usize, rowStride: usize, bias: v128, low: v128, high: v128): void {
  const m0 = v128.load(src);
  const m1 = v128.load(src, 64);
  const m2 = v128.load(src, 128);
  const m3 = v128.load(src, 192);
  const m4 = v128.load(src, 256);
  const m5 = v128.load(src, 320);
  const sum12 = f32x4.add(m1, m2);
  const diff12 = f32x4.sub(m1, m2);
  const sum34 = f32x4.add(m3, m4);
  const diff34 = f32x4.sub(m3, m4);
  v128.store(dst, clamp(f32x4.add(f32x4.add(f32x4.add(m0, sum12), sum34), bias), low, high));
  v128.store(dst + rowStride, clamp(f32x4.add(f32x4.add(diff12, f32x4.mul(diff34, f32x4.splat(2))), bias), low, high));
  v128.store(dst + 2 * rowStride, clamp(f32x4.add(f32x4.add(sum12, f32x4.mul(sum34, f32x4.splat(4))), bias), low, high));
  v128.store(dst + 3 * rowStride, clamp(f32x4.add(f32x4.add(f32x4.add(diff12, f32x4.mul(diff34, f32x4.splat(8))), m5), bias), low, high));
}

/**
 * Y [oh, ow, outChannels] (the output pixels of tile rows [tileRow, tileRow + tileRows), `tilesW` tiles
 * each, that fall inside Y) = clamp(A^T m A + bias, low, high) from the 36 products
 * m [36][tileRows * tilesW][outChannels] (matrices `matrixBytes` apart); `bias` holds outChannels values rounded up to 4.
 * Y's pixels are `yPixel` floats apart (outChannels, or more when Y is a channel slice of a Concat's output).
 */
export function f32_winograd_output_4x4_3x3(
  m: usize, matrixBytes: usize, tileRow: i32, tileRows: i32, tilesW: i32, outChannels: i32, bias: usize,
  oh: i32, ow: i32, y: usize, yPixel: i32, low: f32, high: f32, scratch: usize,
): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  const pixel = <usize>outChannels << 2;
  const outPixel = <usize>yPixel << 2;
  const tiles = tileRows * tilesW;
  const sums = scratch;
  for (let t = 0; t < tiles; t++) {
    const oy0 = (tileRow + t / tilesW) * 4;
    const ox0 = (t % tilesW) * 4;
    const rows = min(4, oh - oy0);
    const cols = min(4, ow - ox0);
    const at = m + <usize>t * pixel;
    const out = y + <usize>(oy0 * ow + ox0) * outPixel;
    for (let c = 0; c < outChannels; c += 4) {
      const lane = <usize>c << 2;
      const lanes = outChannels - c;
      const b = v128.load(bias + lane);
      // Rows: sums[r][k] = (m A)[r][k] for the 6 rows; then columns: y[r][k] = (A^T sums)[r][k].
      for (let r = 0; r < 6; r++) outputRows(at + lane + <usize>(r * 6) * matrixBytes, matrixBytes, sums + <usize>(r * 4) * 16);
      if (rows == 4 && lanes >= 4) {
        for (let k = 0; k < cols; k++) outputColumn(sums + <usize>k * 16, out + lane + <usize>k * outPixel, <usize>ow * outPixel, b, vlow, vhigh);
      } else {
        for (let k = 0; k < cols; k++) {
          outputRows(sums + <usize>k * 16, 64, sums + 6 * 64);
          for (let r = 0; r < rows; r++) {
            const value = f32x4.add(v128.load(sums + 6 * 64 + <usize>r * 16), b);
            storeVector(out + lane + <usize>(r * ow + k) * outPixel, clamp(value, vlow, vhigh), lanes);
          }
        }
      }
    }
  }
}
