import { elementCount } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { floatInput, shapeError, type WasmOp } from './common.js';

/**
 * Reshape, Flatten, Squeeze and Unsqueeze of float32 tensors whose output shape inference fixed at create:
 * the data does not change, only the dims. The planner gives such an output the input's buffer (a view),
 * so a run only checks the element count; where the output has memory of its own, the data is copied.
 * Work done on every run is what makes these cost anything, so nothing is read from the shape input.
 */

function outputDims(info: NodeInfo): number[] | undefined {
  const type = info.outputTypes[0];
  const shape = type?.kind === 'tensor' && type.dtype === 'float32' ? type.shape : undefined;
  return shape?.every((dim): dim is number => typeof dim === 'number') ? shape : undefined;
}

function viewSupports(info: NodeInfo): boolean {
  const input = info.inputTypes[0];
  return input?.kind === 'tensor' && input.dtype === 'float32' && outputDims(info) !== undefined && info.node.outputs.length === 1;
}

function prepareView(info: NodeInfo): Kernel {
  const dims = outputDims(info)!;
  const count = elementCount(dims);
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.data.length !== count) shapeError(info, `input [${x.dims.join(', ')}] does not have the ${count} elements of the output [${dims.join(', ')}] planned at create`);
      const y = io.output(0, 'float32', dims);
      const [source, target] = [x.data as Float32Array, y.data as Float32Array];
      if (source.buffer !== target.buffer || source.byteOffset !== target.byteOffset) target.set(source);
    },
  };
}

const view: WasmOp = { supports: viewSupports, prepare: (_runtime, info) => prepareView(info) };

export const reshapeOps: Record<string, WasmOp> = { Reshape: view, Flatten: view, Squeeze: view, Unsqueeze: view };
