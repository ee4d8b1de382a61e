import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import { assertClose, int, ints, nodeInfo, randomTensor, runNode, runReference, str, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

function nhwcOf(tensor: Tensor): Tensor {
  const [n, c, h, w] = tensor.dims as [number, number, number, number];
  const source = tensor.data as Float32Array;
  const values = new Float32Array(source.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) values[((b * h + y) * w + x) * c + ch] = source[((b * c + ch) * h + y) * w + x]!;
  return new Tensor('float32', values, [n, h, w, c]);
}

function check(spec: NodeSpec, nhwcSpec: NodeSpec, label: string): void {
  const expected = runReference(nodeInfo(spec), spec.inputs);
  const expectedNhwc = expected.dims.length === 4 ? nhwcOf(expected) : expected;
  for (const [variant, backend] of backends) {
    for (const place of ['host', 'arena'] as const) {
      assertClose(runNode(backend, nodeInfo(spec), spec.inputs, place), expected, `${variant}/${place} ${label}`);
      assertClose(runNode(backend, nodeInfo(nhwcSpec), nhwcSpec.inputs, place), expectedNhwc, `${variant}/${place} Nhwc ${label}`);
    }
  }
}

test('global average pooling, NCHW and NHWC, channel counts around the vector width', () => {
  let seed = 1;
  for (const [n, c, h, w] of [[1, 1, 1, 1], [1, 3, 5, 7], [2, 4, 3, 3], [1, 13, 7, 7], [2, 32, 2, 5]] as const) {
    const x = randomTensor([n, c, h, w], seed++);
    check({ opType: 'GlobalAveragePool', inputs: [x] }, { domain: 'ai.edgerun', opType: 'NhwcGlobalAveragePool', inputs: [nhwcOf(x)] }, `GAP ${n}x${c}x${h}x${w}`);
  }
});

test('max and average pooling windows: padding, strides, dilation, ceil_mode, count_include_pad, odd channels', () => {
  const cases: [string, Record<string, Attribute>][] = [
    ['3x3 s2', { kernel_shape: ints([3, 3]), strides: ints([2, 2]) }],
    ['3x3 s2 ceil', { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) }],
    ['2x2 pads', { kernel_shape: ints([2, 2]), pads: ints([1, 0, 1, 1]) }],
    ['3x2 dilated', { kernel_shape: ints([3, 2]), dilations: ints([2, 1]), pads: ints([1, 1, 1, 1]) }],
    ['3x3 SAME_UPPER', { kernel_shape: ints([3, 3]), auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) }],
  ];
  let seed = 10;
  for (const channels of [1, 4, 5, 13]) {
    const x = randomTensor([2, channels, 7, 8], seed++);
    for (const [label, attributes] of cases) {
      for (const opType of ['MaxPool', 'AveragePool']) {
        const variants = opType === 'AveragePool' ? [0, 1] : [0];
        for (const countPad of variants) {
          const attrs = opType === 'AveragePool' ? { ...attributes, count_include_pad: int(countPad) } : attributes;
          check({ opType, opset: 19, attributes: attrs, inputs: [x] }, { domain: 'ai.edgerun', opType: `Nhwc${opType}`, attributes: attrs, inputs: [nhwcOf(x)] }, `${opType} ${label} c=${channels} pad=${countPad}`);
        }
      }
    }
  }
});

test('3x3 pooling over images wide enough for an interior: squeezenet-like strides, pads, odd channels', () => {
  let seed = 40;
  for (const channels of [1, 3, 4, 7, 16]) {
    const x = randomTensor([1, channels, 13, 12], seed++);
    for (const [label, attributes] of [
      ['3x3 s2', { kernel_shape: ints([3, 3]), strides: ints([2, 2]) }],
      ['3x3 s1 pads 1', { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }],
      ['3x3 s2 pads 0 1 2 1', { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([0, 1, 2, 1]) }],
      ['3x4 s2x3', { kernel_shape: ints([3, 4]), strides: ints([2, 3]), pads: ints([1, 1, 1, 1]) }],
      ['3x3 wider than X', { kernel_shape: ints([3, 3]), pads: ints([2, 2, 2, 2]) }],
    ] as [string, Record<string, Attribute>][]) {
      for (const opType of ['MaxPool', 'AveragePool']) {
        const attrs = opType === 'AveragePool' ? { ...attributes, count_include_pad: int(seed % 2) } : attributes;
        check({ opType, opset: 19, attributes: attrs, inputs: [x] }, { domain: 'ai.edgerun', opType: `Nhwc${opType}`, attributes: attrs, inputs: [nhwcOf(x)] }, `${opType} ${label} c=${channels}`);
      }
    }
  }
  const narrow = randomTensor([1, 5, 2, 2], 60);
  const narrowAttributes = { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([0, 0, 1, 1]) };
  check({ opType: 'MaxPool', opset: 19, attributes: narrowAttributes, inputs: [narrow] }, { domain: 'ai.edgerun', opType: 'NhwcMaxPool', attributes: narrowAttributes, inputs: [nhwcOf(narrow)] }, 'MaxPool X narrower than the window');
});

test('max pooling: infinities as in the reference, a NaN anywhere in a window makes its output NaN', () => {
  const [channels, height, width] = [5, 9, 11];
  const x = randomTensor([1, channels, height, width], 70);
  const values = x.data as Float32Array;
  const nanAt = [[1, 4, 5], [4, 0, 0], [2, 8, 10], [0, 3, 7]] as const;
  for (const [c, yy, xx] of nanAt) values[(c * height + yy) * width + xx] = Number.NaN;
  values[(3 * height + 5) * width + 2] = Number.POSITIVE_INFINITY;
  values[(2 * height + 2) * width + 3] = Number.NEGATIVE_INFINITY;
  const attributes = { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) };
  const finite = new Tensor('float32', values.map((value) => (Number.isNaN(value) ? -2 : value)), x.dims);
  const expected = runReference(nodeInfo({ opType: 'MaxPool', opset: 19, attributes, inputs: [finite] }), [finite]);
  const [outHeight, outWidth] = [expected.dims[2]!, expected.dims[3]!];
  const wanted = Float32Array.from(expected.data as Float32Array);
  for (const [c, yy, xx] of nanAt) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        if (Math.abs(oy * 2 - 1 + 1 - yy) <= 1 && Math.abs(ox * 2 - 1 + 1 - xx) <= 1) wanted[(c * outHeight + oy) * outWidth + ox] = Number.NaN;
      }
    }
  }
  const nhwc = nhwcOf(x);
  for (const [variant, backend] of backends) {
    const actual = runNode(backend, nodeInfo({ domain: 'ai.edgerun', opType: 'NhwcMaxPool', attributes, inputs: [nhwc] }), [nhwc]);
    assertClose(actual, nhwcOf(new Tensor('float32', wanted, expected.dims)), `${variant} NaN and infinities`);
    assert.ok((actual.data as Float32Array).includes(Number.POSITIVE_INFINITY), 'the +Inf reaches the output');
  }
});
