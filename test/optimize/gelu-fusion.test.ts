import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { geluFusion } from '../../src/optimize/gelu-fusion.js';
import { assertSameOutputs, floatInput, graphModel, op, opTypes, randomTensor, runPass } from './support.js';

const scalar = (value: number) => new Tensor('float32', new Float32Array([value]), []);

/** Gelu written out with Erf; `halfFirst` takes x * 0.5 before the product, `root` is the divisor. */
function writtenOut({ halfFirst = false, root = Math.SQRT2, one = 1 } = {}, opset = 17) {
  const nodes: Node[] = halfFirst
    ? [
        op('Mul', ['x', 'half'], ['halved']),
        op('Div', ['x', 'root'], ['scaled']),
        op('Erf', ['scaled'], ['erf']),
        op('Add', ['one', 'erf'], ['shifted']),
        op('Mul', ['halved', 'shifted'], ['y']),
      ]
    : [
        op('Div', ['x', 'root'], ['scaled']),
        op('Erf', ['scaled'], ['erf']),
        op('Add', ['erf', 'one'], ['shifted']),
        op('Mul', ['x', 'shifted'], ['product']),
        op('Mul', ['product', 'half'], ['y']),
      ];
  return graphModel(
    {
      nodes,
      inputs: [floatInput('x', [5, 7])],
      outputs: [floatInput('y', [5, 7])],
      initializers: new Map([
        ['root', scalar(root)],
        ['one', scalar(one)],
        ['half', scalar(0.5)],
      ]),
    },
    opset,
  );
}

const feeds = { x: new Tensor('float32', (randomTensor([5, 7], 3).data as Float32Array).map((v) => v * 6), [5, 7]) };

test('Gelu written out with Erf becomes one Gelu: ai.edgerun before opset 20, ONNX from 20', async () => {
  for (const halfFirst of [false, true]) {
    const original = writtenOut({ halfFirst });
    const fused = runPass(geluFusion, original);
    assert.deepEqual(opTypes(fused), ['Gelu']);
    assert.equal(fused.graph.nodes[0]!.domain, 'ai.edgerun');
    assert.deepEqual(fused.graph.nodes[0]!.inputs, ['x']);
    await assertSameOutputs(original, fused, feeds);
  }
  const onnx = runPass(geluFusion, writtenOut({}, 20));
  assert.deepEqual(opTypes(onnx), ['Gelu']);
  assert.equal(onnx.graph.nodes[0]!.domain, '');
});

test('Gelu near misses are left as they are', () => {
  for (const [why, variant] of [
    ['divisor 1.41 instead of sqrt 2', { root: 1.41 }],
    ['adds 2 instead of 1', { one: 2 }],
    ['divisor 1.41, 0.5 first', { root: 1.41, halfFirst: true }],
  ] as const) {
    const original = writtenOut(variant);
    assert.equal(runPass(geluFusion, original).graph, original.graph, why);
  }
});
