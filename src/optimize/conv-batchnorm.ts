import type { Node } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { floatsOf } from '../ops/common.js';
import { analyze, constantInitializers, isFloatTensor, namer, replaceNodes, singleUse, usesOf, type GraphPass } from './pass.js';

/**
 * Conv + BatchNormalization folding: inference-mode batch normalization of a convolution's output is a
 * per-channel scale and shift, so it folds into the convolution's weights and bias:
 * W' = W · s, B' = (B - mean) · s + beta, with s = scale / sqrt(var + epsilon) per output channel.
 * Needs W, B and the statistics as constants, the convolution's output read by the normalization alone,
 * and the normalization producing Y only.
 */
export const convBatchNormFolding: GraphPass = {
  name: 'conv-batchnorm-folding',
  run(graph, context) {
    const uses = usesOf(graph);
    const constants = constantInitializers(graph, context);
    const inferred = analyze(graph, context);
    const initializers = new Map(graph.initializers);
    const fresh = namer(graph);
    const replacements = new Map<Node, Node[]>();
    for (const conv of graph.nodes) {
      if (conv.opType !== 'Conv' || conv.domain !== '' || !isFloatTensor(inferred, conv.outputs[0]!)) continue;
      const norm = singleUse(uses, conv.outputs[0]!);
      if (!norm || norm.opType !== 'BatchNormalization' || norm.domain !== '' || norm.inputs[0] !== conv.outputs[0]) continue;
      if (norm.outputs.slice(1).some((name) => name !== '')) continue;
      const normAttrs = context.resolve(norm)?.attributes;
      if (!normAttrs || normAttrs.training_mode === 1 || normAttrs.spatial === 0) continue;
      const weights = constants.get(conv.inputs[1]!);
      const bias = conv.inputs[2] ? constants.get(conv.inputs[2]) : undefined;
      const [scale, beta, mean, variance] = norm.inputs.slice(1).map((name) => constants.get(name));
      if (!weights || (conv.inputs[2] && !bias) || !scale || !beta || !mean || !variance) continue;
      const folded = foldInto(weights, bias, { scale, beta, mean, variance }, normAttrs.epsilon as number);
      if (!folded) continue;
      const weightsName = fresh(`${conv.inputs[1]}_bn`);
      const biasName = fresh(`${norm.outputs[0]}_bias`);
      initializers.set(weightsName, folded.weights);
      initializers.set(biasName, folded.bias);
      const name = conv.name || norm.name;
      replacements.set(conv, [{ ...conv, name, inputs: [conv.inputs[0]!, weightsName, biasName], outputs: [norm.outputs[0]!] }]);
      replacements.set(norm, []);
    }
    return replaceNodes(graph, replacements, replacements.size > 0 ? initializers : undefined);
  },
};

interface Statistics {
  scale: Tensor;
  beta: Tensor;
  mean: Tensor;
  variance: Tensor;
}

/** The folded weights and bias, or undefined when a shape does not fit (one statistic per output channel). */
function foldInto(weights: Tensor, bias: Tensor | undefined, stats: Statistics, epsilon: number): { weights: Tensor; bias: Tensor } | undefined {
  const channels = weights.dims[0]!;
  const all = [stats.scale, stats.beta, stats.mean, stats.variance, ...(bias ? [bias] : [])];
  if (all.some((tensor) => tensor.size !== channels || tensor.type !== weights.type) || (weights.type !== 'float32' && weights.type !== 'float64')) return undefined;
  const [scale, beta, mean, variance] = [stats.scale, stats.beta, stats.mean, stats.variance].map(floatsOf);
  const w = floatsOf(weights);
  const b = bias ? floatsOf(bias) : undefined;
  const perChannel = weights.size / channels;
  const foldedWeights = weights.type === 'float32' ? new Float32Array(weights.size) : new Float64Array(weights.size);
  const foldedBias = weights.type === 'float32' ? new Float32Array(channels) : new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const factor = scale![c]! / Math.sqrt(variance![c]! + epsilon);
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) foldedWeights[i] = w[i]! * factor;
    foldedBias[c] = ((b?.[c] ?? 0) - mean![c]!) * factor + beta![c]!;
  }
  return { weights: new Tensor(weights.type, foldedWeights, weights.dims), bias: new Tensor(weights.type, foldedBias, [channels]) };
}
