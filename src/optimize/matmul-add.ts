import { opsetVersion, type Dim, type Node } from '../core/graph.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import { analyze, isFloatTensor, rankOf, replaceNodes, singleUse, usesOf, type GraphPass } from './pass.js';

/**
 * MatMul + Add -> Gemm: a matrix product followed by the addition of a bias is one Gemm when both operands
 * are matrices (rank 2) and the bias broadcasts to the product's [M, N]; at other ranks it becomes
 * ai.edgerun's FusedMatMul with the bias as its third input, when the bias broadcasts to the product's
 * dims without growing them. The product must be read by the Add alone.
 */
export const matMulAddFusion: GraphPass = {
  name: 'matmul-add-fusion',
  run(graph, context) {
    const uses = usesOf(graph);
    const inferred = analyze(graph, context);
    const replacements = new Map<Node, Node[]>();
    const shapeOf = (name: string): Dim[] | undefined => {
      const type = inferred.types.get(name);
      return type?.kind === 'tensor' ? type.shape : undefined;
    };
    for (const matmul of graph.nodes) {
      if (matmul.opType !== 'MatMul' || matmul.domain !== '' || !isFloatTensor(inferred, matmul.outputs[0]!)) continue;
      const product = matmul.outputs[0]!;
      const add = singleUse(uses, product);
      if (!add || add.opType !== 'Add' || add.domain !== '' || add.inputs[0] === add.inputs[1] || replacements.has(add)) continue;
      const bias = add.inputs[0] === product ? add.inputs[1]! : add.inputs[0]!;
      const productShape = shapeOf(product);
      const biasShape = shapeOf(bias);
      const sumShape = shapeOf(add.outputs[0]!);
      if (!productShape || !biasShape || !sumShape || !sameDims(productShape, sumShape) || biasShape.length > productShape.length) continue;
      if (!isFloatTensor(inferred, bias)) continue;
      const [a, b] = matmul.inputs as [string, string];
      // Gemm broadcasts C from opset 7 on.
      const matrices = rankOf(inferred, a) === 2 && rankOf(inferred, b) === 2 && (opsetVersion(context.opsets, '') ?? 0) >= 7;
      const name = matmul.name || add.name;
      const fused: Node = matrices
        ? { name, opType: 'Gemm', domain: '', inputs: [a, b, bias], outputs: [add.outputs[0]!], attributes: {} }
        : { name, opType: 'FusedMatMul', domain: EDGERUN_DOMAIN, inputs: [a, b, bias], outputs: [add.outputs[0]!], attributes: {} };
      replacements.set(matmul, [fused]);
      replacements.set(add, []);
    }
    return replaceNodes(graph, replacements);
  },
};

/** Dims known equal: the same numbers or the same symbol. */
function sameDims(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim !== undefined && dim === b[i]);
}
