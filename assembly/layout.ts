// Data movement: a transpose of any rank as a walk over the output with an odometer of input offsets.

/**
 * y = x with its axes permuted. `table` holds, per output axis in order, two i32: the axis size and the
 * input's element stride along it, then `rank` i32 the kernel uses as its odometer. The last output axis
 * is the inner loop: a block copy when its input stride is 1, a strided gather otherwise. Callers merge
 * axes that stay adjacent and drop unit axes first, so the inner loop is as long as it can be.
 */
export function f32_permute(x: usize, rank: i32, table: usize, y: usize): void {
  if (rank == 0) {
    store<f32>(y, load<f32>(x));
    return;
  }
  const last = <usize>(rank - 1);
  const inner = load<i32>(table + (last << 3));
  const innerStride = <usize>load<i32>(table + (last << 3), 4) << 2;
  const counters = table + (<usize>rank << 3);
  let outer = 1;
  for (let axis: usize = 0; axis < last; axis++) {
    outer *= load<i32>(table + (axis << 3));
    store<i32>(counters + (axis << 2), 0);
  }
  const rowBytes = <usize>inner << 2;
  let from = x;
  let to = y;
  for (let block = 0; block < outer; block++) {
    if (innerStride == 4) {
      memory.copy(to, from, rowBytes);
    } else {
      let source = from;
      for (let k: usize = 0; k < rowBytes; k += 4) {
        store<f32>(to + k, load<f32>(source));
        source += innerStride;
      }
    }
    to += rowBytes;
    // Advance the odometer over the outer axes, last first.
    for (let axis = <isize>last - 1; axis >= 0; axis--) {
      const entry = table + (<usize>axis << 3);
      const counter = counters + (<usize>axis << 2);
      const stride = <usize>load<i32>(entry, 4) << 2;
      const next = load<i32>(counter) + 1;
      if (next < load<i32>(entry)) {
        store<i32>(counter, next);
        from += stride;
        break;
      }
      store<i32>(counter, 0);
      from -= stride * <usize>(next - 1);
    }
  }
}
