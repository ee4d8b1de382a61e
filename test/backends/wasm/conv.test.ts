import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import { activationFromAttributes, applyActivation } from '../../../src/kernels/activation.js';
import { assertClose, floats, TOLERANCE, int, ints, nodeInfo, randomTensor, runNode, runReference, str, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

/** dims permuted: NCHW -> NHWC with [0, 2, 3, 1], back with [0, 3, 1, 2]. */
function permute(tensor: Tensor, order: readonly number[]): Tensor {
  const dims = order.map((axis) => tensor.dims[axis]!);
  const strides = tensor.dims.map((_, axis) => tensor.dims.slice(axis + 1).reduce((a, b) => a * b, 1));
  const source = tensor.data as Float32Array;
  const values = new Float32Array(source.length);
  const index = dims.map(() => 0);
  for (let i = 0; i < values.length; i++) {
    values[i] = source[index.reduce((offset, coordinate, axis) => offset + coordinate * strides[order[axis]!]!, 0)]!;
    for (let axis = dims.length - 1; axis >= 0 && ++index[axis]! === dims[axis]!; axis--) index[axis] = 0;
  }
  return new Tensor('float32', values, dims);
}
const toNhwc = (tensor: Tensor) => permute(tensor, [0, 2, 3, 1]);
const toNchw = (tensor: Tensor) => permute(tensor, [0, 3, 1, 2]);

interface ConvCase {
  /** X as NCHW dims. */
  x: [number, number, number, number];
  /** W [M, C/group, kH, kW]. */
  w: [number, number, number, number];
  bias?: boolean;
  attributes?: Record<string, Attribute>;
  activation?: [string, number[]];
  /** Absolute tolerance when the path rounds differently from a direct sum (Winograd's transforms). */
  atol?: number;
}

function runCase(label: string, { x, w, bias = true, attributes = {}, activation = ['', []], atol }: ConvCase, seed: number): void {
  const xNchw = randomTensor(x, seed);
  const weights = randomTensor(w, seed + 1);
  const b = bias ? randomTensor([w[0]], seed + 2) : undefined;
  const conv: NodeSpec = { opType: 'Conv', opset: 11, attributes, inputs: [xNchw, weights, b], constants: [1, 2] };
  const expected = runReference(nodeInfo(conv), conv.inputs);
  applyActivation(expected.data as Float32Array, 0, expected.data.length, activationFromAttributes(...activation));
  const fusedAttributes = { ...attributes, activation: str(activation[0]), activation_params: floats(activation[1]) };
  const fusedNhwc: NodeSpec = { ...conv, domain: 'ai.edgerun', opType: 'FusedConv', attributes: { ...fusedAttributes, layout: str('NHWC') }, inputs: [toNhwc(xNchw), weights, b] };
  const fusedNchw: NodeSpec = { ...conv, domain: 'ai.edgerun', opType: 'FusedConv', attributes: fusedAttributes };
  const tolerance = { ...TOLERANCE, atol: atol ?? TOLERANCE.atol };
  for (const [variant, backend] of backends) {
    for (const place of ['host', 'arena'] as const) {
      if (activation[0] === '') assertClose(runNode(backend, nodeInfo(conv), conv.inputs, place), expected, `${variant}/${place} Conv ${label}`, tolerance);
      assertClose(runNode(backend, nodeInfo(fusedNchw), fusedNchw.inputs, place), expected, `${variant}/${place} FusedConv NCHW ${label}`, tolerance);
      const nhwc = runNode(backend, nodeInfo(fusedNhwc), fusedNhwc.inputs, place);
      assertClose(toNchw(nhwc), expected, `${variant}/${place} FusedConv NHWC ${label}`, tolerance);
    }
  }
}

test('pointwise 1x1 convolutions across GEMM tile edges, batch > 1', () => {
  let seed = 1;
  for (const [c, m] of [[1, 1], [3, 7], [4, 8], [5, 9], [16, 24], [13, 19]] as const) {
    runCase(`1x1 ${c}->${m}`, { x: [2, c, 3, 5], w: [m, c, 1, 1] }, seed++);
  }
});

test('depthwise 3x3, stride 1 and 2, padding, odd channel counts, borders, mobilenet-like activations', () => {
  let seed = 100;
  for (const channels of [1, 3, 4, 5, 8, 13, 20, 32, 37]) {
    for (const stride of [1, 2]) {
      for (const [height, width] of [[1, 1], [3, 3], [4, 7], [9, 8]] as const) {
        for (const pads of [[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 0]]) {
          if (height + pads[0]! + pads[2]! < 3 || width + pads[1]! + pads[3]! < 3) continue;
          runCase(`dw3x3 c=${channels} s=${stride} ${height}x${width} pads=${pads}`, {
            x: [1, channels, height, width], w: [channels, 1, 3, 3],
            attributes: { group: int(channels), strides: ints([stride, stride]), pads: ints(pads) }, activation: ['Clip', [0, 6]],
          }, seed++);
        }
      }
    }
  }
});

test('depthwise 3x3 on rows wider than one L1 chunk: chunk edges, an odd last chunk, strides, pads', () => {
  let seed = 400;
  // 36 channels of 133 columns: chunks of 56 output columns at stride 1 (56, 56, 19), 28 at stride 2.
  for (const [channels, width] of [[36, 133], [32, 140]] as const) {
    for (const stride of [1, 2]) {
      for (const pads of [[1, 1, 1, 1], [0, 0, 0, 0]]) {
        runCase(`dw3x3 c=${channels} s=${stride} 5x${width} pads=${pads}`, {
          x: [1, channels, 5, width], w: [channels, 1, 3, 3],
          attributes: { group: int(channels), strides: ints([stride, stride]), pads: ints(pads) }, activation: ['Clip', [0, 6]],
        }, seed++);
      }
    }
  }
});

test('depthwise with other windows: 5x5, dilation 2, asymmetric strides, SAME_UPPER, no bias', () => {
  runCase('dw5x5', { x: [2, 6, 9, 10], w: [6, 1, 5, 5], attributes: { group: int(6), pads: ints([2, 2, 2, 2]) } }, 1);
  runCase('dw5x5, 16 channels at a time and 5 left', { x: [1, 21, 6, 7], w: [21, 1, 5, 5], attributes: { group: int(21), pads: ints([2, 1, 2, 3]) } }, 8);
  runCase('dw3x3 dilation 2', { x: [1, 5, 9, 9], w: [5, 1, 3, 3], attributes: { group: int(5), dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) } }, 2);
  runCase('dw3x3 dilation 2, 16 channels at a time and 4 left', { x: [1, 20, 7, 8], w: [20, 1, 3, 3], attributes: { group: int(20), dilations: ints([2, 2]), pads: ints([2, 1, 2, 1]) } }, 9);
  runCase('dw3x3 strides 2x1', { x: [1, 4, 8, 7], w: [4, 1, 3, 3], attributes: { group: int(4), strides: ints([2, 1]), pads: ints([1, 0, 1, 2]) } }, 3);
  runCase('dw3x3 pads 3 (windows wholly in the padding)', { x: [1, 5, 4, 5], w: [5, 1, 3, 3], attributes: { group: int(5), pads: ints([3, 3, 3, 3]) } }, 5);
  runCase('dw3x3 7x7x20 (half the pixels at borders)', { x: [1, 20, 7, 7], w: [20, 1, 3, 3], attributes: { group: int(20), pads: ints([1, 1, 1, 1]) }, activation: ['Clip', [0, 6]] }, 6);
  runCase('dw3x3 X narrower than the window', { x: [1, 8, 4, 2], w: [8, 1, 3, 3], attributes: { group: int(8), strides: ints([2, 2]), pads: ints([1, 0, 1, 1]) } }, 7);
  runCase('dw3x2 SAME_UPPER', { x: [1, 7, 6, 5], w: [7, 1, 3, 2], bias: false, attributes: { group: int(7), auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) } }, 4);
});

