import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { layerNormFusion } from '../../src/optimize/layer-norm-fusion.js';
import { assertSameOutputs, floatInput, graphModel, ints, op, opTypes, randomTensor, runPass } from './support.js';

const scalar = (value: number) => new Tensor('float32', new Float32Array([value]), []);

interface Variant {
  axes?: number[];
  secondAxes?: number[];
  exponent?: number;
  keepdims?: number;
  /** An extra reader of the centered values (they are then needed outside the pattern). */
  centeredReadOutside?: boolean;
}

/** LayerNormalization over `axes` written out as PyTorch's exporter writes it; y = x normalized * scale + bias. */
function writtenOut(variant: Variant = {}, opset = 17) {
  const { axes = [-1], secondAxes = axes, exponent = 2, keepdims = 1, centeredReadOutside = false } = variant;
  const nodes: Node[] = [
    op('ReduceMean', ['x'], ['mean'], { axes: ints(axes), keepdims: { type: 'int', value: keepdims } }),
    op('Sub', ['x', 'mean'], ['centered']),
    op('Pow', ['centered', 'two'], ['squared']),
    op('ReduceMean', ['squared'], ['variance'], { axes: ints(secondAxes) }),
    op('Add', ['variance', 'epsilon'], ['shifted']),
    op('Sqrt', ['shifted'], ['deviation']),
    op('Div', ['centered', 'deviation'], ['normalized']),
    op('Mul', ['scale', 'normalized'], ['scaled']),
    op('Add', ['scaled', 'bias'], ['y']),
  ];
  const outputs = [floatInput('y', [3, 4, 6])];
  if (centeredReadOutside) {
    nodes.push(op('Neg', ['centered'], ['negated']));
    outputs.push(floatInput('negated', [3, 4, 6]));
  }
  return graphModel(
    {
      nodes,
      inputs: [floatInput('x', [3, 4, 6])],
      outputs,
      initializers: new Map([
        ['two', scalar(exponent)],
        ['epsilon', scalar(1e-5)],
        ['scale', randomTensor([6], 2)],
        ['bias', randomTensor([6], 3)],
      ]),
    },
    opset,
  );
}

const feeds = { x: randomTensor([3, 4, 6], 7) };

test('written-out LayerNormalization over the last axis becomes one LayerNormalization', async () => {
  const original = writtenOut();
  const fused = runPass(layerNormFusion, original);
  assert.deepEqual(opTypes(fused), ['LayerNormalization']);
  const [node] = fused.graph.nodes;
  assert.equal(node!.domain, '');
  assert.deepEqual(node!.inputs, ['x', 'scale', 'bias']);
  assert.deepEqual(node!.attributes.axis, { type: 'int', value: -1 });
  assert.equal(node!.attributes.epsilon?.value, Math.fround(1e-5));
  await assertSameOutputs(original, fused, feeds);
});

test('before opset 17 it becomes ai.edgerun LayerNormalization, and two trailing axes give axis -2', async () => {
  const original = writtenOut({ axes: [1, 2], secondAxes: [-1, -2] }, 13);
  const fused = runPass(layerNormFusion, original);
  assert.deepEqual(opTypes(fused), ['LayerNormalization']);
  assert.equal(fused.graph.nodes[0]!.domain, 'ai.edgerun');
  assert.deepEqual(fused.graph.nodes[0]!.attributes.axis, { type: 'int', value: -2 });
  await assertSameOutputs(original, fused, feeds);
});

test('near misses are left as they are', () => {
  const nearMisses: [string, Variant][] = [
    ['exponent 3', { exponent: 3 }],
    ['means over different axes', { axes: [-1], secondAxes: [-2, -1] }],
    ['a mean over a leading axis', { axes: [0] }],
    ['keepdims 0', { keepdims: 0 }],
    ['the centered values read outside the pattern', { centeredReadOutside: true }],
  ];
  for (const [why, variant] of nearMisses) {
    const original = writtenOut(variant);
    assert.equal(runPass(layerNormFusion, original).graph, original.graph, why);
  }
});
