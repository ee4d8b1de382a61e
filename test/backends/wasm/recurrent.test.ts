import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute, Value } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import type { Backend, Kernel, KernelIO, NodeInfo } from '../../../src/backends/backend.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import { accuracyGrid, worstUlps } from './accuracy.js';
import { assertClose, float, int, nodeInfo, randomTensor, str } from './harness.js';
import { WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

test('the sigmoid of the LSTM cell stays within a few float32 ulps of the exact function', async () => {
  const x = accuracyGrid(20000);
  // One step from c = 0, no recurrence, the candidate gate saturated (tanh = 1): c' = sigmoid(input gate).
  const runtime = await WasmRuntime.create('simd');
  const hidden = 64;
  const recurrence = runtime.alloc(hidden * 4 * hidden * 4);
  const gates = runtime.alloc(4 * hidden * 4);
  const [h, cell] = [0, 1].map(() => runtime.alloc(hidden * 4));
  runtime.f32(recurrence.pointer, 4 * hidden * hidden).fill(0);
  const got = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += hidden) {
    const gateValues = runtime.f32(gates.pointer, 4 * hidden).fill(0);
    // Panel p holds gates i, o, f, c of units 8p .. 8p + 7.
    for (let unit = 0; unit < hidden; unit++) {
      const panel = Math.floor(unit / 8) * 32 + (unit % 8);
      gateValues[panel] = x[Math.min(start + unit, x.length - 1)]!;
      gateValues[panel + 24] = 100;
    }
    runtime.f32(h!.pointer, hidden).fill(0);
    runtime.f32(cell!.pointer, hidden).fill(0);
    runtime.kernels.f32_lstm_sequence(hidden, 1, recurrence.pointer, gates.pointer, 0, 0, Infinity, 0, h!.pointer, cell!.pointer, 0, 0, 0);
    got.set(runtime.f32(cell!.pointer, Math.min(hidden, x.length - start)), start);
  }
  const error = worstUlps(x, got, (v) => 1 / (1 + Math.exp(-v)));
  assert.ok(error <= 4, `sigmoid: worst error ${error.toFixed(2)} ulp`);
  runtime.dispose();
});

type Op = 'LSTM' | 'GRU';

interface RecurrentCase {
  op: Op;
  sequence: number;
  batch: number;
  inputSize: number;
  hidden: number;
  direction: string;
  bias: boolean;
  initial: boolean;
  outputs: string[];
  /** W, R, B, P fed at run rather than known at create. */
  weightsAtRun?: boolean;
  /** Batch-major tensors (opset 14's layout 1). */
  layout?: number;
  sequenceLengths?: number[];
  peepholes?: boolean;
  attributes?: Record<string, Attribute>;
}

/** Runs a recurrent node on a backend; every output it names, copied out. */
function runRecurrent(backend: Backend, info: NodeInfo, inputs: readonly (Tensor | undefined)[]): (Tensor | undefined)[] {
  const kernel = backend.prepare(info);
  const results = runKernel(kernel, inputs);
  kernel.dispose?.();
  return results;
}

function runKernel(kernel: Kernel, inputs: readonly (Tensor | undefined)[]): (Tensor | undefined)[] {
  const results: (Tensor | undefined)[] = [undefined, undefined, undefined];
  const io: KernelIO = {
    inputs,
    output: (index, dtype, dims) => (results[index] = new Tensor(dtype, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(Number.NaN), dims)),
    set: (index, value: Value | undefined) => {
      results[index] = value as Tensor | undefined;
    },
    runGraph: () => {
      throw new Error('no subgraphs here');
    },
  };
  kernel.run(io);
  return results.map((tensor) => tensor && new Tensor(tensor.type, Float32Array.from(tensor.data as Float32Array), tensor.dims));
}

