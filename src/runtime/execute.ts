import { EdgerunError, asEdgerunError } from '../core/errors.js';
import { DATA_TYPES, arrayLengthFor, type TensorData } from '../core/dtype.js';
import { describeNode, type Graph, type Value, type ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { tryInfer } from '../ops/common.js';
import type { KernelIO } from '../backends/backend.js';
import { planGraph, type Plan, type PlannedStep } from './plan.js';

/** Values visible while a graph runs; a subgraph's scope reads through to its parent's. */
export class Scope {
  private readonly values = new Map<string, Value>();

  constructor(private readonly parent?: Scope) {}

  has(name: string): boolean {
    return this.values.has(name) || (this.parent?.has(name) ?? false);
  }

  get(name: string): Value | undefined {
    return this.values.has(name) ? this.values.get(name) : this.parent?.get(name);
  }

  set(name: string, value: Value): void {
    this.values.set(name, value);
  }

  delete(name: string): void {
    this.values.delete(name);
  }

  names(): Set<string> {
    const names = this.parent?.names() ?? new Set<string>();
    for (const name of this.values.keys()) names.add(name);
    return names;
  }
}

export interface ExecuteLimits {
  /** Date.now() after which the run stops with LIMIT_EXCEEDED. */
  deadline?: number;
  /** Called after each step of the top-level graph. */
  onProgress?: (done: number, total: number) => void;
  /** A node whose output would be larger than this is stopped before it allocates (LIMIT_EXCEEDED). */
  maxTensorBytes?: number;
}

/** Runs a plan's steps in order; returns the graph outputs by name. */
export function executePlan(plan: Plan, feeds: ReadonlyMap<string, Value>, parent?: Scope, limits: ExecuteLimits = {}): Map<string, Value> {
  const scope = new Scope(parent);
  for (const [name, tensor] of plan.graph.initializers) scope.set(name, tensor);
  for (const [name, value] of feeds) scope.set(name, value);
  const progress = parent ? undefined : limits.onProgress;
  for (const [index, step] of plan.steps.entries()) {
    if (limits.deadline !== undefined && Date.now() > limits.deadline) {
      throw new EdgerunError('LIMIT_EXCEEDED', 'the run exceeded its time limit', [describeNode(step.node)]);
    }
    runStep(plan, step, scope, limits);
    for (const name of step.release) scope.delete(name);
    progress?.(index + 1, plan.steps.length);
  }
  const results = new Map<string, Value>();
  for (const output of plan.graph.outputs) {
    if (!scope.has(output.name)) {
      throw new EdgerunError('INVALID_GRAPH', `graph output '${output.name}' was never produced`, [`graph '${plan.graph.name}'`]);
    }
    results.set(output.name, scope.get(output.name)!);
  }
  return results;
}

function runStep(plan: Plan, step: PlannedStep, scope: Scope, limits: ExecuteLimits): void {
  const { node } = step;
  const inputs = node.inputs.map((name) => {
    if (name === '') return undefined;
    if (!scope.has(name)) throw new EdgerunError('INVALID_GRAPH', `input '${name}' has no value`, [describeNode(node)]);
    return scope.get(name);
  });
  if (limits.maxTensorBytes !== undefined) checkOutputSizes(step, inputs, limits.maxTensorBytes);
  const outputs: (Value | undefined)[] = node.outputs.map(() => undefined);
  const io: KernelIO = {
    inputs,
    output: (index, dtype, dims) => (outputs[index] = new Tensor(dtype, new DATA_TYPES[dtype].array(arrayLengthFor(dtype, elementCount(dims))) as TensorData, dims)),
    set: (index, value) => {
      outputs[index] = value;
    },
    runGraph: (graph, graphInputs) => runSubgraph(plan, graph, graphInputs, scope, limits),
  };
  try {
    void step.kernel.run(io);
  } catch (error) {
    throw asEdgerunError(error, 'KERNEL_FAILED').withContext(describeNode(node));
  }
  node.outputs.forEach((name, index) => {
    if (name === '') return;
    const value = outputs[index];
    if (value === undefined) {
      throw new EdgerunError('KERNEL_FAILED', `output #${index} ('${name}') was not produced`, [describeNode(node)]);
    }
    scope.set(name, value);
  });
}

/**
 * Before a kernel allocates, its op's own shape inference, given the actual inputs, says how large each
 * output will be; one over the limit stops the run with the node and the size named, instead of exhausting
 * memory. Ops whose output size cannot be told this way run unchecked.
 */
function checkOutputSizes(step: PlannedStep, inputs: readonly (Value | undefined)[], maxBytes: number): void {
  const { node, def } = step;
  if (!def.infer) return;
  // A node whose outputs cannot be sized this way runs unchecked; the kernel reports bad inputs in its own words.
  const outputs = tryInfer(() =>
    def.infer!({
      node,
      attrs: step.attrs,
      opset: step.opset,
      inputTypes: inputs.map(typeOfValue),
      constant: (index) => (inputs[index] instanceof Tensor ? (inputs[index] as Tensor) : undefined),
    }),
  );
  if (!outputs) return;
  outputs.forEach((type, index) => {
    if (type?.kind !== 'tensor' || !type.shape?.every((dim) => typeof dim === 'number')) return;
    const dims = type.shape as number[];
    const bytes = (dims.reduce((a, b) => a * b, 1) * DATA_TYPES[type.dtype].bits) / 8;
    if (bytes > maxBytes) {
      const gib = (value: number) => `${(value / 2 ** 30).toFixed(2)} GiB`;
      throw new EdgerunError(
        'LIMIT_EXCEEDED',
        `output '${node.outputs[index]}' would be ${type.dtype}[${dims.join(', ')}] (${gib(bytes)}), over the ${gib(maxBytes)} limit (SessionOptions.maxTensorBytes)`,
        [describeNode(node)],
      );
    }
  });
}

function typeOfValue(value: Value | undefined): ValueType | undefined {
  if (value instanceof Tensor) return { kind: 'tensor', dtype: value.type, shape: [...value.dims] };
  if (Array.isArray(value)) return { kind: 'sequence' };
  return value === null ? { kind: 'optional' } : undefined;
}

function runSubgraph(plan: Plan, graph: Graph, inputs: readonly Value[], scope: Scope, limits: ExecuteLimits): Value[] {
  let subplan = plan.context.subplans.get(graph);
  if (!subplan) {
    subplan = planGraph(graph, plan.context, scope.names());
    plan.context.subplans.set(graph, subplan);
  }
  if (inputs.length > graph.inputs.length) {
    throw new EdgerunError('INVALID_GRAPH', `subgraph '${graph.name}' takes ${graph.inputs.length} inputs, got ${inputs.length}`);
  }
  const feeds = new Map<string, Value>();
  inputs.forEach((value, index) => feeds.set(graph.inputs[index]!.name, value));
  const results = executePlan(subplan, feeds, scope, limits);
  return graph.outputs.map((output) => results.get(output.name)!);
}
