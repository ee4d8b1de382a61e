import { elementCount } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, rankOf, shapeError, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * ReduceMean over trailing axes (LayerNormalization written out as ops: mean over the last axis) on the
 * f32_row_means kernel: the input is [rows, cols] with cols the product of the reduced axes.
 */

/** The reduced axes (attribute before opset 18, constant input since), normalized; undefined when unknown. */
function reducedAxes(info: NodeInfo, rank: number): number[] | undefined {
  const fromInput = info.opset >= 18;
  if (fromInput && (info.node.inputs[1] ?? '') !== '' && !info.constants[1]) return undefined;
  const axes = fromInput ? Array.from((info.constants[1]?.data ?? []) as ArrayLike<number | bigint>, Number) : (info.attributes.axes as number[] | undefined) ?? [];
  if (axes.length === 0) return info.attributes.noop_with_empty_axes ? undefined : Array.from({ length: rank }, (_, i) => i);
  return axes.map((axis) => (axis < 0 ? axis + rank : axis)).sort((a, b) => a - b);
}

/** How many trailing axes the node reduces, or undefined when its axes are not a trailing block. */
function trailingAxes(info: NodeInfo): number | undefined {
  const rank = rankOf(info, 0);
  if (rank === undefined || rank === 0) return undefined;
  const axes = reducedAxes(info, rank);
  if (!axes || new Set(axes).size !== axes.length) return undefined;
  return axes.every((axis, i) => axis === rank - axes.length + i) ? axes.length : undefined;
}

function reduceMeanSupports(info: NodeInfo): boolean {
  return info.node.inputs.length > 0 && rankOf(info, 0) !== undefined && trailingAxes(info) !== undefined &&
    allFloat32({ ...info, node: { ...info.node, inputs: info.node.inputs.slice(0, 1) } });
}

function prepareReduceMean(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const reduced = trailingAxes(info)!;
  const keepDims = (info.attributes.keepdims as number | undefined) ?? 1;
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.dims.length < reduced) shapeError(info, `input [${x.dims.join(', ')}] has fewer axes than the ${reduced} reduced`);
      const kept = x.dims.slice(0, x.dims.length - reduced);
      const cols = elementCount(x.dims.slice(kept.length));
      const y = io.output(0, 'float32', keepDims ? [...kept, ...new Array<number>(reduced).fill(1)] : kept);
      const staging = new Staging(runtime, [x], [y]);
      runtime.kernels.f32_row_means(staging.address(x), elementCount(kept), cols, staging.address(y));
      staging.finish();
    },
  };
}

export const reduceOps: Record<string, WasmOp> = {
  ReduceMean: { supports: reduceMeanSupports, prepare: prepareReduceMean },
};