test('general (im2col) and direct convolutions: first layer 3x3 stride 2, grouped, dilated, strided 1x1, padded 1x1', () => {
  runCase('first layer', { x: [1, 3, 16, 15], w: [8, 3, 3, 3], attributes: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, activation: ['Clip', [0, 6]] }, 1);
  runCase('grouped', { x: [2, 6, 7, 7], w: [9, 2, 3, 3], attributes: { group: int(3), pads: ints([1, 0, 1, 2]) } }, 2);
  runCase('depth multiplier 2', { x: [1, 3, 5, 5], w: [6, 1, 3, 3], attributes: { group: int(3) } }, 3);
  runCase('dilated', { x: [1, 4, 10, 9], w: [5, 4, 3, 2], attributes: { dilations: ints([2, 3]), pads: ints([2, 1, 0, 3]) } }, 4);
  runCase('1x1 stride 2', { x: [1, 5, 7, 8], w: [6, 5, 1, 1], attributes: { strides: ints([2, 2]) }, activation: ['Relu', []] }, 5);
  runCase('1x1 padded', { x: [1, 5, 3, 4], w: [7, 5, 1, 1], attributes: { pads: ints([1, 1, 0, 0]) }, activation: ['HardSwish', []] }, 6);
  runCase('SAME_LOWER', { x: [1, 2, 5, 6], w: [3, 2, 4, 3], attributes: { auto_pad: str('SAME_LOWER'), strides: ints([2, 2]) }, activation: ['LeakyRelu', [0.2]] }, 7);
});

