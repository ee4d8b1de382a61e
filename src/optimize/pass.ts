import type { Graph, Node, OpsetImport } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { inferGraphTypes, type InferredGraph, type NodeResolver } from './infer.js';
import { consumersOf, outerReadsOf, subgraphsOf } from './topology.js';

/**
 * What every pass shares. A pass is a pure function Graph -> Graph: it never mutates the graph it is
 * given (nodes are replaced, not edited), keeps the graph's inputs and outputs and their names, and leaves
 * subgraphs (If / Loop / Scan bodies) as they are, only treating the values they read as used.
 */
export interface PassContext {
  resolve: NodeResolver;
  opsets: readonly OpsetImport[];
  /**
   * Whether an initializer listed among the graph inputs is a default a feed may override (IR version >= 4,
   * as onnxruntime reads it); before that, every initializer had to be listed and all are constants.
   */
  initializersOverridable: boolean;
}

export interface GraphPass {
  name: string;
  run(graph: Graph, context: PassContext): Graph;
}

/**
 * Static types and known values, from the graph inputs alone (declared value_info is not trusted). An
 * initializer that is also a graph input is a default the caller may override, so it is not a constant.
 */
export function analyze(graph: Graph, context: PassContext): InferredGraph {
  // Passes never mutate a graph and return the one they were given when they change nothing, so the next
  // pass over the same graph object reuses its inference (the costliest step of a pass).
  const cached = analyzed.get(graph);
  if (cached?.context === context) return cached.inferred;
  const inferred = inferGraphTypes({ ...graph, initializers: constantInitializers(graph, context) }, context.resolve, 'inputs-only');
  analyzed.set(graph, { context, inferred });
  return inferred;
}

const analyzed = new WeakMap<Graph, { context: PassContext; inferred: InferredGraph }>();

/** Whether any node of the graph (not its subgraphs) is one of these ONNX ops: passes skip graphs without. */
export function hasOnnxOp(graph: Graph, ...opTypes: string[]): boolean {
  return graph.nodes.some((node) => node.domain === '' && opTypes.includes(node.opType));
}

/** The initializers no feed can override. */
export function constantInitializers(graph: Graph, context: PassContext): Map<string, Tensor> {
  if (!context.initializersOverridable) return graph.initializers;
  const fed = new Set(graph.inputs.map((info) => info.name));
  return new Map([...graph.initializers].filter(([name]) => !fed.has(name)));
}

/** Ops whose result is not a function of their inputs: never folded, never merged. */
export const NONDETERMINISTIC_OPS = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'Dropout']);

/** Who reads what, and which values must keep their names (graph outputs, values read by subgraphs). */
export interface Uses {
  consumers: Map<string, Node[]>;
  pinned: Set<string>;
}

export function usesOf(graph: Graph): Uses {
  const pinned = new Set(graph.outputs.map((info) => info.name));
  for (const node of graph.nodes) for (const sub of subgraphsOf(node)) for (const name of outerReadsOf(sub)) pinned.add(name);
  return { consumers: consumersOf(graph), pinned };
}

/** Whether `name` is read by exactly one node, as an ordinary input, and may disappear into a fusion. */
export function singleUse(uses: Uses, name: string): Node | undefined {
  if (uses.pinned.has(name)) return undefined;
  const readers = uses.consumers.get(name);
  return readers?.length === 1 ? readers[0] : undefined;
}

/** Fresh value and node names that clash with nothing in the graph (subgraphs included). */
export function namer(graph: Graph): (base: string) => string {
  const taken = new Set<string>();
  const collect = (g: Graph) => {
    for (const info of [...g.inputs, ...g.outputs, ...g.valueInfo]) taken.add(info.name);
    for (const name of g.initializers.keys()) taken.add(name);
    for (const node of g.nodes) {
      for (const name of [...node.inputs, ...node.outputs]) taken.add(name);
      subgraphsOf(node).forEach(collect);
    }
  };
  collect(graph);
  return (base) => {
    let name = base;
    for (let suffix = 1; taken.has(name); suffix++) name = `${base}_${suffix}`;
    taken.add(name);
    return name;
  };
}

/** A copy of `graph` with some nodes replaced: `replacements` maps a node to what stands in its place. */
export function replaceNodes(graph: Graph, replacements: Map<Node, Node[]>, initializers?: Map<string, Tensor>): Graph {
  if (replacements.size === 0 && !initializers) return graph;
  const nodes = graph.nodes.flatMap((node) => replacements.get(node) ?? [node]);
  return { ...graph, nodes, initializers: initializers ?? graph.initializers };
}

/** A copy of `graph` with reads of value names renamed (direct inputs only; callers keep pinned names). */
export function renameInputs(graph: Graph, renames: Map<string, string>): Graph {
  if (renames.size === 0) return graph;
  const resolve = (name: string) => {
    let target = name;
    while (renames.has(target)) target = renames.get(target)!;
    return target;
  };
  const nodes = graph.nodes.map((node) => (node.inputs.some((name) => renames.has(name)) ? { ...node, inputs: node.inputs.map(resolve) } : node));
  return { ...graph, nodes };
}

/** Whether the tensor type of a value is a float type the fused kernels take. */
export function isFloatTensor(inferred: InferredGraph, name: string): boolean {
  const type = inferred.types.get(name);
  return type?.kind === 'tensor' && (type.dtype === 'float32' || type.dtype === 'float64');
}

/** Known numeric dims of a value, or undefined. */
export function staticDims(inferred: InferredGraph, name: string): number[] | undefined {
  const type = inferred.types.get(name);
  if (type?.kind !== 'tensor' || !type.shape) return undefined;
  return type.shape.every((dim): dim is number => typeof dim === 'number') ? (type.shape as number[]) : undefined;
}

/** The rank of a value when known. */
export function rankOf(inferred: InferredGraph, name: string): number | undefined {
  const type = inferred.types.get(name);
  return type?.kind === 'tensor' ? type.shape?.length : undefined;
}
