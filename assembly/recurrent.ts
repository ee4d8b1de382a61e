// Recurrent cells over a whole sequence, one batch row per call: each step's recurrence is a matrix-vector
// product (batch row = one vector), so the weights are packed for it rather than for the GEMM. The hidden
// units are taken 8 at a time ("panels"). GRU: a panel's weights hold, for every k < hidden, the 8 units'
// weight of h[k] in each gate side by side, so one pass over them yields every gate pre-activation of those
// 8 units, and the cell update follows while they are still in registers. LSTM: its 4 gates would need 8
// accumulators a panel, which with their 8 loaded weight vectors and h[k] do not fit V8's 15 xmm registers
// (it spills an accumulator through the stack, on its multiply-add chain: 20 GFLOP/s instead of 31 with 6),
// so its product runs over the gate rows 24 at a time (ROWS), into the step's gates, and the cell update
// follows in a second pass.
//
// Layouts (Hp = hidden rounded up to 8, units past `hidden` padded with zeros):
//   gates       one step: Hp * gates floats, panel p at p * gates * 32 bytes: gates x 8 floats, the input
//               projection with its biases (the GEMM before the loop writes it in this order); a gate row
//               is one of these floats
//   recurrence  GRU: panel p at p * hidden * gates * 32 bytes: `hidden` rows of gates x 8 floats;
//               LSTM: the gate rows in ROWS-row blocks (the last holds what is left, a multiple of 8), each
//               `hidden` rows of its gate rows' weights side by side
//   h, cell     Hp floats; GRU's hNext is Hp floats of work space, its reset Hp + 24 (a panel's sums with
//               linear_before_reset)
//   y           the step's `hidden` outputs, or 0 for none
// Gate order as in ONNX: LSTM i, o, f, c; GRU z, r, h.
import { clamp, madd, storeLanes } from './simd';
import { sigmoid4, tanh4 } from './transcendental';

/** Stores the first `count` lanes of `value` (all four when count >= 4, none when count <= 0). */
@inline function storeUpTo(ptr: usize, value: v128, count: i32): void {
  if (count >= 4) v128.store(ptr, value);
  else if (count > 0) storeLanes(ptr, value, count);
}

/**
 * The cell update of 4 LSTM units from their gate pre-activations (input, output, forget, candidate):
 * c' = f c + i g, h' = o tanh(c'), with the peepholes (at `peep`, 0 for none), clip and input_forget of ONNX.
 */
@inline function lstmUnits(
  i: v128, o: v128, f: v128, g: v128, cellAt: usize, peep: usize, low: v128, high: v128, inputForget: i32,
  hAt: usize, yAt: usize, units: i32,
): void {
  const previous = v128.load(cellAt);
  if (peep != 0) {
    i = madd(v128.load(peep), previous, i);
    f = madd(v128.load(peep, 64), previous, f);
  }
  const inputGate = sigmoid4(clamp(i, low, high));
  // input_forget couples the gates: what is written in is forgotten.
  const forgetGate = inputForget != 0 ? f32x4.sub(f32x4.splat(1), inputGate) : sigmoid4(clamp(f, low, high));
  const next = f32x4.add(f32x4.mul(forgetGate, previous), f32x4.mul(inputGate, tanh4(clamp(g, low, high))));
  if (peep != 0) o = madd(v128.load(peep, 32), next, o);
  const hidden = f32x4.mul(sigmoid4(clamp(o, low, high)), tanh4(next));
  v128.store(cellAt, next);
  v128.store(hAt, hidden);
  if (yAt != 0) storeUpTo(yAt, hidden, units);
}

/** Gate rows of a block of the LSTM recurrence: six f32x4 accumulators. */
const ROWS: i32 = 24;

/**
 * The 24 sums at `sums` (6 f32x4) += sum over k < hidden of h[k] times row k of `weights` (24 floats a row):
 * six accumulators, which with their six loaded weight vectors and h[k] fit V8's registers.
 */
@inline function addSixVectors(weights: usize, hidden: i32, h: usize, sums: usize): void {
  let a0 = v128.load(sums, 0);
  let a1 = v128.load(sums, 16);
  let a2 = v128.load(sums, 32);
  let a3 = v128.load(sums, 48);
  let a4 = v128.load(sums, 64);
  let a5 = v128.load(sums, 80);
  let w = weights;
  for (let k = 0; k < hidden; k++) {
    const hk = v128.load32_splat(h + (<usize>k << 2));
    a0 = madd(v128.load(w, 0), hk, a0);
    a1 = madd(v128.load(w, 16), hk, a1);
    a2 = madd(v128.load(w, 32), hk, a2);
    a3 = madd(v128.load(w, 48), hk, a3);
    a4 = madd(v128.load(w, 64), hk, a4);
    a5 = madd(v128.load(w, 80), hk, a5);
    w += 96;
  }
  v128.store(sums, a0, 0);
  v128.store(sums, a1, 16);
  v128.store(sums, a2, 32);
  v128.store(sums, a3, 48);
  v128.store(sums, a4, 64);
  v128.store(sums, a5, 80);
}

