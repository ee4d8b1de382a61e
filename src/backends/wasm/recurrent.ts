import type { ValueType } from '../../core/graph.js';
import type { Tensor } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { floatInput, shapeError, staticDims, Staging, type WasmOp } from './common.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * LSTM and GRU. The input projection of every time step is one GEMM before the loop (W packed with the
 * biases the cell does not need apart, at prepare, or at each run when the weights are fed rather than
 * constant); the recurrence runs in assembly/recurrent.ts, one call per
 * direction and batch row: a matrix-vector product per step, GRU's over R packed in panels of 8 hidden units
 * with the cell update fused, LSTM's over its gate rows in blocks of 24, the cell update after it. The GEMM
 * writes its columns in the same panel order (see panelRows).
 */

/** Hidden units per panel of the packed weights (two f32x4 per gate). */
const UNITS = 8;

const present = (info: NodeInfo, index: number) => (info.node.inputs[index] ?? '') !== '';
const isTensorOf = (type: ValueType | undefined, dtype: string) => type?.kind === 'tensor' && type.dtype === dtype;

interface CellKind {
  gates: number;
  defaultActivations: readonly string[];
  /** Inputs after sequence_lens that are float32 states (initial_h, initial_c). */
  stateInputs: readonly number[];
}

const LSTM: CellKind = { gates: 4, defaultActivations: ['sigmoid', 'tanh', 'tanh'], stateInputs: [5, 6] };
const GRU: CellKind = { gates: 3, defaultActivations: ['sigmoid', 'tanh'], stateInputs: [5] };

/**
 * What the wasm cells compute: float32 (sequence_lens int32), W, R, B (and LSTM's P) constant or of static
 * dims (packed at each run then), either layout, any direction, clip, input_forget, linear_before_reset,
 * and the default activations only.
 */
function supportsCell(kind: CellKind, info: NodeInfo): boolean {
  const { attributes, node } = info;
  const directions = attributes.direction === 'bidirectional' ? 2 : 1;
  const activations = attributes.activations as string[] | undefined;
  const defaultActivations =
    !activations ||
    (activations.length === kind.defaultActivations.length * directions &&
      activations.every((name, i) => name.toLowerCase() === kind.defaultActivations[i % kind.defaultActivations.length]));
  const floats = node.inputs.every((name, index) => name === '' || isTensorOf(info.inputTypes[index], index === 4 ? 'int32' : 'float32'));
  // Outputs left unnamed have no type.
  const outputsFloat = node.outputs.every((name, index) => name === '' || isTensorOf(info.outputTypes[index], 'float32'));
  const weightsKnown = WEIGHT_INPUTS.every((index) => !present(info, index) || weightDims(info, index) !== undefined);
  const hiddenMatches = attributes.hidden_size === undefined || weightDims(info, 2)?.[2] === attributes.hidden_size;
  return (
    info.opset >= 7 && floats && outputsFloat && present(info, 1) && present(info, 2) && weightsKnown &&
    hiddenMatches && defaultActivations && ['forward', 'reverse', 'bidirectional'].includes((attributes.direction as string | undefined) ?? 'forward')
  );
}

/** W, R, B, P: the inputs packed into the kernels' layouts. */
const WEIGHT_INPUTS = [1, 2, 3, 7];

/** A weight input's dims: the constant's, or the static dims of its type. */
function weightDims(info: NodeInfo, index: number): readonly number[] | undefined {
  return info.constants[index]?.dims ?? staticDims(info, index);
}

const roundToPanels = (hidden: number) => Math.ceil(hidden / UNITS) * UNITS;

/**
 * The rows of a gate-stacked [gates * hidden, columns] matrix in panel order: panel p holds, gate after gate,
 * the rows of units 8p .. 8p + 7 (zero rows past `hidden`). The result is [gates * padded hidden, columns].
 */
