import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { shapeFolding } from '../../src/optimize/shape-folding.js';
import { assertSameOutputs, floatInput, graphModel, int, op, opTypes, randomTensor, runPass } from './support.js';

const int64 = (...values: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [values.length]);

/** The exporters' flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])). */
function flattenModel(batch: number | string) {
  return graphModel({
    nodes: [
      op('Shape', ['x'], ['shape']),
      op('Gather', ['shape', 'zero'], ['n'], { axis: int(0) }),
      op('Unsqueeze', ['n', 'axes'], ['n1']),
      op('Concat', ['n1', 'minus_one'], ['target'], { axis: int(0) }),
      op('Reshape', ['x', 'target'], ['y']),
    ],
    inputs: [floatInput('x', [batch, 2, 3])],
    outputs: [floatInput('y', [batch, 6])],
    initializers: new Map([
      ['zero', new Tensor('int64', BigInt64Array.of(0n), [])],
      ['axes', int64(0)],
      ['minus_one', int64(-1)],
    ]),
  });
}

test('shape-op folding turns a Shape/Gather/Unsqueeze/Concat chain of a known shape into a constant', async () => {
  const original = flattenModel(4);
  const folded = runPass(shapeFolding, original);
  assert.deepEqual(opTypes(folded), ['Reshape']);
  assert.deepEqual(Array.from(folded.graph.initializers.get('target')!.data as BigInt64Array), [4n, -1n]);
  await assertSameOutputs(original, folded, { x: randomTensor([4, 2, 3]) });
});

test('a symbolic batch dim keeps the chain: its value is only known at run time', () => {
  const folded = runPass(shapeFolding, flattenModel('batch'));
  assert.deepEqual(opTypes(folded), ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']);
});
