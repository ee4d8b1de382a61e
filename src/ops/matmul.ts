import type { ValueType } from '../core/graph.js';
import { allocate, type BigIntArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { broadcastMatrix, gemm, rowMajor } from '../kernels/gemm.js';
import { matmulInto, planMatMul } from '../kernels/matmul.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { floatsOf, shapeOf, tensorType } from './common.js';
import { matMulShape } from './geometry.js';
import { bigintsOf, isBigIntType } from './math-unary.js';
import { floatOutput } from './outputs.js';

/**
 * Matrix products: MatMul and Gemm, schemas and glue over the GEMM kernel of kernels/. Float types run on
 * float32/float64 data directly (other float types decoded to float64 once); int64/uint64 MatMul stays in
 * bigints to be exact past 2^53.
 */

/**
 * MatMul of int64/uint64 in bigints, one dot product per output: a float64 detour would round products and
 * sums past 2^53. Stores into the result wrap as the type does.
 */
function matmulBigInts(a: Tensor, b: Tensor, fail: KernelContext['fail']): Tensor {
  const { M, K, N, batches, aBatch, bBatch, dims } = planMatMul(a.dims, b.dims, fail);
  const x = a.data as BigIntArray;
  const y = bigintsOf(b);
  const out = allocate(a.type, batches * M * N) as BigIntArray;
  for (let batch = 0; batch < batches; batch++) {
    const aBase = aBatch[batch]! * M * K;
    const bBase = bBatch[batch]! * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0n;
        for (let k = 0; k < K; k++) sum += x[aBase + m * K + k]! * y[bBase + k * N + n]!;
        out[(batch * M + m) * N + n] = sum;
      }
    }
  }
  return new Tensor(a.type, out, dims);
}

// ---------------------------------------------------------------------------------------------------------
// MatMul

function inferMatMul({ inputTypes }: InferContext): (ValueType | undefined)[] {
  const [a, b] = inputTypes;
  if (a?.kind !== 'tensor') return [undefined];
  return [tensorType(a.dtype, matMulShape(shapeOf(a), shapeOf(b)))];
}

function matMulKernel(ctx: KernelContext): Tensor[] {
  const a = ctx.tensor(0);
  const b = ctx.tensor(1);
  if (isBigIntType(a.type)) return [matmulBigInts(a, b, ctx.fail)];
  const plan = planMatMul(a.dims, b.dims, ctx.fail);
  const y = floatOutput(ctx, 0, a.type, plan.dims);
  matmulInto(plan, floatsOf(a), floatsOf(b), y.values);
  return [y.done()];
}

// ---------------------------------------------------------------------------------------------------------
// Gemm

interface GemmAttrs {
  alpha: number;
  beta: number;
  transA: number;
  transB: number;
}

function inferGemm({ inputTypes, attrs }: InferContext<{ transA: number; transB: number }>): (ValueType | undefined)[] {
  const [a, b] = inputTypes;
  if (a?.kind !== 'tensor') return [undefined];
  const aShape = shapeOf(a);
  const bShape = shapeOf(b);
  if (aShape?.length !== 2 || bShape?.length !== 2) return [tensorType(a.dtype)];
  return [tensorType(a.dtype, [aShape[attrs.transA ? 1 : 0], bShape[attrs.transB ? 0 : 1]])];
}

/** Y = alpha·A'·B' + beta·C, C broadcast to [M, N] (opset < 7 only with `broadcast`, checked by shape here). */
function gemmKernel(ctx: KernelContext<GemmAttrs>): Tensor[] {
  const { attrs, fail } = ctx;
  const a = ctx.tensor(0);
  const b = ctx.tensor(1);
  const c = ctx.optionalTensor(2);
  if (a.dims.length !== 2 || b.dims.length !== 2) fail('INVALID_ARGUMENT', 'Gemm inputs A and B must be matrices');
  const [M, K] = attrs.transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [bK, N] = attrs.transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (bK !== K) fail('SHAPE_MISMATCH', `Gemm inner dimensions differ: A' has ${K} columns, B' has ${bK} rows`);
  if (c && !broadcastsTo(c.dims, [M, N])) fail('SHAPE_MISMATCH', `Gemm input C [${c.dims.join(', ')}] does not broadcast to [${M}, ${N}]`);
  const y = floatOutput(ctx, 0, a.type, [M, N]);
  gemm(M, N, K, rowMajor(floatsOf(a), 0, a.dims[1]!, attrs.transA !== 0), rowMajor(floatsOf(b), 0, b.dims[1]!, attrs.transB !== 0), y.values, 0, N, {
    alpha: attrs.alpha,
    beta: attrs.beta,
    bias: c && broadcastMatrix(floatsOf(c), c.dims, M, N),
  });
  return [y.done()];
}

/** Whether `dims` broadcasts one way (numpy rules) to `target`. */
function broadcastsTo(dims: readonly number[], target: readonly number[]): boolean {
  if (dims.length > target.length) return false;
  return dims.every((dim, i) => dim === 1 || dim === target[target.length - dims.length + i]);
}

const GEMM_ATTRIBUTES = { alpha: attr.float(1), beta: attr.float(1), transA: attr.int(0), transB: attr.int(0) };

// ---------------------------------------------------------------------------------------------------------
// Catalogue

export const ops: OpDef[] = [
  ...[1, 9, 13].map((since) => defineOp({ name: 'MatMul', since, inputs: ['A', 'B'], outputs: ['Y'], infer: inferMatMul, kernel: matMulKernel })),

  // Before opset 7, C is required and `broadcast` says whether it may be broadcast; the shapes tell the same.
  ...[1, 6].map((since) =>
    defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C'], outputs: ['Y'], attributes: { ...GEMM_ATTRIBUTES, broadcast: attr.int(0) }, infer: inferGemm, kernel: gemmKernel }),
  ),
  ...[7, 9].map((since) => defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C'], outputs: ['Y'], attributes: GEMM_ATTRIBUTES, infer: inferGemm, kernel: gemmKernel })),
  ...[11, 13].map((since) => defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C?'], outputs: ['Y'], attributes: GEMM_ATTRIBUTES, infer: inferGemm, kernel: gemmKernel })),
];
