import { EdgerunError } from '../core/errors.js';
import type { Dim, Graph, Value, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { allocate } from '../core/dtype.js';
import { integersOf, isTensor, normalizeAxis, numbersOf, scalarOf, shapeOf, tensorType, unionType } from './common.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { concatAlongAxis, sliceAlongAxis, stackAlongNewAxis, takeAlongAxis } from './sequence.js';

/**
 * If, Loop and Scan: the kernels only sequence subgraph runs; the subgraphs themselves run through
 * ctx.runGraph, which keeps the outer scope visible. Values (tensors, sequences, empty optionals) pass
 * through unchanged, so sequence- and optional-carrying forms need no special cases.
 */

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new EdgerunError('INVALID_ATTRIBUTE', `attribute '${name}' is required`);
  return value;
}

function isTrue(condition: Tensor): boolean {
  if (condition.size !== 1) {
    throw new EdgerunError('INVALID_ARGUMENT', `a condition must hold one value, got dims [${condition.dims.join(', ')}]`);
  }
  return numbersOf(condition)[0] !== 0;
}

function int64Scalar(value: number): Tensor {
  return new Tensor('int64', BigInt64Array.of(BigInt(value)), []);
}

function boolScalar(value: boolean): Tensor {
  return new Tensor('bool', Uint8Array.of(value ? 1 : 0), []);
}

function asTensor(value: Value | undefined, what: string): Tensor {
  if (!isTensor(value)) throw new EdgerunError('INVALID_ARGUMENT', `${what} must be a tensor`);
  return value;
}

/**
 * Stacks per-iteration slices along a new axis. With no iterations there are no slices to learn the
 * shape from, so the body's declared output type gives the element type and the remaining dims.
 */
function stackSlices(slices: readonly Tensor[], axis: number, declared: ValueType | undefined): Tensor {
  if (slices.length > 0) return stackAlongNewAxis(slices, normalizeAxis(axis, slices[0]!.dims.length + 1, 'scan output axis'));
  const dtype = declared?.kind === 'tensor' ? declared.dtype : 'float32';
  const known = declared?.kind === 'tensor' && declared.shape?.every((dim) => typeof dim === 'number');
  const dims = known ? [...(declared.shape as number[])] : [];
  dims.splice(normalizeAxis(axis, dims.length + 1, 'scan output axis'), 0, 0);
  return new Tensor(dtype, allocate(dtype, 0), dims);
}

// ---------------------------------------------------------------------------------------------------------
// Static types. A subgraph's declared output types describe what each run returns; a value that is either
// an input or a subgraph result (If's branches, loop-carried values) gets the type covering both.

/** A loop-carried value: the initial value after no iterations, the body's result after some. */
function carriedType(initial: ValueType | undefined, bodyResult: ValueType | undefined): ValueType | undefined {
  const covering = unionType(initial, bodyResult);
  if (covering) return covering;
  // The element type cannot change between iterations, the shape can.
  return initial?.kind === 'tensor' ? tensorType(initial.dtype) : undefined;
}

/**
 * A scan output: the body's per-iteration slice type with the iteration count inserted at `axis`. With
 * no iterations the kernel keeps only the declared dims it knows (see stackSlices), so a slice type with
 * unknown dims tells the rank only when there is at least one iteration.
 */
function stackedType(slice: ValueType | undefined, iterations: Dim, axis: number): ValueType | undefined {
  if (slice?.kind !== 'tensor') return undefined;
  const shape = slice.shape;
  const everyDimKnown = shape?.every((dim) => typeof dim === 'number');
  if (!shape || (!everyDimKnown && !(typeof iterations === 'number' && iterations > 0))) return tensorType(slice.dtype);
  const stacked = [...shape];
  stacked.splice(normalizeAxis(axis, shape.length + 1, 'scan output axis'), 0, iterations);
  return tensorType(slice.dtype, stacked);
}

function inputGiven(ctx: InferContext<unknown>, index: number): boolean {
  return (ctx.node.inputs[index] ?? '') !== '';
}

/** Loop's iteration count when it is fixed before running: a constant M and no condition input. */
function fixedTripCount(ctx: InferContext<unknown>): number | undefined {
  const limit = inputGiven(ctx, 0) ? ctx.constant(0) : undefined;
  if (!limit) return undefined;
  const trips = scalarOf(limit);
  return trips <= 0 ? 0 : inputGiven(ctx, 1) ? undefined : trips;
}

