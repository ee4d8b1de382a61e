// Transcendental functions on f32x4, shared by the kernel files: exp by Cody-Waite range reduction and a
// degree-6 polynomial (Cephes' expf coefficients, within ~1 ulp on the reduced range), and the sigmoid and
// tanh built on it. NaN passes through every step; infinities saturate.

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n * ln 2 with ln 2 split in two for exactness.
const LOG2E: f32 = 1.44269504088896341;
const LN2_HIGH: f32 = 0.693359375;
const LN2_LOW: f32 = -2.12194440e-4;
// Inputs are clamped where 2^n stays a normal float (the results are 0-ish / huge-but-finite there).
const EXP_LOW: f32 = -87.0;
const EXP_HIGH: f32 = 88.0;
/** 1.5 * 2^23: floats of this size have integer spacing. */
const ROUNDING_SHIFT: f32 = 12582912.0;
// Below this |x|, tanh's odd series beats 1 - 2 / (e^2x + 1), which cancels there.
const TANH_SERIES_LIMIT: f32 = 0.4;

/**
 * x bounded to [low, high], NaN passed through. pmax / pmin (a < b ? b : a and b < a ? b : a) are single
 * instructions on x86, where f32x4.min / max take several to propagate NaN; the comparisons are false for
 * a NaN x, which is kept as it is.
 */
@inline export function clampKeepingNaN(x: v128, low: v128, high: v128): v128 {
  return f32x4.pmin(f32x4.pmax(x, low), high);
}

@inline export function exp4(x: v128): v128 {
  const clamped = clampKeepingNaN(x, f32x4.splat(EXP_LOW), f32x4.splat(EXP_HIGH));
  // Adding 1.5 * 2^23 rounds to an integer (ties to even, as f32x4.nearest) and leaves n in the low mantissa
  // bits, from which 2^n is built below without a float-to-integer conversion.
  const shifted = f32x4.add(f32x4.mul(clamped, f32x4.splat(LOG2E)), f32x4.splat(ROUNDING_SHIFT));
  const n = f32x4.sub(shifted, f32x4.splat(ROUNDING_SHIFT));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(LN2_HIGH)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const expR = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n built in the exponent bits: n + 127 (in [1, 254] after the clamp) sits in the low bits of `shifted`,
  // and the shift drops everything above them. A NaN gives some scale, and expR stays NaN.
  const scale = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(expR, scale);
}

@inline export function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

@inline export function tanh4(x: v128): v128 {
  const one = f32x4.splat(1);
  const magnitude = f32x4.abs(x);
  // 1 - 2 / (e^(2|x|) + 1), with x's sign put back.
  const large = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(magnitude, magnitude)), one)));
  const signed = v128.or(large, v128.and(x, i32x4.splat(0x80000000)));
  // Taylor series to x^13 for small |x| (the next term is below 2^-30 there).
  const x2 = f32x4.mul(x, x);
  let series = f32x4.splat(21844.0 / 6081075.0);
  series = f32x4.add(f32x4.mul(series, x2), f32x4.splat(-1382.0 / 155925.0));
  series = f32x4.add(f32x4.mul(series, x2), f32x4.splat(62.0 / 2835.0));
  series = f32x4.add(f32x4.mul(series, x2), f32x4.splat(-17.0 / 315.0));
  series = f32x4.add(f32x4.mul(series, x2), f32x4.splat(2.0 / 15.0));
  series = f32x4.add(f32x4.mul(series, x2), f32x4.splat(-1.0 / 3.0));
  series = f32x4.add(f32x4.mul(f32x4.mul(series, x2), x), x);
  return v128.bitselect(series, signed, f32x4.lt(magnitude, f32x4.splat(TANH_SERIES_LIMIT)));
}
