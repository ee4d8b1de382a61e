import type { Dim, ValueType } from '../core/graph.js';
import { allocate, type BigIntArray } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { at, broadcastDim, broadcastOffsets, type Floats, floatsFor, floatsLike, floatsOf, product, shapeOf, tensorOf, tensorType } from './common.js';
import { bigintsOf, isBigIntType } from './math-unary.js';

/**
 * Matrix products: MatMul and Gemm, and the plain blocked product (gemmTransposedB) that Conv, ConvTranspose,
 * DeformConv and the integer ops of quantize.ts build on.
 *
 * Float kernels (here and in conv.ts, pool.ts, normalization.ts) work directly on Float32Array/Float64Array
 * data; other element types are decoded to float64 once and encoded back at the end, except int64/uint64
 * MatMul, which stays in bigints to be exact past 2^53.
 */

// ---------------------------------------------------------------------------------------------------------
// The matrix product

/**
 * c[m·ldc + n] = Σk a[m·lda + k] · bT[n·ldb + k], for m < M, n < N. Both operands walk contiguous rows (the
 * right operand is given transposed). Outputs are computed in 4×4 blocks so each loaded value serves four
 * products; the rows and columns left over take one dot product each.
 */
export function gemmTransposedB(
  M: number, N: number, K: number,
  a: Floats, aOffset: number, lda: number,
  bT: Floats, bOffset: number, ldb: number,
  c: Floats, cOffset: number, ldc: number,
): void {
  const blockRows = M - (M % 4);
  const blockCols = N - (N % 4);
  for (let m = 0; m < blockRows; m += 4) {
    for (let n = 0; n < blockCols; n += 4) {
      block4x4(K, a, aOffset + m * lda, lda, bT, bOffset + n * ldb, ldb, c, cOffset + m * ldc + n, ldc);
    }
  }
  const dot = (m: number, n: number) => {
    const aRow = aOffset + m * lda;
    const bRow = bOffset + n * ldb;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += a[aRow + k]! * bT[bRow + k]!;
    c[cOffset + m * ldc + n] = sum;
  };
  for (let m = 0; m < blockRows; m++) for (let n = blockCols; n < N; n++) dot(m, n);
  for (let m = blockRows; m < M; m++) for (let n = 0; n < N; n++) dot(m, n);
}

/** One 4×4 block of gemmTransposedB: rows a0.., columns b0.., written at c0 (row stride ldc). */
function block4x4(
  K: number,
  a: Floats, a0: number, lda: number,
  bT: Floats, b0: number, ldb: number,
  c: Floats, c0: number, ldc: number,
): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
  const b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  for (let k = 0; k < K; k++) {
    const y0 = bT[b0 + k]!, y1 = bT[b1 + k]!, y2 = bT[b2 + k]!, y3 = bT[b3 + k]!;
    let x = a[a0 + k]!;
    s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
    x = a[a1 + k]!;
    s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
    x = a[a2 + k]!;
    s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
    x = a[a3 + k]!;
    s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
  }
  c[c0] = s00; c[c0 + 1] = s01; c[c0 + 2] = s02; c[c0 + 3] = s03;
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  c[c1] = s10; c[c1 + 1] = s11; c[c1 + 2] = s12; c[c1 + 3] = s13;
  c[c2] = s20; c[c2 + 1] = s21; c[c2 + 2] = s22; c[c2 + 3] = s23;
  c[c3] = s30; c[c3 + 1] = s31; c[c3 + 2] = s32; c[c3 + 3] = s33;
}

/** A rows×cols matrix at `offset` transposed into a new cols×rows buffer. */
export function transposed(source: Floats, offset: number, rows: number, cols: number): Floats {
  const result = floatsLike(source, rows * cols);
  for (let r = 0; r < rows; r++) {
    const from = offset + r * cols;
    for (let col = 0; col < cols; col++) result[col * rows + r] = source[from + col]!;
  }
  return result;
}

/** How a MatMul walks its operands: the matrix sizes, the broadcast batches and the output dims. */
interface MatMulPlan {
  M: number;
  K: number;
  N: number;
  batches: number;
  /** Per output batch, the operand's batch index (undefined: the same index). */
  aOffsets: Int32Array | undefined;
  bOffsets: Int32Array | undefined;
  dims: number[];
}

/**
 * numpy.matmul's rank rules: 1-D operands are promoted to matrices (a row for A, a column for B) and the
 * added axis removed after; batch axes broadcast.
 */
function planMatMul(aShape: readonly number[], bShape: readonly number[], fail: KernelContext['fail']): MatMulPlan {
  const aDims = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const bDims = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  if (aDims.length < 2 || bDims.length < 2) fail('INVALID_ARGUMENT', 'MatMul inputs A and B must have rank >= 1');
  const M = aDims[aDims.length - 2]!;
  const K = aDims[aDims.length - 1]!;
  const N = bDims[bDims.length - 1]!;
  if (bDims[bDims.length - 2] !== K) {
    fail('SHAPE_MISMATCH', `MatMul inner dimensions differ: A [${aShape.join(', ')}] and B [${bShape.join(', ')}]`);
  }
  const aBatch = aDims.slice(0, -2);
  const bBatch = bDims.slice(0, -2);
  const batchDims = broadcastBatch(aBatch, bBatch, fail);
  const dims = [...batchDims];
  if (aShape.length > 1) dims.push(M);
  if (bShape.length > 1) dims.push(N);
  return {
    M, K, N,
    batches: product(batchDims),
    aOffsets: broadcastOffsets(batchDims, aBatch),
    bOffsets: broadcastOffsets(batchDims, bBatch),
    dims,
  };
}