function inferLoop(ctx: InferContext<{ body: Graph | undefined }>): (ValueType | undefined)[] {
  const bodyOutputs = ctx.attrs.body?.outputs ?? [];
  const carried = ctx.inputTypes.slice(2).map((initial, k) => carriedType(initial, bodyOutputs[1 + k]?.type));
  const trips = fixedTripCount(ctx);
  const scanned = bodyOutputs.slice(1 + carried.length).map(({ type }) => stackedType(type, trips, 0));
  return [...carried, ...scanned];
}

/** The common length of the scan inputs along their scan axes, where their shapes tell it. */
function scanLengthType(inputs: readonly { type: ValueType | undefined; axis: number }[]): Dim {
  const lengths = inputs.map(({ type, axis }) => {
    const shape = shapeOf(type);
    return shape ? shape[normalizeAxis(axis, shape.length, 'scan_input_axes')] : undefined;
  });
  return lengths.find((length) => typeof length === 'number') ?? lengths.find((length) => length !== undefined);
}

function inferScan9(ctx: InferContext<Scan9Attrs>): (ValueType | undefined)[] {
  const { body, num_scan_inputs: scanInputCount } = ctx.attrs;
  if (!body || scanInputCount === undefined) return [];
  const stateCount = ctx.inputTypes.length - scanInputCount;
  const states = ctx.inputTypes.slice(0, stateCount).map((initial, n) => carriedType(initial, body.outputs[n]?.type));
  const length = scanLengthType(ctx.inputTypes.slice(stateCount).map((type, m) => ({ type, axis: ctx.attrs.scan_input_axes?.[m] ?? 0 })));
  const outputs = body.outputs.slice(stateCount).map(({ type }, k) => stackedType(type, length, ctx.attrs.scan_output_axes?.[k] ?? 0));
  return [...states, ...outputs];
}

/** Opset 8: states and outputs gain the leading batch axis; outputs are as long as the longest sequence. */
function inferScan8(ctx: InferContext<{ body: Graph | undefined; num_scan_inputs: number | undefined }>): (ValueType | undefined)[] {
  const { body, num_scan_inputs: scanInputCount } = ctx.attrs;
  if (!body || scanInputCount === undefined) return [];
  const operands = ctx.inputTypes.slice(1);
  const stateCount = operands.length - scanInputCount;
  const batch = shapeOf(operands[0])?.[0];
  const sequenceLengths = inputGiven(ctx, 0) ? ctx.constant(0) : undefined;
  const fullLength = shapeOf(operands[stateCount])?.[1];
  const maxLength = !inputGiven(ctx, 0) ? fullLength : sequenceLengths ? Math.max(0, ...integersOf(sequenceLengths)) : undefined;
  const batched = (type: ValueType | undefined) => stackedType(type, batch, 0);
  const states = operands.slice(0, stateCount).map((initial, n) => unionType(initial, batched(body.outputs[n]?.type)) ?? carriedType(initial, undefined));
  const outputs = body.outputs.slice(stateCount).map(({ type }) => batched(stackedType(type, maxLength, 0)));
  return [...states, ...outputs];
}

// ---------------------------------------------------------------------------------------------------------
// Loop

function runLoop(ctx: KernelContext<{ body: Graph | undefined }>): Value[] {
  const body = required(ctx.attrs.body, 'body');
  const maxTrips = ctx.optionalTensor(0);
  const conditionInput = ctx.optionalTensor(1);
  const tripLimit = maxTrips ? integersOf(maxTrips)[0]! : Infinity;
  let carried: Value[] = ctx.inputs.slice(2).map((value) => value ?? null);
  const carriedCount = carried.length;
  const scanCount = body.outputs.length - 1 - carriedCount;
  const scanSlices: Tensor[][] = Array.from({ length: scanCount }, () => []);
  let keepGoing = conditionInput ? isTrue(conditionInput) : true;
  // With neither M nor cond the loop is infinite by the spec; the run's time limit ends it.
  for (let iteration = 0; iteration < tripLimit && keepGoing; iteration++) {
    const results = ctx.runGraph(body, [int64Scalar(iteration), boolScalar(keepGoing), ...carried]);
    // Without a cond input the body's condition output is computed but, per the spec, ignored.
    if (conditionInput) keepGoing = isTrue(asTensor(results[0], 'the Loop body condition output'));
    carried = results.slice(1, 1 + carriedCount);
    results.slice(1 + carriedCount).forEach((slice, k) => scanSlices[k]!.push(asTensor(slice, `Loop scan output #${k}`)));
  }
  const scanOutputs = scanSlices.map((slices, k) => stackSlices(slices, 0, body.outputs[1 + carriedCount + k]?.type));
  return [...carried, ...scanOutputs];
}

