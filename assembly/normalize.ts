// Normalizing kernels of transformer blocks: softmax along one axis and layer normalization over rows.
import { storeLanes } from './simd';
import { exp4 } from './transcendental';

@inline function horizontalMax(v: v128): f32 {
  const pairs = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max<f32>(f32x4.extract_lane(pairs, 0), f32x4.extract_lane(pairs, 1));
}

@inline function horizontalSum(v: v128): f32 {
  const pairs = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(pairs, 0) + f32x4.extract_lane(pairs, 1);
}

/** Softmax of each contiguous row of `n` floats: exp(x - max) / sum, the max and sum taken per row. */
function softmaxRows(x: usize, rows: i32, n: i32, y: usize): void {
  const bytes = <usize>n << 2;
  for (let row = 0; row < rows; row++) {
    const xRow = x + <usize>row * bytes;
    const yRow = y + <usize>row * bytes;
    let vmax = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= n; i += 4) vmax = f32x4.max(vmax, v128.load(xRow + (<usize>i << 2)));
    // wasm's f32 max and f32x4.max return NaN when either operand is NaN: a NaN makes the row NaN, as in ONNX.
    let rowMax = horizontalMax(vmax);
    for (; i < n; i++) rowMax = max<f32>(rowMax, load<f32>(xRow + (<usize>i << 2)));
    const vrowMax = f32x4.splat(rowMax);
    let vsum = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const e = exp4(f32x4.sub(v128.load(xRow + (<usize>i << 2)), vrowMax));
      v128.store(yRow + (<usize>i << 2), e);
      vsum = f32x4.add(vsum, e);
    }
    let sum = horizontalSum(vsum);
    for (; i < n; i++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(xRow + (<usize>i << 2)) - rowMax)), 0);
      store<f32>(yRow + (<usize>i << 2), e);
      sum += e;
    }
    const vinverse = f32x4.splat(<f32>1 / sum);
    i = 0;
    for (; i + 4 <= n; i += 4) v128.store(yRow + (<usize>i << 2), f32x4.mul(v128.load(yRow + (<usize>i << 2)), vinverse));
    for (; i < n; i++) store<f32>(yRow + (<usize>i << 2), load<f32>(yRow + (<usize>i << 2)) * (<f32>1 / sum));
  }
}

/**
 * Softmax along the middle axis of [outer, n, inner] with inner > 1: four inner positions at a time, each
 * lane its own line (the last group of fewer than four reads and writes only its lanes).
 */
function softmaxColumns(x: usize, outer: i32, n: i32, inner: i32, y: usize): void {
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>n * stride;
    for (let j = 0; j < inner; j += 4) {
      const lanes = min<i32>(4, inner - j);
      const xAt = x + base + (<usize>j << 2);
      const yAt = y + base + (<usize>j << 2);
      let vmax = f32x4.splat(-Infinity);
      for (let k = 0; k < n; k++) vmax = f32x4.max(vmax, loadLanes(xAt + <usize>k * stride, lanes));
      let vsum = f32x4.splat(0);
      for (let k = 0; k < n; k++) {
        const e = exp4(f32x4.sub(loadLanes(xAt + <usize>k * stride, lanes), vmax));
        storeVector(yAt + <usize>k * stride, e, lanes);
        vsum = f32x4.add(vsum, e);
      }
      const vinverse = f32x4.div(f32x4.splat(1), vsum);
      for (let k = 0; k < n; k++) {
        const at = yAt + <usize>k * stride;
        storeVector(at, f32x4.mul(loadLanes(at, lanes), vinverse), lanes);
      }
    }
  }
}

/** `lanes` (1 to 4) floats at `ptr`, the other lanes 0. */
@inline function loadLanes(ptr: usize, lanes: i32): v128 {
  if (lanes == 4) return v128.load(ptr);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  return v;
}

@inline function storeVector(ptr: usize, value: v128, lanes: i32): void {
  if (lanes == 4) v128.store(ptr, value);
  else storeLanes(ptr, value, lanes);
}

/** y = softmax of x [outer, n, inner] along n (inner 1: along contiguous rows). */
export function f32_softmax(x: usize, outer: i32, n: i32, inner: i32, y: usize): void {
  if (inner == 1) softmaxRows(x, outer, n, y);
  else softmaxColumns(x, outer, n, inner, y);
}

/**
 * Layer normalization of `rows` rows of `cols` floats: y = (x - mean) / sqrt(variance + epsilon) * scale
 * + bias, mean and (biased) variance per row, the variance from the centered values (two passes, as the
 * written-out form computes it). scale and bias hold `cols` floats; a bias of 0 means none.
 */
export function f32_layer_norm(x: usize, rows: i32, cols: i32, scale: usize, bias: usize, epsilon: f32, y: usize): void {
  const bytes = <usize>cols << 2;
  for (let row = 0; row < rows; row++) {
    const xRow = x + <usize>row * bytes;
    const yRow = y + <usize>row * bytes;
    let vsum = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= cols; i += 4) vsum = f32x4.add(vsum, v128.load(xRow + (<usize>i << 2)));
    let sum = horizontalSum(vsum);
    for (; i < cols; i++) sum += load<f32>(xRow + (<usize>i << 2));
    const mean = sum / <f32>cols;
    const vmean = f32x4.splat(mean);
    let vsquares = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const d = f32x4.sub(v128.load(xRow + (<usize>i << 2)), vmean);
      vsquares = f32x4.add(vsquares, f32x4.mul(d, d));
    }
    let squares = horizontalSum(vsquares);
    for (; i < cols; i++) {
      const d = load<f32>(xRow + (<usize>i << 2)) - mean;
      squares += d * d;
    }
    const inverse: f32 = <f32>1 / sqrt<f32>(squares / <f32>cols + epsilon);
    const vinverse = f32x4.splat(inverse);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const offset = <usize>i << 2;
      const normalized = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xRow + offset), vmean), vinverse), v128.load(scale + offset));
      v128.store(yRow + offset, bias != 0 ? f32x4.add(normalized, v128.load(bias + offset)) : normalized);
    }
    for (; i < cols; i++) {
      const offset = <usize>i << 2;
      const normalized = (load<f32>(xRow + offset) - mean) * inverse * load<f32>(scale + offset);
      store<f32>(yRow + offset, bias != 0 ? normalized + load<f32>(bias + offset) : normalized);
    }
  }
}
