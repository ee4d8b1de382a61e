import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matMulAddFusion } from '../../src/optimize/matmul-add.js';
import { assertSameOutputs, floatInput, graphModel, op, opTypes, randomTensor, runPass } from './support.js';

test('MatMul + Add becomes Gemm for matrices and FusedMatMul with a bias at other ranks', async () => {
  const original = graphModel({
    nodes: [
      op('MatMul', ['x', 'w'], ['p']),
      op('Add', ['bias', 'p'], ['y']),
      op('MatMul', ['x3', 'w'], ['p3']),
      op('Add', ['p3', 'bias'], ['y3']),
      op('MatMul', ['x', 'w'], ['q']),
      op('Add', ['q', 'wide'], ['grown']),
    ],
    inputs: [floatInput('x', [2, 4]), floatInput('x3', [3, 2, 4])],
    outputs: [floatInput('y', [2, 5]), floatInput('y3', [3, 2, 5]), floatInput('grown', [3, 2, 5])],
    initializers: new Map([
      ['w', randomTensor([4, 5], 1)],
      ['bias', randomTensor([5], 2)],
      ['wide', randomTensor([3, 2, 5], 3)],
    ]),
  });
  const fused = runPass(matMulAddFusion, original);
  assert.deepEqual(opTypes(fused), ['Gemm', 'FusedMatMul', 'MatMul', 'Add']);
  assert.deepEqual(fused.graph.nodes[0]!.inputs, ['x', 'w', 'bias']);
  await assertSameOutputs(original, fused, { x: randomTensor([2, 4], 4), x3: randomTensor([3, 2, 4], 5) });
});