/**
 * gates[row] += sum over k < hidden of weight[row][k] h[k], for `rows` gate rows (a multiple of 8) packed in
 * blocks of ROWS rows, then 8 at a time for what is left.
 */
function addRecurrence(rows: i32, hidden: i32, weights: usize, h: usize, gates: usize): void {
  let w = weights;
  let g = gates;
  let row = 0;
  for (; row + ROWS <= rows; row += ROWS) {
    addSixVectors(w, hidden, h, g);
    w += <usize>hidden * 96;
    g += 96;
  }
  for (; row < rows; row += 8) {
    let a0 = v128.load(g, 0);
    let a1 = v128.load(g, 16);
    for (let k = 0; k < hidden; k++) {
      const hk = v128.load32_splat(h + (<usize>k << 2));
      a0 = madd(v128.load(w, 0), hk, a0);
      a1 = madd(v128.load(w, 16), hk, a1);
      w += 32;
    }
    v128.store(g, a0, 0);
    v128.store(g, a1, 16);
    g += 32;
  }
}

/**
 * `steps` LSTM steps of one batch row. `gateStride` and `yStride` (bytes, negative for the reverse
 * direction) lead from one step's gates and output to the next; the recurrence is added into the gates.
 * `peepholes` (0 for none): per panel the i, o, f peepholes of its 8 units. h and cell hold the initial state
 * and receive the final one. `zeroStart` (1: h starts at zero and R is finite) skips the first step's
 * product, which is then zero.
 */
export function f32_lstm_sequence(
  hidden: i32, steps: i32, recurrence: usize, gates: usize, gateStride: i32, peepholes: usize, clip: f32, inputForget: i32,
  h: usize, cell: usize, y: usize, yStride: i32, zeroStart: i32,
): void {
  const panels = (hidden + 7) >> 3;
  const high = f32x4.splat(clip);
  const low = f32x4.neg(high);
  for (let step = 0; step < steps; step++) {
    if (step > 0 || zeroStart == 0) addRecurrence(panels << 5, hidden, recurrence, h, gates);
    // Every product of this step has read h: the cell update may overwrite it.
    for (let p = 0; p < panels; p++) {
      const g = gates + (<usize>p << 7);
      const units = hidden - (p << 3);
      const unitBytes = <usize>p << 5;
      const peep = peepholes == 0 ? 0 : peepholes + <usize>p * 96;
      const yAt = y == 0 ? 0 : y + unitBytes;
      lstmUnits(v128.load(g, 0), v128.load(g, 32), v128.load(g, 64), v128.load(g, 96), cell + unitBytes, peep, low, high, inputForget, h + unitBytes, yAt, units);
      lstmUnits(
        v128.load(g, 16), v128.load(g, 48), v128.load(g, 80), v128.load(g, 112), cell + unitBytes + 16, peep == 0 ? 0 : peep + 16, low, high,
        inputForget, h + unitBytes + 16, yAt == 0 ? 0 : yAt + 16, units - 4,
      );
    }
    gates += <usize>gateStride;
    if (y != 0) y += <usize>yStride;
  }
}

/** GRU's h' = (1 - z) n + z h for 4 units; stores it to hNext (and y). */
@inline function gruUnits(z: v128, candidate: v128, previous: v128, hAt: usize, yAt: usize, units: i32): void {
  const next = f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), candidate), f32x4.mul(z, previous));
  v128.store(hAt, next);
  if (yAt != 0) storeUpTo(yAt, next, units);
}

/**
 * `steps` GRU steps of one batch row (strides and `zeroStart` as for f32_lstm_sequence). linear_before_reset
 * 1: the candidate is tanh(x_h + r (R_h h + Rb_h)), one pass, with Rb_h at `recurrenceBias` (Hp floats) and
 * not in the gates. linear_before_reset 0: tanh(x_h + R_h (r h)), two passes (z and r h first, into hNext
 * and `reset`), with Rb_h folded into the gates.
 */
