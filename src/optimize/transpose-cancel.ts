import type { Node } from '../core/graph.js';
import type { InferredGraph } from './infer.js';
import { analyze, namer, rankOf, renameInputs, replaceNodes, usesOf, type GraphPass, type PassContext } from './pass.js';
import { producersOf } from './topology.js';

/**
 * Transpose cancellation: a Transpose of a Transpose is one Transpose of the composed permutation, or none
 * when the two are inverses (readers then read the first one's input; a graph output keeps its name through
 * an Identity). A 2-D Transpose feeding Gemm's A or B becomes Gemm's transA / transB. Transposes left
 * without readers are dead code for the next pass.
 */
export const transposeCancellation: GraphPass = {
  name: 'transpose-cancellation',
  run(graph, context) {
    const inferred = analyze(graph, context);
    const producers = producersOf(graph);
    const uses = usesOf(graph);
    const fresh = namer(graph);
    const replacements = new Map<Node, Node[]>();
    const renames = new Map<string, string>();
    for (const node of graph.nodes) {
      if (isTranspose(node)) {
        const inner = producers.get(node.inputs[0]!);
        if (!inner || !isTranspose(inner)) continue;
        const outer = permOf(node, context, inferred);
        const first = permOf(inner, context, inferred);
        if (!outer || !first || outer.length !== first.length) continue;
        const composed = outer.map((axis) => first[axis]!);
        const output = node.outputs[0]!;
        if (!composed.every((axis, i) => axis === i)) {
          replacements.set(node, [{ ...node, inputs: [inner.inputs[0]!], attributes: { perm: { type: 'ints', value: composed } } }]);
        } else if (uses.pinned.has(output)) {
          replacements.set(node, [{ name: node.name || fresh('identity'), opType: 'Identity', domain: '', inputs: [inner.inputs[0]!], outputs: [output], attributes: {} }]);
        } else {
          renames.set(output, inner.inputs[0]!);
          replacements.set(node, []);
        }
      } else if (node.opType === 'Gemm' && node.domain === '') {
        const folded = foldTransposesIntoGemm(node, producers, context, inferred);
        if (folded) replacements.set(node, [folded]);
      }
    }
    return renameInputs(replaceNodes(graph, replacements), renames);
  },
};

function isTranspose(node: Node): boolean {
  return node.opType === 'Transpose' && node.domain === '';
}

/** A Transpose's permutation: its perm, or the reversed axes when the input's rank is known. */
export function permOf(node: Node, context: PassContext, inferred: InferredGraph): number[] | undefined {
  const perm = context.resolve(node)?.attributes.perm as number[] | undefined;
  if (perm) return perm;
  const rank = rankOf(inferred, node.inputs[0]!);
  return rank === undefined ? undefined : Array.from({ length: rank }, (_, axis) => rank - 1 - axis);
}

/** Gemm reading a swapped 2-D Transpose on A or B, reading the Transpose's input with transA / transB flipped. */
function foldTransposesIntoGemm(gemm: Node, producers: Map<string, Node>, context: PassContext, inferred: InferredGraph): Node | undefined {
  const attrs = context.resolve(gemm)?.attributes;
  if (!attrs) return undefined;
  const inputs = [...gemm.inputs];
  const attributes = { ...gemm.attributes };
  let changed = false;
  for (const [index, flag] of [[0, 'transA'], [1, 'transB']] as const) {
    const transpose = producers.get(inputs[index]!);
    if (!transpose || !isTranspose(transpose)) continue;
    const perm = permOf(transpose, context, inferred);
    if (perm?.length !== 2 || perm[0] !== 1) continue;
    inputs[index] = transpose.inputs[0]!;
    attributes[flag] = { type: 'int', value: attrs[flag] === 1 ? 0 : 1 };
    changed = true;
  }
  return changed ? { ...gemm, inputs, attributes } : undefined;
}
