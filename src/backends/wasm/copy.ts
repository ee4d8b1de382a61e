import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, rankOf, shapeError, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Concat of float32 tensors: per input, one strided copy of its rows into the output. With the axis's outer
 * dims as rows, input i is rows of dims[axis] x inner elements, placed at its running offset in output rows of
 * the concatenated width (NHWC channel concats are one short row per pixel).
 */

function concatSupports(info: NodeInfo): boolean {
  const rank = rankOf(info, 0);
  return allFloat32(info) && rank !== undefined && rank > 0 && typeof info.attributes.axis === 'number';
}

function prepareConcat(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const axisAttribute = info.attributes.axis as number;
  return {
    run(io) {
      const inputs = info.node.inputs.map((_, index) => floatInput(info, io, index));
      const first = inputs[0]!.dims;
      const rank = first.length;
      if (axisAttribute < -rank || axisAttribute >= rank) shapeError(info, `axis ${axisAttribute} is out of range for rank ${rank}`);
      const axis = axisAttribute < 0 ? axisAttribute + rank : axisAttribute;
      for (const [index, input] of inputs.entries()) {
        const fits = input.dims.length === rank && input.dims.every((dim, d) => d === axis || dim === first[d]);
        if (!fits) shapeError(info, `input #${index} has dims [${input.dims.join(', ')}]; Concat on axis ${axis} needs [${first.map((dim, d) => (d === axis ? '*' : dim)).join(', ')}]`);
      }
      const dims = first.map((dim, d) => (d === axis ? inputs.reduce((sum, input) => sum + input.dims[axis]!, 0) : dim));
      const y = io.output(0, 'float32', dims);
      const staging = new Staging(runtime, inputs, [y]);
      const rows = first.slice(0, axis).reduce((a, b) => a * b, 1);
      const inner = first.slice(axis + 1).reduce((a, b) => a * b, 1);
      const outRowBytes = dims[axis]! * inner * 4;
      let offset = staging.address(y);
      for (const input of inputs) {
        const rowBytes = input.dims[axis]! * inner * 4;
        if (rowBytes > 0 && rows > 0) runtime.kernels.copy_rows(rows, rowBytes, staging.address(input), rowBytes, offset, outRowBytes);
        offset += rowBytes;
      }
      staging.finish();
    },
  };
}

export const copyOps: Record<string, WasmOp> = {
  Concat: { supports: concatSupports, prepare: prepareConcat },
};
