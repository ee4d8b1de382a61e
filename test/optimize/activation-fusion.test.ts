import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { activationFusion } from '../../src/optimize/activation-fusion.js';
import { assertSameOutputs, float, floatInput, graphModel, ints, op, opTypes, randomTensor, runPass } from './support.js';

const scalar = (value: number) => new Tensor('float32', Float32Array.of(value), []);

test('activations fuse into Conv, Gemm, MatMul and Add as ai.edgerun ops', async () => {
  const original = graphModel({
    nodes: [
      op('Conv', ['x', 'w', 'b'], ['c'], { pads: ints([1, 1, 1, 1]) }),
      op('Clip', ['c', 'zero', 'six'], ['c6']),
      op('Add', ['c6', 'x'], ['s']),
      op('HardSwish', ['s'], ['h']),
      op('Flatten', ['h'], ['f']),
      op('Gemm', ['f', 'g'], ['gm'], { transB: { type: 'int', value: 1 } }),
      op('LeakyRelu', ['gm'], ['lr'], { alpha: float(0.3) }),
      op('MatMul', ['lr', 'm'], ['mm']),
      op('HardSigmoid', ['mm'], ['hs'], { alpha: float(0.3), beta: float(0.4) }),
      op('Sigmoid', ['hs'], ['y']),
    ],
    inputs: [floatInput('x', [2, 3, 4, 4])],
    outputs: [floatInput('y', [2, 5])],
    initializers: new Map([
      ['w', randomTensor([3, 3, 3, 3], 1)],
      ['b', randomTensor([3], 2)],
      ['zero', scalar(0)],
      ['six', scalar(0.5)],
      ['g', randomTensor([7, 48], 3)],
      ['m', randomTensor([7, 5], 4)],
    ]),
  });
  const fused = runPass(activationFusion, original);
  assert.deepEqual(opTypes(fused), ['FusedConv', 'FusedAdd', 'Flatten', 'FusedGemm', 'FusedMatMul', 'Sigmoid']);
  assert.deepEqual(fused.graph.nodes[0]!.attributes.activation_params, { type: 'floats', value: [0, 0.5] });
  assert.ok(fused.graph.nodes.every((node) => node.domain === (node.opType.startsWith('Fused') ? 'ai.edgerun' : '')));
  await assertSameOutputs(original, fused, { x: randomTensor([2, 3, 4, 4], 5) });
});

test('no fusion when the producer output has another reader, or Clip bounds are not constant', () => {
  const original = graphModel({
    nodes: [op('Conv', ['x', 'w'], ['c']), op('Relu', ['c'], ['y']), op('Add', ['x', 'x'], ['a']), op('Clip', ['a', 'lo'], ['z'])],
    inputs: [floatInput('x', [1, 1, 2, 2]), floatInput('lo', [])],
    outputs: [floatInput('y', [1, 1, 2, 2]), floatInput('c', [1, 1, 2, 2]), floatInput('z', [1, 1, 2, 2])],
    initializers: new Map([['w', randomTensor([1, 1, 1, 1])]]),
  });
  assert.deepEqual(opTypes(runPass(activationFusion, original)), ['Conv', 'Relu', 'Add', 'Clip']);
});