/** MatMul over float buffers (planMatMul's rank rules). The result has A's float type. */
export function matmul(
  a: Floats, aShape: readonly number[],
  b: Floats, bShape: readonly number[],
  fail: KernelContext['fail'],
): { dims: number[]; values: Floats } {
  const { M, K, N, batches, aOffsets, bOffsets, dims } = planMatMul(aShape, bShape, fail);
  const out = floatsLike(a, batches * M * N);
  const transposedB = new Map<number, Floats>();
  for (let batch = 0; batch < batches; batch++) {
    const aBatchIndex = aOffsets ? aOffsets[batch]! : batch;
    const bBatchIndex = bOffsets ? bOffsets[batch]! : batch;
    let bT = transposedB.get(bBatchIndex);
    if (!bT) {
      bT = transposed(b, bBatchIndex * K * N, K, N);
      transposedB.set(bBatchIndex, bT);
    }
    gemmTransposedB(M, N, K, a, aBatchIndex * M * K, K, bT, 0, K, out, batch * M * N, N);
  }
  return { dims, values: out };
}

/**
 * MatMul of int64/uint64 in bigints, one dot product per output: a float64 detour would round products and
 * sums past 2^53. Stores into the result wrap as the type does.
 */
function matmulBigInts(a: Tensor, b: Tensor, fail: KernelContext['fail']): Tensor {
  const { M, K, N, batches, aOffsets, bOffsets, dims } = planMatMul(a.dims, b.dims, fail);
  const x = a.data as BigIntArray;
  const y = bigintsOf(b);
  const out = allocate(a.type, batches * M * N) as BigIntArray;
  for (let batch = 0; batch < batches; batch++) {
    const aBase = (aOffsets ? aOffsets[batch]! : batch) * M * K;
    const bBase = (bOffsets ? bOffsets[batch]! : batch) * K * N;
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

function broadcastBatch(aBatch: number[], bBatch: number[], fail: KernelContext['fail']): number[] {
  const rank = Math.max(aBatch.length, bBatch.length);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = aBatch[aBatch.length - rank + i] ?? 1;
    const y = bBatch[bBatch.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail('SHAPE_MISMATCH', `MatMul batch dimensions [${aBatch.join(', ')}] and [${bBatch.join(', ')}] cannot be broadcast`);
    dims.push(x === 1 ? y : x);
  }
  return dims;
}

// ---------------------------------------------------------------------------------------------------------
// MatMul

/**
 * MatMul's output dims from the operands' dims (numpy rules, as `matmul` computes them), or undefined when
 * a rank is unknown or an operand is a scalar.
 */
export function matMulShape(aShape: readonly Dim[] | undefined, bShape: readonly Dim[] | undefined): Dim[] | undefined {
  if (!aShape?.length || !bShape?.length) return undefined;
  const aDims = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bDims = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const rank = Math.max(aDims.length, bDims.length) - 2;
  const dims: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    dims.push(broadcastDim(aDims[aDims.length - 2 - rank + i] ?? 1, bDims[bDims.length - 2 - rank + i] ?? 1));
  }
  if (aShape.length > 1) dims.push(aDims[aDims.length - 2]);
  if (bShape.length > 1) dims.push(bDims[bDims.length - 1]);
  return dims;
}

function inferMatMul({ inputTypes }: InferContext): (ValueType | undefined)[] {
  const [a, b] = inputTypes;
  if (a?.kind !== 'tensor') return [undefined];
  return [tensorType(a.dtype, matMulShape(shapeOf(a), shapeOf(b)))];
}

function matMulKernel({ tensor, fail }: KernelContext): Tensor[] {
  const a = tensor(0);
  const b = tensor(1);
  if (isBigIntType(a.type)) return [matmulBigInts(a, b, fail)];
  const { dims, values } = matmul(floatsOf(a), a.dims, floatsOf(b), b.dims, fail);
  return [tensorOf(a.type, dims, values)];
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
function gemmKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<GemmAttrs>): Tensor[] {
  const a = tensor(0);
  const b = tensor(1);
  const c = optionalTensor(2);
  if (a.dims.length !== 2 || b.dims.length !== 2) fail('INVALID_ARGUMENT', 'Gemm inputs A and B must be matrices');
  const [M, K] = attrs.transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [bK, N] = attrs.transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (bK !== K) fail('SHAPE_MISMATCH', `Gemm inner dimensions differ: A' has ${K} columns, B' has ${bK} rows`);
  const aRows = attrs.transA ? transposed(floatsOf(a), 0, K, M) : floatsOf(a);
  const bTransposed = attrs.transB ? floatsOf(b) : transposed(floatsOf(b), 0, K, N);
  const out = floatsFor(a.type, M * N);
  gemmTransposedB(M, N, K, aRows, 0, K, bTransposed, 0, K, out, 0, N);
  if (c && !broadcastsTo(c.dims, [M, N])) fail('SHAPE_MISMATCH', `Gemm input C [${c.dims.join(', ')}] does not broadcast to [${M}, ${N}]`);
  const cValues = c ? floatsOf(c) : undefined;
  const cOffsets = c ? broadcastOffsets([M, N], c.dims) : undefined;
  for (let i = 0; i < out.length; i++) {
    const scaled = attrs.alpha * out[i]!;
    out[i] = cValues && attrs.beta !== 0 ? scaled + attrs.beta * at(cValues, cOffsets, i) : scaled;
  }
  return [tensorOf(a.type, [M, N], out)];
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
