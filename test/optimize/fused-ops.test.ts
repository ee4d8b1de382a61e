import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { InferenceSession } from '../../src/node.js';
import { optimizeGraph } from '../../src/optimize/index.js';
import { compareValues } from '../support/compare.js';
import { AS_GIVEN, assertSameOutputs, floatInput, graphModel, ints, op, opTypes, randomTensor } from './support.js';

function convChain() {
  return graphModel({
    nodes: [
      op('Conv', ['x', 'w'], ['c'], { pads: ints([1, 1, 1, 1]) }),
      op('Relu', ['c'], ['r']),
      op('MaxPool', ['r'], ['p'], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
      op('Flatten', ['p'], ['f']),
      op('MatMul', ['f', 'm'], ['mm']),
      op('Add', ['mm', 'bias'], ['y']),
    ],
    inputs: [floatInput('x', [1, 2, 4, 4])],
    outputs: [floatInput('y', [1, 3])],
    initializers: new Map([
      ['w', randomTensor([4, 2, 3, 3], 1)],
      ['m', randomTensor([16, 3], 2)],
      ['bias', randomTensor([3], 3)],
    ]),
  });
}

test('a fused NHWC graph saves as ONNX, loads back and runs on the reference backend', async () => {
  const original = convChain();
  const optimized = optimizeGraph(original, { level: 'all', preferNhwc: true });
  assert.deepEqual(opTypes(optimized), ['Transpose', 'FusedConv', 'NhwcMaxPool', 'Transpose', 'Flatten', 'Gemm']);
  assert.ok(optimized.opsetImports.some((entry) => entry.domain === 'ai.edgerun' && entry.version === 1));
  const reloaded = decodeOnnx(encodeOnnx(optimized));
  assert.deepEqual(opTypes(reloaded), opTypes(optimized));
  const feeds = { x: randomTensor([1, 2, 4, 4], 4) };
  await assertSameOutputs(original, reloaded, feeds);
});

test('every level keeps the outputs; disabled returns the model as it is', async () => {
  const original = convChain();
  assert.equal(optimizeGraph(original, { level: 'disabled' }), original);
  const expected = await (await InferenceSession.fromModel(original, AS_GIVEN)).run({ x: randomTensor([1, 2, 4, 4], 6) });
  for (const level of ['basic', 'extended', 'all'] as const) {
    const optimized = optimizeGraph(original, { level, preferNhwc: true });
    const actual = await (await InferenceSession.fromModel(optimized, AS_GIVEN)).run({ x: randomTensor([1, 2, 4, 4], 6) });
    const problem = compareValues(actual.y, expected.y!, { rtol: 1e-4, atol: 1e-5 }, `level ${level}`);
    if (problem) assert.fail(problem);
  }
  assert.deepEqual(opTypes(original), ['Conv', 'Relu', 'MaxPool', 'Flatten', 'MatMul', 'Add'], 'the input model is not changed');
});
