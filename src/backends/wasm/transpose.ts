import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, rankOf, shapeError, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Transpose of any rank. The input's dims and the perm are first reduced to their essence: unit axes
 * dropped, and input axes that stay adjacent and in order in the output merged into one. A perm that then
 * keeps a run of leading axes and swaps the two blocks after it,
 * perm = [0 .. lead-1, split .. rank-1, lead .. split-1], is per leading index a 2-D transpose of
 * [rows = product of dims lead..split-1, cols = product of dims split..rank-1] (f32_transpose, cache-blocked;
 * the layout moves NCHW <-> NHWC are of this kind); any other perm walks the output with f32_permute,
 * copying whole runs where the innermost axis stays innermost (attention's [0, 2, 1, 3]).
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

/** A transpose reduced to its essence: fewer, larger axes moved the same way. */
export interface ReducedTranspose {
  dims: number[];
  perm: number[];
}

/** Drops unit axes and merges input axes that follow each other in the output (see the file's comment). */
export function reduceTranspose(dims: readonly number[], perm: readonly number[]): ReducedTranspose {
  const kept = perm.filter((axis) => dims[axis] !== 1);
  // Runs of output axes whose input axes are consecutive become one axis.
  const runs: number[][] = [];
  for (const axis of kept) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1]! + 1 === axis) run.push(axis);
    else runs.push([axis]);
  }
  const byInputOrder = [...runs].sort((a, b) => a[0]! - b[0]!);
  return {
    dims: byInputOrder.map((run) => run.reduce((size, axis) => size * dims[axis]!, 1)),
    perm: runs.map((run) => byInputOrder.indexOf(run)),
  };
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
  return (rank === undefined || rank === perm.length) && new Set(perm).size === perm.length && perm.every((axis) => axis >= 0 && axis < perm.length);
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** One run's plan for input dims: the reduced transpose, and its block swap when it is one. */
interface TransposePlan {
  dims: readonly number[];
  reduced: ReducedTranspose;
  swap: BlockSwap | undefined;
}

function prepareTranspose(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const perm = permOf(info)!;
  runtime.warmUp('f32_transpose');
  let plan: TransposePlan | undefined;
  const planFor = (dims: readonly number[]): TransposePlan => {
    if (plan && plan.dims.length === dims.length && plan.dims.every((dim, i) => dim === dims[i])) return plan;
    const reduced = reduceTranspose(dims, perm);
    plan = { dims: [...dims], reduced, swap: blockSwapOf(reduced.perm) };
    return plan;
  };
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.dims.length !== perm.length) shapeError(info, `input has rank ${x.dims.length}, perm [${perm.join(', ')}] needs ${perm.length}`);
      const y = io.output(0, 'float32', perm.map((axis) => x.dims[axis]!));
      if (x.data.length === 0) return;
      const { reduced, swap } = planFor(x.dims);
      const rank = reduced.dims.length;
      // The permute kernel's table: (size, input stride) per output axis, then its odometer.
      const staging = new Staging(runtime, [x], [y], swap ? [] : [rank * 12]);
      const [xAddress, yAddress] = [staging.address(x), staging.address(y)];
      if (swap) {
        const { lead, split } = swap;
        const [rows, cols] = [product(reduced.dims.slice(lead, split)), product(reduced.dims.slice(split))];
        const matrixBytes = rows * cols * 4;
        for (let outer = 0, count = product(reduced.dims.slice(0, lead)); outer < count; outer++) {
          runtime.kernels.f32_transpose(xAddress + outer * matrixBytes, rows, cols, yAddress + outer * matrixBytes);
        }
      } else {
        const table = new Int32Array(runtime.buffer, staging.work(0), rank * 2);
        const strides = reduced.dims.map((_, axis) => product(reduced.dims.slice(axis + 1)));
        reduced.perm.forEach((axis, i) => {
          table[2 * i] = reduced.dims[axis]!;
          table[2 * i + 1] = strides[axis]!;
        });
        runtime.kernels.f32_permute(xAddress, rank, staging.work(0), yAddress);
      }
      staging.finish();
    },
  };
}

export const transposeOps: Record<string, WasmOp> = {
  Transpose: { supports: transposeSupports, prepare: prepareTranspose },
};
