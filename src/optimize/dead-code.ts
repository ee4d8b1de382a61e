import type { GraphPass } from './pass.js';
import { nodeReads, topologicalNodes } from './topology.js';

/**
 * Dead-code elimination: nodes none of whose outputs reach a graph output (directly, or through a value a
 * subgraph reads) go, then the initializers and value_info entries nothing refers to any more.
 * Initializers that are graph inputs stay: they are part of the model's interface.
 */
export const deadCodeElimination: GraphPass = {
  name: 'dead-code-elimination',
  run(graph) {
    const live = new Set(graph.outputs.map((info) => info.name));
    const kept = new Set<(typeof graph.nodes)[number]>();
    for (const node of topologicalNodes(graph).reverse()) {
      if (!node.outputs.some((name) => name !== '' && live.has(name))) continue;
      kept.add(node);
      for (const name of nodeReads(node)) live.add(name);
    }
    const inputs = new Set(graph.inputs.map((info) => info.name));
    const initializers = new Map([...graph.initializers].filter(([name]) => live.has(name) || inputs.has(name)));
    const produced = new Set([...kept].flatMap((node) => node.outputs));
    const valueInfo = graph.valueInfo.filter((info) => produced.has(info.name) || initializers.has(info.name));
    if (kept.size === graph.nodes.length && initializers.size === graph.initializers.size && valueInfo.length === graph.valueInfo.length) return graph;
    return { ...graph, nodes: graph.nodes.filter((node) => kept.has(node)), initializers, valueInfo };
  },
};
