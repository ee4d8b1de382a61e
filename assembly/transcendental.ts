// Transcendental functions on f32x4, shared by the kernel files: exp by Cody-Waite range reduction and a
// degree-6 polynomial (Cephes' expf coefficients, within ~1 ulp on the reduced range) and the sigmoid built
// on it; tanh and erf as rational functions. NaN passes through every step (f32x4.min/max propagate it);
// infinities saturate.

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n * ln 2 with ln 2 split in two for exactness.
const LOG2E: f32 = 1.44269504088896341;
const LN2_HIGH: f32 = 0.693359375;
const LN2_LOW: f32 = -2.12194440e-4;
// Inputs are clamped where 2^n stays a normal float (huge-but-finite results above); below EXP_LOW the
// result is 0 (see exp4).
const EXP_LOW: f32 = -87.0;
const EXP_HIGH: f32 = 88.0;
// 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer (to nearest, ties to even) and
// leaves that integer in the low mantissa bits, so n comes without a rounding or a conversion instruction.
const ROUNDER: f32 = 12582912.0;
const ROUNDER_BITS: i32 = 0x4b400000;

@inline export function exp4(x: v128): v128 {
  // pmax / pmin are one instruction each; with x first, a NaN x passes through both (the comparisons fail).
  const clamped = f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LOW)), f32x4.splat(EXP_HIGH));
  const rounded = f32x4.add(f32x4.mul(clamped, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(rounded, f32x4.splat(ROUNDER));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(LN2_HIGH)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const expR = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n built in the exponent bits from n's integer bits; n is in [-126, 127] after the clamp (a NaN
  // lane's garbage scale does not matter: expR is NaN there).
  const scale = i32x4.shl(i32x4.add(rounded, i32x4.splat(127 - ROUNDER_BITS)), 23);
  // Below EXP_LOW, e^x is subnormal or 0: it is 0 here, as XNNPACK flushes it. A softmax over masked
  // positions (x - max near -1e4) then gives exact zeros, where a tiny normal divided by the sum would be
  // subnormal, and a product with subnormals costs a microcode assist per operation on Intel cores (10x
  // slower attention on one measured host).
  return v128.andnot(f32x4.mul(expR, scale), f32x4.lt(x, f32x4.splat(EXP_LOW)));
}

@inline export function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// tanh(x) = x P(x^2) / Q(x^2), fitted like erf below (scripts/fit-rational.py: relative error 6.4e-8 in exact
// arithmetic on [0, 9]); past |x| = 9 tanh rounds to +-1 in float32. P and Q run side by side and no exp is
// needed: in an LSTM cell (two tanh a unit) this replaced 1 - 2 / (e^2x + 1), with a Taylor series near 0,
// whose exp and select sat on the critical path (an LSTM layer of 128 units 10 % faster).
const TANH_LIMIT: f32 = 9.0;

@inline export function tanh4(x: v128): v128 {
  const clamped = clampOdd(x, TANH_LIMIT);
  const t = f32x4.mul(clamped, clamped);
  let p = f32x4.splat(1.84162045399e-11);
  p = poly(p, t, -1.28553988234e-8);
  p = poly(p, t, 9.29662835015e-6);
  p = poly(p, t, 2.92433478284e-3);
  p = poly(p, t, 1.29227116395e-1);
  p = poly(p, t, 9.99999978038e-1);
  let q = f32x4.splat(2.2857103880e-4);
  q = poly(q, t, 2.37782615105e-2);
  q = poly(q, t, 4.62560100720e-1);
  return ratioOrUnit(x, clamped, p, poly(q, t, 1.0), TANH_LIMIT);
}

// erf(x / sqrt 2) = x P(x^2) / Q(x^2), a rational fit made for this project (scripts/fit-rational.py: least squares on 400
// Chebyshev nodes of [0, 5.6], iterated to a relative error of 2.5e-8 in exact arithmetic; up to 6 ulps in
// float arithmetic). Past |x| = 5.6 erf rounds to +-1 in float32. One division instead of
// the exp a polynomial-and-exp erf needs: Gelu (erf of x / sqrt 2) runs 2-3x faster.
const ERF_SCALED_LIMIT: f32 = 5.6;
const SQRT2: f32 = 1.41421356237309505;

@inline function poly(p: v128, x: v128, c: f32): v128 {
  return f32x4.add(f32x4.mul(p, x), f32x4.splat(c));
}

/** x clamped to [-limit, limit]; a NaN passes through (pmin / pmax keep their first operand when it is NaN). */
@inline function clampOdd(x: v128, limit: f32): v128 {
  return f32x4.pmin(f32x4.pmax(x, f32x4.splat(-limit)), f32x4.splat(limit));
}

/**
 * An odd rational function's value: clamped P / Q inside the limit, +-1 (x's sign) past it, where the
 * evaluation lands an ulp short of the exact +-1 (which Gelu would scale by x). NaN fails the limit test.
 */
@inline function ratioOrUnit(x: v128, clamped: v128, p: v128, q: v128, limit: f32): v128 {
  const inside = f32x4.div(f32x4.mul(clamped, p), q);
  const one = v128.or(f32x4.splat(1), v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(one, inside, f32x4.ge(f32x4.abs(x), f32x4.splat(limit)));
}

/** erf(x / sqrt 2); NaN passes through. */
@inline export function erfOfScaled4(x: v128): v128 {
  const clamped = clampOdd(x, ERF_SCALED_LIMIT);
  const t = f32x4.mul(clamped, clamped);
  let p = f32x4.splat(4.49541373035e-8);
  p = poly(p, t, 1.25149890596e-5);
  p = poly(p, t, 3.31210233603e-4);
  p = poly(p, t, 9.31337780302e-3);
  p = poly(p, t, 6.72270867518e-2);
  p = poly(p, t, 7.97884555895e-1);
  let q = f32x4.splat(1.18256832081e-6);
  q = poly(q, t, 7.22346266559e-5);
  q = poly(q, t, 1.86652961229e-3);
  q = poly(q, t, 2.84936905517e-2);
  q = poly(q, t, 2.50923135003e-1);
  return ratioOrUnit(x, clamped, p, poly(q, t, 1.0), ERF_SCALED_LIMIT);
}

@inline export function erf4(x: v128): v128 {
  return erfOfScaled4(f32x4.mul(x, f32x4.splat(SQRT2)));
}