export function f32_gru_sequence(
  hidden: i32, steps: i32, recurrence: usize, gates: usize, gateStride: i32, recurrenceBias: usize, clip: f32, linearBeforeReset: i32,
  h: usize, hNext: usize, reset: usize, y: usize, yStride: i32, zeroStart: i32,
): void {
  const panels = (hidden + 7) >> 3;
  const rowBytes: usize = 96;
  const panelBytes = <usize>hidden * rowBytes;
  const high = f32x4.splat(clip);
  const low = f32x4.neg(high);
  const sums = reset + (<usize>panels << 5);
  for (let step = 0; step < steps; step++) {
    // Products over this many k: none when h is known to be zero.
    const depth = step > 0 || zeroStart == 0 ? hidden : 0;
    for (let p = 0; p < panels; p++) {
      const g = gates + <usize>p * rowBytes;
      let z0 = v128.load(g, 0);
      let z1 = v128.load(g, 16);
      let r0 = v128.load(g, 32);
      let r1 = v128.load(g, 48);
      let w = recurrence + <usize>p * panelBytes;
      if (linearBeforeReset != 0) {
        // Six sums gather past `reset`'s Hp floats: z and r from the gates, the candidate's recurrence from Rb_h.
        v128.store(sums, z0, 0);
        v128.store(sums, z1, 16);
        v128.store(sums, r0, 32);
        v128.store(sums, r1, 48);
        v128.store(sums, v128.load(recurrenceBias + (<usize>p << 5)), 64);
        v128.store(sums, v128.load(recurrenceBias + (<usize>p << 5), 16), 80);
        addSixVectors(w, depth, h, sums);
        z0 = v128.load(sums, 0);
        z1 = v128.load(sums, 16);
        r0 = v128.load(sums, 32);
        r1 = v128.load(sums, 48);
      } else {
        // z and r only: the candidate's product waits for r h (the second pass).
        for (let k = 0; k < depth; k++) {
          const hk = v128.load32_splat(h + (<usize>k << 2));
          z0 = madd(v128.load(w, 0), hk, z0);
          z1 = madd(v128.load(w, 16), hk, z1);
          r0 = madd(v128.load(w, 32), hk, r0);
          r1 = madd(v128.load(w, 48), hk, r1);
          w += rowBytes;
        }
      }
      z0 = sigmoid4(clamp(z0, low, high));
      z1 = sigmoid4(clamp(z1, low, high));
      r0 = sigmoid4(clamp(r0, low, high));
      r1 = sigmoid4(clamp(r1, low, high));
      const unitBytes = <usize>p << 5;
      const units = hidden - (p << 3);
      const previous0 = v128.load(h + unitBytes);
      const previous1 = v128.load(h + unitBytes, 16);
      if (linearBeforeReset != 0) {
        const candidate0 = tanh4(clamp(f32x4.add(v128.load(g, 64), f32x4.mul(r0, v128.load(sums, 64))), low, high));
        const candidate1 = tanh4(clamp(f32x4.add(v128.load(g, 80), f32x4.mul(r1, v128.load(sums, 80))), low, high));
        const yAt = y == 0 ? 0 : y + unitBytes;
        gruUnits(z0, candidate0, previous0, hNext + unitBytes, yAt, units);
        gruUnits(z1, candidate1, previous1, hNext + unitBytes + 16, yAt == 0 ? 0 : yAt + 16, units - 4);
      } else {
        // The update gate waits in hNext for the second pass.
        v128.store(hNext + unitBytes, z0);
        v128.store(hNext + unitBytes, z1, 16);
        v128.store(reset + unitBytes, f32x4.mul(r0, previous0));
        v128.store(reset + unitBytes, f32x4.mul(r1, previous1), 16);
      }
    }
    if (linearBeforeReset == 0) {
      for (let p = 0; p < panels; p++) {
        const g = gates + <usize>p * rowBytes;
        // Two accumulators per half (even and odd k) so the multiply-adds overlap.
        let even0 = v128.load(g, 64);
        let even1 = v128.load(g, 80);
        let odd0 = f32x4.splat(0);
        let odd1 = f32x4.splat(0);
        let w = recurrence + <usize>p * panelBytes;
        let k = 0;
        for (; k + 1 < depth; k += 2) {
          const rk = v128.load32_splat(reset + (<usize>k << 2));
          const rk1 = v128.load32_splat(reset + (<usize>k << 2), 4);
          even0 = madd(v128.load(w, 64), rk, even0);
          even1 = madd(v128.load(w, 80), rk, even1);
          odd0 = madd(v128.load(w, 160), rk1, odd0);
          odd1 = madd(v128.load(w, 176), rk1, odd1);
          w += 2 * rowBytes;
        }
        if (k < depth) {
          const rk = v128.load32_splat(reset + (<usize>k << 2));
          even0 = madd(v128.load(w, 64), rk, even0);
          even1 = madd(v128.load(w, 80), rk, even1);
        }
        const unitBytes = <usize>p << 5;
        const units = hidden - (p << 3);
        const candidate0 = tanh4(clamp(f32x4.add(even0, odd0), low, high));
        const candidate1 = tanh4(clamp(f32x4.add(even1, odd1), low, high));
        const yAt = y == 0 ? 0 : y + unitBytes;
        gruUnits(v128.load(hNext + unitBytes), candidate0, v128.load(h + unitBytes), hNext + unitBytes, yAt, units);
        gruUnits(v128.load(hNext + unitBytes, 16), candidate1, v128.load(h + unitBytes, 16), hNext + unitBytes + 16, yAt == 0 ? 0 : yAt + 16, units - 4);
      }
    }
    memory.copy(h, hNext, <usize>panels << 5);
    gates += <usize>gateStride;
    if (y != 0) y += <usize>yStride;
  }
}
