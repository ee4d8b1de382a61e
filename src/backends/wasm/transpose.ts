import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, rankOf, shapeError, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Transpose whose perm keeps a run of leading axes and swaps the two blocks after it,
 * perm = [0 .. lead-1, split .. rank-1, lead .. split-1]: per leading index, a 2-D transpose of
 * [rows = product of dims lead..split-1, cols = product of dims split..rank-1]. The layout moves
 * NCHW -> NHWC ([0, 2, 3, 1]) and back ([0, 3, 1, 2]) are of this kind; other perms stay on the reference backend.
 */

interface BlockSwap {
  /** Axes kept in place at the front. */
  lead: number;
  /** First axis of the block moved to the front of the rest. */
  split: number;
}

/** The block swap `perm` expresses, or undefined; the identity is one copy (a swap with an empty block). */
export function blockSwapOf(perm: readonly number[]): BlockSwap | undefined {
  const rank = perm.length;
  let lead = 0;
  while (lead < rank && perm[lead] === lead) lead++;
  if (lead === rank) return { lead: 0, split: 0 };
  const split = perm[lead]!;
  const expected = [...Array.from({ length: rank - split }, (_, i) => split + i), ...Array.from({ length: split - lead }, (_, i) => lead + i)];
  return expected.every((axis, i) => perm[lead + i] === axis) ? { lead, split } : undefined;
}

function permOf(info: NodeInfo): readonly number[] | undefined {
  const perm = info.attributes.perm as number[] | undefined;
  if (perm) return perm;
  const rank = rankOf(info, 0);
  return rank === undefined ? undefined : Array.from({ length: rank }, (_, axis) => rank - 1 - axis);
}

function transposeSupports(info: NodeInfo): boolean {
  const perm = permOf(info);
  if (!allFloat32(info) || !perm) return false;
  const rank = rankOf(info, 0);
  return (rank === undefined || rank === perm.length) && perm.every((axis) => axis >= 0) && blockSwapOf(perm) !== undefined;
}

function prepareTranspose(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const perm = permOf(info)!;
  const { lead, split } = blockSwapOf(perm)!;
  const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.dims.length !== perm.length) shapeError(info, `input has rank ${x.dims.length}, perm [${perm.join(', ')}] needs ${perm.length}`);
      const y = io.output(0, 'float32', perm.map((axis) => x.dims[axis]!));
      const staging = new Staging(runtime, [x], [y]);
      const [rows, cols] = [product(x.dims.slice(lead, split)), product(x.dims.slice(split))];
      const matrixBytes = rows * cols * 4;
      const [xAddress, yAddress] = [staging.address(x), staging.address(y)];
      for (let outer = 0, count = product(x.dims.slice(0, lead)); outer < count; outer++) {
        runtime.kernels.f32_transpose(xAddress + outer * matrixBytes, rows, cols, yAddress + outer * matrixBytes);
      }
      staging.finish();
    },
  };
}

export const transposeOps: Record<string, WasmOp> = {
  Transpose: { supports: transposeSupports, prepare: prepareTranspose },
};
