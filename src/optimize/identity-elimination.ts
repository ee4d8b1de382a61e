import type { Node } from '../core/graph.js';
import { renameInputs, replaceNodes, usesOf, type GraphPass } from './pass.js';

/**
 * Identity elimination: Identity, and Dropout in inference mode without its mask read, pass their input
 * through, so readers read the input itself and the node goes. A node whose output is a graph output (or
 * is read by a subgraph) stays, keeping the name; so does Dropout with a training_mode input.
 */
export const identityElimination: GraphPass = {
  name: 'identity-elimination',
  run(graph, context) {
    const uses = usesOf(graph);
    const renames = new Map<string, string>();
    const replacements = new Map<Node, Node[]>();
    for (const node of graph.nodes) {
      const resolved = node.domain === '' ? context.resolve(node) : undefined;
      if (!resolved || !passesThrough(node, resolved.attributes)) continue;
      const [input, output] = [node.inputs[0]!, node.outputs[0]!];
      if (uses.pinned.has(output) || input === '') continue;
      renames.set(output, input);
      replacements.set(node, []);
    }
    return renameInputs(replaceNodes(graph, replacements), renames);
  },
};

function passesThrough(node: Node, attributes: Record<string, unknown>): boolean {
  if (node.opType === 'Identity') return true;
  if (node.opType !== 'Dropout') return false;
  const maskRead = (node.outputs[1] ?? '') !== '';
  const trainingMode = (node.inputs[2] ?? '') !== '';
  // Before opset 7, Dropout trains (drops and scales) unless is_test is 1.
  const legacyTraining = attributes.is_test === 0;
  return !maskRead && !trainingMode && !legacyTraining;
}
