import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute, Node } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import { encodeOnnx } from '../../../src/formats/onnx/encode.js';
import { compareValues } from '../../support/compare.js';
import { ortOutputs } from '../../support/ort-reference.js';
import { model, tensorInfo } from '../../support/tiny-models.js';
import { randomTensor } from './harness.js';
import { prepareModel } from './model-runner.js';
import { hostVariants } from './variants.js';

const ints = (value: number[]): Attribute => ({ type: 'ints', value });
const int = (value: number): Attribute => ({ type: 'int', value });

interface Branch {
  name: string;
  /** W [M, C, k, k]; 'same' padding. */
  outChannels: number;
  kernel: number;
  /** Relu after the convolution (fused into it), or another activation the kernel cannot clamp. */
  activation?: 'Relu' | 'LeakyRelu';
}

/**
 * x [batch, 24, 9, 11] -> a squeeze 1x1 conv (Relu) -> branch convolutions of it -> Concat on channels, in
 * the order given; `alsoOutput` makes one branch's output a graph output too.
 */
function fireModel(branches: readonly Branch[], order: readonly string[], alsoOutput?: string): Uint8Array {
  const initializers = new Map<string, Tensor>();
  const nodes: Node[] = [];
  const conv = (name: string, input: string, channels: number, outChannels: number, kernel: number, seed: number) => {
    initializers.set(`${name}_w`, randomTensor([outChannels, channels, kernel, kernel], seed));
    initializers.set(`${name}_b`, randomTensor([outChannels], seed + 1));
    const pad = (kernel - 1) / 2;
    nodes.push({ name, opType: 'Conv', domain: '', inputs: [input, `${name}_w`, `${name}_b`], outputs: [`${name}_conv`], attributes: { pads: ints([pad, pad, pad, pad]), kernel_shape: ints([kernel, kernel]) } });
  };
  const activation = (name: string, kind: string) => {
    nodes.push({ name: `${name}_act`, opType: kind, domain: '', inputs: [`${name}_conv`], outputs: [name], attributes: {} });
  };
  conv('squeeze', 'x', 24, 16, 1, 1);
  activation('squeeze', 'Relu');
  branches.forEach((branch, index) => {
    conv(branch.name, 'squeeze', 16, branch.outChannels, branch.kernel, 10 + index * 2);
    activation(branch.name, branch.activation ?? 'Relu');
  });
  nodes.push({ name: 'concat', opType: 'Concat', domain: '', inputs: [...order], outputs: ['y'], attributes: { axis: int(1) } });
  const outputs = [tensorInfo('y', 'float32', ['batch', branches.reduce((sum, branch) => sum + branch.outChannels, 0), 9, 11])];
  if (alsoOutput) outputs.push(tensorInfo(alsoOutput, 'float32'));
  return encodeOnnx(model({ nodes, inputs: [tensorInfo('x', 'float32', [2, 24, 9, 11])], outputs, initializers }));
}

async function check(label: string, bytes: Uint8Array, claimed: number): Promise<void> {
  const x = randomTensor([2, 24, 9, 11], 99);
  const expected = await ortOutputs(bytes, { x });
  for (const variant of hostVariants()) {
    const prepared = await prepareModel(bytes, variant);
    const outputs = prepared.run({ x });
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(compareValues(outputs[name], value, { rtol: 1e-4, atol: 1e-4 }), undefined, `${label} on ${variant}: ${name}`);
    }
    const { placement } = prepared.finish();
    const runs = Object.entries(placement.wasm ?? {}).filter(([opType]) => opType.endsWith('+Concat'));
    assert.equal(runs.reduce((sum, [, count]) => sum + count, 0), claimed, `${label} on ${variant}: claimed runs ${JSON.stringify(placement)}`);
    await prepared.dispose();
  }
}

test('branch convolutions write straight into their slice of a Concat on channels: pointwise, Winograd and im2col paths, any order', async () => {
  const branches: Branch[] = [
    { name: 'e1', outChannels: 20, kernel: 1 },
    { name: 'e3', outChannels: 36, kernel: 3 },
    { name: 'e5', outChannels: 13, kernel: 5 },
  ];
  await check('fire, 1x1 then 3x3', fireModel(branches.slice(0, 2), ['e1', 'e3']), 1);
  await check('fire, Concat of 3x3 then 1x1', fireModel(branches.slice(0, 2), ['e3', 'e1']), 1);
  await check('three branches, odd channel counts', fireModel(branches, ['e5', 'e1', 'e3']), 1);
});

test('a branch also read elsewhere, or with an activation the output loop cannot apply, keeps its own output', async () => {
  const branches: Branch[] = [
    { name: 'e1', outChannels: 20, kernel: 1 },
    { name: 'e3', outChannels: 36, kernel: 3 },
  ];
  await check('a branch that is also a graph output', fireModel(branches, ['e1', 'e3'], 'e3'), 0);
  await check('a LeakyRelu branch', fireModel([branches[0]!, { ...branches[1]!, activation: 'LeakyRelu' }], ['e1', 'e3']), 0);
});