function recurrentNode(c: RecurrentCase, seed: number): { info: NodeInfo; inputs: (Tensor | undefined)[] } {
  const directions = c.direction === 'bidirectional' ? 2 : 1;
  const gateRows = (c.op === 'LSTM' ? 4 : 3) * c.hidden;
  const [sequenceFirst, batchFirst] = c.layout === 1 ? [c.batch, c.sequence] : [c.sequence, c.batch];
  const stateDims = c.layout === 1 ? [c.batch, directions, c.hidden] : [directions, c.batch, c.hidden];
  const inputs = [
    randomTensor([sequenceFirst, batchFirst, c.inputSize], seed),
    randomTensor([directions, gateRows, c.inputSize], seed + 1),
    randomTensor([directions, gateRows, c.hidden], seed + 2),
    c.bias ? randomTensor([directions, 2 * gateRows], seed + 3) : undefined,
    c.sequenceLengths ? new Tensor('int32', Int32Array.from(c.sequenceLengths), [c.batch]) : undefined,
    c.initial ? randomTensor(stateDims, seed + 4) : undefined,
    c.op === 'LSTM' && c.initial ? randomTensor(stateDims, seed + 5) : undefined,
    c.peepholes ? randomTensor([directions, 3 * c.hidden], seed + 6) : undefined,
  ].slice(0, c.op === 'LSTM' ? 8 : 6);
  // Scaled so the gates reach saturation as well as the linear middle.
  for (const index of [1, 2]) for (const [i, value] of (inputs[index]!.data as Float32Array).entries()) (inputs[index]!.data as Float32Array)[i] = value * 2;
  const attributes = { direction: str(c.direction), hidden_size: int(c.hidden), ...(c.layout ? { layout: int(c.layout) } : {}), ...c.attributes };
  const info = nodeInfo({ opType: c.op, opset: 14, inputs, constants: c.weightsAtRun ? [] : [1, 2, 3, 7], attributes });
  return { info: { ...info, node: { ...info.node, outputs: c.outputs }, outputTypes: c.outputs.map((name) => (name === '' ? undefined : { kind: 'tensor', dtype: 'float32' })) }, inputs };
}

function checkRecurrent(c: RecurrentCase, seed: number, inputs?: (Tensor | undefined)[]): void {
  const node = recurrentNode(c, seed);
  const feeds = inputs ?? node.inputs;
  const expected = runRecurrent(referenceBackend, node.info, feeds);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(node.info), `${variant} supports ${JSON.stringify(c)}`);
    const got = runRecurrent(backend, node.info, feeds);
    c.outputs.forEach((name, index) => {
      if (name === '') return assert.equal(got[index], undefined, `${variant}: unnamed output ${index} left out`);
      assertClose(got[index]!, expected[index]!, `${variant} ${c.op} output ${index} ${JSON.stringify(c)}`);
    });
  }
}

