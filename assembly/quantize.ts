// Conversions between float32 and 8-bit integers, and the requantization of int32 accumulators:
//   quantize    y = saturate(roundHalfEven(x / scale) + zeroPoint), NaN -> 0 (as a NaN stored into an integer)
//   dequantize  y = (x - zeroPoint) * scale
//   requantize  ONNX / onnxruntime: y = saturate(roundHalfEven(f32(acc) * multiplier) + zeroPoint), float32 math
//               TFLite (fixed point, XNNPACK 'rndnu'): y = saturate(((acc * multiplier + 2^(s-1)) >> s) + zeroPoint),
//               s = 31 - shift, one rounding (half up) in 64-bit integers
// Scales and zero points are per channel of [outer, channels, inner] (per tensor: channels = 1). Saturation
// clamps in float before rounding: the bounds are integers, so that equals clamping the rounded value.
// NaN (quantize only: an accumulator times a finite multiplier is never NaN) passes the clamp and is masked.
import { storeLanes } from './simd';

/** The low byte of each i32 lane (values already clamped to the 8-bit range, signed or not) in lanes 0-3. */
@inline function lowBytes(value: v128): v128 {
  return i8x16.shuffle(value, value, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12);
}

/** Stores the first `count` (1 to 4) bytes of lanes 0-3 of `bytes`. */
@inline function storeBytes(ptr: usize, bytes: v128, count: i32): void {
  if (count >= 4) v128.store32_lane(ptr, bytes, 0);
  else if (count == 3) {
    v128.store16_lane(ptr, bytes, 0);
    v128.store8_lane(ptr, bytes, 2, 2);
  } else if (count == 2) v128.store16_lane(ptr, bytes, 0);
  else v128.store8_lane(ptr, bytes, 0);
}

/** 1.5 * 2^23: adding it to a float of magnitude below 2^22 rounds it to an integer, half to even, in the low bits. */
const MAGIC: f32 = 12582912;
const MAGIC_BITS: i32 = 0x4b400000;

/**
 * roundHalfEven(clamp(value, low - zeroPoint, high - zeroPoint)) + zeroPoint as i32 lanes, where low and high
 * are the float bounds and `offset` is MAGIC_BITS - zeroPoint: the clamped value (|value| <= 510) plus MAGIC
 * holds the rounded integer in its low mantissa bits, so one integer subtraction converts and adds the zero
 * point (XNNPACK's 'fp32 magic' conversion; pmin / pmax are single instructions where min / max are not).
 */
@inline function saturateRound(value: v128, low: v128, high: v128, offset: v128): v128 {
  const clamped = f32x4.pmin(f32x4.pmax(value, low), high);
  return i32x4.sub(f32x4.add(clamped, f32x4.splat(MAGIC)), offset);
}

/**
 * y (int8 or uint8, by low/high) = x [outer, channels, inner] float32 quantized with scales[channel] (f32)
 * and zeroPoints[channel] (i32).
 */
export function f32_quantize(x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zeroPoints: usize, low: i32, high: i32, y: usize): void {
  let from = x;
  let to = y;
  for (let o = 0; o < outer; o++) {
    for (let channel = 0; channel < channels; channel++) {
      const scale = f32x4.splat(load<f32>(scales + (<usize>channel << 2)));
      const zeroPoint = load<i32>(zeroPoints + (<usize>channel << 2));
      const offset = i32x4.splat(MAGIC_BITS - zeroPoint);
      const vlow = f32x4.splat(<f32>(low - zeroPoint));
      const vhigh = f32x4.splat(<f32>(high - zeroPoint));
      for (let i = 0; i < inner; i += 4) {
        const value = f32x4.div(v128.load(from), scale);
        // NaN lanes compare unequal to themselves: the mask clears them to 0.
        const quantized = v128.and(saturateRound(value, vlow, vhigh, offset), f32x4.eq(value, value));
        storeBytes(to, lowBytes(quantized), inner - i);
        from += 16;
        to += 4;
      }
      // The last group may have run past the channel's end: step back to its true end.
      const overshoot = <usize>((4 - (inner & 3)) & 3);
      from -= overshoot << 2;
      to -= overshoot;
    }
  }
}

@inline function dequantize(signed: bool, x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zeroPoints: usize, y: usize): void {
  let from = x;
  let to = y;
  for (let o = 0; o < outer; o++) {
    for (let channel = 0; channel < channels; channel++) {
      const scale = f32x4.splat(load<f32>(scales + (<usize>channel << 2)));
      const zeroPoint = i32x4.splat(load<i32>(zeroPoints + (<usize>channel << 2)));
      for (let i = 0; i < inner; i += 4) {
        const bytes = v128.load32_zero(from);
        const wide = signed ? i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(bytes)) : i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(bytes));
        const value = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(wide, zeroPoint)), scale);
        const rest = inner - i;
        if (rest >= 4) v128.store(to, value);
        else storeLanes(to, value, rest);
        from += 4;
        to += 16;
      }
      const overshoot = <usize>((4 - (inner & 3)) & 3);
      from -= overshoot;
      to -= overshoot << 2;
    }
  }
}

