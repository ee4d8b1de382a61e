import { opsetVersion, type Dim, type Node } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { analyze, namer, replaceNodes, type GraphPass } from './pass.js';
import { permOf } from './transpose-cancel.js';

/**
 * Transposes that only move size-1 axes (the other axes keep their relative order) leave the elements in
 * memory order: they become a Reshape to the output's shape, which the runtime runs as a view instead of
 * a copy (e.g. [1, T, C] -> [T, 1, C] around recurrent layers). The target shape is a new int64
 * initializer; one dim not known statically is written -1, more leave the Transpose as it is.
 */
export const transposeToReshape: GraphPass = {
  name: 'transpose-to-reshape',
  run(graph, context) {
    // Reshape takes its shape as an input from opset 5 on.
    if ((opsetVersion(context.opsets, '') ?? 1) < 5) return graph;
    const inferred = analyze(graph, context);
    const fresh = namer(graph);
    const initializers = new Map(graph.initializers);
    const replacements = new Map<Node, Node[]>();
    for (const node of graph.nodes) {
      if (node.opType !== 'Transpose' || node.domain !== '') continue;
      const type = inferred.types.get(node.inputs[0]!);
      const dims = type?.kind === 'tensor' ? type.shape : undefined;
      const perm = permOf(node, context, inferred);
      if (!dims || !perm || perm.length !== dims.length) continue;
      const target = reshapeTarget(dims, perm);
      if (!target) continue;
      const shapeName = fresh(`${node.outputs[0]}_shape`);
      initializers.set(shapeName, new Tensor('int64', BigInt64Array.from(target.map(BigInt)), [target.length]));
      replacements.set(node, [{ name: node.name, opType: 'Reshape', domain: '', inputs: [node.inputs[0]!, shapeName], outputs: node.outputs, attributes: {} }]);
    }
    return replacements.size === 0 ? graph : replaceNodes(graph, replacements, initializers);
  },
};

/**
 * The Reshape shape equal to transposing `dims` by `perm`, when that moves only size-1 axes; undefined when
 * the transpose really reorders elements, or its shape cannot be written (two unknown dims, a 0 that
 * Reshape would read as "copy this dim").
 */
function reshapeTarget(dims: readonly Dim[], perm: readonly number[]): number[] | undefined {
  const moved = perm.filter((axis) => dims[axis] !== 1);
  if (moved.some((axis, i) => i > 0 && axis < moved[i - 1]!)) return undefined;
  const target = perm.map((axis) => dims[axis]!);
  if (target.filter((dim) => typeof dim !== 'number').length > 1 || target.includes(0)) return undefined;
  return target.map((dim) => (typeof dim === 'number' ? dim : -1));
}
