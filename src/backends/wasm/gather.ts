import { EdgerunError } from '../../core/errors.js';
import { describeNode } from '../../core/graph.js';
import { Tensor } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { floatInput, rankOf, shapeError, type WasmOp } from './common.js';

/**
 * Gather along any axis of float32 data with int32 / int64 indices: per slice before the axis, one block copy
 * per index (an embedding lookup on axis 0; a time step picked from a sequence on axis 1). The blocks are
 * copied from wherever data lives (a constant table stays in host memory and is never staged whole)
 * straight into the output.
 */

function gatherSupports(info: NodeInfo): boolean {
  const [data, indices] = info.inputTypes;
  const output = info.outputTypes[0];
  const axis = info.attributes.axis as number;
  const rank = rankOf(info, 0);
  return (
    data?.kind === 'tensor' && data.dtype === 'float32' && output?.kind === 'tensor' && output.dtype === 'float32' &&
    indices?.kind === 'tensor' && (indices.dtype === 'int64' || indices.dtype === 'int32') &&
    rank !== undefined && rank >= 1 && axis >= -rank && axis < rank
  );
}

function prepareGather(info: NodeInfo): Kernel {
  return {
    run(io) {
      const data = floatInput(info, io, 0);
      const indices = io.inputs[1];
      if (!(indices instanceof Tensor) || (indices.type !== 'int64' && indices.type !== 'int32')) {
        throw new EdgerunError('INVALID_ARGUMENT', `input #1 ('${info.node.inputs[1] ?? ''}') must be an int32 or int64 tensor`, [describeNode(info.node)]);
      }
      if (data.dims.length === 0) shapeError(info, 'data must have at least one axis');
      const rank = data.dims.length;
      const attribute = info.attributes.axis as number;
      const axis = attribute < 0 ? attribute + rank : attribute;
      const rows = data.dims[axis]!;
      const y = io.output(0, 'float32', [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)]);
      const block = data.dims.slice(axis + 1).reduce((product, size) => product * size, 1);
      const slices = data.dims.slice(0, axis).reduce((product, size) => product * size, 1);
      const [source, target] = [data.data as Float32Array, y.data as Float32Array];
      const picks = indices.data as BigInt64Array | Int32Array;
      for (let i = 0; i < picks.length; i++) {
        const index = Number(picks[i]!);
        const row = index < 0 ? index + rows : index;
        if (!(row >= 0 && row < rows)) {
          // The reference kernel's error, word for word.
          throw new EdgerunError('INVALID_ARGUMENT', `Gather indices: index ${index} is out of range for a dimension of size ${rows}`);
        }
        for (let slice = 0; slice < slices; slice++) {
          const from = (slice * rows + row) * block;
          target.set(source.subarray(from, from + block), (slice * picks.length + i) * block);
        }
      }
    },
  };
}

export const gatherOps: Record<string, WasmOp> = {
  Gather: { supports: gatherSupports, prepare: (_runtime, info) => prepareGather(info) },
};
