import type { Attribute, Node } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { NONDETERMINISTIC_OPS, renameInputs, replaceNodes, usesOf, type GraphPass } from './pass.js';
import { subgraphsOf, topologicalNodes } from './topology.js';

/** Tensor attributes larger than this (elements) are not compared: such nodes are left unmerged. */
const COMPARED_TENSOR_LIMIT = 4096;

/**
 * Common-subexpression elimination: a node with the same op, inputs and attributes as an earlier one
 * computes the same values, so its readers read the earlier node's outputs and it goes. Nodes with
 * subgraphs, random ops and nodes whose outputs are graph outputs (or read by subgraphs) stay.
 */
export const commonSubexpressionElimination: GraphPass = {
  name: 'common-subexpression-elimination',
  run(graph) {
    const uses = usesOf(graph);
    const seen = new Map<string, Node>();
    const renames = new Map<string, string>();
    const replacements = new Map<Node, Node[]>();
    const current = (name: string) => renames.get(name) ?? name;
    for (const node of topologicalNodes(graph)) {
      const key = keyOf(node, current);
      if (key === undefined) continue;
      const earlier = seen.get(key);
      if (!earlier) {
        seen.set(key, node);
        continue;
      }
      const mergeable = node.outputs.every((name, index) => name === '' || (!uses.pinned.has(name) && earlier.outputs[index] !== ''));
      if (!mergeable) continue;
      node.outputs.forEach((name, index) => name !== '' && renames.set(name, earlier.outputs[index]!));
      replacements.set(node, []);
    }
    return renameInputs(replaceNodes(graph, replacements), renames);
  },
};

/** What makes two nodes compute the same thing, or undefined for nodes never merged. */
function keyOf(node: Node, current: (name: string) => string): string | undefined {
  if (NONDETERMINISTIC_OPS.has(node.opType) || subgraphsOf(node).length > 0) return undefined;
  const attributes: string[] = [];
  for (const name of Object.keys(node.attributes).sort()) {
    const value = attributeKey(node.attributes[name]!);
    if (value === undefined) return undefined;
    attributes.push(`${name}=${value}`);
  }
  return [node.domain, node.opType, node.outputs.length, node.inputs.map(current).join(','), attributes.join(';')].join('|');
}

function attributeKey(attribute: Attribute): string | undefined {
  const tensors = attribute.type === 'tensor' || attribute.type === 'sparse_tensor' ? [attribute.value] : attribute.type === 'tensors' ? attribute.value : undefined;
  if (tensors) {
    if (tensors.some((tensor) => tensor.size > COMPARED_TENSOR_LIMIT)) return undefined;
    return tensors.map(tensorKey).join(',');
  }
  if (attribute.type === 'ref') return undefined;
  return `${attribute.type}:${JSON.stringify(attribute.value, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`;
}

function tensorKey(tensor: Tensor): string {
  const values = Array.from(tensor.data as ArrayLike<unknown>, (value) => (Object.is(value, -0) ? '-0' : String(value)));
  return `${tensor.type}[${tensor.dims.join('x')}](${values.join(' ')})`;
}
