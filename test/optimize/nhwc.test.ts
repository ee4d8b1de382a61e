import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadCodeElimination } from '../../src/optimize/dead-code.js';
import { optimizeGraph } from '../../src/optimize/index.js';
import { nhwcLayout } from '../../src/optimize/nhwc.js';
import { transposeCancellation } from '../../src/optimize/transpose-cancel.js';
import { assertSameOutputs, floatInput, graphModel, int, ints, op, opTypes, randomTensor, runPass } from './support.js';

test('a convolution chain runs in NHWC with transposes only at its edges', async () => {
  const original = graphModel({
    nodes: [
      op('Conv', ['x', 'w1', 'b1'], ['c1'], { pads: ints([1, 1, 1, 1]) }),
      op('Relu', ['c1'], ['r1']),
      op('Conv', ['r1', 'w2'], ['c2'], { pads: ints([1, 1, 1, 1]), group: int(4) }),
      op('Mul', ['c2', 'channel_scale'], ['m']),
      op('Add', ['m', 'r1'], ['s']),
      op('MaxPool', ['s'], ['p'], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
      op('AveragePool', ['r1'], ['q'], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
      op('Concat', ['p', 'q'], ['cat'], { axis: int(1) }),
      op('GlobalAveragePool', ['cat'], ['g']),
      op('Flatten', ['g'], ['y']),
    ],
    inputs: [floatInput('x', [2, 3, 6, 6])],
    outputs: [floatInput('y', [2, 8])],
    initializers: new Map([
      ['w1', randomTensor([4, 3, 3, 3], 1)],
      ['b1', randomTensor([4], 2)],
      ['w2', randomTensor([4, 1, 3, 3], 3)],
      ['channel_scale', randomTensor([4, 1, 1], 4)],
    ]),
  });
  const nhwc = runPass(deadCodeElimination, runPass(transposeCancellation, runPass(nhwcLayout, original)));
  assert.deepEqual(opTypes(nhwc), [
    'Transpose', 'FusedConv', 'Relu', 'FusedConv', 'Mul', 'Add', 'NhwcMaxPool', 'NhwcAveragePool', 'Concat', 'NhwcGlobalAveragePool', 'Transpose', 'Flatten',
  ]);
  assert.deepEqual(nhwc.graph.nodes.find((node) => node.opType === 'Concat')!.attributes.axis, int(3));
  assert.deepEqual(nhwc.graph.initializers.get('channel_scale_nhwc')!.dims, [1, 1, 1, 4]);
  await assertSameOutputs(original, nhwc, { x: randomTensor([2, 3, 6, 6], 5) });
});

test("at level 'all' the layout's edge transposes that only move size-1 axes (a one-channel image in, a pooled [N, 1, 1, C] out) are Reshapes", async () => {
  const original = graphModel({
    nodes: [
      op('Conv', ['x', 'w'], ['c'], { pads: ints([1, 1, 1, 1]) }),
      op('GlobalAveragePool', ['c'], ['y']),
    ],
    inputs: [floatInput('x', [1, 1, 6, 6])],
    outputs: [floatInput('y', [1, 4, 1, 1])],
    initializers: new Map([['w', randomTensor([4, 1, 3, 3], 6)]]),
  });
  const optimized = optimizeGraph(original, { level: 'all', preferNhwc: true });
  assert.deepEqual(opTypes(optimized), ['Reshape', 'FusedConv', 'NhwcGlobalAveragePool', 'Reshape']);
  await assertSameOutputs(original, optimized, { x: randomTensor([1, 1, 6, 6], 7) });
});
