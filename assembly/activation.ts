// Transcendental element-wise kernels on f32x4 (tanh, erf, sqrt); exp, sigmoid and tanh come from
// transcendental.ts. NaN passes through every step; infinities saturate.
import { exp4, tanh4 } from './transcendental';

// erf as N. Juffa's faithfully rounded erff: an odd polynomial below |x| = 475/512, 1 - exp(polynomial)
// above (exp(x) of at most 0.4 there, so the subtraction loses nothing). Without fused multiply-add the
// error stays within a few ulps.
const ERF_SPLIT: f32 = 0.927734375;

@inline function poly(p: v128, x: v128, c: f32): v128 {
  return f32x4.add(f32x4.mul(p, x), f32x4.splat(c));
}

@inline function erf4(x: v128): v128 {
  const t = f32x4.abs(x);
  const s = f32x4.mul(x, x);
  let small = f32x4.splat(-5.96761703e-4);
  small = poly(small, s, 4.99119423e-3);
  small = poly(small, s, -2.67681349e-2);
  small = poly(small, s, 1.12819925e-1);
  small = poly(small, s, -3.76125336e-1);
  small = poly(small, s, 1.28379166e-1);
  small = f32x4.add(f32x4.mul(small, x), x);
  let large = poly(f32x4.splat(-1.72853470e-5), t, 3.83197126e-4);
  large = f32x4.add(f32x4.mul(large, s), poly(f32x4.splat(-3.88396438e-3), t, 2.42546219e-2));
  large = poly(large, t, -1.06777877e-1);
  large = poly(large, t, -6.34846687e-1);
  large = poly(large, t, -1.28717512e-1);
  large = f32x4.sub(f32x4.mul(large, t), t);
  large = f32x4.sub(f32x4.splat(1), exp4(large));
  const signed = v128.or(large, v128.and(x, i32x4.splat(0x80000000)));
  // NaN fails the comparison and takes the small branch, which passes it on.
  return v128.bitselect(signed, small, f32x4.gt(t, f32x4.splat(ERF_SPLIT)));
}

export const UNARY_TANH = 0;
export const UNARY_ERF = 1;
export const UNARY_SQRT = 2;

@inline function unary4(op: i32, x: v128): v128 {
  switch (op) {
    case UNARY_TANH: return tanh4(x);
    case UNARY_ERF: return erf4(x);
    default: return f32x4.sqrt(x);
  }
}

/** y[i] = op(x[i]) for `count` elements; the tail goes through the same vector code one lane at a time. */
export function f32_unary(op: i32, x: usize, count: i32, y: usize): void {
  let i = 0;
  switch (op) {
    case UNARY_TANH:
      for (; i + 4 <= count; i += 4) v128.store(y + (<usize>i << 2), tanh4(v128.load(x + (<usize>i << 2))));
      break;
    case UNARY_ERF:
      for (; i + 4 <= count; i += 4) v128.store(y + (<usize>i << 2), erf4(v128.load(x + (<usize>i << 2))));
      break;
    default:
      for (; i + 4 <= count; i += 4) v128.store(y + (<usize>i << 2), f32x4.sqrt(v128.load(x + (<usize>i << 2))));
  }
  for (; i < count; i++) {
    const offset = <usize>i << 2;
    store<f32>(y + offset, f32x4.extract_lane(unary4(op, v128.load32_splat(x + offset)), 0));
  }
}
