import { EdgerunError } from '../core/errors.js';
import { describeNode, type Graph, type Node } from '../core/graph.js';

/** Graph structure the passes and type inference share: subgraphs, the names a node reads, producer order. */

/** The subgraphs a node holds in its attributes (If branches, Loop / Scan bodies). */
export function subgraphsOf(node: Node): Graph[] {
  const graphs: Graph[] = [];
  for (const attribute of Object.values(node.attributes)) {
    if (attribute.type === 'graph') graphs.push(attribute.value);
    else if (attribute.type === 'graphs') graphs.push(...attribute.value);
  }
  return graphs;
}

/** Names a graph reads from its enclosing scope: inputs of its nodes (and of nested subgraphs) it does not define. */
export function outerReadsOf(graph: Graph): Set<string> {
  const defined = new Set<string>([...graph.inputs.map((info) => info.name), ...graph.initializers.keys()]);
  for (const node of graph.nodes) for (const output of node.outputs) if (output !== '') defined.add(output);
  const reads = new Set<string>();
  for (const node of graph.nodes) {
    for (const name of nodeReads(node)) if (!defined.has(name)) reads.add(name);
  }
  for (const output of graph.outputs) if (!defined.has(output.name)) reads.add(output.name);
  return reads;
}

/** Every value a node reads: its inputs and what its subgraphs take from the enclosing scope. */
export function nodeReads(node: Node): Set<string> {
  const reads = new Set(node.inputs.filter((name) => name !== ''));
  for (const sub of subgraphsOf(node)) for (const name of outerReadsOf(sub)) reads.add(name);
  return reads;
}

/** The graph's nodes with producers before consumers: the file's order when it is one (most exporters write one). */
export function topologicalNodes(graph: Graph): Node[] {
  const producer = new Map<string, number>();
  graph.nodes.forEach((node, index) => node.outputs.forEach((name) => name !== '' && producer.set(name, index)));
  const inOrder = graph.nodes.every((node, index) => [...nodeReads(node)].every((name) => (producer.get(name) ?? -1) < index));
  if (inOrder) return [...graph.nodes];
  const pending = graph.nodes.map(() => 0);
  const consumers = graph.nodes.map((): number[] => []);
  graph.nodes.forEach((node, index) => {
    for (const name of nodeReads(node)) {
      const from = producer.get(name);
      if (from === undefined || from === index) continue;
      pending[index]! += 1;
      consumers[from]!.push(index);
    }
  });
  const ready = graph.nodes.map((_, index) => index).filter((index) => pending[index] === 0);
  for (let cursor = 0; cursor < ready.length; cursor++) {
    for (const consumer of consumers[ready[cursor]!]!) {
      pending[consumer]! -= 1;
      if (pending[consumer] === 0) ready.push(consumer);
    }
  }
  if (ready.length !== graph.nodes.length) {
    const stuck = graph.nodes.filter((_, index) => pending[index]! > 0).slice(0, 5).map(describeNode);
    throw new EdgerunError('GRAPH_CYCLE', `graph '${graph.name}' has a cycle through ${stuck.join(', ')}`);
  }
  return ready.map((index) => graph.nodes[index]!);
}

/** value name -> the nodes reading it (subgraph reads count as reads by the node holding the subgraph). */
export function consumersOf(graph: Graph): Map<string, Node[]> {
  const consumers = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const name of nodeReads(node)) {
      const list = consumers.get(name);
      if (list) list.push(node);
      else consumers.set(name, [node]);
    }
  }
  return consumers;
}

/** value name -> the node producing it. */
export function producersOf(graph: Graph): Map<string, Node> {
  const producers = new Map<string, Node>();
  for (const node of graph.nodes) for (const name of node.outputs) if (name !== '') producers.set(name, node);
  return producers;
}
