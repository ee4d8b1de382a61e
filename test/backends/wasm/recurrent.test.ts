import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Value } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import type { Backend, KernelIO, NodeInfo } from '../../../src/backends/backend.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import { accuracyGrid, worstUlps } from './accuracy.js';
import { assertClose, int, nodeInfo, randomTensor, str } from './harness.js';
import { WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

test('the sigmoid of the LSTM cell stays within a few float32 ulps of the exact function', async () => {
  const x = accuracyGrid(20000);
  // One cell step from c = 0 with the candidate gate saturated (tanh = 1): c' = sigmoid(input gate) exactly.
  const runtime = await WasmRuntime.create('simd');
  const hidden = x.length;
  const gatesX = runtime.alloc(4 * hidden * 4);
  const gatesR = runtime.alloc(4 * hidden * 4);
  const cell = runtime.alloc(hidden * 4);
  const h = runtime.alloc(hidden * 4);
  runtime.f32(gatesX.pointer, 4 * hidden).set(x);
  runtime.f32(gatesX.pointer + 3 * hidden * 4, hidden).fill(100);
  runtime.f32(gatesR.pointer, 4 * hidden).fill(0);
  runtime.f32(cell.pointer, hidden).fill(0);
  runtime.kernels.f32_lstm_cell(1, hidden, gatesX.pointer, gatesR.pointer, cell.pointer, h.pointer, 0);
  const error = worstUlps(x, runtime.f32(cell.pointer, hidden), (v) => 1 / (1 + Math.exp(-v)));
  assert.ok(error <= 4, `sigmoid: worst error ${error.toFixed(2)} ulp`);
  runtime.dispose();
});

/** Runs an LSTM node on a backend; every output it names, copied out. */
function runLstm(backend: Backend, info: NodeInfo, inputs: readonly (Tensor | undefined)[]): (Tensor | undefined)[] {
  const results: (Tensor | undefined)[] = [undefined, undefined, undefined];
  const io: KernelIO = {
    inputs,
    output: (index, dtype, dims) => (results[index] = new Tensor(dtype, new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)),
    set: (index, value: Value | undefined) => {
      results[index] = value as Tensor | undefined;
    },
    runGraph: () => {
      throw new Error('no subgraphs here');
    },
  };
  const kernel = backend.prepare(info);
  kernel.run(io);
  kernel.dispose?.();
  return results.map((tensor) => tensor && new Tensor(tensor.type, Float32Array.from(tensor.data as Float32Array), tensor.dims));
}

interface LstmCase {
  sequence: number;
  batch: number;
  inputSize: number;
  hidden: number;
  direction: string;
  bias: boolean;
  initial: boolean;
  outputs: string[];
}

function lstmNode(c: LstmCase, seed: number): { info: NodeInfo; inputs: (Tensor | undefined)[] } {
  const directions = c.direction === 'bidirectional' ? 2 : 1;
  const gateRows = 4 * c.hidden;
  const inputs = [
    randomTensor([c.sequence, c.batch, c.inputSize], seed),
    randomTensor([directions, gateRows, c.inputSize], seed + 1),
    randomTensor([directions, gateRows, c.hidden], seed + 2),
    c.bias ? randomTensor([directions, 2 * gateRows], seed + 3) : undefined,
    undefined,
    c.initial ? randomTensor([directions, c.batch, c.hidden], seed + 4) : undefined,
    c.initial ? randomTensor([directions, c.batch, c.hidden], seed + 5) : undefined,
  ];
  // Scaled so the gates reach saturation as well as the linear middle.
  for (const index of [1, 2]) for (const [i, value] of (inputs[index]!.data as Float32Array).entries()) (inputs[index]!.data as Float32Array)[i] = value * 2;
  const base = nodeInfo({ opType: 'LSTM', opset: 14, inputs, constants: [1, 2, 3], attributes: { direction: str(c.direction), hidden_size: int(c.hidden) } });
  const info: NodeInfo = {
    ...base,
    node: { ...base.node, inputs: [...base.node.inputs, '', ''].slice(0, 8), outputs: c.outputs },
    outputTypes: c.outputs.map(() => ({ kind: 'tensor', dtype: 'float32' })),
  };
  return { info, inputs };
}

function checkLstm(c: LstmCase, seed: number, inputs?: (Tensor | undefined)[]): void {
  const node = lstmNode(c, seed);
  const feeds = inputs ?? node.inputs;
  const expected = runLstm(referenceBackend, node.info, feeds);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(node.info), `${variant} supports ${JSON.stringify(c)}`);
    const got = runLstm(backend, node.info, feeds);
    c.outputs.forEach((name, index) => {
      if (name === '') return assert.equal(got[index], undefined, `${variant}: unnamed output ${index} left out`);
      assertClose(got[index]!, expected[index]!, `${variant} LSTM output ${index} ${JSON.stringify(c)}`);
    });
  }
}

