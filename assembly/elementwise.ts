// Element-wise kernels: binary arithmetic over a 2-D view with broadcasting expressed by strides (each
// input steps 0 or 1 element per column and 0 or `cols` per row), and a clamp (Relu, Clip).
import { clamp } from './simd';

export const OP_ADD = 0;
export const OP_SUB = 1;
export const OP_MUL = 2;
export const OP_DIV = 3;

@inline function apply(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case OP_ADD: return f32x4.add(a, b);
    case OP_SUB: return f32x4.sub(a, b);
    case OP_MUL: return f32x4.mul(a, b);
    default: return f32x4.div(a, b);
  }
}

@inline function applyScalar(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    default: return a / b;
  }
}

/** One row of y[i] = clamp(a[i * aStep] op b[i * bStep]); a step of 0 broadcasts one value. */
@inline function binaryRow(op: i32, cols: i32, a: usize, aStep: i32, b: usize, bStep: i32, y: usize, vlow: v128, vhigh: v128, low: f32, high: f32): void {
  let i = 0;
  if (aStep == 1 && bStep == 1) {
    for (; i + 4 <= cols; i += 4) {
      const offset = <usize>i << 2;
      v128.store(y + offset, clamp(apply(op, v128.load(a + offset), v128.load(b + offset)), vlow, vhigh));
    }
  } else if (aStep == 1) {
    const vb = v128.load32_splat(b);
    for (; i + 4 <= cols; i += 4) {
      const offset = <usize>i << 2;
      v128.store(y + offset, clamp(apply(op, v128.load(a + offset), vb), vlow, vhigh));
    }
  } else if (bStep == 1) {
    const va = v128.load32_splat(a);
    for (; i + 4 <= cols; i += 4) {
      const offset = <usize>i << 2;
      v128.store(y + offset, clamp(apply(op, va, v128.load(b + offset)), vlow, vhigh));
    }
  }
  for (; i < cols; i++) {
    const value = applyScalar(op, load<f32>(a + (<usize>(i * aStep) << 2)), load<f32>(b + (<usize>(i * bStep) << 2)));
    // NaN fails both comparisons and passes through, as f32x4.min/max let it.
    store<f32>(y + (<usize>i << 2), value < low ? low : value > high ? high : value);
  }
}

/** y [rows, cols] = clamp(a op b, low, high), a and b addressed by (row, col) element strides. */
export function f32_binary_minmax(
  op: i32, rows: i32, cols: i32, a: usize, aRow: i32, aCol: i32, b: usize, bRow: i32, bCol: i32, y: usize, low: f32, high: f32,
): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  for (let row = 0; row < rows; row++) {
    const aAt = a + (<usize>(row * aRow) << 2);
    const bAt = b + (<usize>(row * bRow) << 2);
    const yAt = y + (<usize>(row * cols) << 2);
    switch (op) {
      case OP_ADD: binaryRow(OP_ADD, cols, aAt, aCol, bAt, bCol, yAt, vlow, vhigh, low, high); break;
      case OP_SUB: binaryRow(OP_SUB, cols, aAt, aCol, bAt, bCol, yAt, vlow, vhigh, low, high); break;
      case OP_MUL: binaryRow(OP_MUL, cols, aAt, aCol, bAt, bCol, yAt, vlow, vhigh, low, high); break;
      default: binaryRow(OP_DIV, cols, aAt, aCol, bAt, bCol, yAt, vlow, vhigh, low, high);
    }
  }
}

/** y[i] = clamp(x[i], low, high) for `count` elements (Relu, Clip). */
export function f32_clamp(x: usize, count: i32, y: usize, low: f32, high: f32): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const offset = <usize>i << 2;
    v128.store(y + offset, clamp(v128.load(x + offset), vlow, vhigh));
  }
  for (; i < count; i++) {
    const value = load<f32>(x + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), value < low ? low : value > high ? high : value);
  }
}
