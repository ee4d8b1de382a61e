import type { Node } from '../core/graph.js';
import { NONDETERMINISTIC_OPS, analyze, replaceNodes, type GraphPass } from './pass.js';
import { subgraphsOf } from './topology.js';

/**
 * Shape-op folding: values inference can tell before running although their inputs are not constant —
 * Shape / Size of a value of known shape, and the small Gather / Concat / Unsqueeze / Slice / Cast
 * arithmetic exporters build on them — become initializers, and the nodes computing them go. Only the
 * graph inputs' declared types are trusted, so the folded values hold for every feed the session accepts.
 */
export const shapeFolding: GraphPass = {
  name: 'shape-folding',
  run(graph, context) {
    const { constants } = analyze(graph, context);
    const outputs = new Set(graph.outputs.map((info) => info.name));
    const initializers = new Map(graph.initializers);
    const replacements = new Map<Node, Node[]>();
    for (const node of graph.nodes) {
      const named = node.outputs.filter((name) => name !== '');
      const known = named.length > 0 && named.every((name) => constants.has(name) && !outputs.has(name));
      if (!known || NONDETERMINISTIC_OPS.has(node.opType) || subgraphsOf(node).length > 0) continue;
      for (const name of named) initializers.set(name, constants.get(name)!);
      replacements.set(node, []);
    }
    return replacements.size === 0 ? graph : replaceNodes(graph, replacements, initializers);
  },
};
