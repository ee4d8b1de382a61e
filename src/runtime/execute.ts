import { EdgerunError, asEdgerunError } from '../core/errors.js';
import { DATA_TYPES, arrayLengthFor, type DataType, type TensorData } from '../core/dtype.js';
import type { Graph, Value, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { tryInfer } from '../ops/common.js';
import type { KernelIO } from '../backends/backend.js';
import { outputLimitError, type Plan, type Step } from './plan.js';
import type { Profiler } from './profile.js';

/** Limits and hooks of one run. */
export interface ExecuteLimits {
  /** Date.now() after which the run stops with LIMIT_EXCEEDED. */
  deadline?: number;
  /** Called after each step of the top-level graph. */
  onProgress?: (done: number, total: number) => void;
  /** Records each step's time when profiling is on. */
  profiler?: Profiler;
}

/** The values of one running graph; a subgraph's frame reads enclosing values through its parent. */
class Frame {
  readonly values: (Value | undefined)[];

  constructor(
    readonly plan: Plan,
    readonly parent: Frame | undefined,
  ) {
    this.values = new Array(plan.ids.size);
  }

  lookup(name: string): Value | undefined {
    const id = this.plan.ids.get(name);
    const local = id === undefined ? undefined : this.values[id];
    return local !== undefined ? local : this.parent?.lookup(name);
  }
}

/** Runs a plan's steps in order on the calling thread; returns the graph outputs by name. */
export function executePlan(plan: Plan, feeds: ReadonlyMap<string, Value>, limits: ExecuteLimits = {}, parent?: Frame): Map<string, Value> {
  const frame = beginFrame(plan, feeds, parent);
  const progress = parent ? undefined : limits.onProgress;
  for (let index = 0; index < plan.steps.length; index++) {
    const pending = runStep(frame, plan.steps[index]!, limits);
    if (pending) {
      throw new EdgerunError('KERNEL_FAILED', `${plan.steps[index]!.backend.name} runs this node asynchronously; use run(), not runSync()`, [
        plan.steps[index]!.label,
      ]);
    }
    progress?.(index + 1, plan.steps.length);
  }
  return finishFrame(frame);
}

/** As executePlan, awaiting the kernels that run asynchronously (a GPU backend's). */
export async function executePlanAsync(plan: Plan, feeds: ReadonlyMap<string, Value>, limits: ExecuteLimits = {}): Promise<Map<string, Value>> {
  const frame = beginFrame(plan, feeds, undefined);
  for (let index = 0; index < plan.steps.length; index++) {
    const pending = runStep(frame, plan.steps[index]!, limits);
    if (pending) await pending;
    limits.onProgress?.(index + 1, plan.steps.length);
  }
  return finishFrame(frame);
}

function beginFrame(plan: Plan, feeds: ReadonlyMap<string, Value>, parent: Frame | undefined): Frame {
  if (!parent) for (const backend of plan.context.backends) backend.beginRun?.();
  plan.arena?.refresh();
  const frame = new Frame(plan, parent);
  for (const [id, tensor] of plan.constants) frame.values[id] = tensor;
  for (const [name, id] of plan.outerReads) frame.values[id] = parent?.lookup(name);
  for (const [name, value] of feeds) {
    const id = plan.ids.get(name);
    if (id !== undefined) frame.values[id] = value;
  }
  return frame;
}

function finishFrame(frame: Frame): Map<string, Value> {
  const { plan } = frame;
  const results = new Map<string, Value>();
  plan.graph.outputs.forEach((output, index) => {
    const value = frame.values[plan.outputIds[index]!];
    if (value === undefined) {
      throw new EdgerunError('INVALID_GRAPH', `graph output '${output.name}' was never produced`, [`graph '${plan.graph.name}'`]);
    }
    // Outputs leave the arena: the next run reuses its memory while the caller still holds these.
    results.set(output.name, detached(value, plan));
  });
  return results;
}

/** Runs one step; returns a promise only when its kernel runs asynchronously. */
function runStep(frame: Frame, step: Step, limits: ExecuteLimits): Promise<void> | undefined {
  if (limits.deadline !== undefined && Date.now() > limits.deadline) {
    throw new EdgerunError('LIMIT_EXCEEDED', 'the run exceeded its time limit', [step.label]);
  }
  if (step.overLimit) throw step.overLimit;
  const io = new StepIO(frame, step, limits);
  if (step.checkSizes) checkOutputSizes(step, io.inputs, frame.plan.context.maxTensorBytes);
  const started = limits.profiler ? performance.now() : 0;
  let pending: void | Promise<void>;
  try {
    pending = step.kernel.run(io);
  } catch (error) {
    throw kernelError(error, step);
  }
  if (pending) {
    return pending.then(
      () => io.commit(started),
      (error: unknown) => {
        throw kernelError(error, step);
      },
    );
  }
  io.commit(started);
  return undefined;
}

/** A kernel's failure, naming the node once (a backend may have named it already). */
function kernelError(error: unknown, step: Step): EdgerunError {
  const typed = asEdgerunError(error, 'KERNEL_FAILED');
  return typed.context[0] === step.label ? typed : typed.withContext(step.label);
}

/** A step's view of the frame during one run: its inputs, and where its outputs go. */
class StepIO implements KernelIO {
  readonly inputs: (Value | undefined)[];
  private readonly produced: (Value | undefined)[];

  constructor(
    private readonly frame: Frame,
    private readonly step: Step,
    private readonly limits: ExecuteLimits,
  ) {
    this.inputs = step.inputs.map((id, index) => {
      if (id < 0) return undefined;
      const value = frame.values[id];
      if (value === undefined) {
        throw new EdgerunError('INVALID_GRAPH', `input '${step.info.node.inputs[index]}' has no value`, [step.label]);
      }
      return value;
    });
    this.produced = step.outputs.map(() => undefined);
  }

  output(index: number, dtype: DataType, dims: readonly number[]): Tensor {
    const slot = this.step.slots[index];
    const tensor = slot && slot.type === dtype && sameDims(slot.dims, dims) ? slot : freshTensor(dtype, dims);
    this.produced[index] = tensor;
    return tensor;
  }

  set(index: number, value: Value): void {
    this.produced[index] = value;
  }

  runGraph(graph: Graph, inputs: readonly Value[]): Value[] {
    const subplan = this.frame.plan.context.subplans.get(graph);
    if (!subplan) throw new EdgerunError('INVALID_GRAPH', `subgraph '${graph.name}' was not planned with its node`, [this.step.label]);
    if (inputs.length > graph.inputs.length) {
      throw new EdgerunError('INVALID_GRAPH', `subgraph '${graph.name}' takes ${graph.inputs.length} inputs, got ${inputs.length}`, [this.step.label]);
    }
    const feeds = new Map<string, Value>();
    inputs.forEach((value, index) => feeds.set(graph.inputs[index]!.name, value));
    const results = executePlan(subplan, feeds, { ...this.limits, profiler: undefined }, this.frame);
    return graph.outputs.map((output) => results.get(output.name)!);
  }

  /** Stores the outputs in the frame (in their arena slots where planned) and drops dead values. */
  commit(started: number): void {
    const { step, frame } = this;
    step.outputs.forEach((id, index) => {
      if (id < 0) return;
      const value = this.produced[index];
      if (value === undefined) {
        throw new EdgerunError('KERNEL_FAILED', `output #${index} ('${step.info.node.outputs[index]}') was not produced`, [step.label]);
      }
      frame.values[id] = placed(value, step.slots[index], frame.plan);
    });
    for (const id of step.release) frame.values[id] = undefined;
    this.limits.profiler?.record(step, started, performance.now(), this.inputs, this.produced);
  }
}

/**
 * A value moves into its arena slot when the kernel made it elsewhere (a reference kernel's own array, a
 * view of an input), so every planned value lives where the plan put it and no view outlives the buffer
 * it reads. Values without a slot must not point into the arena, whose memory is reused.
 */
function placed(value: Value, slot: Tensor | undefined, plan: Plan): Value {
  if (!(value instanceof Tensor)) return detached(value, plan);
  if (slot && value !== slot && value.type === slot.type && sameDims(value.dims, slot.dims)) {
    if (!sameMemory(value, slot)) (slot.data as Exclude<TensorData, string[]>).set(value.data as never);
    return slot;
  }
  return value === slot ? value : detached(value, plan);
}

function detached(value: Value, plan: Plan): Value {
  if (value === null || !plan.arena) return value;
  if (Array.isArray(value)) return value.map((item) => detached(item, plan));
  if (Array.isArray(value.data) || value.data.buffer !== plan.arena.buffer) return value;
  return new Tensor(value.type, value.data.slice() as TensorData, value.dims);
}

function sameMemory(a: Tensor, b: Tensor): boolean {
  if (Array.isArray(a.data) || Array.isArray(b.data)) return false;
  return a.data.buffer === b.data.buffer && a.data.byteOffset === b.data.byteOffset;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function freshTensor(dtype: DataType, dims: readonly number[]): Tensor {
  const length = arrayLengthFor(dtype, elementCount(dims));
  const data = dtype === 'string' ? new Array<string>(length).fill('') : new DATA_TYPES[dtype].array(length);
  return new Tensor(dtype, data as TensorData, dims);
}

/**
 * Where a node's output size is only known at run time, its op's own shape inference, given the actual
 * inputs, says how large each output will be before the kernel allocates; one over the limit stops the
 * run with the node and the size named, instead of exhausting memory.
 */
function checkOutputSizes(step: Step, inputs: readonly (Value | undefined)[], maxBytes: number): void {
  const { node, def } = step.info;
  if (!def.infer) return;
  // A node whose outputs cannot be sized this way runs unchecked; the kernel reports bad inputs in its own words.
  const outputs = tryInfer(() =>
    def.infer!({
      node,
      attrs: step.info.attributes,
      opset: step.info.opset,
      inputTypes: inputs.map(typeOfValue),
      constant: (index) => (inputs[index] instanceof Tensor ? (inputs[index] as Tensor) : undefined),
    }),
  );
  const error = outputs && outputLimitError(node, outputs, maxBytes);
  if (error) throw error;
}

function typeOfValue(value: Value | undefined): ValueType | undefined {
  if (value instanceof Tensor) return { kind: 'tensor', dtype: value.type, shape: [...value.dims] };
  if (Array.isArray(value)) return { kind: 'sequence' };
  return value === null ? { kind: 'optional' } : undefined;
}
