// Transcendental element-wise kernels on f32x4 (the functions are in transcendental.ts): tanh, erf, sqrt,
// the erf Gelu, and the LSTM cell.
import { erf4, sigmoid4, tanh4 } from './transcendental';

export const UNARY_TANH = 0;
export const UNARY_ERF = 1;
export const UNARY_SQRT = 2;
export const UNARY_GELU = 3;

const SQRT_HALF: f32 = 0.70710678118654752;

/** Gelu (ONNX-20, approximate 'none'): x / 2 * (1 + erf(x / sqrt 2)). */
@inline function gelu4(x: v128): v128 {
  const half = f32x4.mul(x, f32x4.splat(0.5));
  return f32x4.add(half, f32x4.mul(half, erf4(f32x4.mul(x, f32x4.splat(SQRT_HALF)))));
}

@inline function unary4(op: i32, x: v128): v128 {
  switch (op) {
    case UNARY_TANH: return tanh4(x);
    case UNARY_ERF: return erf4(x);
    case UNARY_GELU: return gelu4(x);
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
    case UNARY_GELU:
      for (; i + 4 <= count; i += 4) v128.store(y + (<usize>i << 2), gelu4(v128.load(x + (<usize>i << 2))));
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