// ---------------------------------------------------------------------------------------------------------
// Scan

interface ScanPlan {
  states: Value[];
  /** Scan inputs with their scan axis and whether they are read back to front. */
  inputs: { tensor: Tensor; axis: number; reversed: boolean }[];
  /** Iterations to run (every scan input must be at least this long along its axis). */
  length: number;
}

/** Runs the body once per scan position; returns the final states and each scan output's slices in iteration order. */
function runScanBody(ctx: KernelContext<unknown>, body: Graph, plan: ScanPlan): { states: Value[]; slices: Tensor[][] } {
  let states = plan.states;
  const stateCount = states.length;
  const slices: Tensor[][] = Array.from({ length: body.outputs.length - stateCount }, () => []);
  for (let step = 0; step < plan.length; step++) {
    const elements = plan.inputs.map(({ tensor, axis, reversed }) => takeAlongAxis(tensor, axis, reversed ? plan.length - 1 - step : step));
    const results = ctx.runGraph(body, [...states, ...elements]);
    states = results.slice(0, stateCount);
    results.slice(stateCount).forEach((slice, k) => slices[k]!.push(asTensor(slice, `Scan output #${k}`)));
  }
  return { states, slices };
}

function scanLength(inputs: ScanPlan['inputs']): number {
  if (inputs.length === 0) throw new EdgerunError('INVALID_ARGUMENT', 'Scan needs at least one scan input');
  const length = inputs[0]!.tensor.dims[inputs[0]!.axis]!;
  for (const { tensor, axis } of inputs) {
    if (tensor.dims[axis] !== length) {
      throw new EdgerunError('SHAPE_MISMATCH', `scan inputs disagree on the sequence length (${length} vs ${tensor.dims[axis]})`);
    }
  }
  return length;
}

interface Scan9Attrs {
  body: Graph | undefined;
  num_scan_inputs: number | undefined;
  scan_input_axes: number[] | undefined;
  scan_input_directions: number[] | undefined;
  scan_output_axes: number[] | undefined;
  scan_output_directions: number[] | undefined;
}

function runScan9(ctx: KernelContext<Scan9Attrs>): Value[] {
  const body = required(ctx.attrs.body, 'body');
  const scanInputCount = required(ctx.attrs.num_scan_inputs, 'num_scan_inputs');
  const stateCount = ctx.inputs.length - scanInputCount;
  const inputs = ctx.inputs.slice(stateCount).map((value, m) => {
    const tensor = asTensor(value, `scan input #${m}`);
    const axis = normalizeAxis(ctx.attrs.scan_input_axes?.[m] ?? 0, tensor.dims.length, 'scan_input_axes');
    return { tensor, axis, reversed: ctx.attrs.scan_input_directions?.[m] === 1 };
  });
  const plan = { states: ctx.inputs.slice(0, stateCount).map((value) => value ?? null), inputs, length: scanLength(inputs) };
  const { states, slices } = runScanBody(ctx, body, plan);
  const outputs = slices.map((perStep, k) => {
    const ordered = ctx.attrs.scan_output_directions?.[k] === 1 ? [...perStep].reverse() : perStep;
    return stackSlices(ordered, ctx.attrs.scan_output_axes?.[k] ?? 0, body.outputs[stateCount + k]?.type);
  });
  return [...states, ...outputs];
}

/** Zero-pads `tensor` along axis 0 to `length` (opset-8 Scan outputs of batches with shorter sequences). */
function padToLength(tensor: Tensor, length: number): Tensor {
  const missing = length - tensor.dims[0]!;
  if (missing <= 0) return tensor;
  const padDims = [missing, ...tensor.dims.slice(1)];
  const zeros = new Tensor(tensor.type, allocate(tensor.type, padDims.reduce((a, b) => a * b, 1)), padDims);
  return concatAlongAxis([tensor, zeros], 0);
}

