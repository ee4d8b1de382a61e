import type { Activation } from './activation.js';
import { type Fail, type Floats, floatsLike } from './floats.js';
import { gemm, rowMajor, type Matrix } from './gemm.js';

/** numpy.matmul over float buffers: matrix products over broadcast batch axes, through gemm. */

/** How a MatMul walks its operands: the matrix sizes, the broadcast batches and the output dims. */
export interface MatMulPlan {
  M: number;
  K: number;
  N: number;
  batches: number;
  /** Per output batch, the operand's batch index. */
  aBatch: Int32Array;
  bBatch: Int32Array;
  dims: number[];
}

/**
 * numpy.matmul's rank rules: 1-D operands are promoted to matrices (a row for A, a column for B) and the
 * added axis removed after; batch axes broadcast.
 */
export function planMatMul(aShape: readonly number[], bShape: readonly number[], fail: Fail): MatMulPlan {
  const aDims = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const bDims = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  if (aDims.length < 2 || bDims.length < 2) fail('INVALID_ARGUMENT', 'MatMul inputs A and B must have rank >= 1');
  const M = aDims[aDims.length - 2]!;
  const K = aDims[aDims.length - 1]!;
  const N = bDims[bDims.length - 1]!;
  if (bDims[bDims.length - 2] !== K) {
    fail('SHAPE_MISMATCH', `MatMul inner dimensions differ: A [${aShape.join(', ')}] and B [${bShape.join(', ')}]`);
  }
  const aBatchDims = aDims.slice(0, -2);
  const bBatchDims = bDims.slice(0, -2);
  const rank = Math.max(aBatchDims.length, bBatchDims.length);
  const batchDims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = aBatchDims[aBatchDims.length - rank + i] ?? 1;
    const y = bBatchDims[bBatchDims.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail('SHAPE_MISMATCH', `MatMul batch dimensions [${aBatchDims.join(', ')}] and [${bBatchDims.join(', ')}] cannot be broadcast`);
    batchDims.push(x === 1 ? y : x);
  }
  const dims = [...batchDims];
  if (aShape.length > 1) dims.push(M);
  if (bShape.length > 1) dims.push(N);
  const batches = batchDims.reduce((count, dim) => count * dim, 1);
  return { M, K, N, batches, aBatch: batchIndices(batchDims, aBatchDims, batches), bBatch: batchIndices(batchDims, bBatchDims, batches), dims };
}

/** For each batch of the broadcast `outDims`, the index of the operand's batch (of `dims`, right-aligned). */
function batchIndices(outDims: readonly number[], dims: readonly number[], batches: number): Int32Array {
  const indices = new Int32Array(batches);
  const offset = outDims.length - dims.length;
  for (let batch = 0; batch < batches; batch++) {
    let rest = batch;
    let index = 0;
    let stride = 1;
    for (let axis = outDims.length - 1; axis >= 0; axis--) {
      const position = rest % outDims[axis]!;
      rest = Math.floor(rest / outDims[axis]!);
      const dim = dims[axis - offset] ?? 1;
      if (dim !== 1) index += position * stride;
      stride *= dim;
    }
    indices[batch] = index;
  }
  return indices;
}

/** out = activation(A · B (+ bias, an [M, N] view broadcast over batches)) for every batch of `shape`. */
export function matmulInto(shape: MatMulPlan, a: Floats, b: Floats, out: Floats, bias?: Matrix, activation?: Activation): void {
  const { M, K, N, batches, aBatch, bBatch } = shape;
  for (let batch = 0; batch < batches; batch++) {
    gemm(M, N, K, rowMajor(a, aBatch[batch]! * M * K, K), rowMajor(b, bBatch[batch]! * K * N, N), out, batch * M * N, N, { bias, activation });
  }
}

/** MatMul in a's float type, in a new buffer (the integer products' path). */
export function matmul(a: Floats, aShape: readonly number[], b: Floats, bShape: readonly number[], fail: Fail): { dims: number[]; values: Floats } {
  const shape = planMatMul(aShape, bShape, fail);
  const values = floatsLike(a, shape.batches * shape.M * shape.N);
  matmulInto(shape, a, b, values);
  return { dims: shape.dims, values };
}
