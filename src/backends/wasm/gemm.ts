import type { Tensor } from '../../core/tensor.js';
import { elementCount } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, epilogueOf, floatInput, rankOf, shapeError, Staging, staticDims, type WasmOp } from './common.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * Gemm, MatMul and their fused forms (ai.edgerun FusedGemm / FusedMatMul: the same plus `activation`) on
 * the f32_gemm_minmax kernel. A constant B is packed once at prepare with the bias (Gemm's C
 * times beta) and alpha folded in; a B known only at run is packed per run into scratch.
 */

/** B' [k, n] of `values`, row-major [k, n] or, when transposed, [n, k]. */
export interface Matrix {
  values: Float32Array;
  k: number;
  n: number;
  transposed: boolean;
}

/** Packs a host matrix (scaled by `scale`) and an optional bias of n values into a new wasm block. */
export function packMatrix(runtime: WasmRuntime, matrix: Matrix, bias?: Float32Array, scale = 1): WasmBlock {
  const packed = runtime.alloc(runtime.kernels.f32_gemm_packed_size(matrix.n, matrix.k));
  packMatrixInto(runtime, matrix, packed.pointer, bias, scale);
  return packed;
}

/** packMatrix into memory the caller owns, f32_gemm_packed_size(n, k) bytes at `packed`. */
export function packMatrixInto(runtime: WasmRuntime, matrix: Matrix, packed: number, bias?: Float32Array, scale = 1): void {
  const { k, n } = matrix;
  const scaled = scale === 1 ? matrix.values : matrix.values.map((value) => value * scale);
  // The host values pass through scratch (touched once per session, not once per layer).
  const biasOffset = Math.ceil(scaled.byteLength / 64) * 64;
  const source = runtime.scratch(biasOffset + n * 4);
  runtime.f32(source, scaled.length).set(scaled);
  if (bias) runtime.f32(source + biasOffset, n).set(bias);
  const [rowStride, colStride] = matrix.transposed ? [1, k] : [n, 1];
  runtime.packPanels(n, k, source, rowStride, colStride, bias ? source + biasOffset : 0, packed);
}

function floatsOf(tensor: Tensor): Float32Array {
  return tensor.data as Float32Array;
}

/** Gemm's C as a bias of n values (beta folded in) when it is a constant scalar or row; else undefined. */
function gemmBias(c: Tensor | undefined, n: number, beta: number): Float32Array | undefined | false {
  if (!c) return undefined;
  const size = elementCount(c.dims);
  const isRow = c.dims.length <= 2 && (c.dims.length < 2 || c.dims[0] === 1) && (size === n || size === 1);
  if (!isRow) return false;
  const values = floatsOf(c);
  return Float32Array.from({ length: n }, (_, j) => beta * values[size === 1 ? 0 : j]!);
}

function gemmSupports(info: NodeInfo): boolean {
  if (!allFloat32(info) || epilogueOf(info.attributes) === undefined) return false;
  const [a, b, c] = [rankOf(info, 0), rankOf(info, 1), info.node.inputs[2] ? info.constants[2] : undefined];
  if (a !== 2 || b !== 2) return false;
  const hasC = (info.node.inputs[2] ?? '') !== '';
  if (hasC && !c) return false;
  const bConstant = info.constants[1];
  if (!bConstant && (info.attributes.alpha ?? 1) !== 1) return false;
  if (!c) return true;
  const bDims = bConstant?.dims ?? staticDims(info, 1);
  if (!bDims) return false;
  const n = info.attributes.transB ? bDims[0]! : bDims[1]!;
  return gemmBias(c, n, 1) !== false;
}

function prepareGemm(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const { attributes } = info;
  runtime.warmUp('f32_gemm_minmax');
  if (attributes.transA) runtime.warmUp('f32_transpose');
  const alpha = (attributes.alpha as number | undefined) ?? 1;
  const beta = (attributes.beta as number | undefined) ?? 1;
  const transA = Boolean(attributes.transA);
  const transB = Boolean(attributes.transB);
  const epilogue = epilogueOf(attributes)!;
  const bConstant = info.constants[1];
  const packedOf = (b: Tensor) => {
    const [k, n] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
    const bias = gemmBias(info.constants[2], n, beta) || undefined;
    return { k, n, block: packMatrix(runtime, { values: floatsOf(b), k, n, transposed: transB }, bias, alpha) };
  };
  const constant = bConstant ? packedOf(bConstant) : undefined;
  return {
    run(io) {
      const a = floatInput(info, io, 0);
      const [m, k] = transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
      const b = bConstant ? undefined : floatInput(info, io, 1);
      const packed = constant ?? packedOf(b!);
      if (packed.k !== k) shapeError(info, `Gemm inner dimensions differ: A' has ${k} columns, B' has ${packed.k} rows`);
      const y = io.output(0, 'float32', [m, packed.n]);
      const staging = new Staging(runtime, [a], [y], transA ? [m * k * 4] : []);
      let aAddress = staging.address(a);
      if (transA) {
        runtime.kernels.f32_transpose(aAddress, k, m, staging.work(0));
        aAddress = staging.work(0);
      }
      runtime.gemm(m, packed.n, k, aAddress, k, packed.block.pointer, staging.address(y), packed.n, epilogue.low, epilogue.high);
      staging.finish(epilogue.activation);
      if (!constant) packed.block.release();
    },
    dispose: () => constant?.block.release(),
  };
}

/**
 * FusedMatMul's Bias, packed with a constant B: a constant of N values or one, whose leading dims are 1 and
 * do not outnumber the product's (so it cannot grow the output); any other bias is the reference's.
 */
