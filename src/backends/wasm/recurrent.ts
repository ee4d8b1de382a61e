import type { Tensor } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, shapeError, Staging, type WasmOp } from './common.js';
import { packMatrix } from './gemm.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * LSTM: the input projection of every time step is one GEMM (W packed at prepare with both biases), each
 * step's recurrence h R^T another, and the gate arithmetic the f32_lstm_cell kernel of assembly/activation.ts.
 */

const present = (info: NodeInfo, index: number) => (info.node.inputs[index] ?? '') !== '';

/**
 * The LSTMs the wasm cell computes: float32, constant W, R (and B), sequence-major layout, the default
 * activations, no sequence_lens, peepholes, clip or coupled input-forget gate.
 */
function lstmSupports(info: NodeInfo): boolean {
  const { attributes } = info;
  const defaults = ['Sigmoid', 'Tanh', 'Tanh'];
  const activations = attributes.activations as string[] | undefined;
  const defaultActivations = !activations || activations.every((name, i) => name === defaults[i % 3]);
  return (
    info.opset >= 7 && allFloat32(info) && info.constants[1] !== undefined && info.constants[2] !== undefined &&
    (!present(info, 3) || info.constants[3] !== undefined) && !present(info, 4) && !present(info, 7) &&
    defaultActivations && attributes.clip === undefined && !attributes.input_forget && !attributes.layout &&
    ['forward', 'reverse', 'bidirectional'].includes((attributes.direction as string | undefined) ?? 'forward')
  );
}

/** One direction's packed weights: W^T with both biases for the input projection, R^T for the recurrence. */
interface DirectionWeights {
  input: WasmBlock;
  recurrence: WasmBlock;
}

function prepareLstm(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const [w, r, b] = [info.constants[1]!, info.constants[2]!, info.constants[3]];
  const [directions, gateRows, inputSize] = w.dims as [number, number, number];
  const hidden = gateRows / 4;
  const reverseOnly = info.attributes.direction === 'reverse';
  if (r.dims.length !== 3 || r.dims[0] !== directions || r.dims[1] !== gateRows || r.dims[2] !== hidden) {
    shapeError(info, `R must have dims [${directions}, ${gateRows}, ${hidden}], got [${r.dims.join(', ')}]`);
  }
  if (b && (b.dims.length !== 2 || b.dims[0] !== directions || b.dims[1] !== 2 * gateRows)) {
    shapeError(info, `B must have dims [${directions}, ${2 * gateRows}], got [${b.dims.join(', ')}]`);
  }
  const [wValues, rValues, bValues] = [w.data as Float32Array, r.data as Float32Array, b?.data as Float32Array | undefined];
  const weights: DirectionWeights[] = Array.from({ length: directions }, (_, d) => {
    const bias = bValues && Float32Array.from({ length: gateRows }, (_, j) => bValues[d * 2 * gateRows + j]! + bValues[d * 2 * gateRows + gateRows + j]!);
    return {
      input: packMatrix(runtime, { values: wValues.subarray(d * gateRows * inputSize, (d + 1) * gateRows * inputSize), k: inputSize, n: gateRows, transposed: true }, bias),
      recurrence: packMatrix(runtime, { values: rValues.subarray(d * gateRows * hidden, (d + 1) * gateRows * hidden), k: hidden, n: gateRows, transposed: true }),
    };
  });
  const wanted = (index: number) => (info.node.outputs[index] ?? '') !== '';
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.dims.length !== 3 || x.dims[2] !== inputSize) shapeError(info, `X must have dims [seq, batch, ${inputSize}], got [${x.dims.join(', ')}]`);
      const [sequence, batch] = x.dims as [number, number];
      const stateDims = [directions, batch, hidden];
      const initial = [5, 6].map((index) => (present(info, index) ? floatInput(info, io, index) : undefined));
      for (const state of initial) {
        if (state && (state.dims.length !== 3 || state.dims.some((dim, i) => dim !== stateDims[i]))) {
          shapeError(info, `initial_h and initial_c must have dims [${stateDims.join(', ')}], got [${state.dims.join(', ')}]`);
        }
      }
      const outputs = [
        wanted(0) ? io.output(0, 'float32', [sequence, directions, batch, hidden]) : undefined,
        wanted(1) ? io.output(1, 'float32', stateDims) : undefined,
        wanted(2) ? io.output(2, 'float32', stateDims) : undefined,
      ];
      const stateBytes = batch * hidden * 4;
      const staging = new Staging(
        runtime,
        [x, ...initial.filter((state): state is Tensor => state !== undefined)],
        outputs.filter((output): output is Tensor => output !== undefined),
        [sequence * batch * gateRows * 4, batch * gateRows * 4, stateBytes, stateBytes],
      );
      const [gatesX, gatesR, cell, h] = [0, 1, 2, 3].map((index) => staging.work(index)) as [number, number, number, number];
      const memory = runtime.f32(0, runtime.buffer.byteLength / 4);
      const y = outputs[0] ? staging.address(outputs[0]) : 0;
      for (let d = 0; d < directions; d++) {
        const { input, recurrence } = weights[d]!;
        runtime.gemm(sequence * batch, gateRows, inputSize, staging.address(x), inputSize, input.pointer, gatesX, gateRows, -Infinity, Infinity);
        const [initialH, initialC] = initial;
        const stateAt = (state: Tensor) => staging.address(state) / 4 + d * batch * hidden;
        if (initialH) memory.copyWithin(h / 4, stateAt(initialH), stateAt(initialH) + batch * hidden);
        else memory.fill(0, h / 4, h / 4 + batch * hidden);
        if (initialC) memory.copyWithin(cell / 4, stateAt(initialC), stateAt(initialC) + batch * hidden);
        else memory.fill(0, cell / 4, cell / 4 + batch * hidden);
        const reverse = reverseOnly || d === 1;
        for (let step = 0; step < sequence; step++) {
          const t = reverse ? sequence - 1 - step : step;
          runtime.gemm(batch, gateRows, hidden, h, hidden, recurrence.pointer, gatesR, gateRows, -Infinity, Infinity);
          const yAt = y === 0 ? 0 : y + ((t * directions + d) * batch * hidden) * 4;
          runtime.kernels.f32_lstm_cell(batch, hidden, gatesX + t * batch * gateRows * 4, gatesR, cell, h, yAt);
        }
        if (outputs[1]) memory.copyWithin(staging.address(outputs[1]) / 4 + d * batch * hidden, h / 4, h / 4 + batch * hidden);
        if (outputs[2]) memory.copyWithin(staging.address(outputs[2]) / 4 + d * batch * hidden, cell / 4, cell / 4 + batch * hidden);
      }
      staging.finish();
    },
    dispose() {
      for (const { input, recurrence } of weights) {
        input.release();
        recurrence.release();
      }
    },
  };
}

export const recurrentOps: Record<string, WasmOp> = {
  LSTM: { supports: lstmSupports, prepare: prepareLstm },
};
