import { EdgerunError } from '../core/errors.js';
import type { ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { defineOp, attr, type OpDef, type InferContext, type KernelContext } from './registry.js';
import { integersOf, numbersOf, shapeOf, tensorFromNumbers, tensorType } from './common.js';

/**
 * Recurrent layers: RNN, GRU and LSTM. One driver walks directions, batch rows and time steps (honouring
 * sequence_lens, initial states and the batch-major layout of opset 14); each op supplies only its cell, the
 * update of one batch row's state for one time step. Weights are stacked per gate in the spec's order
 * (RNN: i; GRU: z, r, h; LSTM: i, o, f, c), each gate a block of `hidden` rows.
 */

// ---------------------------------------------------------------------------------------------------------
// Activations, named as in the spec, with the alpha / beta they take and its defaults

type Activation = (x: number) => number;

interface ActivationSpec {
  /** Default alpha and beta; absent when the function takes none. */
  alpha?: number;
  beta?: number;
  make(alpha: number, beta: number): Activation;
}

const sigmoid: Activation = (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

const ACTIVATIONS: Record<string, ActivationSpec> = {
  relu: { make: () => (x) => (x > 0 ? x : 0) },
  tanh: { make: () => Math.tanh },
  sigmoid: { make: () => sigmoid },
  affine: { alpha: 1, beta: 0, make: (alpha, beta) => (x) => alpha * x + beta },
  leakyrelu: { alpha: 0.01, make: (alpha) => (x) => (x >= 0 ? x : alpha * x) },
  thresholdedrelu: { alpha: 1, make: (alpha) => (x) => (x > alpha ? x : 0) },
  scaledtanh: { alpha: 1, beta: 1, make: (alpha, beta) => (x) => alpha * Math.tanh(beta * x) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (alpha, beta) => (x) => Math.max(0, Math.min(1, alpha * x + beta)) },
  elu: { alpha: 1, make: (alpha) => (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1)) },
  softsign: { make: () => (x) => x / (1 + Math.abs(x)) },
  softplus: { make: () => (x) => Math.log1p(Math.exp(x)) },
};

/**
 * The activation functions of every direction, in attribute order. activation_alpha / activation_beta list
 * values only for the functions that take them, consumed in order; missing ones take the defaults.
 */
function resolveActivations(names: readonly string[], alphas: readonly number[], betas: readonly number[]): Activation[] {
  let nextAlpha = 0;
  let nextBeta = 0;
  return names.map((name) => {
    const spec = ACTIVATIONS[name.toLowerCase()];
    if (!spec) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `unknown recurrent activation '${name}'`);
    const alpha = spec.alpha === undefined ? 0 : (alphas[nextAlpha++] ?? spec.alpha);
    const beta = spec.beta === undefined ? 0 : (betas[nextBeta++] ?? spec.beta);
    return spec.make(alpha, beta);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Cells

/** One direction's weights, each gate a block of `hidden` rows. */
interface CellWeights {
  hidden: number;
  /** [gates * hidden, hidden] recurrence weights. */
  recurrence: Float64Array;
  /** [gates * hidden] recurrence bias (Rb). */
  recurrenceBias: Float64Array;
  /** [3 * hidden] LSTM peepholes (i, o, f), or undefined. */
  peepholes: Float64Array | undefined;
}

interface CellState {
  hidden: Float64Array;
  cell: Float64Array;
}

interface CellOptions {
  /** Activations f, g (and h for LSTM) of this direction. */
  activations: Activation[];
  /** Bounds activation inputs to [-clip, clip]; Infinity when unset. */
  clip: number;
  linearBeforeReset: boolean;
  inputForget: boolean;
}

/**
 * Updates `state` for one time step. `input` holds W·x + Wb for every gate of this batch row; a cell adds
 * the recurrence term itself because GRU's candidate gate mixes it with the reset gate.
 */
type Cell = (input: Float64Array, state: CellState, weights: CellWeights, options: CellOptions) => void;

/** out[r] += sum_k matrix[(firstRow + r), k] * vector[k], for `rows` rows of a row-major matrix. */
function addMatrixVector(out: Float64Array, matrix: Float64Array, firstRow: number, rows: number, vector: Float64Array): void {
  const columns = vector.length;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    const rowStart = (firstRow + r) * columns;
    for (let k = 0; k < columns; k++) sum += matrix[rowStart + k]! * vector[k]!;
    out[r]! += sum;
  }
}

function clipTo(value: number, clip: number): number {
  return value < -clip ? -clip : value > clip ? clip : value;
}

const rnnCell: Cell = (input, state, weights, { activations: [f], clip }) => {
  const { hidden } = weights;
  const gate = input.slice(0, hidden);
  addMatrixVector(gate, weights.recurrence, 0, hidden, state.hidden);
  for (let j = 0; j < hidden; j++) state.hidden[j] = f!(clipTo(gate[j]! + weights.recurrenceBias[j]!, clip));
};

const gruCell: Cell = (input, state, weights, { activations: [f, g], clip, linearBeforeReset }) => {
  const { hidden, recurrence, recurrenceBias } = weights;
  const previous = state.hidden;
  // Update (z) and reset (r) gates: rows [0, 2 * hidden).
  const updateAndReset = input.slice(0, 2 * hidden);
  addMatrixVector(updateAndReset, recurrence, 0, 2 * hidden, previous);
  for (let j = 0; j < 2 * hidden; j++) updateAndReset[j] = f!(clipTo(updateAndReset[j]! + recurrenceBias[j]!, clip));
  const candidateRecurrence = new Float64Array(hidden);
  if (linearBeforeReset) {
    // r ⊙ (R_h·H + Rb_h)
    addMatrixVector(candidateRecurrence, recurrence, 2 * hidden, hidden, previous);
    for (let j = 0; j < hidden; j++) {
      candidateRecurrence[j] = updateAndReset[hidden + j]! * (candidateRecurrence[j]! + recurrenceBias[2 * hidden + j]!);
    }
  } else {
    // R_h·(r ⊙ H) + Rb_h
    const resetPrevious = new Float64Array(hidden);
    for (let j = 0; j < hidden; j++) resetPrevious[j] = updateAndReset[hidden + j]! * previous[j]!;
    addMatrixVector(candidateRecurrence, recurrence, 2 * hidden, hidden, resetPrevious);
    for (let j = 0; j < hidden; j++) candidateRecurrence[j]! += recurrenceBias[2 * hidden + j]!;
  }
  for (let j = 0; j < hidden; j++) {
    const candidate = g!(clipTo(input[2 * hidden + j]! + candidateRecurrence[j]!, clip));
    const update = updateAndReset[j]!;
    previous[j] = (1 - update) * candidate + update * previous[j]!;
  }
};

const lstmCell: Cell = (input, state, weights, { activations: [f, g, h], clip, inputForget }) => {
  const { hidden, recurrence, recurrenceBias, peepholes } = weights;
  const gates = input.slice(0, 4 * hidden);
  addMatrixVector(gates, recurrence, 0, 4 * hidden, state.hidden);
  for (let j = 0; j < 4 * hidden; j++) gates[j]! += recurrenceBias[j]!;
  // Gate blocks in the weights: input, output, forget, cell.
  const [inputGate, outputGate, forgetGate, cellGate] = [0, hidden, 2 * hidden, 3 * hidden];
  const peephole = (gate: number, j: number) => (peepholes ? peepholes[gate * hidden + j]! : 0);
  for (let j = 0; j < hidden; j++) {
    const previousCell = state.cell[j]!;
    const i = f!(clipTo(gates[inputGate + j]! + peephole(0, j) * previousCell, clip));
    // input_forget couples the gates: what is written in is forgotten.
    const forget = inputForget ? 1 - i : f!(clipTo(gates[forgetGate + j]! + peephole(2, j) * previousCell, clip));
    const candidate = g!(clipTo(gates[cellGate + j]!, clip));
    const cell = forget * previousCell + i * candidate;
    const o = f!(clipTo(gates[outputGate + j]! + peephole(1, j) * cell, clip));
    state.cell[j] = cell;
    state.hidden[j] = o * h!(cell);
  }
};

// ---------------------------------------------------------------------------------------------------------
// The driver shared by the three ops

interface RecurrentKind {
  name: 'RNN' | 'GRU' | 'LSTM';
  gates: number;
  defaultActivations: string[];
  cell: Cell;
}

const RNN: RecurrentKind = { name: 'RNN', gates: 1, defaultActivations: ['Tanh'], cell: rnnCell };
const GRU: RecurrentKind = { name: 'GRU', gates: 3, defaultActivations: ['Sigmoid', 'Tanh'], cell: gruCell };
const LSTM: RecurrentKind = { name: 'LSTM', gates: 4, defaultActivations: ['Sigmoid', 'Tanh', 'Tanh'], cell: lstmCell };

interface RecurrentAttrs {
  activation_alpha: number[];
  activation_beta: number[];
  activations: string[] | undefined;
  clip: number | undefined;
  direction: string;
  hidden_size: number | undefined;
  layout: number;
  linear_before_reset: number;
  input_forget: number;
}

/** Where each (time, batch) or (direction, batch) entry lives, for the sequence-major and batch-major layouts. */
interface Layout<D = number> {
  sequence: D;
  batch: D;
  directions: number;
  hidden: D;
  batchMajor: boolean;
}

/** The layout of X [seq, batch, input] (or [batch, seq, input] with layout 1) and `hidden` units per direction. */
function layoutOf<D>(attrs: Pick<RecurrentAttrs, 'direction' | 'layout'>, xDims: readonly D[], hidden: D): Layout<D> {
  const batchMajor = attrs.layout === 1;
  const [sequence, batch] = batchMajor ? [xDims[1]!, xDims[0]!] : [xDims[0]!, xDims[1]!];
  return { sequence, batch, directions: attrs.direction === 'bidirectional' ? 2 : 1, hidden, batchMajor };
}

function inputOffset(l: Layout, t: number, b: number, inputSize: number): number {
  return (l.batchMajor ? b * l.sequence + t : t * l.batch + b) * inputSize;
}

function stateOffset(l: Layout, d: number, b: number): number {
  return (l.batchMajor ? b * l.directions + d : d * l.batch + b) * l.hidden;
}

function outputOffset(l: Layout, t: number, d: number, b: number): number {
  const index = l.batchMajor ? (b * l.sequence + t) * l.directions + d : (t * l.directions + d) * l.batch + b;
  return index * l.hidden;
}

/** Y_h and Y_c: [directions, batch, hidden], or [batch, directions, hidden] batch-major. */
function stateDims<D>(l: Layout<D>): (D | number)[] {
  return l.batchMajor ? [l.batch, l.directions, l.hidden] : [l.directions, l.batch, l.hidden];
}

/** Y: [seq, directions, batch, hidden], or [batch, seq, directions, hidden] batch-major. */
function sequenceDims<D>(l: Layout<D>): (D | number)[] {
  return l.batchMajor ? [l.batch, l.sequence, l.directions, l.hidden] : [l.sequence, l.directions, l.batch, l.hidden];
}

function checkDims(tensor: Tensor | undefined, expected: readonly number[], what: string): void {
  if (tensor && (tensor.dims.length !== expected.length || tensor.dims.some((dim, i) => dim !== expected[i]))) {
    throw new EdgerunError('SHAPE_MISMATCH', `${what} must have dims [${expected.join(', ')}], got [${tensor.dims.join(', ')}]`);
  }
}

function runRecurrent(kind: RecurrentKind, ctx: KernelContext<unknown>, attrs: RecurrentAttrs): (Tensor | undefined)[] {
  const x = ctx.tensor(0);
  const w = ctx.tensor(1);
  const r = ctx.tensor(2);
  const bias = ctx.optionalTensor(3);
  const sequenceLengths = ctx.optionalTensor(4);
  const initialHidden = ctx.optionalTensor(5);
  const initialCell = kind.name === 'LSTM' ? ctx.optionalTensor(6) : undefined;
  const peepholes = kind.name === 'LSTM' ? ctx.optionalTensor(7) : undefined;

  if (!['forward', 'reverse', 'bidirectional'].includes(attrs.direction)) ctx.fail('INVALID_ATTRIBUTE', `unknown direction '${attrs.direction}'`);
  if (x.dims.length !== 3) ctx.fail('SHAPE_MISMATCH', `X must have rank 3, got [${x.dims.join(', ')}]`);
  const layout = layoutOf(attrs, x.dims, attrs.hidden_size ?? r.dims[2]!);
  const { sequence, batch, directions, hidden } = layout;
  const inputSize = x.dims[2]!;
  const gateRows = kind.gates * hidden;
  checkDims(w, [directions, gateRows, inputSize], 'W');
  checkDims(r, [directions, gateRows, hidden], 'R');
  checkDims(bias, [directions, 2 * gateRows], 'B');
  checkDims(initialHidden, stateDims(layout), 'initial_h');
  checkDims(initialCell, stateDims(layout), 'initial_c');
  checkDims(peepholes, [directions, 3 * hidden], 'P');

  const names = attrs.activations ?? Array.from({ length: directions }, () => kind.defaultActivations).flat();
  const perDirection = kind.defaultActivations.length;
  if (names.length !== perDirection * directions) {
    ctx.fail('INVALID_ATTRIBUTE', `${kind.name} with ${directions} direction(s) needs ${perDirection * directions} activations, got ${names.length}`);
  }
  const activations = resolveActivations(names, attrs.activation_alpha, attrs.activation_beta);
  const lengths = sequenceLengths ? integersOf(sequenceLengths) : new Array<number>(batch).fill(sequence);

  const xValues = numbersOf(x);
  const wValues = Float64Array.from(numbersOf(w));
  const rValues = Float64Array.from(numbersOf(r));
  const biasValues = bias ? Float64Array.from(numbersOf(bias)) : new Float64Array(directions * 2 * gateRows);
  const hiddenStart = initialHidden ? numbersOf(initialHidden) : undefined;
  const cellStart = initialCell ? numbersOf(initialCell) : undefined;
  const peepholeValues = peepholes ? Float64Array.from(numbersOf(peepholes)) : undefined;

  const y = new Float64Array(sequence * directions * batch * hidden);
  const lastHidden = new Float64Array(directions * batch * hidden);
  const lastCell = new Float64Array(directions * batch * hidden);
  const input = new Float64Array(gateRows);
  const xRow = new Float64Array(inputSize);

  for (let d = 0; d < directions; d++) {
    const reverse = attrs.direction === 'reverse' || d === 1;
    const inputWeights = wValues.subarray(d * gateRows * inputSize, (d + 1) * gateRows * inputSize);
    const inputBias = biasValues.subarray(d * 2 * gateRows, d * 2 * gateRows + gateRows);
    const weights: CellWeights = {
      hidden,
      recurrence: rValues.subarray(d * gateRows * hidden, (d + 1) * gateRows * hidden),
      recurrenceBias: biasValues.subarray(d * 2 * gateRows + gateRows, (d + 1) * 2 * gateRows),
      peepholes: peepholeValues?.subarray(d * 3 * hidden, (d + 1) * 3 * hidden),
    };
    const options: CellOptions = {
      activations: activations.slice(d * perDirection, (d + 1) * perDirection),
      clip: attrs.clip ?? Infinity,
      linearBeforeReset: attrs.linear_before_reset !== 0,
      inputForget: attrs.input_forget !== 0,
    };
    for (let b = 0; b < batch; b++) {
      const start = stateOffset(layout, d, b);
      const state: CellState = {
        hidden: hiddenStart ? Float64Array.from({ length: hidden }, (_, j) => hiddenStart[start + j]!) : new Float64Array(hidden),
        cell: cellStart ? Float64Array.from({ length: hidden }, (_, j) => cellStart[start + j]!) : new Float64Array(hidden),
      };
      const length = Math.min(lengths[b]!, sequence);
      for (let step = 0; step < length; step++) {
        const t = reverse ? length - 1 - step : step;
        const xStart = inputOffset(layout, t, b, inputSize);
        for (let k = 0; k < inputSize; k++) xRow[k] = xValues[xStart + k]!;
        input.set(inputBias);
        addMatrixVector(input, inputWeights, 0, gateRows, xRow);
        kind.cell(input, state, weights, options);
        y.set(state.hidden, outputOffset(layout, t, d, b));
      }
      lastHidden.set(state.hidden, start);
      lastCell.set(state.cell, start);
    }
  }

  const yDims = sequenceDims(layout);
  const outputs: (Tensor | undefined)[] = [
    ctx.outputWanted(0) ? tensorFromNumbers(x.type, yDims, y) : undefined,
    ctx.outputWanted(1) ? tensorFromNumbers(x.type, stateDims(layout), lastHidden) : undefined,
  ];
  if (kind.name === 'LSTM') outputs.push(ctx.outputWanted(2) ? tensorFromNumbers(x.type, stateDims(layout), lastCell) : undefined);
  return outputs;
}

// ---------------------------------------------------------------------------------------------------------
// Op definitions: opset 1 (output_sequence, ignored: every output is optional anyway), 7, and 14 (layout)

/** Every output has X's element type; Y, Y_h (and Y_c) are shaped by X's layout and the hidden size. */
function inferRecurrent(kind: RecurrentKind, { inputTypes, attrs }: InferContext<Partial<RecurrentAttrs>>): (ValueType | undefined)[] {
  const x = inputTypes[0];
  const outputCount = kind.name === 'LSTM' ? 3 : 2;
  if (x?.kind !== 'tensor') return new Array<undefined>(outputCount).fill(undefined);
  const shape = shapeOf(x);
  const hidden = attrs.hidden_size ?? shapeOf(inputTypes[2])?.[2];
  const direction = attrs.direction ?? 'forward';
  if (shape?.length !== 3 || !['forward', 'reverse', 'bidirectional'].includes(direction)) return new Array<ValueType>(outputCount).fill(tensorType(x.dtype));
  const layout = layoutOf({ direction, layout: attrs.layout ?? 0 }, shape, hidden);
  const state = tensorType(x.dtype, stateDims(layout));
  return [tensorType(x.dtype, sequenceDims(layout)), state, state].slice(0, outputCount);
}

const COMMON_ATTRIBUTES = {
  activation_alpha: attr.floats([]),
  activation_beta: attr.floats([]),
  activations: attr.strings(),
  clip: attr.float(),
  direction: attr.string('forward'),
  hidden_size: attr.int(),
};

const EXTRA_ATTRIBUTES: Record<RecurrentKind['name'], object> = {
  RNN: {},
  GRU: { linear_before_reset: attr.int(0) },
  LSTM: { input_forget: attr.int(0) },
};

const INPUTS: Record<RecurrentKind['name'], string[]> = {
  RNN: ['X', 'W', 'R', 'B?', 'sequence_lens?', 'initial_h?'],
  GRU: ['X', 'W', 'R', 'B?', 'sequence_lens?', 'initial_h?'],
  LSTM: ['X', 'W', 'R', 'B?', 'sequence_lens?', 'initial_h?', 'initial_c?', 'P?'],
};

function recurrentOps(kind: RecurrentKind): OpDef[] {
  const outputs = kind.name === 'LSTM' ? ['Y?', 'Y_h?', 'Y_c?'] : ['Y?', 'Y_h?'];
  const versions: [number, object][] = [
    [1, { output_sequence: attr.int(0) }],
    [7, {}],
    [14, { layout: attr.int(0) }],
  ];
  return versions.map(([since, versionAttributes]) =>
    defineOp({
      name: kind.name,
      since,
      inputs: INPUTS[kind.name],
      outputs,
      infer: (ctx) => inferRecurrent(kind, ctx as InferContext<Partial<RecurrentAttrs>>),
      attributes: { ...COMMON_ATTRIBUTES, ...EXTRA_ATTRIBUTES[kind.name], ...versionAttributes },
      kernel: (ctx) => {
        // Attributes a version or an op lacks read as their neutral values.
        const given = ctx.attrs as Partial<RecurrentAttrs>;
        const attrs: RecurrentAttrs = { layout: 0, linear_before_reset: 0, input_forget: 0, ...given } as RecurrentAttrs;
        return runRecurrent(kind, ctx, attrs);
      },
    }),
  );
}

export const ops: OpDef[] = [...recurrentOps(RNN), ...recurrentOps(GRU), ...recurrentOps(LSTM)];
