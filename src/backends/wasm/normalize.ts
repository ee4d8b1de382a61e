import { elementCount, type Tensor } from '../../core/tensor.js';
import type { Kernel, KernelIO, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, residentConstants, shapeError, Staging, staticDims, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Softmax (ONNX-13: along one axis; before 13: the input coerced to 2-D at the axis) and
 * LayerNormalization (ONNX-17 and ai.edgerun's for older opsets) on assembly/normalize.ts.
 */

function normalizedAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function softmaxSupports(info: NodeInfo): boolean {
  return allFloat32(info);
}

function prepareSoftmax(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_softmax');
  const coerced = info.opset < 13;
  return {
    inPlace: new Map([[0, 0]]),
    run(io) {
      const x = floatInput(info, io, 0);
      const rank = x.dims.length;
      const axis = normalizedAxis(info.attributes.axis as number, rank);
      if (rank === 0 || axis < 0 || axis >= rank) shapeError(info, `axis ${String(info.attributes.axis)} is out of range for input [${x.dims.join(', ')}]`);
      const outer = elementCount(x.dims.slice(0, axis));
      const n = coerced ? elementCount(x.dims.slice(axis)) : x.dims[axis]!;
      const inner = coerced ? 1 : elementCount(x.dims.slice(axis + 1));
      const y = io.output(0, 'float32', x.dims);
      const staging = new Staging(runtime, [x], [y]);
      if (x.data.length > 0) runtime.kernels.f32_softmax(staging.address(x), outer, n, inner, staging.address(y));
      staging.finish();
    },
  };
}

/** Float32 Y alone (Mean and InvStdDev not asked for), stash_type 1, scale and bias of the normalized size. */
function layerNormSupports(info: NodeInfo): boolean {
  const { node, attributes } = info;
  const onlyY = node.outputs.slice(1).every((name) => name === '');
  const dims = staticDims(info, 0);
  if (!onlyY || !dims || attributes.stash_type !== 1 || !allFloat32(info)) return false;
  const axis = normalizedAxis(attributes.axis as number, dims.length);
  if (axis < 0 || axis >= dims.length) return false;
  const size = elementCount(dims.slice(axis));
  const parameterFits = (index: number) => {
    if ((node.inputs[index] ?? '') === '') return index === 2;
    const parameter = staticDims(info, index);
    return parameter !== undefined && elementCount(parameter) === size && parameter.length <= dims.length - axis;
  };
  return parameterFits(1) && parameterFits(2);
}

function prepareLayerNorm(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_layer_norm');
  const epsilon = info.attributes.epsilon as number;
  const hasBias = (info.node.inputs[2] ?? '') !== '';
  // Constant scale and bias go into wasm memory once, not at every run.
  const resident = residentConstants(runtime, info);
  const parameterAddress = (staging: Staging, index: number, tensor: Tensor | undefined) => resident[index]?.pointer ?? (tensor ? staging.address(tensor) : 0);
  return {
    inPlace: new Map([[0, 0]]),
    run(io: KernelIO) {
      const x = floatInput(info, io, 0);
      const axis = normalizedAxis(info.attributes.axis as number, x.dims.length);
      const cols = elementCount(x.dims.slice(axis));
      const scale = resident[1] ? undefined : floatInput(info, io, 1);
      const bias = resident[2] || !hasBias ? undefined : floatInput(info, io, 2);
      for (const parameter of [scale, bias]) {
        if (parameter && parameter.data.length !== cols) shapeError(info, `Scale and B must hold the ${cols} normalized elements, got [${parameter.dims.join(', ')}]`);
      }
      const y = io.output(0, 'float32', x.dims);
      const staged = [x, ...[scale, bias].filter((tensor): tensor is Tensor => tensor !== undefined)];
      const staging = new Staging(runtime, staged, [y]);
      const rows = cols === 0 ? 0 : x.data.length / cols;
      runtime.kernels.f32_layer_norm(staging.address(x), rows, cols, parameterAddress(staging, 1, scale), hasBias ? parameterAddress(staging, 2, bias) : 0, epsilon, staging.address(y));
      staging.finish();
    },
    dispose() {
      for (const block of resident) block?.release();
    },
  };
}

const layerNorm: WasmOp = { supports: layerNormSupports, prepare: prepareLayerNorm };

export const normalizeOps: Record<string, WasmOp> = {
  Softmax: { supports: softmaxSupports, prepare: prepareSoftmax },
  LayerNormalization: layerNorm,
  'ai.edgerun:LayerNormalization': layerNorm,
};
