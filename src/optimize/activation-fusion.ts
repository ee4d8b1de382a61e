import type { AttributeWithDoc, Node } from '../core/graph.js';
import { numbersOf } from '../ops/common.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import { activationAttributes, type Activation } from '../kernels/activation.js';
import type { InferredGraph } from './infer.js';
import { analyze, isFloatTensor, replaceNodes, singleUse, usesOf, type GraphPass, type PassContext } from './pass.js';

/** Producers an activation fuses into, and the fused op each becomes. */
const FUSED_FORM: Record<string, string> = { Conv: 'FusedConv', Gemm: 'FusedGemm', MatMul: 'FusedMatMul', Add: 'FusedAdd' };

/**
 * Activation fusion: Relu, Clip, HardSwish, Sigmoid, LeakyRelu, HardSigmoid or Tanh right after a Conv, Gemm,
 * MatMul or Add (or after their fused forms still without an activation) is applied in the producer's
 * output loop: the pair becomes one ai.edgerun op writing the activation's output. The producer's output
 * must be read by the activation alone, and be a float tensor.
 */
export const activationFusion: GraphPass = {
  name: 'activation-fusion',
  run(graph, context) {
    const uses = usesOf(graph);
    const inferred = analyze(graph, context);
    const replacements = new Map<Node, Node[]>();
    for (const producer of graph.nodes) {
      const fusedName = fusedOpOf(producer, context);
      const output = producer.outputs[0];
      if (!fusedName || !output || !isFloatTensor(inferred, output)) continue;
      const consumer = singleUse(uses, output);
      if (!consumer || consumer.inputs[0] !== output || replacements.has(consumer)) continue;
      const activation = activationOf(consumer, context, inferred);
      if (!activation) continue;
      const { name, params } = activationAttributes(activation);
      const attributes: Record<string, AttributeWithDoc> = {
        ...producer.attributes,
        activation: { type: 'string', value: name },
        activation_params: { type: 'floats', value: params },
      };
      replacements.set(producer, [{ ...producer, domain: EDGERUN_DOMAIN, opType: fusedName, attributes, outputs: [consumer.outputs[0]!] }]);
      replacements.set(consumer, []);
    }
    return replaceNodes(graph, replacements);
  },
};

/** The fused op a node becomes, when it can take an activation. */
function fusedOpOf(node: Node, context: PassContext): string | undefined {
  if (node.domain === '') return context.resolve(node) ? FUSED_FORM[node.opType] : undefined;
  if (node.domain !== EDGERUN_DOMAIN || !Object.values(FUSED_FORM).includes(node.opType)) return undefined;
  const existing = node.attributes.activation;
  return existing === undefined || (existing.type === 'string' && existing.value === '') ? node.opType : undefined;
}

/** The activation a node computes, when it is one the fused kernels apply. */
function activationOf(node: Node, context: PassContext, inferred: InferredGraph): Activation | undefined {
  if (node.domain !== '') return undefined;
  const attrs = context.resolve(node)?.attributes;
  if (!attrs) return undefined;
  switch (node.opType) {
    case 'Relu':
    case 'Sigmoid':
    case 'HardSwish':
    case 'Tanh':
      return { kind: node.opType };
    case 'LeakyRelu':
      return { kind: 'LeakyRelu', alpha: attrs.alpha as number };
    case 'HardSigmoid':
      return { kind: 'HardSigmoid', alpha: attrs.alpha as number, beta: attrs.beta as number };
    case 'Clip':
      return clipBounds(node, attrs, inferred);
    default:
      return undefined;
  }
}

/** Clip's bounds: attributes before opset 11, constant inputs from 11 (absent = unbounded). */
function clipBounds(node: Node, attrs: Record<string, unknown>, inferred: InferredGraph): Activation | undefined {
  if ('min' in attrs) return (attrs.min as number) > (attrs.max as number) ? undefined : { kind: 'Clip', min: attrs.min as number, max: attrs.max as number };
  const bound = (index: number, unbounded: number): number | undefined => {
    const name = node.inputs[index] ?? '';
    if (name === '') return unbounded;
    const value = inferred.constants.get(name);
    return value?.size === 1 ? numbersOf(value)[0] : undefined;
  };
  const min = bound(1, -Infinity);
  const max = bound(2, Infinity);
  // With min > max ONNX gives max everywhere; the fused clamp tests min first, so such a Clip stays.
  return min === undefined || max === undefined || min > max ? undefined : { kind: 'Clip', min, max };
}
