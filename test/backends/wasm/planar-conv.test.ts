import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute, Model, Node } from '../../../src/core/graph.js';
import type { SessionOptions } from '../../../src/runtime/session.js';
import { Tensor } from '../../../src/core/tensor.js';
import { encodeOnnx } from '../../../src/formats/onnx/encode.js';
import { compareValues } from '../../support/compare.js';
import { ortOutputs } from '../../support/ort-reference.js';
import { model, tensorInfo } from '../../support/tiny-models.js';
import { randomTensor } from './harness.js';
import { prepareModel } from './model-runner.js';
import { hostVariants } from './variants.js';

const ints = (value: number[]): Attribute => ({ type: 'ints', value });

const X_DIMS = [2, 3, 13, 15];

/** x [2, 3, 13, 15] -> a first layer (3x3 stride 2, padded, Relu) -> a 1x1 convolution, so its output stays NHWC. */
function firstLayerModel(): Uint8Array {
  const initializers = new Map<string, Tensor>([
    ['w', randomTensor([8, 3, 3, 3], 1)],
    ['b', randomTensor([8], 2)],
    ['p', randomTensor([5, 8, 1, 1], 3)],
  ]);
  const nodes: Node[] = [
    { name: 'first', opType: 'Conv', domain: '', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) } },
    { name: 'relu', opType: 'Relu', domain: '', inputs: ['c'], outputs: ['r'], attributes: {} },
    { name: 'point', opType: 'Conv', domain: '', inputs: ['r', 'p'], outputs: ['y'], attributes: {} },
  ];
  return encodeOnnx(model({ nodes, inputs: [tensorInfo('x', 'float32', X_DIMS)], outputs: [tensorInfo('y', 'float32')], initializers }));
}

/**
 * The layout as the optimizer leaves it, given as is: x -> Transpose to NHWC -> t -> an NHWC first layer;
 * t is also a graph output (`keep`), or also read by a Relu whose output is one (`reread`).
 */
function explicitLayoutModel(share: 'keep' | 'reread'): Model {
  const nodes: Node[] = [
    { name: 'to_nhwc', opType: 'Transpose', domain: '', inputs: ['x'], outputs: ['t'], attributes: { perm: ints([0, 2, 3, 1]) } },
    {
      name: 'first', opType: 'FusedConv', domain: 'ai.edgerun', inputs: ['t', 'w', 'b'], outputs: ['y'],
      attributes: { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]), layout: { type: 'string', value: 'NHWC' } },
    },
  ];
  const outputs = [tensorInfo('y', 'float32')];
  if (share === 'keep') outputs.push(tensorInfo('t', 'float32'));
  else {
    nodes.push({ name: 'relu', opType: 'Relu', domain: '', inputs: ['t'], outputs: ['u'], attributes: {} });
    outputs.push(tensorInfo('u', 'float32'));
  }
  const graphModel = model({ nodes, inputs: [tensorInfo('x', 'float32', X_DIMS)], outputs, initializers: new Map([['w', randomTensor([8, 3, 3, 3], 1)], ['b', randomTensor([8], 2)]]) });
  return { ...graphModel, opsetImports: [...graphModel.opsetImports, { domain: 'ai.edgerun', version: 1 }] };
}

async function check(label: string, bytes: Uint8Array, claimed: number, options: SessionOptions = {}): Promise<void> {
  const x = randomTensor(X_DIMS, 99);
  const expected = options.graphOptimizationLevel === 'disabled' ? (await prepareModel(bytes, 'reference', 1, options)).run({ x }) : await ortOutputs(bytes, { x });
  for (const variant of hostVariants()) {
    const prepared = await prepareModel(bytes, variant, 1, options);
    const outputs = prepared.run({ x });
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(compareValues(outputs[name], value, { rtol: 1e-4, atol: 1e-5 }), undefined, `${label} on ${variant}: ${name}`);
    }
    const { placement } = prepared.finish();
    assert.equal(placement.wasm?.['Transpose+FusedConv'] ?? 0, claimed, `${label} on ${variant}: claimed runs ${JSON.stringify(placement)}`);
    await prepared.dispose();
  }
}

test('a first layer reads the NCHW image through its Transpose to NHWC: the pair runs as one kernel, batch of 2', async () => {
  await check('a first layer', firstLayerModel(), 1);
});

test('a Transpose whose output is kept or read by another node too stays a node of its own', async () => {
  const asGiven: SessionOptions = { graphOptimizationLevel: 'disabled' };
  await check('the transposed image also a graph output', encodeOnnx(explicitLayoutModel('keep')), 0, asGiven);
  await check('the transposed image also read by a Relu', encodeOnnx(explicitLayoutModel('reread')), 0, asGiven);
});
