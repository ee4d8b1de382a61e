import { opsetVersion, type Node } from '../core/graph.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import type { InferredGraph } from './infer.js';
import { analyze, hasOnnxOp, replaceNodes, singleUse, usesOf, type GraphPass, type Uses } from './pass.js';
import { producersOf } from './topology.js';
import { isConstant, isFloat32, otherOperand, sameShape, soleReader } from './pattern.js';

/**
 * Gelu written out with Erf (what PyTorch's exporter writes for nn.GELU() before opset 20):
 *
 *   y = Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)      or with the 0.5 taken first:
 *   y = Mul(Mul(x, 0.5), Add(Erf(Div(x, sqrt 2)), 1))      (Div by sqrt 2 may be Mul by 1 / sqrt 2)
 *
 * becomes one Gelu (ONNX-20 where the model imports opset 20, else ai.edgerun's, which has its semantics),
 * as onnxruntime's gelu_fusion does. The constants must be the float32 values of sqrt 2 (or 1 / sqrt 2), 1
 * and 0.5 exactly, x float32, each intermediate read only inside the pattern, and y of x's shape.
 */
export const geluFusion: GraphPass = {
  name: 'gelu-fusion',
  run(graph, context) {
    if (!hasOnnxOp(graph, 'Erf')) return graph;
    const uses = usesOf(graph);
    const inferred = analyze(graph, context);
    const producers = producersOf(graph);
    const replacements = new Map<Node, Node[]>();
    const domain = (opsetVersion(context.opsets, '') ?? 0) >= 20 ? '' : EDGERUN_DOMAIN;
    for (const erf of graph.nodes) {
      const match = erf.opType === 'Erf' && erf.domain === '' ? matchGelu(erf, producers, uses, inferred) : undefined;
      if (!match || match.nodes.some((part) => replacements.has(part))) continue;
      const last = match.nodes[match.nodes.length - 1]!;
      const gelu: Node = { name: erf.name || last.name, opType: 'Gelu', domain, inputs: [match.x], outputs: [last.outputs[0]!], attributes: {} };
      for (const part of match.nodes) replacements.set(part, part === last ? [gelu] : []);
    }
    return replaceNodes(graph, replacements);
  },
};

interface GeluMatch {
  x: string;
  /** The pattern's nodes; the last writes y. */
  nodes: Node[];
}

function matchGelu(erf: Node, producers: Map<string, Node>, uses: Uses, inferred: InferredGraph): GeluMatch | undefined {
  const scaled = erf.inputs[0]!;
  const scaling = producers.get(scaled);
  if (!scaling || scaling.domain !== '' || singleUse(uses, scaled) !== erf) return undefined;
  const x = inputScaledBySqrtHalf(scaling, inferred);
  if (x === undefined || !isFloat32(inferred, x)) return undefined;
  const addOne = soleReader(uses, erf.outputs[0]!, 'Add');
  const one = addOne && otherOperand(addOne, erf.outputs[0]!);
  if (!addOne || one === undefined || !isConstant(inferred, one, 1)) return undefined;
  const product = soleReader(uses, addOne.outputs[0]!, 'Mul');
  const factor = product && otherOperand(product, addOne.outputs[0]!);
  if (!product || factor === undefined) return undefined;
  let nodes: Node[] | undefined;
  if (factor === x) {
    // (x * (1 + erf)) * 0.5
    const half = soleReader(uses, product.outputs[0]!, 'Mul');
    const constant = half && otherOperand(half, product.outputs[0]!);
    if (half && constant !== undefined && isConstant(inferred, constant, 0.5)) nodes = [scaling, erf, addOne, product, half];
  } else {
    // (x * 0.5) * (1 + erf)
    const halving = producers.get(factor);
    const constant = halving?.opType === 'Mul' && halving.domain === '' ? otherOperand(halving, x) : undefined;
    if (halving && constant !== undefined && isConstant(inferred, constant, 0.5) && singleUse(uses, factor) === product) nodes = [halving, scaling, erf, addOne, product];
  }
  const last = nodes?.[nodes.length - 1];
  return nodes && last && sameShape(inferred, last.outputs[0]!, x) ? { x, nodes } : undefined;
}

/** x of Div(x, sqrt 2) or Mul(x, 1 / sqrt 2) (either operand order for Mul), or undefined. */
function inputScaledBySqrtHalf(node: Node, inferred: InferredGraph): string | undefined {
  const [a, b] = node.inputs as [string | undefined, string | undefined];
  if (node.inputs.length !== 2 || a === undefined || b === undefined) return undefined;
  if (node.opType === 'Div') return isConstant(inferred, b, Math.SQRT2) ? a : undefined;
  if (node.opType !== 'Mul') return undefined;
  if (isConstant(inferred, b, Math.SQRT1_2)) return a;
  return isConstant(inferred, a, Math.SQRT1_2) ? b : undefined;
}
