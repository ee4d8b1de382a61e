// Transcendental element-wise kernels on f32x4: exp by Cody-Waite range reduction and a degree-6
// polynomial (Cephes' expf coefficients, within ~1 ulp on the reduced range), and the sigmoid, tanh and
// LSTM cell built on it. NaN passes through every step (f32x4.min/max propagate it); infinities saturate.

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n * ln 2 with ln 2 split in two for exactness.
const LOG2E: f32 = 1.44269504088896341;
const LN2_HIGH: f32 = 0.693359375;
const LN2_LOW: f32 = -2.12194440e-4;
// Inputs are clamped where 2^n stays a normal float (the results are 0-ish / huge-but-finite there).
const EXP_LOW: f32 = -87.0;
const EXP_HIGH: f32 = 88.0;
// Below this |x|, tanh's odd series beats 1 - 2 / (e^2x + 1), which cancels there.
const TANH_SERIES_LIMIT: f32 = 0.4;

@inline function exp4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LOW)), f32x4.splat(EXP_HIGH));
  const n = f32x4.nearest(f32x4.mul(clamped, f32x4.splat(LOG2E)));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(LN2_HIGH)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const expR = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n built in the exponent bits; n is in [-126, 127] after the clamp (NaN converts to 0, r stays NaN).
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(expR, scale);
}

@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

@inline function tanh4(x: v128): v128 {
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

/**
 * One LSTM step for `batch` rows of `hidden` units (ONNX gate order i, o, f, c; default activations):
 * with g = gatesX + gatesR per gate, c' = sigmoid(f) c + sigmoid(i) tanh(c~), h' = sigmoid(o) tanh(c').
 * gatesX rows are 4 * hidden wide (bias included), gatesR likewise; cell and h are [batch, hidden],
 * updated in place; y (when not 0) receives h' too.
 */
export function f32_lstm_cell(batch: i32, hidden: i32, gatesX: usize, gatesR: usize, cell: usize, h: usize, y: usize): void {
  const gateBytes = <usize>hidden << 2;
  for (let b = 0; b < batch; b++) {
    const gx = gatesX + <usize>b * 4 * gateBytes;
    const gr = gatesR + <usize>b * 4 * gateBytes;
    const c = cell + <usize>b * gateBytes;
    const hRow = h + <usize>b * gateBytes;
    const yRow = y + <usize>b * gateBytes;
    for (let j = 0; j < hidden; j += 4) {
      const offset = <usize>j << 2;
      // The last group of a row not a multiple of 4 is done one lane at a time.
      const lanes = hidden - j < 4 ? 1 : 4;
      for (let lane = 0; lane < 4 / lanes; lane++) {
        if (lanes == 1 && j + lane >= hidden) break;
        const at = offset + (<usize>lane << 2);
        const input = lanes == 4
          ? f32x4.add(v128.load(gx + at), v128.load(gr + at))
          : f32x4.add(v128.load32_splat(gx + at), v128.load32_splat(gr + at));
        const output = lanes == 4
          ? f32x4.add(v128.load(gx + gateBytes + at), v128.load(gr + gateBytes + at))
          : f32x4.add(v128.load32_splat(gx + gateBytes + at), v128.load32_splat(gr + gateBytes + at));
        const forget = lanes == 4
          ? f32x4.add(v128.load(gx + 2 * gateBytes + at), v128.load(gr + 2 * gateBytes + at))
          : f32x4.add(v128.load32_splat(gx + 2 * gateBytes + at), v128.load32_splat(gr + 2 * gateBytes + at));
        const candidate = lanes == 4
          ? f32x4.add(v128.load(gx + 3 * gateBytes + at), v128.load(gr + 3 * gateBytes + at))
          : f32x4.add(v128.load32_splat(gx + 3 * gateBytes + at), v128.load32_splat(gr + 3 * gateBytes + at));
        const previous = lanes == 4 ? v128.load(c + at) : v128.load32_splat(c + at);
        const next = f32x4.add(f32x4.mul(sigmoid4(forget), previous), f32x4.mul(sigmoid4(input), tanh4(candidate)));
        const hidden4 = f32x4.mul(sigmoid4(output), tanh4(next));
        if (lanes == 4) {
          v128.store(c + at, next);
          v128.store(hRow + at, hidden4);
          if (y != 0) v128.store(yRow + at, hidden4);
        } else {
          store<f32>(c + at, f32x4.extract_lane(next, 0));
          store<f32>(hRow + at, f32x4.extract_lane(hidden4, 0));
          if (y != 0) store<f32>(yRow + at, f32x4.extract_lane(hidden4, 0));
        }
      }
    }
  }
}
