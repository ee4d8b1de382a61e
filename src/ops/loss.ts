import { EdgerunError } from '../core/errors.js';
import type { ValueType } from '../core/graph.js';
import { elementCount, type Tensor } from '../core/tensor.js';
import { attr, defineOp, type InferContext, type OpDef } from './registry.js';
import { integersOf, numbersOf, shapeOf, tensorFromNumbers, tensorType } from './common.js';
import { logSoftmaxAlongAxis } from './reduce.js';

/**
 * Classification losses. Both take scores laid out [N, C, d1, ..., dk] and class labels [N, d1, ..., dk];
 * SoftmaxCrossEntropyLoss is LogSoftmax over the class axis followed by NegativeLogLikelihoodLoss.
 */

type Reduction = 'none' | 'sum' | 'mean';

interface LossOptions {
  reduction: string;
  ignoreIndex: number | undefined;
}

function checkReduction(reduction: string): Reduction {
  if (reduction === 'none' || reduction === 'sum' || reduction === 'mean') return reduction;
  throw new EdgerunError('INVALID_ATTRIBUTE', `attribute 'reduction' must be 'none', 'sum' or 'mean', got '${reduction}'`);
}

/**
 * loss[n, d] = -logProb[n, target[n, d], d] * weight[target[n, d]], zero where the target is ignore_index.
 * 'mean' divides the sum by the total weight of the targets not ignored (their count without weights).
 */
function negativeLogLikelihood(
  logProb: ArrayLike<number>,
  scoreDims: readonly number[],
  target: Tensor,
  weight: Tensor | undefined,
  options: LossOptions,
): { dims: number[]; values: Float64Array } {
  const reduction = checkReduction(options.reduction);
  if (scoreDims.length < 2) {
    throw new EdgerunError('SHAPE_MISMATCH', `scores must have dims [N, C, ...], got [${scoreDims.join(', ')}]`);
  }
  const [batch, classes] = scoreDims as [number, number];
  const spatialDims = scoreDims.slice(2);
  const spatial = elementCount(spatialDims);
  const expected = [batch, ...spatialDims];
  if (target.dims.length !== expected.length || target.dims.some((dim, i) => dim !== expected[i])) {
    const detail = `the target must have dims [${expected.join(', ')}], got [${target.dims.join(', ')}]`;
    throw new EdgerunError('SHAPE_MISMATCH', detail);
  }
  const labels = integersOf(target);
  const weights = weight ? numbersOf(weight) : undefined;
  const losses = new Float64Array(labels.length);
  let totalWeight = 0;
  for (let n = 0; n < batch; n++) {
    for (let d = 0; d < spatial; d++) {
      const position = n * spatial + d;
      const label = labels[position]!;
      if (label === options.ignoreIndex) continue;
      if (label < 0 || label >= classes) {
        throw new EdgerunError('INVALID_ARGUMENT', `input 'target' holds class ${label}, outside [0, ${classes})`);
      }
      const w = weights ? weights[label]! : 1;
      losses[position] = -logProb[(n * classes + label) * spatial + d]! * w;
      totalWeight += w;
    }
  }
  if (reduction === 'none') return { dims: [...target.dims], values: losses };
  const sum = losses.reduce((a, b) => a + b, 0);
  return { dims: [], values: Float64Array.of(reduction === 'sum' ? sum : sum / totalWeight) };
}

/** The loss has no dims once reduced; unreduced, the target's dims [N, d1, ..., dk], the scores' without C. */
function lossInfer({ inputTypes, attrs }: InferContext<{ reduction: string }>): (ValueType | undefined)[] {
  const scores = inputTypes[0];
  if (scores?.kind !== 'tensor') return [undefined, undefined];
  const scoreDims = shapeOf(scores);
  const withoutClasses = scoreDims && scoreDims.length >= 2 ? scoreDims.filter((_, axis) => axis !== 1) : undefined;
  const lossShape = attrs.reduction !== 'none' ? [] : (shapeOf(inputTypes[1]) ?? withoutClasses);
  return [tensorType(scores.dtype, lossShape), scores];
}

const lossAttributes = { reduction: attr.string('mean'), ignore_index: attr.int() };

export const ops: OpDef[] = [
  // Opset 12 and 13 differ only in the element types allowed.
  defineOp({
    name: 'NegativeLogLikelihoodLoss',
    since: 12,
    inputs: ['input', 'target', 'weight?'],
    outputs: ['loss'],
    attributes: lossAttributes,
    infer: (context) => lossInfer(context).slice(0, 1),
    kernel: ({ tensor, optionalTensor, attrs }) => {
      const input = tensor(0);
      const options = { reduction: attrs.reduction, ignoreIndex: attrs.ignore_index };
      const loss = negativeLogLikelihood(numbersOf(input), input.dims, tensor(1), optionalTensor(2), options);
      return [tensorFromNumbers(input.type, loss.dims, loss.values)];
    },
  }),

  defineOp({
    name: 'SoftmaxCrossEntropyLoss',
    since: 12,
    inputs: ['scores', 'labels', 'weights?'],
    outputs: ['output', 'log_prob?'],
    attributes: lossAttributes,
    infer: lossInfer,
    kernel: ({ tensor, optionalTensor, attrs, outputWanted }) => {
      const scores = tensor(0);
      const logProb = logSoftmaxAlongAxis(numbersOf(scores), scores.dims, 1);
      const options = { reduction: attrs.reduction, ignoreIndex: attrs.ignore_index };
      const loss = negativeLogLikelihood(logProb, scores.dims, tensor(1), optionalTensor(2), options);
      return [
        tensorFromNumbers(scores.type, loss.dims, loss.values),
        outputWanted(1) ? tensorFromNumbers(scores.type, scores.dims, logProb) : undefined,
      ];
    },
  }),
];
