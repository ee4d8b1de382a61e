import type { DataType } from '../core/dtype.js';
import { elementCount, type Tensor } from '../core/tensor.js';
import type { Floats } from '../kernels/floats.js';
import { tensorFromNumbers } from './common.js';
import type { KernelContext } from './registry.js';

/**
 * Where a float kernel writes output `index`: straight into the executor's output tensor for float32 and
 * float64; other float types (float16, bfloat16, ...) are computed in float64 and encoded by `done`.
 */
export function floatOutput(ctx: Pick<KernelContext, 'output'>, index: number, type: DataType, dims: readonly number[]): { values: Floats; done(): Tensor } {
  if (type === 'float32' || type === 'float64') {
    const tensor = ctx.output(index, type, dims);
    return { values: tensor.data as Floats, done: () => tensor };
  }
  const values = new Float64Array(elementCount(dims));
  return { values, done: () => tensorFromNumbers(type, dims, values) };
}
