// Recurrent cells over a whole sequence, one batch row per call: each step's recurrence is a matrix-vector
// product (batch row = one vector), so the weights are packed for it rather than for the GEMM. The hidden
// units are taken 8 at a time ("panels"); a panel's weights hold, for every k < hidden, the 8 units' weight
// of h[k] in each gate side by side, so one pass over them yields every gate pre-activation of those 8
// units, and the cell update follows while they are still in registers.
//
// Layouts (Hp = hidden rounded up to 8, units past `hidden` padded with zeros):
//   recurrence  panel p at p * hidden * gates * 32 bytes: `hidden` rows of gates x 8 floats
//   gates       one step: Hp * gates floats, panel p at p * gates * 32 bytes: gates x 8 floats, the input
//               projection with its biases (the GEMM before the loop writes it in this order)
//   h, cell     Hp floats; hNext (and GRU's reset) are Hp floats of work space
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

/**
 * `steps` LSTM steps of one batch row. `gateStride` and `yStride` (bytes, negative for the reverse
 * direction) lead from one step's gates and output to the next. `peepholes` (0 for none): per panel the
 * i, o, f peepholes of its 8 units. h and cell hold the initial state and receive the final one.
 */
export function f32_lstm_sequence(
  hidden: i32, steps: i32, recurrence: usize, gates: usize, gateStride: i32, peepholes: usize, clip: f32, inputForget: i32,
  h: usize, cell: usize, hNext: usize, y: usize, yStride: i32,
): void {
  const panels = (hidden + 7) >> 3;
  const panelBytes = <usize>hidden << 7;
  const high = f32x4.splat(clip);
  const low = f32x4.neg(high);
  for (let step = 0; step < steps; step++) {
    for (let p = 0; p < panels; p++) {
      const g = gates + (<usize>p << 7);
      let i0 = v128.load(g, 0);
      let i1 = v128.load(g, 16);
      let o0 = v128.load(g, 32);
      let o1 = v128.load(g, 48);
      let f0 = v128.load(g, 64);
      let f1 = v128.load(g, 80);
      let c0 = v128.load(g, 96);
      let c1 = v128.load(g, 112);
      let w = recurrence + <usize>p * panelBytes;
      for (let k = 0; k < hidden; k++) {
        const hk = v128.load32_splat(h + (<usize>k << 2));
        i0 = madd(v128.load(w, 0), hk, i0);
        i1 = madd(v128.load(w, 16), hk, i1);
        o0 = madd(v128.load(w, 32), hk, o0);
        o1 = madd(v128.load(w, 48), hk, o1);
        f0 = madd(v128.load(w, 64), hk, f0);
        f1 = madd(v128.load(w, 80), hk, f1);
        c0 = madd(v128.load(w, 96), hk, c0);
        c1 = madd(v128.load(w, 112), hk, c1);
        w += 128;
      }
      const units = hidden - (p << 3);
      const unitBytes = <usize>p << 5;
      const peep = peepholes == 0 ? 0 : peepholes + <usize>p * 96;
      const yAt = y == 0 ? 0 : y + unitBytes;
      lstmUnits(i0, o0, f0, c0, cell + unitBytes, peep, low, high, inputForget, hNext + unitBytes, yAt, units);
      lstmUnits(i1, o1, f1, c1, cell + unitBytes + 16, peep == 0 ? 0 : peep + 16, low, high, inputForget, hNext + unitBytes + 16, yAt == 0 ? 0 : yAt + 16, units - 4);
    }
    memory.copy(h, hNext, <usize>panels << 5);
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
 * `steps` GRU steps of one batch row (strides as for f32_lstm_sequence). linear_before_reset 1: the
 * candidate is tanh(x_h + r (R_h h + Rb_h)), one pass, with Rb_h at `recurrenceBias` (Hp floats) and not in
 * the gates. linear_before_reset 0: tanh(x_h + R_h (r h)), two passes (z and r h first, into hNext and
 * `reset`), with Rb_h folded into the gates.
 */
export function f32_gru_sequence(
  hidden: i32, steps: i32, recurrence: usize, gates: usize, gateStride: i32, recurrenceBias: usize, clip: f32, linearBeforeReset: i32,
  h: usize, hNext: usize, reset: usize, y: usize, yStride: i32,
): void {
  const panels = (hidden + 7) >> 3;
  const rowBytes: usize = 96;
  const panelBytes = <usize>hidden * rowBytes;
  const high = f32x4.splat(clip);
  const low = f32x4.neg(high);
  for (let step = 0; step < steps; step++) {
    for (let p = 0; p < panels; p++) {
      const g = gates + <usize>p * rowBytes;
      let z0 = v128.load(g, 0);
      let z1 = v128.load(g, 16);
      let r0 = v128.load(g, 32);
      let r1 = v128.load(g, 48);
      let n0 = linearBeforeReset != 0 ? v128.load(recurrenceBias + (<usize>p << 5)) : f32x4.splat(0);
      let n1 = linearBeforeReset != 0 ? v128.load(recurrenceBias + (<usize>p << 5), 16) : f32x4.splat(0);
      let w = recurrence + <usize>p * panelBytes;
      if (linearBeforeReset != 0) {
        for (let k = 0; k < hidden; k++) {
          const hk = v128.load32_splat(h + (<usize>k << 2));
          z0 = madd(v128.load(w, 0), hk, z0);
          z1 = madd(v128.load(w, 16), hk, z1);
          r0 = madd(v128.load(w, 32), hk, r0);
          r1 = madd(v128.load(w, 48), hk, r1);
          n0 = madd(v128.load(w, 64), hk, n0);
          n1 = madd(v128.load(w, 80), hk, n1);
          w += rowBytes;
        }
      } else {
        for (let k = 0; k < hidden; k++) {
          const hk = v128.load32_splat(h + (<usize>k << 2));
          z0 = madd(v128.load(w, 0), hk, z0);
          z1 = madd(v128.load(w, 16), hk, z1);
          r0 = madd(v128.load(w, 32), hk, r0);
          r1 = madd(v128.load(w, 48), hk, r1);
          w += rowBytes;
        }
      }
      const unitBytes = <usize>p << 5;
      const units = hidden - (p << 3);
      z0 = sigmoid4(clamp(z0, low, high));
      z1 = sigmoid4(clamp(z1, low, high));
      r0 = sigmoid4(clamp(r0, low, high));
      r1 = sigmoid4(clamp(r1, low, high));
      const previous0 = v128.load(h + unitBytes);
      const previous1 = v128.load(h + unitBytes, 16);
      if (linearBeforeReset != 0) {
        const candidate0 = tanh4(clamp(f32x4.add(v128.load(g, 64), f32x4.mul(r0, n0)), low, high));
        const candidate1 = tanh4(clamp(f32x4.add(v128.load(g, 80), f32x4.mul(r1, n1)), low, high));
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
        for (; k + 1 < hidden; k += 2) {
          const rk = v128.load32_splat(reset + (<usize>k << 2));
          const rk1 = v128.load32_splat(reset + (<usize>k << 2), 4);
          even0 = madd(v128.load(w, 64), rk, even0);
          even1 = madd(v128.load(w, 80), rk, even1);
          odd0 = madd(v128.load(w, 160), rk1, odd0);
          odd1 = madd(v128.load(w, 176), rk1, odd1);
          w += 2 * rowBytes;
        }
        if (k < hidden) {
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