test('LSTM matches the reference: hidden sizes around the vector width, batches, directions, biases, initial states', () => {
  let seed = 10;
  for (const hidden of [1, 3, 4, 5, 8, 13]) {
    for (const direction of ['forward', 'reverse', 'bidirectional']) {
      for (const [batch, sequence, inputSize] of [[1, 1, 1], [3, 4, 5], [2, 7, 9]] as const) {
        const bias = seed % 2 === 0;
        checkLstm({ sequence, batch, inputSize, hidden, direction, bias, initial: !bias, outputs: ['Y', 'Y_h', 'Y_c'] }, seed++);
      }
    }
  }
  checkLstm({ sequence: 3, batch: 2, inputSize: 4, hidden: 6, direction: 'forward', bias: true, initial: false, outputs: ['', 'Y_h'] }, seed++);
  checkLstm({ sequence: 3, batch: 2, inputSize: 4, hidden: 6, direction: 'bidirectional', bias: true, initial: true, outputs: ['Y', '', 'Y_c'] }, seed++);
});

test('LSTM carries NaN and infinities in X through the steps as the reference does', () => {
  const c: LstmCase = { sequence: 4, batch: 3, inputSize: 5, hidden: 6, direction: 'forward', bias: true, initial: true, outputs: ['Y', 'Y_h', 'Y_c'] };
  const { inputs } = lstmNode(c, 3);
  const x = inputs[0]!.data as Float32Array;
  x[1 * 15 + 0 * 5 + 2] = Number.NaN;
  x[0 * 15 + 1 * 5 + 0] = Number.POSITIVE_INFINITY;
  x[2 * 15 + 2 * 5 + 4] = Number.NEGATIVE_INFINITY;
  checkLstm(c, 3, inputs);
});

test('LSTM refuses what its cell does not compute: peepholes, sequence_lens, clip, layout 1, other activations, W at run', () => {
  const c: LstmCase = { sequence: 2, batch: 1, inputSize: 3, hidden: 4, direction: 'forward', bias: true, initial: false, outputs: ['Y'] };
  const { info } = lstmNode(c, 1);
  const withInput = (index: number, name: string): NodeInfo => ({ ...info, node: { ...info.node, inputs: info.node.inputs.map((input, i) => (i === index ? name : input)) } });
  const withAttribute = (name: string, value: unknown): NodeInfo => ({ ...info, attributes: { ...info.attributes, [name]: value } });
  const refused: [string, NodeInfo][] = [
    ['peepholes', withInput(7, 'P')],
    ['sequence_lens', withInput(4, 'sequence_lens')],
    ['clip', withAttribute('clip', 1)],
    ['layout 1', withAttribute('layout', 1)],
    ['Relu activation', withAttribute('activations', ['Sigmoid', 'Relu', 'Tanh'])],
    ['W at run', { ...info, constants: info.constants.map((tensor, i) => (i === 1 ? undefined : tensor)) }],
  ];
  for (const [variant, backend] of backends) {
    assert.equal(backend.supports(info), true, `${variant}: the plain LSTM`);
    for (const [what, changed] of refused) assert.equal(backend.supports(changed), false, `${variant}: ${what}`);
  }
});