test('direct convolution of few input channels: output widths and channels around the 4x8 tile, strides, pads, windows', () => {
  let seed = 300;
  for (const [c, m] of [[3, 32], [1, 7], [2, 8], [4, 9], [3, 17]] as const) {
    for (const [height, width] of [[1, 1], [5, 4], [7, 9], [11, 13]] as const) {
      for (const [kernel, stride, pads] of [[3, 2, [1, 1, 1, 1]], [3, 1, [0, 0, 0, 0]], [2, 3, [0, 1, 2, 0]], [5, 2, [2, 2, 2, 2]], [1, 2, [0, 0, 0, 0]]] as const) {
        if (height + pads[0] + pads[2] < kernel || width + pads[1] + pads[3] < kernel) continue;
        runCase(`direct ${c}->${m} ${height}x${width} k${kernel} s${stride} pads=${pads}`, {
          x: [1, c, height, width], w: [m, c, kernel, kernel], bias: seed % 3 !== 0, attributes: { strides: ints([stride, stride]), pads: ints([...pads]) }, activation: ['Clip', [-0.3, 0.4]],
        }, seed++);
      }
    }
  }
  runCase('direct 3x3 s2 first layer, squeezenet (no pads, last column unread)', { x: [2, 3, 24, 24], w: [64, 3, 3, 3], attributes: { strides: ints([2, 2]) }, activation: ['Relu', []] }, 1);
});

/** Winograd's transforms round differently from a direct sum: errors of ~1e-5 on outputs of size ~1 (checked below). */
const WINOGRAD_ATOL = 1e-4;

test('dense 3x3 stride 1 by Winograd F(4x4, 3x3): outputs around the 4x4 tile, channels around the vector, pads', () => {
  let seed = 200;
  for (const [c, m] of [[16, 16], [17, 21], [16, 64], [19, 32]] as const) {
    for (const [height, width] of [[3, 3], [4, 4], [5, 7], [8, 9], [13, 13]] as const) {
      for (const pads of [[1, 1, 1, 1], [0, 0, 0, 0], [2, 0, 1, 2]]) {
        if (height + pads[0]! + pads[2]! < 3 || width + pads[1]! + pads[3]! < 3) continue;
        runCase(`winograd ${c}->${m} ${height}x${width} pads=${pads}`, {
          x: [1, c, height, width], w: [m, c, 3, 3], bias: seed % 2 === 0, attributes: { pads: ints(pads) }, activation: ['Relu', []], atol: WINOGRAD_ATOL,
        }, seed++);
      }
    }
  }
  runCase('winograd batch 2, SAME_UPPER, many tile rows', { x: [2, 16, 27, 22], w: [18, 16, 3, 3], attributes: { auto_pad: str('SAME_UPPER') }, activation: ['Clip', [-0.5, 0.5]], atol: WINOGRAD_ATOL }, 1);
  runCase('winograd HardSwish on the host', { x: [1, 16, 6, 6], w: [16, 16, 3, 3], attributes: { pads: ints([1, 1, 1, 1]) }, activation: ['HardSwish', []], atol: WINOGRAD_ATOL }, 2);
});

