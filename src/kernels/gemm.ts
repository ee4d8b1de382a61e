import { applyActivation, NO_ACTIVATION, type Activation } from './activation.js';
import type { Floats } from './floats.js';

/**
 * The matrix product every float op builds on (Conv, ConvTranspose, DeformConv, MatMul, Gemm, the integer
 * convolutions and products of the quantized ops, and the fused ops of the ai.edgerun domain).
 *
 * Operands are strided views, so a transposed operand (Gemm's transA / transB, ConvTranspose's weights) is
 * read in place instead of copied. Accumulation is in doubles: JavaScript arithmetic is double precision
 * whatever the storage, so a float32 accumulator would only add a rounding per step (Math.fround) and cost
 * time; results are rounded once, when stored into a Float32Array.
 */

/** Element (row r, column k) of a matrix is data[offset + r·rowStride + k·colStride]; a stride of 0 broadcasts. */
export interface Matrix {
  readonly data: Floats;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** A row-major matrix with `columns` columns starting at `offset` (its transpose with `transposed`). */
export function rowMajor(data: Floats, offset: number, columns: number, transposed = false): Matrix {
  return transposed ? { data, offset, rowStride: 1, colStride: columns } : { data, offset, rowStride: columns, colStride: 1 };
}

/** Data of `dims` (rank <= 2, broadcasting to [M, N]) as an [M, N] view: size-1 and missing axes get stride 0. */
export function broadcastMatrix(data: Floats, dims: readonly number[], M: number, N: number): Matrix {
  const [rows, columns] = dims.length === 2 ? dims : dims.length === 1 ? [1, dims[0]!] : [1, 1];
  return { data, offset: 0, rowStride: rows === 1 || M === 1 ? 0 : columns!, colStride: columns === 1 || N === 1 ? 0 : 1 };
}

/** What happens to each product value before it is final: Y = activation(alpha·AB + beta·bias). */
export interface GemmEpilogue {
  readonly alpha?: number;
  /** An [M, N] matrix added after scaling (strides of 0 broadcast a row, a column or a scalar). */
  readonly bias?: Matrix;
  readonly beta?: number;
  readonly activation?: Activation;
}

/** Output columns per panel: a K × panel strip of B stays in cache while every row block of A passes over it. */
const PANEL_ELEMENTS = 1 << 15;

/** The bias of a product without one: a broadcast 0. */
const NO_BIAS: Matrix = { data: new Float32Array(1), offset: 0, rowStride: 0, colStride: 0 };

/**
 * c[cOffset + m·ldc + n] = epilogue(Σk A[m, k] · B[k, n]) for m < M, n < N. Outputs are computed in 4×4
 * blocks, each loaded value serving four products; rows and columns left over take one dot product each.
 * Scale and bias are applied as each value is stored; the activation runs over each block of 4 rows × one
 * panel of columns right after it is computed, while in cache.
 */
export function gemm(M: number, N: number, K: number, a: Matrix, b: Matrix, c: Floats, cOffset: number, ldc: number, epilogue: GemmEpilogue = {}): void {
  const { alpha = 1, beta = 1, activation = NO_ACTIVATION } = epilogue;
  const bias = epilogue.bias && beta !== 0 ? epilogue.bias : NO_BIAS;
  const panel = Math.max(4, Math.min(N, (PANEL_ELEMENTS / Math.max(K, 1)) & ~3));
  for (let n0 = 0; n0 < N; n0 += panel) {
    const n1 = Math.min(N, n0 + panel);
    for (let m = 0; m < M; m += 4) {
      const rows = Math.min(4, M - m);
      let n = n0;
      if (rows === 4) for (; n + 4 <= n1; n += 4) block4x4(K, a, m, b, n, c, cOffset + m * ldc + n, ldc, alpha, bias, beta);
      for (let r = m; r < m + rows; r++) {
        for (let col = n; col < n1; col++) {
          c[cOffset + r * ldc + col] = alpha * dot(K, a, r, b, col) + beta * bias.data[bias.offset + r * bias.rowStride + col * bias.colStride]!;
        }
      }
      if (activation.kind !== 'none') for (let r = m; r < m + rows; r++) applyActivation(c, cOffset + r * ldc + n0, cOffset + r * ldc + n1, activation);
    }
  }
}

function dot(K: number, a: Matrix, row: number, b: Matrix, column: number): number {
  const x = a.data;
  const y = b.data;
  const aStep = a.colStride;
  const bStep = b.rowStride;
  let sum = 0;
  for (let k = 0, ia = a.offset + row * a.rowStride, ib = b.offset + column * b.colStride; k < K; k++, ia += aStep, ib += bStep) sum += x[ia]! * y[ib]!;
  return sum;
}

/** One 4×4 block: rows m.. of A, columns n.. of B, stored scaled and biased at c0 (row stride ldc). */
function block4x4(K: number, a: Matrix, m: number, b: Matrix, n: number, c: Floats, c0: number, ldc: number, alpha: number, bias: Matrix, beta: number): void {
  const x = a.data;
  const y = b.data;
  const aRow = a.rowStride, aStep = a.colStride;
  const bCol = b.colStride, bStep = b.rowStride;
  const aRow2 = 2 * aRow, aRow3 = 3 * aRow;
  const bCol2 = 2 * bCol, bCol3 = 3 * bCol;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  for (let k = 0, ia = a.offset + m * aRow, ib = b.offset + n * bCol; k < K; k++, ia += aStep, ib += bStep) {
    const y0 = y[ib]!, y1 = y[ib + bCol]!, y2 = y[ib + bCol2]!, y3 = y[ib + bCol3]!;
    let v = x[ia]!;
    s00 += v * y0; s01 += v * y1; s02 += v * y2; s03 += v * y3;
    v = x[ia + aRow]!;
    s10 += v * y0; s11 += v * y1; s12 += v * y2; s13 += v * y3;
    v = x[ia + aRow2]!;
    s20 += v * y0; s21 += v * y1; s22 += v * y2; s23 += v * y3;
    v = x[ia + aRow3]!;
    s30 += v * y0; s31 += v * y1; s32 += v * y2; s33 += v * y3;
  }
  const z = bias.data;
  const zRow = bias.rowStride, zCol = bias.colStride;
  const zCol2 = 2 * zCol, zCol3 = 3 * zCol;
  let iz = bias.offset + m * zRow + n * zCol;
  c[c0] = alpha * s00 + beta * z[iz]!; c[c0 + 1] = alpha * s01 + beta * z[iz + zCol]!;
  c[c0 + 2] = alpha * s02 + beta * z[iz + zCol2]!; c[c0 + 3] = alpha * s03 + beta * z[iz + zCol3]!;
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  iz += zRow;
  c[c1] = alpha * s10 + beta * z[iz]!; c[c1 + 1] = alpha * s11 + beta * z[iz + zCol]!;
  c[c1 + 2] = alpha * s12 + beta * z[iz + zCol2]!; c[c1 + 3] = alpha * s13 + beta * z[iz + zCol3]!;
  iz += zRow;
  c[c2] = alpha * s20 + beta * z[iz]!; c[c2 + 1] = alpha * s21 + beta * z[iz + zCol]!;
  c[c2 + 2] = alpha * s22 + beta * z[iz + zCol2]!; c[c2 + 3] = alpha * s23 + beta * z[iz + zCol3]!;
  iz += zRow;
  c[c3] = alpha * s30 + beta * z[iz]!; c[c3 + 1] = alpha * s31 + beta * z[iz + zCol]!;
  c[c3 + 2] = alpha * s32 + beta * z[iz + zCol2]!; c[c3 + 3] = alpha * s33 + beta * z[iz + zCol3]!;
}
