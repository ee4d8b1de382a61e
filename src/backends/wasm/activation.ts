import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, Staging, UNARY_OPS, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Tanh, Erf and the erf Gelu (ONNX-20 with approximate 'none', and ai.edgerun's for older opsets) on the
 * vector code of assembly/activation.ts (a few float32 ulps from the exact functions), Sqrt (correctly
 * rounded), and Pow by a constant 2 as x * x (exact as the reference's pow).
 * A lone Sigmoid stays on the reference kernel, which reproduces onnxruntime's float32 rational
 * approximation bit for bit (quantizers downstream depend on it).
 */

const OP_MUL = 2;

/** A kernel writing y = f(x) element by element (in place allowed); `compute` gets the wasm addresses. */
function mapKernel(runtime: WasmRuntime, info: NodeInfo, compute: (x: number, count: number, y: number) => void): Kernel {
  return {
    inPlace: new Map([[0, 0]]),
    run(io) {
      const x = floatInput(info, io, 0);
      const y = io.output(0, 'float32', x.dims);
      const staging = new Staging(runtime, [x], [y]);
      compute(staging.address(x), x.data.length, staging.address(y));
      staging.finish();
    },
  };
}

function prepareUnary(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_unary');
  const op = UNARY_OPS[info.node.opType]!;
  return mapKernel(runtime, info, (x, count, y) => runtime.kernels.f32_unary(op, x, count, y));
}

/** Pow whose exponent is the constant 2 (LayerNormalization's variance written out as ops). */
function squareSupports(info: NodeInfo): boolean {
  const exponent = info.constants[1];
  return allFloat32(info) && exponent !== undefined && exponent.data.length === 1 && Number(exponent.data[0]) === 2;
}

function prepareSquare(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_binary_minmax');
  return mapKernel(runtime, info, (x, count, y) => runtime.kernels.f32_binary_minmax(OP_MUL, 1, count, x, 0, 1, x, 0, 1, y, -Infinity, Infinity));
}

/** Gelu's erf form; the tanh approximation stays on the reference kernel. */
function geluSupports(info: NodeInfo): boolean {
  return allFloat32(info) && (info.attributes.approximate ?? 'none') === 'none';
}

const gelu: WasmOp = { supports: geluSupports, prepare: prepareUnary };

export const activationOps: Record<string, WasmOp> = {
  ...Object.fromEntries(['Tanh', 'Erf', 'Sqrt'].map((name) => [name, { supports: allFloat32, prepare: prepareUnary }])),
  Pow: { supports: squareSupports, prepare: prepareSquare },
  Gelu: gelu,
  'ai.edgerun:Gelu': gelu,
};