test('Winograd error on squeezenet-sized layers stays far inside the tolerance', () => {
  for (const [c, m, size] of [[16, 64, 55], [64, 256, 13]] as const) {
    const spec: NodeSpec = { opType: 'Conv', opset: 11, attributes: { pads: ints([1, 1, 1, 1]) }, inputs: [randomTensor([1, c, size, size], c), randomTensor([m, c, 3, 3], m), randomTensor([m], 1)], constants: [1, 2] };
    const expected = runReference(nodeInfo(spec), spec.inputs).data as Float32Array;
    const actual = runNode(backends[0]![1], nodeInfo(spec), spec.inputs).data as Float32Array;
    const scale = expected.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
    const worst = actual.reduce((largest, value, i) => Math.max(largest, Math.abs(value - expected[i]!)), 0);
    assert.ok(worst < 1e-5 * scale, `${c}->${m} ${size}x${size}: worst error ${worst} against outputs up to ${scale}`);
  }
});

test('NaN and infinities propagate through every convolution path as in the reference', () => {
  for (const [label, w, attributes] of [
    ['pointwise', [6, 4, 1, 1], {}],
    ['depthwise', [4, 1, 3, 3], { group: int(4), pads: ints([1, 1, 1, 1]) }],
    ['direct', [6, 4, 3, 3], { pads: ints([1, 1, 1, 1]) }],
    ['general', [6, 8, 3, 3], { pads: ints([1, 1, 1, 1]) }],
    ['winograd', [16, 16, 3, 3], { pads: ints([1, 1, 1, 1]) }],
  ] as const) {
    const x = randomTensor([1, w[1] * (label === 'depthwise' ? 4 : 1), 5, 6], 9);
    const values = x.data as Float32Array;
    values[7] = Number.NaN;
    values[40] = Number.POSITIVE_INFINITY;
    values[75] = Number.NEGATIVE_INFINITY;
    const conv: NodeSpec = { opType: 'Conv', opset: 11, attributes, inputs: [x, randomTensor([...w], 10), randomTensor([w[0]], 11)], constants: [1, 2] };
    const expected = runReference(nodeInfo(conv), conv.inputs);
    assert.ok((expected.data as Float32Array).some(Number.isNaN), 'the case has NaN outputs');
    for (const [variant, backend] of backends) assertClose(runNode(backend, nodeInfo(conv), conv.inputs), expected, `${variant} ${label}`);
  }
});

test('convolutions the backend does not take are left to the reference', () => {
  const backend = backends[0]![1];
  const x = randomTensor([1, 2, 5], 1);
  assert.equal(backend.supports(nodeInfo({ opType: 'Conv', inputs: [x, randomTensor([3, 2, 3], 2)], constants: [1] })), false, '1-D');
  assert.equal(backend.supports(nodeInfo({ opType: 'Conv', inputs: [randomTensor([1, 2, 5, 5], 1), randomTensor([3, 2, 3, 3], 2)] })), false, 'weights at run');
  const unknown = { domain: 'ai.edgerun', opType: 'FusedConv', attributes: { activation: str('Swish') }, inputs: [randomTensor([1, 2, 5, 5], 1), randomTensor([3, 2, 3, 3], 2)], constants: [1] };
  assert.equal(backend.supports(nodeInfo(unknown)), false, 'unknown activation');
});