const allOutputs = (op: Op) => (op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']);

for (const op of ['LSTM', 'GRU'] as const) {
  const variants: [string, Record<string, Attribute>][] = op === 'GRU' ? [['', {}], [' linear_before_reset', { linear_before_reset: int(1) }]] : [['', {}]];
  for (const [label, attributes] of variants) {
    test(`${op}${label} matches the reference: hidden sizes around the panel width, batches, directions, biases, initial states`, () => {
      let seed = 10;
      for (const hidden of [1, 3, 5, 8, 13, 20]) {
        for (const direction of ['forward', 'reverse', 'bidirectional']) {
          for (const [batch, sequence, inputSize] of [[1, 1, 1], [3, 4, 5], [1, 7, 9]] as const) {
            const bias = seed % 2 === 0;
            checkRecurrent({ op, sequence, batch, inputSize, hidden, direction, bias, initial: !bias, outputs: allOutputs(op), attributes }, seed++);
          }
        }
      }
      checkRecurrent({ op, sequence: 3, batch: 2, inputSize: 4, hidden: 6, direction: 'forward', bias: true, initial: false, outputs: ['', 'Y_h'], attributes }, seed++);
      checkRecurrent({ op, sequence: 3, batch: 2, inputSize: 4, hidden: 6, direction: 'bidirectional', bias: true, initial: true, outputs: ['Y', ''], attributes }, seed++);
    });

    test(`${op}${label} matches the reference with sequence_lens and the batch-major layout`, () => {
      let seed = 200;
      for (const direction of ['forward', 'reverse', 'bidirectional']) {
        for (const layout of [0, 1]) {
          const base = { op, sequence: 5, batch: 3, inputSize: 4, hidden: 11, direction, bias: true, initial: true, outputs: allOutputs(op), layout, attributes };
          checkRecurrent({ ...base, sequenceLengths: [5, 2, 0] }, seed++);
          checkRecurrent({ ...base, sequenceLengths: [1, 5, 3], initial: false }, seed++);
          checkRecurrent(base, seed++);
        }
      }
    });
  }

  test(`${op} carries NaN and infinities in X through the steps as the reference does`, () => {
    const c: RecurrentCase = { op, sequence: 4, batch: 3, inputSize: 5, hidden: 10, direction: 'bidirectional', bias: true, initial: true, outputs: allOutputs(op) };
    const { inputs } = recurrentNode(c, 3);
    const x = inputs[0]!.data as Float32Array;
    x[1 * 15 + 0 * 5 + 2] = Number.NaN;
    x[0 * 15 + 1 * 5 + 0] = Number.POSITIVE_INFINITY;
    x[2 * 15 + 2 * 5 + 4] = Number.NEGATIVE_INFINITY;
    checkRecurrent(c, 3, inputs);
  });

  test(`${op} with an infinite weight in R and no initial state matches the reference (0 x inf is NaN at the first step)`, () => {
    // Fed at run, so the changed R is what both backends read.
    const c: RecurrentCase = { op, sequence: 3, batch: 2, inputSize: 4, hidden: 9, direction: 'forward', bias: true, initial: false, outputs: allOutputs(op), weightsAtRun: true };
    const { inputs } = recurrentNode(c, 5);
    (inputs[2]!.data as Float32Array)[7] = Number.POSITIVE_INFINITY;
    checkRecurrent(c, 5, inputs);
  });

  test(`${op} clip bounds the gate inputs as the reference does`, () => {
    for (const direction of ['forward', 'bidirectional']) {
      checkRecurrent({ op, sequence: 4, batch: 3, inputSize: 6, hidden: 9, direction, bias: true, initial: true, outputs: allOutputs(op), attributes: { clip: float(0.5) } }, 41);
    }
  });
}

test('LSTM peepholes and input_forget match the reference', () => {
  let seed = 300;
  for (const direction of ['forward', 'reverse', 'bidirectional']) {
    for (const hidden of [3, 8, 12]) {
      const base: RecurrentCase = { op: 'LSTM', sequence: 4, batch: 3, inputSize: 5, hidden, direction, bias: true, initial: true, outputs: ['Y', 'Y_h', 'Y_c'] };
      checkRecurrent({ ...base, peepholes: true }, seed++);
      checkRecurrent({ ...base, attributes: { input_forget: int(1) } }, seed++);
      checkRecurrent({ ...base, peepholes: true, attributes: { input_forget: int(1), clip: float(1.5) } }, seed++);
    }
  }
});

test('LSTM and GRU with W, R, B and P fed at run match the reference, run after run', () => {
  let seed = 400;
  for (const op of ['LSTM', 'GRU'] as const) {
    for (const direction of ['forward', 'bidirectional']) {
      const attributes: Record<string, Attribute> = op === 'GRU' ? { linear_before_reset: int(seed % 2) } : {};
      const c: RecurrentCase = { op, sequence: 3, batch: 3, inputSize: 4, hidden: 10, direction, bias: true, initial: true, outputs: allOutputs(op), weightsAtRun: true, peepholes: op === 'LSTM', attributes };
      const { info } = recurrentNode(c, seed);
      for (const [variant, backend] of backends) {
        assert.ok(backend.supports(info), `${variant} supports ${op} with weights at run`);
        const kernel = backend.prepare(info);
        // Other weights through the same kernel: packed again at each run, not kept from the first.
        for (const feeds of [recurrentNode(c, seed).inputs, recurrentNode(c, seed + 1).inputs]) {
          const expected = runRecurrent(referenceBackend, info, feeds);
          const got = runKernel(kernel, feeds);
          c.outputs.forEach((_, index) => assertClose(got[index]!, expected[index]!, `${variant} ${op} ${direction} weights at run, output ${index}`));
        }
        kernel.dispose?.();
      }
      seed += 2;
    }
  }
});

test('LSTM and GRU refuse what their cells do not compute: other activations, weights of unknown dims', () => {
  for (const op of ['LSTM', 'GRU'] as const) {
    const c: RecurrentCase = { op, sequence: 2, batch: 1, inputSize: 3, hidden: 4, direction: 'forward', bias: true, initial: false, outputs: ['Y'] };
    const { info } = recurrentNode(c, 1);
    const withAttribute = (name: string, value: unknown): NodeInfo => ({ ...info, attributes: { ...info.attributes, [name]: value } });
    const defaults = op === 'LSTM' ? ['Sigmoid', 'Tanh', 'Tanh'] : ['Sigmoid', 'Tanh'];
    const refused: [string, NodeInfo][] = [
      ['Relu activation', withAttribute('activations', ['Relu', ...defaults.slice(1)])],
      ['activations of two directions for one', withAttribute('activations', [...defaults, ...defaults])],
      ['W at run of unknown dims', { ...info, constants: info.constants.map((tensor, i) => (i === 1 ? undefined : tensor)), inputTypes: info.inputTypes.map((type, i) => (i === 1 ? { kind: 'tensor', dtype: 'float32' } : type)) }],
      ['hidden_size other than R', withAttribute('hidden_size', 5)],
    ];
    for (const [variant, backend] of backends) {
      assert.equal(backend.supports(info), true, `${variant}: the plain ${op}`);
      assert.equal(backend.supports(withAttribute('activations', defaults.map((name) => name.toLowerCase()))), true, `${variant}: default activations named`);
      for (const [what, changed] of refused) assert.equal(backend.supports(changed), false, `${variant} ${op}: ${what}`);
    }
  }
});
