import { EdgerunError } from '../core/errors.js';
import type { Graph, Node, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { tryInfer } from '../ops/common.js';
import type { InferContext, OpDef } from '../ops/registry.js';
import { referenceContext } from '../backends/reference/index.js';
import type { KernelIO } from '../backends/backend.js';
import { DATA_TYPES, arrayLengthFor, type TensorData } from '../core/dtype.js';
import { subgraphsOf, topologicalNodes } from './topology.js';

/** Values at most this large are computed ahead of time to help inference (shape arithmetic, small tables). */
export const FOLD_LIMIT = 1 << 16;

/** A node's op as the model's opset imports resolve it, with its attributes resolved against the schema. */
export interface ResolvedNode {
  def: OpDef;
  opset: number;
  attributes: Record<string, unknown>;
}

/** How to resolve a node; undefined when nothing defines its op (its outputs stay unknown). */
export type NodeResolver = (node: Node) => ResolvedNode | undefined;

export interface InferredGraph {
  types: Map<string, ValueType>;
  /** Values known before running: initializers, folded ops, small nodes whose inputs are all known. */
  constants: Map<string, Tensor>;
}

/**
 * Static types of a graph's values, propagated in topological order with each op's own `infer` (where it
 * has one). Values that can be known before running are computed too and offered to later ops as
 * constants: initializers, an op's `fold` (Shape of a fully known shape), and small nodes whose inputs are
 * all known (the Shape -> Gather -> Concat -> Reshape chains exporters write). Declared types (graph
 * inputs/outputs, value_info) win over inferred ones unless only the inputs are to be trusted (to check
 * inference itself); unknown stays unknown.
 */
export function inferGraphTypes(graph: Graph, resolve: NodeResolver, trust: 'declared' | 'inputs-only' = 'declared'): InferredGraph {
  const types = new Map<string, ValueType>();
  const constants = new Map<string, Tensor>(graph.initializers);
  for (const [name, tensor] of graph.initializers) types.set(name, typeOf(tensor));
  for (const info of trust === 'declared' ? declaredValues(graph) : graph.inputs) if (info.type) types.set(info.name, info.type);
  for (const node of topologicalNodes(graph)) {
    const resolved = resolve(node);
    if (!resolved) continue;
    const { def, opset, attributes } = resolved;
    const context: InferContext = {
      node,
      attrs: attributes,
      opset,
      inputTypes: node.inputs.map((name) => (name === '' ? undefined : types.get(name))),
      constant: (index) => constants.get(node.inputs[index] ?? ''),
    };
    const inferred = tryInfer(() => def.infer?.(context)) ?? [];
    const known = tryInfer(() => def.fold?.(context)) ?? foldSmallNode(node, resolved, inferred, constants);
    node.outputs.forEach((name, index) => {
      if (name === '') return;
      const value = known[index];
      if (value instanceof Tensor) constants.set(name, value);
      const type = value instanceof Tensor ? typeOf(value) : inferred[index];
      if (type && !types.has(name)) types.set(name, type);
    });
  }
  return { types, constants };
}

/** Runs a node ahead of time when all its inputs are known, it has no subgraph and everything is small. */
function foldSmallNode(node: Node, resolved: ResolvedNode, inferred: (ValueType | undefined)[], constants: Map<string, Tensor>): (Tensor | undefined)[] {
  const inputs = node.inputs.map((name) => (name === '' ? undefined : constants.get(name)));
  const inputsKnown = node.inputs.every((name, index) => name === '' || inputs[index] !== undefined);
  const inputsSmall = inputs.every((input) => !input || input.size <= FOLD_LIMIT);
  const outputsSmall = node.outputs.every((name, index) => name === '' || smallTensorType(inferred[index]));
  if (!inputsKnown || !inputsSmall || !outputsSmall || subgraphsOf(node).length > 0) return [];
  return runAheadOfTime(node, resolved, inputs) ?? [];
}

/**
 * Runs a node's reference kernel on known inputs (constant folding); undefined when the kernel fails or
 * produces something other than tensors. Random ops are the caller's to exclude.
 */
export function runAheadOfTime(node: Node, resolved: ResolvedNode, inputs: (Tensor | undefined)[]): (Tensor | undefined)[] | undefined {
  const io: KernelIO = {
    inputs,
    output: (_index, dtype, dims) => new Tensor(dtype, new DATA_TYPES[dtype].array(arrayLengthFor(dtype, elementCount(dims))) as TensorData, dims),
    set: () => {},
    runGraph: () => {
      throw new EdgerunError('UNSUPPORTED_OP', 'subgraphs are not run ahead of time');
    },
  };
  const outputs = tryInfer(() => resolved.def.kernel(referenceContext({ node, def: resolved.def, opset: resolved.opset, attributes: resolved.attributes }, io)));
  return outputs?.map((value) => (value instanceof Tensor ? value : undefined));
}

function smallTensorType(type: ValueType | undefined): boolean {
  if (type?.kind !== 'tensor' || !type.shape) return false;
  let elements = 1;
  for (const dim of type.shape) {
    if (typeof dim !== 'number') return false;
    elements *= dim;
  }
  return elements <= FOLD_LIMIT;
}

export function typeOf(tensor: Tensor): ValueType {
  return { kind: 'tensor', dtype: tensor.type, shape: [...tensor.dims] };
}

function declaredValues(graph: Graph) {
  return [...graph.inputs, ...graph.valueInfo, ...graph.outputs];
}