/**
 * Opset 8: every state and scan input has a leading batch axis, the scan axis is the one after it, and
 * sequence_lens gives each batch entry its own length. Each batch entry is an independent opset-9 scan.
 */
function runScan8(ctx: KernelContext<{ body: Graph | undefined; num_scan_inputs: number | undefined; directions: number[] | undefined }>): Value[] {
  const body = required(ctx.attrs.body, 'body');
  const scanInputCount = required(ctx.attrs.num_scan_inputs, 'num_scan_inputs');
  const sequenceLengths = ctx.optionalTensor(0);
  const operands = ctx.inputs.slice(1).map((value, index) => asTensor(value, `Scan input #${index + 1}`));
  const stateCount = operands.length - scanInputCount;
  const scanInputs = operands.slice(stateCount);
  const batch = operands[0]?.dims[0] ?? 0;
  const fullLength = scanInputs[0]?.dims[1] ?? 0;
  const lengths = sequenceLengths ? integersOf(sequenceLengths) : new Array<number>(batch).fill(fullLength);
  const perBatch = Array.from({ length: batch }, (_, b) => {
    const inputs = scanInputs.map((tensor, m) => ({
      tensor: sliceAlongAxis(takeAlongAxis(tensor, 0, b), 0, 0, lengths[b]!),
      axis: 0,
      reversed: ctx.attrs.directions?.[m] === 1,
    }));
    const states = operands.slice(0, stateCount).map((state) => takeAlongAxis(state, 0, b));
    return runScanBody(ctx, body, { states, inputs, length: lengths[b]! });
  });
  const finalStates = Array.from({ length: stateCount }, (_, n) =>
    stackAlongNewAxis(perBatch.map((result) => asTensor(result.states[n], `Scan state #${n}`)), 0),
  );
  const scanOutputCount = body.outputs.length - stateCount;
  const maxLength = Math.max(0, ...lengths);
  const scanOutputs = Array.from({ length: scanOutputCount }, (_, k) =>
    stackAlongNewAxis(
      perBatch.map((result) => padToLength(stackSlices(result.slices[k]!, 0, body.outputs[stateCount + k]?.type), maxLength)),
      0,
    ),
  );
  return [...finalStates, ...scanOutputs];
}

export const ops: OpDef[] = [
  defineOp({
    name: 'If',
    since: 1,
    inputs: ['cond'],
    outputs: ['outputs...'],
    attributes: { then_branch: attr.graph(), else_branch: attr.graph() },
    infer: ({ attrs }) => {
      const elseOutputs = attrs.else_branch?.outputs ?? [];
      return (attrs.then_branch?.outputs ?? []).map((output, k) => unionType(output.type, elseOutputs[k]?.type));
    },
    kernel: (ctx) => {
      const branch = isTrue(ctx.tensor(0))
        ? required(ctx.attrs.then_branch, 'then_branch')
        : required(ctx.attrs.else_branch, 'else_branch');
      return ctx.runGraph(branch, []);
    },
  }),

  defineOp({
    name: 'Loop',
    since: 1,
    inputs: ['M?', 'cond?', 'v_initial...'],
    outputs: ['v_final_and_scan_outputs...'],
    attributes: { body: attr.graph() },
    infer: inferLoop,
    kernel: runLoop,
  }),

  defineOp({
    name: 'Scan',
    since: 8,
    inputs: ['sequence_lens?', 'initial_state_and_scan_inputs...'],
    outputs: ['final_state_and_scan_outputs...'],
    attributes: { body: attr.graph(), num_scan_inputs: attr.int(), directions: attr.ints() },
    infer: inferScan8,
    kernel: runScan8,
  }),

  defineOp({
    name: 'Scan',
    since: 9,
    inputs: ['initial_state_and_scan_inputs...'],
    outputs: ['final_state_and_scan_outputs...'],
    attributes: {
      body: attr.graph(),
      num_scan_inputs: attr.int(),
      scan_input_axes: attr.ints(),
      scan_input_directions: attr.ints(),
      scan_output_axes: attr.ints(),
      scan_output_directions: attr.ints(),
    },
    infer: inferScan9,
    kernel: runScan9,
  }),
];
