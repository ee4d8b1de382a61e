import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { convBatchNormFolding } from '../../src/optimize/conv-batchnorm.js';
import { assertSameOutputs, float, floatInput, graphModel, ints, op, opTypes, randomTensor, runPass } from './support.js';

test('Conv + BatchNormalization folds into one Conv with scaled weights and a new bias', async () => {
  const variance = new Tensor('float32', Float32Array.of(0.5, 1.5, 2, 0.1), [4]);
  const original = graphModel({
    nodes: [
      op('Conv', ['x', 'w', 'b'], ['c'], { pads: ints([1, 1, 1, 1]) }),
      op('BatchNormalization', ['c', 'scale', 'beta', 'mean', 'var'], ['y'], { epsilon: float(1e-3) }),
      op('Conv', ['x', 'w'], ['c2']),
      op('BatchNormalization', ['c2', 'scale', 'beta', 'mean', 'var'], ['y2']),
    ],
    inputs: [floatInput('x', [1, 3, 5, 5])],
    outputs: [floatInput('y', [1, 4, 5, 5]), floatInput('y2', [1, 4, 3, 3])],
    initializers: new Map([
      ['w', randomTensor([4, 3, 3, 3], 1)],
      ['b', randomTensor([4], 2)],
      ['scale', randomTensor([4], 3)],
      ['beta', randomTensor([4], 4)],
      ['mean', randomTensor([4], 5)],
      ['var', variance],
    ]),
  });
  const folded = runPass(convBatchNormFolding, original);
  assert.deepEqual(opTypes(folded), ['Conv', 'Conv']);
  assert.deepEqual(folded.graph.nodes.map((node) => node.outputs[0]), ['y', 'y2']);
  assert.equal(folded.graph.nodes[1]!.inputs.length, 3, 'a Conv without bias gains one');
  await assertSameOutputs(original, folded, { x: randomTensor([1, 3, 5, 5], 9) });
});

test('a Conv whose output is read elsewhere too keeps its BatchNormalization', () => {
  const original = graphModel({
    nodes: [op('Conv', ['x', 'w'], ['c']), op('BatchNormalization', ['c', 's', 's', 's', 's'], ['y'])],
    inputs: [floatInput('x', [1, 1, 3, 3])],
    outputs: [floatInput('y', [1, 1, 3, 3]), floatInput('c', [1, 1, 3, 3])],
    initializers: new Map([
      ['w', randomTensor([1, 1, 1, 1])],
      ['s', new Tensor('float32', Float32Array.of(1), [1])],
    ]),
  });
  assert.deepEqual(opTypes(runPass(convBatchNormFolding, original)), ['Conv', 'BatchNormalization']);
});
