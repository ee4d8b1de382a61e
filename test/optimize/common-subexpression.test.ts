import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonSubexpressionElimination } from '../../src/optimize/common-subexpression.js';
import { deadCodeElimination } from '../../src/optimize/dead-code.js';
import { assertSameOutputs, floatInput, graphModel, float, op, opTypes, randomTensor, runPass } from './support.js';

test('common-subexpression elimination merges nodes with the same op, inputs and attributes', async () => {
  const original = graphModel({
    nodes: [
      op('LeakyRelu', ['x'], ['a'], { alpha: float(0.2) }),
      op('LeakyRelu', ['x'], ['b'], { alpha: float(0.2) }),
      op('LeakyRelu', ['x'], ['c'], { alpha: float(0.3) }),
      op('Exp', ['a'], ['ea']),
      op('Exp', ['b'], ['eb']),
      op('Add', ['ea', 'eb'], ['sum']),
      op('Add', ['sum', 'c'], ['y']),
      op('Exp', ['a'], ['z']),
    ],
    inputs: [floatInput('x', [2, 3])],
    outputs: [floatInput('y', [2, 3]), floatInput('z', [2, 3])],
  });
  const merged = runPass(deadCodeElimination, runPass(commonSubexpressionElimination, original));
  // b merges into a, then eb into ea; z is a graph output and keeps its own node.
  assert.deepEqual(opTypes(merged), ['LeakyRelu', 'LeakyRelu', 'Exp', 'Add', 'Add', 'Exp']);
  assert.deepEqual(merged.graph.nodes.find((node) => node.outputs[0] === 'sum')!.inputs, ['ea', 'ea']);
  await assertSameOutputs(original, merged, { x: randomTensor([2, 3]) });
});
