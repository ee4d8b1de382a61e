import { test } from 'node:test';
import { Tensor } from '../../../src/core/tensor.js';
import { activationFromAttributes, applyActivation } from '../../../src/kernels/activation.js';
import { assertClose, float, floats, nodeInfo, randomTensor, runNode, runReference, str, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

function checkAll(spec: NodeSpec, label: string, expected = runReference(nodeInfo(spec), spec.inputs)): void {
  const info = nodeInfo(spec);
  for (const [variant, backend] of backends) {
    if (!backend.supports(info)) throw new Error(`${variant} does not support ${label}`);
    for (const place of ['host', 'arena'] as const) assertClose(runNode(backend, info, spec.inputs, place), expected, `${variant}/${place} ${label}`);
  }
}

/** Values with NaN and infinities among them, and a zero to divide by. */
function withSpecials(tensor: Tensor): Tensor {
  const values = tensor.data as Float32Array;
  values[0] = Number.NaN;
  if (values.length > 2) values[2] = Number.POSITIVE_INFINITY;
  if (values.length > 5) values[5] = Number.NEGATIVE_INFINITY;
  if (values.length > 6) values[6] = 0;
  return tensor;
}

const SHAPES: [number[], number[]][] = [
  [[7], [7]], [[2, 3, 5], [2, 3, 5]], [[1, 6, 5, 4], [4]], [[2, 6, 5, 4], [6, 1, 1]], [[3, 1, 5], [1, 4, 1]],
  [[17], [1]], [[1], [2, 9]], [[2, 3, 4, 5], [2, 1, 4, 1]], [[], [3, 2]], [[4, 1, 3, 1, 9], [1, 5, 3, 2, 1]],
];

test('Add, Sub, Mul, Div with broadcasting, NaN and infinities, walked over vector edges', () => {
  let seed = 1;
  for (const opType of ['Add', 'Sub', 'Mul', 'Div']) {
    for (const [aDims, bDims] of SHAPES) {
      const inputs = [withSpecials(randomTensor(aDims, seed++)), withSpecials(randomTensor(bDims, seed++))];
      checkAll({ opType, opset: 14, inputs }, `${opType} [${aDims}] [${bDims}]`);
      checkAll({ opType, opset: 14, inputs: [inputs[1]!, inputs[0]!] }, `${opType} [${bDims}] [${aDims}]`);
    }
  }
});

test('FusedAdd applies its activation; Relu and Clip clamp', () => {
  const inputs = [withSpecials(randomTensor([2, 5, 3, 8], 1)), randomTensor([8], 2)].map((tensor) => new Tensor('float32', (tensor.data as Float32Array).map((v) => v * 8), tensor.dims));
  for (const [activation, params] of [['Relu', []], ['Clip', [0, 6]], ['HardSwish', []]] as const) {
    const expected = runReference(nodeInfo({ opType: 'Add', opset: 14, inputs }), inputs);
    applyActivation(expected.data as Float32Array, 0, expected.data.length, activationFromAttributes(activation, [...params]));
    checkAll({ domain: 'ai.edgerun', opType: 'FusedAdd', attributes: { activation: str(activation), activation_params: floats([...params]) }, inputs }, `FusedAdd ${activation}`, expected);
  }
  const x = inputs[0]!;
  checkAll({ opType: 'Relu', opset: 14, inputs: [x] }, 'Relu');
  checkAll({ opType: 'Clip', opset: 13, inputs: [x, new Tensor('float32', [0], []), new Tensor('float32', [6], [])], constants: [1, 2] }, 'Clip 13');
  checkAll({ opType: 'Clip', opset: 13, inputs: [x, undefined, new Tensor('float32', [0.5], [])], constants: [2] }, 'Clip 13 max only');
  checkAll({ opType: 'Clip', opset: 13, inputs: [x, new Tensor('float32', [-0.5], []), new Tensor('float32', [0.25], [])] }, 'Clip 13 bounds at run');
  checkAll({ opType: 'Clip', opset: 6, attributes: { min: float(-1), max: float(2) }, inputs: [x] }, 'Clip 6');
  // min > max gives max everywhere (ONNX and onnxruntime), in the SIMD body and the scalar tail alike.
  const odd = new Tensor('float32', (x.data as Float32Array).slice(0, 39), [39]);
  checkAll({ opType: 'Clip', opset: 13, inputs: [odd, new Tensor('float32', [1], []), new Tensor('float32', [0], [])], constants: [1, 2] }, 'Clip 13 min > max');
  checkAll({ opType: 'Clip', opset: 6, attributes: { min: float(0.5), max: float(-0.75) }, inputs: [odd] }, 'Clip 6 min > max');
});