function matMulBias(info: NodeInfo): Float32Array | undefined | false {
  if ((info.node.inputs[2] ?? '') === '') return undefined;
  const [b, bias] = [info.constants[1], info.constants[2]];
  const outputRank = Math.max(rankOf(info, 0) ?? 0, rankOf(info, 1) ?? 0);
  if (!b || !bias || bias.dims.length > outputRank || bias.dims.slice(0, -1).some((dim) => dim !== 1)) return false;
  const n = b.dims[b.dims.length - 1]!;
  const size = elementCount(bias.dims);
  if (size !== n && size !== 1) return false;
  const values = floatsOf(bias);
  return Float32Array.from({ length: n }, (_, j) => values[size === 1 ? 0 : j]!);
}

function matMulSupports(info: NodeInfo): boolean {
  if (!allFloat32(info) || epilogueOf(info.attributes) === undefined || matMulBias(info) === false) return false;
  const [a, b] = [rankOf(info, 0), rankOf(info, 1)];
  if (a === undefined || b === undefined || b < 2) return false;
  const constant = info.constants[1];
  // A constant B of rank > 2 must be one matrix (leading dims 1); a B known at run needs A of rank >= 2.
  return constant ? constant.dims.slice(0, -2).every((dim) => dim === 1) : a >= 2;
}

/** Index of the batch block `index` of `outBatch` in a tensor of batch dims `dims` (broadcast, right-aligned). */
function batchOffset(index: number, outBatch: readonly number[], dims: readonly number[]): number {
  let offset = 0;
  let stride = 1;
  let rest = index;
  for (let axis = outBatch.length - 1; axis >= 0; axis--) {
    const coordinate = rest % outBatch[axis]!;
    rest = Math.floor(rest / outBatch[axis]!);
    const inAxis = axis - (outBatch.length - dims.length);
    if (inAxis < 0) continue;
    const dim = dims[inAxis]!;
    if (dim !== 1) offset += coordinate * stride;
    stride *= dim;
  }
  return offset;
}

function broadcastBatch(info: NodeInfo, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[i - (rank - a.length)] ?? 1;
    const y = b[i - (rank - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) shapeError(info, `MatMul batch dims [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

function prepareMatMul(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_gemm_minmax');
  const epilogue = epilogueOf(info.attributes)!;
  const bConstant = info.constants[1];
  const [k, n] = bConstant ? bConstant.dims.slice(-2) : [0, 0];
  const constant = bConstant ? packMatrix(runtime, { values: floatsOf(bConstant), k: k!, n: n!, transposed: false }, matMulBias(info) || undefined) : undefined;
  const aDims = staticDims(info, 0);
  if (constant && aDims) {
    runtime.reserveScratch(Staging.bytesFor([elementCount(aDims) * 4, (elementCount(aDims) / k!) * n! * 4]));
  }
  return {
    run(io) {
      const a = floatInput(info, io, 0);
      if (constant) {
        const innerK = a.dims[a.dims.length - 1]!;
        if (innerK !== k) shapeError(info, `MatMul inner dimensions differ: A [${a.dims.join(', ')}], B has ${k} rows`);
        const m = elementCount(a.dims) / k!;
        // B's leading dims are all 1 (supports() checked): they broadcast against A's batch dims, numpy-style.
        const batch = broadcastBatch(info, a.dims.slice(0, -2), bConstant!.dims.slice(0, -2));
        const y = io.output(0, 'float32', [...batch, ...(a.dims.length === 1 ? [] : [a.dims[a.dims.length - 2]!]), n!]);
        const staging = new Staging(runtime, [a], [y]);
        runtime.gemm(m, n!, k!, staging.address(a), k!, constant.pointer, staging.address(y), n!, epilogue.low, epilogue.high);
        staging.finish(epilogue.activation);
        return;
      }
      const b = floatInput(info, io, 1);
      const [m, innerK] = a.dims.slice(-2) as [number, number];
      const [bk, bn] = b.dims.slice(-2) as [number, number];
      if (innerK !== bk) shapeError(info, `MatMul inner dimensions differ: A [${a.dims.join(', ')}], B [${b.dims.join(', ')}]`);
      const aBatch = a.dims.slice(0, -2);
      const bBatch = b.dims.slice(0, -2);
      const outBatch = broadcastBatch(info, aBatch, bBatch);
      const y = io.output(0, 'float32', [...outBatch, m, bn]);
      const packedBytes = runtime.kernels.f32_gemm_packed_size(bn, bk);
      const staging = new Staging(runtime, [a, b], [y], [packedBytes]);
      const [aAddress, bAddress, yAddress, packed] = [staging.address(a), staging.address(b), staging.address(y), staging.work(0)];
      const batches = elementCount(outBatch);
      let packedBatch = -1;
      for (let batch = 0; batch < batches; batch++) {
        const bIndex = batchOffset(batch, outBatch, bBatch);
        if (bIndex !== packedBatch) {
          runtime.packPanels(bn, bk, bAddress + bIndex * bk * bn * 4, bn, 1, 0, packed);
          packedBatch = bIndex;
        }
        const aAt = aAddress + batchOffset(batch, outBatch, aBatch) * m * innerK * 4;
        runtime.gemm(m, bn, bk, aAt, innerK, packed, yAddress + batch * m * bn * 4, bn, epilogue.low, epilogue.high);
      }
      staging.finish(epilogue.activation);
    },
    dispose: () => constant?.release(),
  };
}

export const gemmOps: Record<string, WasmOp> = {
  Gemm: { supports: gemmSupports, prepare: prepareGemm },
  'ai.edgerun:FusedGemm': { supports: gemmSupports, prepare: prepareGemm },
  MatMul: { supports: matMulSupports, prepare: prepareMatMul },
  'ai.edgerun:FusedMatMul': { supports: matMulSupports, prepare: prepareMatMul },
};