/** y float32 = (x [outer, channels, inner] int8 - zeroPoints[channel] (i32)) * scales[channel] (f32). */
export function s8_dequantize(x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zeroPoints: usize, y: usize): void {
  dequantize(true, x, outer, channels, inner, scales, zeroPoints, y);
}

/** s8_dequantize for uint8 x. */
export function u8_dequantize(x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zeroPoints: usize, y: usize): void {
  dequantize(false, x, outer, channels, inner, scales, zeroPoints, y);
}

/**
 * y [rows, cols] 8-bit (row stride ldy bytes) = acc [rows, cols] int32 (row stride ldAcc elements)
 * requantized the ONNX way with multipliers[col] (f32, one per column, padded with zeros to a multiple of 4).
 */
export function qs32_requantize_fp32(acc: usize, rows: i32, cols: i32, ldAcc: i32, multipliers: usize, zeroPoint: i32, low: i32, high: i32, y: usize, ldy: i32): void {
  const offset = i32x4.splat(MAGIC_BITS - zeroPoint);
  const vlow = f32x4.splat(<f32>(low - zeroPoint));
  const vhigh = f32x4.splat(<f32>(high - zeroPoint));
  for (let row = 0; row < rows; row++) {
    let from = acc + (<usize>row * ldAcc << 2);
    let to = y + <usize>row * ldy;
    let multiplier = multipliers;
    for (let col = 0; col < cols; col += 4) {
      const value = f32x4.mul(f32x4.convert_i32x4_s(v128.load(from)), v128.load(multiplier));
      storeBytes(to, lowBytes(saturateRound(value, vlow, vhigh, offset)), cols - col);
      from += 16;
      multiplier += 16;
      to += 4;
    }
  }
}

/**
 * qs32_requantize_fp32 in TFLite's fixed-point arithmetic: per column an i32 multiplier (in [0, 2^31)) and
 * shift (in [-31, 30]), as TFLite's QuantizeMultiplier derives them from a float scale.
 */
export function qs32_requantize_rndnu(
  acc: usize, rows: i32, cols: i32, ldAcc: i32, multipliers: usize, shifts: usize, zeroPoint: i32, low: i32, high: i32, y: usize, ldy: i32,
): void {
  for (let row = 0; row < rows; row++) {
    const from = acc + (<usize>row * ldAcc << 2);
    const to = y + <usize>row * ldy;
    for (let col = 0; col < cols; col++) {
      const at = <usize>col << 2;
      const total = <i64>(31 - load<i32>(shifts + at));
      const product = <i64>load<i32>(from + at) * <i64>load<i32>(multipliers + at) + (<i64>1 << (total - 1));
      const value = (product >> total) + <i64>zeroPoint;
      store<u8>(to + <usize>col, <u8>(value < <i64>low ? low : value > <i64>high ? high : <i32>value));
    }
  }
}

/**
 * out[0] = min(0, x...), out[1] = max(0, x...) over `count` float32 (DynamicQuantizeLinear's range); NaN is
 * skipped (pmin / pmax keep the accumulator when the comparison is false).
 */
export function f32_range(x: usize, count: i32, out: usize): void {
  let low = f32x4.splat(0);
  let high = low;
  let ptr = x;
  const end = x + (<usize>(count & ~3) << 2);
  for (; ptr < end; ptr += 16) {
    const value = v128.load(ptr);
    low = f32x4.pmin(low, value);
    high = f32x4.pmax(high, value);
  }
  let lowest: f32 = 0;
  let highest: f32 = 0;
  for (let lane = 0; lane < 4; lane++) {
    const a = f32x4.extract_lane(low, 0);
    const b = f32x4.extract_lane(high, 0);
    if (a < lowest) lowest = a;
    if (b > highest) highest = b;
    low = v128.shuffle<f32>(low, low, 1, 2, 3, 0);
    high = v128.shuffle<f32>(high, high, 1, 2, 3, 0);
  }
  for (; ptr < x + (<usize>count << 2); ptr += 4) {
    const value = load<f32>(ptr);
    if (value < lowest) lowest = value;
    if (value > highest) highest = value;
  }
  store<f32>(out, lowest);
  store<f32>(out, highest, 4);
}
