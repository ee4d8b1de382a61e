import { EdgerunError } from '../core/errors.js';
import type { ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { numbersOf, scalarOf, tensorFromNumbers } from './common.js';
import { attr, defineOp, type KernelContext, type OpDef } from './registry.js';

/**
 * Optimizer steps of the ai.onnx.preview.training domain. Each takes the learning rate R, the update
 * count T, then groups of equally many tensors (X..., G..., and per-optimizer state) and updates every
 * (x, g, state) triple element-wise. Gradient is not here: it needs automatic differentiation.
 */

const DOMAIN = 'ai.onnx.preview.training';

/**
 * Splits the variadic tail into `groupCount` equal groups (X, G, then the optimizer's state tensors)
 * and reads the scalar learning rate R and update count T.
 */
function tensorGroups(ctx: KernelContext<unknown>, groupCount: number): { groups: Tensor[][]; rate: number; step: number } {
  const operands = ctx.inputs.slice(2).map((_, index) => ctx.tensor(index + 2));
  if (operands.length === 0 || operands.length % groupCount !== 0) {
    throw new EdgerunError('INVALID_ARGUMENT', `expected ${groupCount} equal groups of tensors after R and T, got ${operands.length} tensors`);
  }
  const perGroup = operands.length / groupCount;
  const groups = Array.from({ length: groupCount }, (_, g) => operands.slice(g * perGroup, (g + 1) * perGroup));
  return { groups, rate: scalarOf(ctx.tensor(0)), step: scalarOf(ctx.tensor(1)) };
}

/** The input group that output group `o` mirrors: X for X_new, then the state groups (skipping G). */
function mirroredGroup(o: number): number {
  return o === 0 ? 0 : o + 1;
}

/**
 * Output types: each output is shaped like the tensor it updates (same group position in the mirrored
 * input group), laid out group by group as the kernel lays them out.
 */
function updatedTypes(inputTypes: readonly (ValueType | undefined)[], groupCount: number, outputGroupCount: number): (ValueType | undefined)[] {
  const operands = inputTypes.slice(2);
  if (operands.length === 0 || operands.length % groupCount !== 0) return [];
  const perGroup = operands.length / groupCount;
  return Array.from({ length: outputGroupCount * perGroup }, (_, index) => {
    const o = Math.floor(index / perGroup);
    return operands[mirroredGroup(o) * perGroup + (index % perGroup)];
  });
}

/**
 * Applies `update` to every element of tensor i of each group; `update` gets one number per group and
 * returns one number per output group. Outputs are laid out group by group, as the ops specify.
 */
function updateElementwise(groups: Tensor[][], outputGroupCount: number, update: (values: number[]) => number[]): Tensor[] {
  const perGroup = groups[0]!.length;
  const outputs: Tensor[][] = Array.from({ length: outputGroupCount }, () => []);
  for (let i = 0; i < perGroup; i++) {
    const tensors = groups.map((group) => group[i]!);
    const size = tensors[0]!.size;
    if (tensors.some((tensor) => tensor.size !== size)) {
      throw new EdgerunError('SHAPE_MISMATCH', `tensors of group position ${i} differ in size`);
    }
    const inputs = tensors.map(numbersOf);
    const results = Array.from({ length: outputGroupCount }, () => new Float64Array(size));
    for (let e = 0; e < size; e++) {
      const updated = update(inputs.map((values) => values[e]!));
      updated.forEach((value, o) => (results[o]![e] = value));
    }
    // Output group o mirrors input group o (X -> X_new, then the state groups after G).
    results.forEach((values, o) => {
      const like = tensors[mirroredGroup(o)]!;
      outputs[o]!.push(tensorFromNumbers(like.type, like.dims, values));
    });
  }
  return outputs.flat();
}

function requiredFloat(value: number | undefined, name: string): number {
  if (value === undefined) throw new EdgerunError('INVALID_ATTRIBUTE', `attribute '${name}' is required`);
  return value;
}

export const ops: OpDef[] = [
  defineOp({
    domain: DOMAIN,
    name: 'Adagrad',
    since: 1,
    inputs: ['R', 'T', 'inputs...'],
    outputs: ['outputs...'],
    attributes: { decay_factor: attr.float(0), epsilon: attr.float(1e-6), norm_coefficient: attr.float(0) },
    infer: ({ inputTypes }) => updatedTypes(inputTypes, 3, 2),
    kernel: (ctx) => {
      const { decay_factor: decay, epsilon, norm_coefficient: norm } = ctx.attrs;
      const { groups, rate, step } = tensorGroups(ctx, 3);
      const decayedRate = rate / (1 + step * decay);
      return updateElementwise(groups, 2, ([x, g, h]) => {
        const gradient = norm * x! + g!;
        const accumulated = h! + gradient * gradient;
        return [x! - (decayedRate * gradient) / (Math.sqrt(accumulated) + epsilon), accumulated];
      });
    },
  }),

  defineOp({
    domain: DOMAIN,
    name: 'Adam',
    since: 1,
    inputs: ['R', 'T', 'inputs...'],
    outputs: ['outputs...'],
    attributes: {
      alpha: attr.float(0.9),
      beta: attr.float(0.999),
      epsilon: attr.float(1e-6),
      norm_coefficient: attr.float(0),
      norm_coefficient_post: attr.float(0),
    },
    infer: ({ inputTypes }) => updatedTypes(inputTypes, 4, 3),
    kernel: (ctx) => {
      const { alpha, beta, epsilon, norm_coefficient: norm, norm_coefficient_post: normPost } = ctx.attrs;
      const { groups, rate, step } = tensorGroups(ctx, 4);
      // Bias correction of the moment estimates starts with the first real update (T > 0).
      const correctedRate = step > 0 ? (rate * Math.sqrt(1 - beta ** step)) / (1 - alpha ** step) : rate;
      return updateElementwise(groups, 3, ([x, g, v, h]) => {
        const gradient = norm * x! + g!;
        const momentum = alpha * v! + (1 - alpha) * gradient;
        const squared = beta * h! + (1 - beta) * gradient * gradient;
        const moved = x! - (correctedRate * momentum) / (Math.sqrt(squared) + epsilon);
        return [(1 - normPost) * moved, momentum, squared];
      });
    },
  }),

  defineOp({
    domain: DOMAIN,
    name: 'Momentum',
    since: 1,
    inputs: ['R', 'T', 'inputs...'],
    outputs: ['outputs...'],
    attributes: { alpha: attr.float(), beta: attr.float(), mode: attr.string(), norm_coefficient: attr.float() },
    infer: ({ inputTypes }) => updatedTypes(inputTypes, 3, 2),
    kernel: (ctx) => {
      const alpha = requiredFloat(ctx.attrs.alpha, 'alpha');
      const beta = requiredFloat(ctx.attrs.beta, 'beta');
      const norm = requiredFloat(ctx.attrs.norm_coefficient, 'norm_coefficient');
      const mode = ctx.attrs.mode ?? 'standard';
      if (mode !== 'standard' && mode !== 'nesterov') ctx.fail('INVALID_ATTRIBUTE', `mode must be 'standard' or 'nesterov', got '${mode}'`);
      const { groups, rate, step } = tensorGroups(ctx, 3);
      // The first update (T = 0) takes the whole gradient; later ones scale it by beta.
      const gradientScale = step > 0 ? beta : 1;
      return updateElementwise(groups, 2, ([x, g, v]) => {
        const gradient = norm * x! + g!;
        const velocity = alpha * v! + gradientScale * gradient;
        const direction = mode === 'nesterov' ? gradient + alpha * velocity : velocity;
        return [x! - rate * direction, velocity];
      });
    },
  }),
];
