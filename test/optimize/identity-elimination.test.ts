import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identityElimination } from '../../src/optimize/identity-elimination.js';
import { assertSameOutputs, floatInput, graphModel, op, opTypes, randomTensor, runPass } from './support.js';

test('Identity and inference-mode Dropout go; a graph output and a read mask keep their nodes', async () => {
  const original = graphModel(
    {
      nodes: [
        op('Identity', ['x'], ['i']),
        op('Dropout', ['i'], ['d']),
        op('Relu', ['d'], ['r']),
        op('Dropout', ['r'], ['kept', 'mask']),
        op('Identity', ['kept'], ['y']),
      ],
      inputs: [floatInput('x', [2, 3])],
      outputs: [floatInput('y', [2, 3]), { name: 'mask', type: { kind: 'tensor', dtype: 'bool', shape: [2, 3] } }],
    },
    13,
  );
  const cleaned = runPass(identityElimination, original);
  assert.deepEqual(opTypes(cleaned), ['Relu', 'Dropout', 'Identity']);
  assert.deepEqual(cleaned.graph.nodes[0]!.inputs, ['x']);
  await assertSameOutputs(original, cleaned, { x: randomTensor([2, 3]) });
});

test('Dropout before opset 7 without is_test trains, so it stays', () => {
  const original = graphModel({ nodes: [op('Dropout', ['x'], ['d']), op('Relu', ['d'], ['y'])], inputs: [floatInput('x', [2])], outputs: [floatInput('y', [2])] }, 6);
  assert.deepEqual(opTypes(runPass(identityElimination, original)), ['Dropout', 'Relu']);
});
