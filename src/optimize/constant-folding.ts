import type { Node } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { elementCount } from '../core/tensor.js';
import { tryInfer } from '../ops/common.js';
import { runAheadOfTime, typeOf, type NodeResolver, type ResolvedNode } from './infer.js';
import { NONDETERMINISTIC_OPS, constantInitializers, replaceNodes, type GraphPass } from './pass.js';
import { subgraphsOf, topologicalNodes } from './topology.js';

/** The largest tensor (in elements) folding may write into the model: beyond it the node stays. */
export const FOLD_OUTPUT_LIMIT = 1 << 20;

/**
 * Constant folding: a node whose inputs are all constants (initializers, Constant nodes, nodes folded
 * before it) runs once now and its outputs become initializers. Nodes with subgraphs, random ops, nodes
 * producing a graph output and results larger than FOLD_OUTPUT_LIMIT elements stay.
 */
export const constantFolding: GraphPass = {
  name: 'constant-folding',
  run(graph, context) {
    // Copies: the pass adds to both, and the given graph must stay as it is.
    const constants = new Map(constantInitializers(graph, context));
    const initializers = new Map(graph.initializers);
    const outputs = new Set(graph.outputs.map((info) => info.name));
    const replacements = new Map<Node, Node[]>();
    for (const node of topologicalNodes(graph)) {
      const folded = foldable(node, constants, outputs) && fold(node, constants, context.resolve);
      if (!folded) continue;
      node.outputs.forEach((name, index) => {
        if (name === '') return;
        constants.set(name, folded[index]!);
        initializers.set(name, folded[index]!);
      });
      replacements.set(node, []);
    }
    return replacements.size === 0 ? graph : replaceNodes(graph, replacements, initializers);
  },
};

function foldable(node: Node, constants: Map<string, Tensor>, graphOutputs: Set<string>): boolean {
  return (
    !NONDETERMINISTIC_OPS.has(node.opType) &&
    subgraphsOf(node).length === 0 &&
    node.inputs.every((name) => name === '' || constants.has(name)) &&
    !node.outputs.some((name) => graphOutputs.has(name))
  );
}

/** Whether inference already tells an output is too large to fold (ConstantOfShape making big weights). */
function predictedTooLarge(node: Node, resolved: ResolvedNode, constants: Map<string, Tensor>): boolean {
  const types = tryInfer(() =>
    resolved.def.infer?.({
      node,
      attrs: resolved.attributes,
      opset: resolved.opset,
      inputTypes: node.inputs.map((name) => (name === '' ? undefined : typeOf(constants.get(name)!))),
      constant: (index) => constants.get(node.inputs[index] ?? ''),
    }),
  );
  return (types ?? []).some((type) => {
    const shape = type?.kind === 'tensor' ? type.shape : undefined;
    return shape !== undefined && shape.every((dim): dim is number => typeof dim === 'number') && elementCount(shape) > FOLD_OUTPUT_LIMIT;
  });
}

function fold(node: Node, constants: Map<string, Tensor>, resolve: NodeResolver): Tensor[] | undefined {
  const resolved = resolve(node);
  if (!resolved || predictedTooLarge(node, resolved, constants)) return undefined;
  const results = runAheadOfTime(node, resolved, node.inputs.map((name) => (name === '' ? undefined : constants.get(name))));
  if (!results) return undefined;
  const tensors: Tensor[] = [];
  for (const [index, name] of node.outputs.entries()) {
    if (name === '') continue;
    const value = results[index];
    if (!value || value.size > FOLD_OUTPUT_LIMIT) return undefined;
    tensors[index] = value;
  }
  return tensors;
}

