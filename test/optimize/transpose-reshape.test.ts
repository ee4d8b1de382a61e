import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transposeToReshape } from '../../src/optimize/transpose-reshape.js';
import { assertSameOutputs, floatInput, graphModel, ints, op, opTypes, randomTensor, runPass } from './support.js';

test('transposes that only move size-1 axes become reshapes to the output shape', async () => {
  const original = graphModel({
    nodes: [
      op('Transpose', ['x'], ['sequence_first'], { perm: ints([1, 0, 2]) }),
      op('Relu', ['sequence_first'], ['r']),
      op('Transpose', ['r'], ['y'], { perm: ints([1, 0, 2]) }),
      // Size-1 axes moved to both ends around two axes that keep their order.
      op('Transpose', ['z'], ['w'], { perm: ints([2, 1, 0, 3]) }),
      op('Transpose', ['v'], ['u'], { perm: ints([0, 2, 1]) }),
    ],
    inputs: [floatInput('x', [1, 5, 3]), floatInput('z', [4, 1, 1, 6]), floatInput('v', ['n', 7, 1])],
    outputs: [floatInput('y', [1, 5, 3]), floatInput('w', [1, 1, 4, 6]), floatInput('u', ['n', 1, 7])],
  });
  const rewritten = runPass(transposeToReshape, original);
  assert.deepEqual(opTypes(rewritten), ['Reshape', 'Relu', 'Reshape', 'Reshape', 'Reshape']);
  const shapes = rewritten.graph.nodes.filter((node) => node.opType === 'Reshape').map((node) => [...(rewritten.graph.initializers.get(node.inputs[1]!)!.data as BigInt64Array)].map(Number));
  assert.deepEqual(shapes, [[5, 1, 3], [1, 5, 3], [1, 1, 4, 6], [-1, 1, 7]]);
  await assertSameOutputs(original, rewritten, { x: randomTensor([1, 5, 3]), z: randomTensor([4, 1, 1, 6], 2), v: randomTensor([2, 7, 1], 3) });
});

test('transposes that reorder elements, or whose shape is not known well enough, stay', () => {
  const original = graphModel({
    nodes: [
      op('Transpose', ['x'], ['swapped'], { perm: ints([0, 2, 1]) }),
      op('Transpose', ['unknown'], ['a'], { perm: ints([1, 0, 2]) }),
      op('Transpose', ['two'], ['b'], { perm: ints([1, 0, 2, 3]) }),
      op('Transpose', ['square'], ['c']),
    ],
    inputs: [floatInput('x', [1, 5, 3]), floatInput('unknown', [3, 'm', 2]), floatInput('two', [1, 'n', 'm', 2]), floatInput('square', [2, 2])],
    outputs: [floatInput('swapped', [1, 3, 5]), floatInput('a', ['m', 3, 2]), floatInput('b', ['n', 1, 'm', 2]), floatInput('c', [2, 2])],
  });
  const rewritten = runPass(transposeToReshape, original);
  assert.equal(rewritten.graph, original.graph);
});