function panelRows(matrix: Float32Array, gates: number, hidden: number, columns: number): Float32Array {
  const padded = roundToPanels(hidden);
  const rows = new Float32Array(gates * padded * columns);
  for (let unit = 0; unit < hidden; unit++) {
    const [panel, lane] = [Math.floor(unit / UNITS), unit % UNITS];
    for (let gate = 0; gate < gates; gate++) {
      const from = (gate * hidden + unit) * columns;
      rows.set(matrix.subarray(from, from + columns), ((panel * gates + gate) * UNITS + lane) * columns);
    }
  }
  return rows;
}

/** GRU's R [3 * hidden, hidden] as its kernel reads it: per panel, `hidden` rows of gates x 8 weights. */
function packRecurrence(r: Float32Array, gates: number, hidden: number): Float32Array {
  const packed = new Float32Array(roundToPanels(hidden) * gates * hidden);
  const panelFloats = hidden * gates * UNITS;
  for (let gate = 0; gate < gates; gate++) {
    for (let unit = 0; unit < hidden; unit++) {
      const [panel, lane] = [Math.floor(unit / UNITS), unit % UNITS];
      const row = r.subarray((gate * hidden + unit) * hidden, (gate * hidden + unit + 1) * hidden);
      for (let k = 0; k < hidden; k++) packed[panel * panelFloats + (k * gates + gate) * UNITS + lane] = row[k]!;
    }
  }
  return packed;
}

/** Gate rows per block of the LSTM recurrence (ROWS in assembly/recurrent.ts); what is left goes 8 rows a block. */
const LSTM_BLOCK_ROWS = 24;

/**
 * LSTM's R [4 * hidden, hidden] as its kernel reads it: the gate rows in panel order (panelRows), in blocks
 * of LSTM_BLOCK_ROWS rows and then of 8; per block, `hidden` rows of its gate rows' weights side by side.
 */
function packRecurrenceBlocks(r: Float32Array, gates: number, hidden: number): Float32Array {
  const rows = panelRows(r, gates, hidden, hidden);
  const count = gates * roundToPanels(hidden);
  const packed = new Float32Array(count * hidden);
  let at = 0;
  for (let first = 0; first < count; ) {
    const width = first + LSTM_BLOCK_ROWS <= count ? LSTM_BLOCK_ROWS : UNITS;
    for (let k = 0; k < hidden; k++) {
      for (let row = first; row < first + width; row++) packed[at++] = rows[row * hidden + k]!;
    }
    first += width;
  }
  return packed;
}

/** One direction's weights in wasm memory. */
interface DirectionWeights {
  /** W^T in panel order, with the input-side biases, packed for the GEMM. */
  input: WasmBlock;
  recurrence: WasmBlock;
  /** LSTM: peepholes in panel order; GRU with linear_before_reset: Rb_h padded. */
  extra: WasmBlock | undefined;
}

/**
 * The biases the GEMM adds to one direction's input projection: Wb + Rb for every gate, except GRU's
 * candidate with linear_before_reset, whose Rb_h goes inside the reset product.
 */
function inputBias(b: Float32Array | undefined, d: number, gateRows: number, rbOutside: number): Float32Array | undefined {
  if (!b) return undefined;
  const start = d * 2 * gateRows;
  return Float32Array.from({ length: gateRows }, (_, j) => b[start + j]! + (j < gateRows - rbOutside ? b[start + gateRows + j]! : 0));
}

