import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadCodeElimination } from '../../src/optimize/dead-code.js';
import { transposeCancellation } from '../../src/optimize/transpose-cancel.js';
import { assertSameOutputs, floatInput, graphModel, int, ints, op, opTypes, randomTensor, runPass } from './support.js';

test('inverse transposes cancel, others compose, and 2-D transposes fold into Gemm', async () => {
  const original = graphModel({
    nodes: [
      op('Transpose', ['x'], ['t1'], { perm: ints([0, 2, 3, 1]) }),
      op('Transpose', ['t1'], ['t2'], { perm: ints([0, 3, 1, 2]) }),
      op('Relu', ['t2'], ['r']),
      op('Transpose', ['r'], ['t3'], { perm: ints([1, 0, 2, 3]) }),
      op('Transpose', ['t3'], ['y'], { perm: ints([0, 1, 3, 2]) }),
      op('Transpose', ['a'], ['at']),
      op('Transpose', ['b'], ['bt'], { perm: ints([1, 0]) }),
      op('Gemm', ['at', 'bt'], ['g']),
      op('Transpose', ['x'], ['u1'], { perm: ints([0, 2, 3, 1]) }),
      op('Transpose', ['u1'], ['u'], { perm: ints([0, 3, 1, 2]) }),
    ],
    inputs: [floatInput('x', [1, 2, 3, 4]), floatInput('a', [3, 2]), floatInput('b', [4, 3])],
    outputs: [floatInput('y', [2, 1, 4, 3]), floatInput('g', [2, 4]), floatInput('u', [1, 2, 3, 4])],
  });
  const cancelled = runPass(deadCodeElimination, runPass(transposeCancellation, original));
  assert.deepEqual(opTypes(cancelled), ['Relu', 'Transpose', 'Gemm', 'Identity']);
  assert.deepEqual(cancelled.graph.nodes[0]!.inputs, ['x']);
  assert.deepEqual(cancelled.graph.nodes[1]!.attributes.perm, ints([1, 0, 3, 2]));
  assert.deepEqual(cancelled.graph.nodes[2]!.inputs, ['a', 'b']);
  assert.deepEqual(cancelled.graph.nodes[2]!.attributes.transA, int(1));
  assert.deepEqual(cancelled.graph.nodes[2]!.attributes.transB, int(1));
  await assertSameOutputs(original, cancelled, { x: randomTensor([1, 2, 3, 4]), a: randomTensor([3, 2], 2), b: randomTensor([4, 3], 3) });
});
