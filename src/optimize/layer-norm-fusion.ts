import { opsetVersion, type AttributeWithDoc, type Node } from '../core/graph.js';
import { numbersOf } from '../ops/common.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import type { InferredGraph } from './infer.js';
import { analyze, hasOnnxOp, replaceNodes, singleUse, usesOf, type GraphPass, type PassContext, type Uses } from './pass.js';
import { isFloat32, otherOperand, sameShape, scalarConstant, shapeOf, soleReader } from './pattern.js';

/**
 * LayerNormalization written out as ops (what PyTorch's exporter writes before opset 17, and hand-written
 * models):
 *
 *   mean = ReduceMean(x, trailing axes)      d = Sub(x, mean)
 *   var  = ReduceMean(Pow(d, 2), same axes)  y = Add(Mul(Div(d, Sqrt(Add(var, epsilon))), scale), bias)
 *
 * becomes one LayerNormalization (ONNX-17 where the model imports opset 17, else ai.edgerun's, which has
 * its semantics) over axis = -(number of axes), as onnxruntime's layer_norm_fusion does. It fires only on
 * the exact pattern: both means over the same trailing block of axes with keepdims, exponent exactly 2,
 * epsilon a constant scalar, scale (and bias, when the Add is there) of the normalized dims or
 * broadcasting into them, float32 throughout (the written-out ops round in float32, as LayerNormalization
 * with stash_type 1 computes), each intermediate read only inside the pattern.
 */
export const layerNormFusion: GraphPass = {
  name: 'layer-norm-fusion',
  run(graph, context) {
    if (!hasOnnxOp(graph, 'ReduceMean')) return graph;
    const uses = usesOf(graph);
    const inferred = analyze(graph, context);
    const replacements = new Map<Node, Node[]>();
    for (const node of graph.nodes) {
      const match = matchLayerNorm(node, uses, inferred, context);
      if (!match || match.nodes.some((part) => replacements.has(part))) continue;
      const last = match.nodes[match.nodes.length - 1]!;
      const domain = (opsetVersion(context.opsets, '') ?? 0) >= 17 ? '' : EDGERUN_DOMAIN;
      const attributes: Record<string, AttributeWithDoc> = { axis: { type: 'int', value: match.axis }, epsilon: { type: 'float', value: match.epsilon } };
      const fused: Node = { name: node.name || last.name, opType: 'LayerNormalization', domain, inputs: match.inputs, outputs: [last.outputs[0]!], attributes };
      for (const part of match.nodes) replacements.set(part, part === last ? [fused] : []);
    }
    return replaceNodes(graph, replacements);
  },
};

interface LayerNormMatch {
  /** The pattern's nodes in graph order of the chain; the last writes the normalized output. */
  nodes: Node[];
  inputs: string[];
  axis: number;
  epsilon: number;
}

/** The pattern starting at the first ReduceMean `mean`, or undefined. */
function matchLayerNorm(mean: Node, uses: Uses, inferred: InferredGraph, context: PassContext): LayerNormMatch | undefined {
  if (mean.opType !== 'ReduceMean' || mean.domain !== '') return undefined;
  const x = mean.inputs[0]!;
  const axes = trailingAxes(mean, inferred, context);
  if (axes === undefined || !isFloat32(inferred, x)) return undefined;
  const sub = soleReader(uses, mean.outputs[0]!, 'Sub');
  if (!sub || sub.inputs[0] !== x || sub.inputs[1] !== mean.outputs[0]) return undefined;
  const centered = sub.outputs[0]!;
  const readers = uses.consumers.get(centered) ?? [];
  if (uses.pinned.has(centered) || readers.length !== 2) return undefined;
  const pow = readers.find((reader) => reader.opType === 'Pow' && reader.domain === '' && reader.inputs[0] === centered);
  const div = readers.find((reader) => reader.opType === 'Div' && reader.domain === '' && reader.inputs[0] === centered);
  if (!pow || !div || scalarConstant(inferred, pow.inputs[1]!) !== 2) return undefined;
  const variance = soleReader(uses, pow.outputs[0]!, 'ReduceMean');
  if (!variance || trailingAxes(variance, inferred, context) !== axes) return undefined;
  const addEpsilon = soleReader(uses, variance.outputs[0]!, 'Add');
  const epsilonName = addEpsilon && otherOperand(addEpsilon, variance.outputs[0]!);
  const epsilon = epsilonName === undefined ? undefined : scalarConstant(inferred, epsilonName);
  if (!addEpsilon || epsilon === undefined || !sameShape(inferred, addEpsilon.outputs[0]!, variance.outputs[0]!)) return undefined;
  const sqrt = soleReader(uses, addEpsilon.outputs[0]!, 'Sqrt');
  if (!sqrt || singleUse(uses, sqrt.outputs[0]!) !== div || div.inputs[1] !== sqrt.outputs[0]) return undefined;
  const mul = soleReader(uses, div.outputs[0]!, 'Mul');
  const scale = mul && otherOperand(mul, div.outputs[0]!);
  if (!mul || !scale || !fitsNormalized(inferred, scale, x, axes)) return undefined;
  const nodes = [mean, sub, pow, variance, addEpsilon, sqrt, div, mul];
  const inputs = [x, scale];
  const addBias = soleReader(uses, mul.outputs[0]!, 'Add');
  const bias = addBias && otherOperand(addBias, mul.outputs[0]!);
  if (addBias && bias && fitsNormalized(inferred, bias, x, axes)) {
    nodes.push(addBias);
    inputs.push(bias);
  }
  if (!sameShape(inferred, nodes[nodes.length - 1]!.outputs[0]!, x)) return undefined;
  return { nodes, inputs, axis: -axes, epsilon };
}

/**
 * How many trailing axes a ReduceMean with keepdims averages over (axes as attribute before opset 18, as
 * a constant input since), or undefined when they are not a trailing block or not known.
 */
function trailingAxes(mean: Node, inferred: InferredGraph, context: PassContext): number | undefined {
  const resolved = context.resolve(mean);
  const rank = shapeOf(inferred, mean.inputs[0]!)?.length;
  if (!resolved || rank === undefined || resolved.attributes.keepdims === 0) return undefined;
  let axes: number[];
  if (resolved.opset >= 18) {
    const constant = mean.inputs[1] ? inferred.constants.get(mean.inputs[1]) : undefined;
    if (!constant) return undefined;
    axes = Array.from(numbersOf(constant));
  } else {
    axes = (resolved.attributes.axes as number[] | undefined) ?? [];
  }
  const sorted = axes.map((axis) => (axis < 0 ? axis + rank : axis)).sort((a, b) => a - b);
  if (sorted.length === 0 || new Set(sorted).size !== sorted.length) return undefined;
  return sorted.every((axis, i) => axis === rank - sorted.length + i) ? sorted.length : undefined;
}

/** Whether `name` (scale or bias) is float32 with static dims broadcasting into x's `count` trailing dims. */
function fitsNormalized(inferred: InferredGraph, name: string, x: string, count: number): boolean {
  const dims = shapeOf(inferred, name);
  const normalized = shapeOf(inferred, x)?.slice(-count);
  if (!dims || !normalized || !isFloat32(inferred, name) || dims.length > count) return false;
  const offset = count - dims.length;
  return dims.every((dim, i) => typeof dim === 'number' && (dim === 1 || dim === normalized[offset + i]));
}