function prepareCell(kind: CellKind, runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_gemm_minmax', kind === LSTM ? 'f32_lstm_sequence' : 'f32_gru_sequence');
  const { gates } = kind;
  const isLstm = kind === LSTM;
  const [wDims, rDims, bDims, pDims] = WEIGHT_INPUTS.map((index) => (present(info, index) ? weightDims(info, index) : undefined));
  if (wDims!.length !== 3 || wDims![1]! % gates !== 0) shapeError(info, `W must have dims [directions, ${gates} * hidden, input], got [${wDims!.join(', ')}]`);
  const [directions, gateRows, inputSize] = wDims as [number, number, number];
  const hidden = gateRows / gates;
  const expectedDirections = info.attributes.direction === 'bidirectional' ? 2 : 1;
  if (directions !== expectedDirections) shapeError(info, `W must have ${expectedDirections} direction(s), got [${wDims!.join(', ')}]`);
  const expectDims = (dims: readonly number[] | undefined, expected: number[], name: string) => {
    if (dims && (dims.length !== expected.length || dims.some((dim, i) => dim !== expected[i]))) {
      shapeError(info, `${name} must have dims [${expected.join(', ')}], got [${dims.join(', ')}]`);
    }
  };
  expectDims(rDims, [directions, gateRows, hidden], 'R');
  expectDims(bDims, [directions, 2 * gateRows], 'B');
  expectDims(pDims, [directions, 3 * hidden], 'P');
  const padded = roundToPanels(hidden);
  const paddedRows = gates * padded;
  const reverseOnly = info.attributes.direction === 'reverse';
  const batchMajor = info.attributes.layout === 1;
  const clip = (info.attributes.clip as number | undefined) ?? Infinity;
  const inputForget = info.attributes.input_forget ? 1 : 0;
  const linearBeforeReset = !isLstm && info.attributes.linear_before_reset ? 1 : 0;

  const extraFloats = pDims ? 3 * padded : linearBeforeReset ? padded : 0;
  const weights: DirectionWeights[] = Array.from({ length: directions }, () => ({
    input: runtime.alloc(runtime.kernels.f32_gemm_packed_size(paddedRows, inputSize)),
    recurrence: runtime.alloc(padded * gates * hidden * 4),
    extra: extraFloats > 0 ? runtime.alloc(extraFloats * 4) : undefined,
  }));
  /** W^T (and its bias) staged in scratch for f32_gemm_pack: [paddedRows, inputSize], then the bias. */
  const biasOffset = Math.ceil((paddedRows * inputSize * 4) / 64) * 64;
  const packSourceBytes = biasOffset + paddedRows * 4;

  /** Per direction, whether R is finite: then a zero initial h makes the first step's products zero (the cells skip them). */
  const recurrenceFinite = weights.map(() => false);
  /** Packs W, R, B and P (host or wasm tensors) into the direction blocks. */
  const pack = (w: Tensor, r: Tensor, b: Tensor | undefined, peepholes: Tensor | undefined) => {
    const [wValues, rValues, bValues] = [w.data as Float32Array, r.data as Float32Array, b?.data as Float32Array | undefined];
    weights.forEach(({ input, recurrence, extra }, d) => {
      const bias = inputBias(bValues, d, gateRows, linearBeforeReset * hidden);
      const source = runtime.scratch(packSourceBytes);
      runtime.f32(source, paddedRows * inputSize).set(panelRows(wValues.subarray(d * gateRows * inputSize, (d + 1) * gateRows * inputSize), gates, hidden, inputSize));
      if (bias) runtime.f32(source + biasOffset, paddedRows).set(panelRows(bias, gates, hidden, 1));
      runtime.packPanels(paddedRows, inputSize, source, 1, inputSize, bias ? source + biasOffset : 0, input.pointer);
      const rDirection = rValues.subarray(d * gateRows * hidden, (d + 1) * gateRows * hidden);
      runtime.f32(recurrence.pointer, padded * gates * hidden).set((isLstm ? packRecurrenceBlocks : packRecurrence)(rDirection, gates, hidden));
      recurrenceFinite[d] = runtime.kernels.f32_all_finite(recurrence.pointer, padded * gates * hidden) !== 0;
      if (peepholes) runtime.f32(extra!.pointer, extraFloats).set(panelRows((peepholes.data as Float32Array).subarray(d * 3 * hidden, (d + 1) * 3 * hidden), 3, hidden, 1));
      if (linearBeforeReset) {
        const candidateBias = bValues?.subarray((2 * d + 1) * gateRows + 2 * hidden, (2 * d + 2) * gateRows) ?? new Float32Array(hidden);
        runtime.f32(extra!.pointer, extraFloats).set(panelRows(candidateBias, 1, hidden, 1));
      }
    });
  };
  const constantWeights = WEIGHT_INPUTS.every((index) => !present(info, index) || info.constants[index] !== undefined);
  if (constantWeights) pack(info.constants[1]!, info.constants[2]!, info.constants[3], info.constants[7]);

  const outputCount = isLstm ? 3 : 2;
  const wanted = (index: number) => (info.node.outputs[index] ?? '') !== '';
  // The last, GRU's reset, is followed by a panel's sums (its 3 gates of 8 units).
  const workBytes = (sequence: number, batch: number) => [sequence * batch * paddedRows * 4, padded * 4, padded * 4, padded * 4, (padded + 3 * UNITS) * 4];
  const xDims = staticDims(info, 0);
  if (xDims?.length === 3) {
    const [sequence, batch] = batchMajor ? [xDims[1]!, xDims[0]!] : [xDims[0]!, xDims[1]!];
    const stateBytes = directions * batch * hidden * 4;
    const tensors = [sequence * batch * inputSize * 4, ...kind.stateInputs.map(() => stateBytes), sequence * stateBytes, stateBytes, stateBytes];
    runtime.reserveScratch(Math.max(packSourceBytes, Staging.bytesFor(tensors, workBytes(sequence, batch))));
  }

  return {
    run(io) {
      if (!constantWeights) {
        const [w, r, b, peepholes] = WEIGHT_INPUTS.map((index) => (present(info, index) ? floatInput(info, io, index) : undefined));
        [w, r, b, peepholes].forEach((tensor, i) => expectDims(tensor?.dims, [wDims, rDims, bDims, pDims][i]! as number[], ['W', 'R', 'B', 'P'][i]!));
        pack(w!, r!, b, peepholes);
      }
      const x = floatInput(info, io, 0);
      if (x.dims.length !== 3 || x.dims[2] !== inputSize) shapeError(info, `X must have dims [seq, batch, ${inputSize}] (batch first with layout 1), got [${x.dims.join(', ')}]`);
      const [sequence, batch] = (batchMajor ? [x.dims[1], x.dims[0]] : [x.dims[0], x.dims[1]]) as [number, number];
      const stateDims = batchMajor ? [batch, directions, hidden] : [directions, batch, hidden];
      const initial = kind.stateInputs.map((index) => (present(info, index) ? floatInput(info, io, index) : undefined));
      for (const state of initial) expectDims(state?.dims, stateDims, 'initial states');
      const lengths = sequenceLengths(info, io.inputs[4] as Tensor | undefined, batch, sequence);
      const outputs = Array.from({ length: outputCount }, (_, index) => {
        if (!wanted(index)) return undefined;
        return io.output(index, 'float32', index === 0 ? (batchMajor ? [batch, sequence, directions, hidden] : [sequence, directions, batch, hidden]) : stateDims);
      });
      const staging = new Staging(
        runtime,
        [x, ...initial.filter((state): state is Tensor => state !== undefined)],
        outputs.filter((output): output is Tensor => output !== undefined),
        workBytes(sequence, batch),
      );
      const [gatesX, h, cell, hNext, reset] = [0, 1, 2, 3, 4].map((index) => staging.work(index)) as [number, number, number, number, number];
      const memory = runtime.f32(0, runtime.buffer.byteLength / 4);
      const y = outputs[0] ? staging.address(outputs[0]) : 0;
      // Float offsets of (time, batch) rows of the gates and of (direction, batch) / (time, direction, batch) rows of the outputs.
      const gateRow = (t: number, row: number) => (batchMajor ? row * sequence + t : t * batch + row) * paddedRows;
      const stateRow = (d: number, row: number) => (batchMajor ? row * directions + d : d * batch + row) * hidden;
      const outputRow = (t: number, d: number, row: number) => (batchMajor ? (row * sequence + t) * directions + d : (t * directions + d) * batch + row) * hidden;
      const loadState = (state: Tensor | undefined, into: number, at: number) => {
        memory.fill(0, into / 4, into / 4 + padded);
        if (state) memory.copyWithin(into / 4, staging.address(state) / 4 + at, staging.address(state) / 4 + at + hidden);
      };
      for (let d = 0; d < directions; d++) {
        const { input, recurrence, extra } = weights[d]!;
        runtime.gemm(sequence * batch, paddedRows, inputSize, staging.address(x), inputSize, input.pointer, gatesX, paddedRows, -Infinity, Infinity);
        const reverse = reverseOnly || d === 1;
        for (let row = 0; row < batch; row++) {
          const length = lengths[row]!;
          const [first, direction] = reverse ? [length - 1, -1] : [0, 1];
          const at = stateRow(d, row);
          loadState(initial[0], h, at);
          loadState(initial[1], cell, at);
          const gates = gatesX + gateRow(first, row) * 4;
          const gateStride = direction * (gateRow(1, 0) - gateRow(0, 0)) * 4;
          const yFirst = y === 0 ? 0 : y + outputRow(first, d, row) * 4;
          const yStride = direction * (outputRow(1, d, 0) - outputRow(0, d, 0)) * 4;
          // No initial_h: h starts at zero, and so do the first step's products when R is finite.
          const zeroStart = !initial[0] && recurrenceFinite[d] ? 1 : 0;
          if (isLstm) {
            runtime.kernels.f32_lstm_sequence(hidden, length, recurrence.pointer, gates, gateStride, extra?.pointer ?? 0, clip, inputForget, h, cell, yFirst, yStride, zeroStart);
          } else {
            runtime.kernels.f32_gru_sequence(hidden, length, recurrence.pointer, gates, gateStride, extra?.pointer ?? 0, clip, linearBeforeReset, h, hNext, reset, yFirst, yStride, zeroStart);
          }
          // Steps past a row's sequence length output zeros.
          for (let t = length; y !== 0 && t < sequence; t++) memory.fill(0, y / 4 + outputRow(t, d, row), y / 4 + outputRow(t, d, row) + hidden);
          for (const [output, state] of [[outputs[1], h], [outputs[2], cell]] as const) {
            if (output) memory.copyWithin(staging.address(output) / 4 + at, state / 4, state / 4 + hidden);
          }
        }
      }
      staging.finish();
    },
    dispose() {
      for (const { input, recurrence, extra } of weights) {
        input.release();
        recurrence.release();
        extra?.release();
      }
    },
  };
}

/** Each batch row's number of steps: sequence_lens clamped to [0, sequence], or the whole sequence. */
function sequenceLengths(info: NodeInfo, lengths: Tensor | undefined, batch: number, sequence: number): number[] {
  if (!lengths) return new Array<number>(batch).fill(sequence);
  if (lengths.dims.length !== 1 || lengths.dims[0] !== batch) shapeError(info, `sequence_lens must have dims [${batch}], got [${lengths.dims.join(', ')}]`);
  const values = lengths.data as Int32Array;
  return Array.from({ length: batch }, (_, row) => Math.max(0, Math.min(values[row]!, sequence)));
}

export const recurrentOps: Record<string, WasmOp> = {
  LSTM: { supports: (info) => supportsCell(LSTM, info), prepare: (runtime, info) => prepareCell(LSTM, runtime, info) },
  GRU: { supports: (info) => supportsCell(GRU, info), prepare: (runtime, info) => prepareCell(GRU, runtime, info) },
};
