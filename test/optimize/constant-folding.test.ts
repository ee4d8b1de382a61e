import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { constantFolding } from '../../src/optimize/constant-folding.js';
import { assertSameOutputs, floatInput, graphModel, op, opTypes, randomTensor, runPass } from './support.js';

test('constant folding computes nodes of constants once and keeps the rest', async () => {
  const original = graphModel({
    nodes: [
      op('Constant', [], ['two'], { value: { type: 'tensor', value: new Tensor('float32', Float32Array.of(2), []) } }),
      op('Mul', ['w', 'two'], ['w2']),
      op('Exp', ['w2'], ['w3']),
      op('Add', ['x', 'w3'], ['y']),
      op('RandomUniformLike', ['w'], ['noise']),
      op('Mul', ['noise', 'x'], ['z']),
    ],
    inputs: [floatInput('x', [2, 3])],
    outputs: [floatInput('y', [2, 3])],
    initializers: new Map([['w', randomTensor([2, 3])]]),
  });
  const folded = runPass(constantFolding, original);
  assert.deepEqual(opTypes(folded), ['Add', 'RandomUniformLike', 'Mul']);
  const w3 = folded.graph.initializers.get('w3')!;
  const w = randomTensor([2, 3]).data as Float32Array;
  assert.ok(Math.abs((w3.data as Float32Array)[4]! - Math.exp(2 * w[4]!)) < 1e-5);
  assert.equal(original.graph.nodes.length, 6, 'the input graph is not changed');
  await assertSameOutputs(original, folded, { x: randomTensor([2, 3], 7) });
});

test('an initializer that is also a graph input is not folded: a feed may override it', () => {
  const original = graphModel({
    nodes: [op('Neg', ['w'], ['v']), op('Add', ['x', 'v'], ['y'])],
    inputs: [floatInput('x', [3]), floatInput('w', [3])],
    outputs: [floatInput('y', [3])],
    initializers: new Map([['w', randomTensor([3])]]),
  });
  assert.deepEqual(opTypes(runPass(constantFolding, original)), ['Neg', 'Add']);
});

test('folding an IR 3 model (initializers listed as inputs, not overridable) leaves the given model as it was', async () => {
  const original = graphModel({
    nodes: [op('Neg', ['w'], ['v']), op('Add', ['x', 'v'], ['y'])],
    inputs: [floatInput('x', [3]), floatInput('w', [3])],
    outputs: [floatInput('y', [3])],
    initializers: new Map([['w', randomTensor([3])]]),
  });
  original.irVersion = 3;
  const folded = runPass(constantFolding, original);
  assert.deepEqual(opTypes(folded), ['Add']);
  assert.deepEqual([...original.graph.initializers.keys()], ['w'], "the given model's initializers are not added to");
  await assertSameOutputs(original, folded, { x: randomTensor([3], 2) });
});
