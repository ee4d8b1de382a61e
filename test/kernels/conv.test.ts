import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Activation } from '../../src/kernels/activation.js';
import { convolve, convolution, planConv, type ConvAttrs } from '../../src/kernels/conv.js';
import type { Floats } from '../../src/kernels/floats.js';
import { assertClose, randomFloats, scalarActivation } from './oracle.js';

/**
 * The convolution kernels (depthwise, pointwise, im2col + GEMM) against the definition of a convolution as
 * one straightforward loop nest, over shapes that walk each kernel's edges: odd channel counts, groups,
 * padding / stride / dilation combinations, 1-D to 3-D, tiles of the im2col path, NaN and Inf.
 */

const fail = (code: string, detail: string): never => {
  throw new Error(`${code}: ${detail}`);
};

/** Y[n, m, o...] = act(bias[m] + Σ x[n, c, o·stride - pad + k·dilation] · w[m, c - group start, k]), taps in padding skipped. */
function naiveConv(x: Floats, xDims: number[], w: Floats, wDims: number[], bias: Floats | undefined, attrs: ConvAttrs, activation: Activation): { dims: number[]; values: Float64Array } {
  const plan = planConv(xDims, wDims, attrs, fail);
  const [ad, ah, aw] = plan.axes;
  const [N, C, M, G] = [plan.batch, plan.channels, plan.outChannels, plan.group];
  const [Cg, Mg] = [C / G, M / G];
  const values = new Float64Array(plan.dims.reduce((a, b) => a * b, 1));
  let index = 0;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      for (let od = 0; od < ad.output; od++) {
        for (let oh = 0; oh < ah.output; oh++) {
          for (let ow = 0; ow < aw.output; ow++) {
            let sum = bias ? bias[m]! : 0;
            for (let c = 0; c < Cg; c++) {
              for (let kd = 0; kd < ad.kernel; kd++) {
                for (let kh = 0; kh < ah.kernel; kh++) {
                  for (let kw = 0; kw < aw.kernel; kw++) {
                    const id = od * ad.stride - ad.padBegin + kd * ad.dilation;
                    const ih = oh * ah.stride - ah.padBegin + kh * ah.dilation;
                    const iw = ow * aw.stride - aw.padBegin + kw * aw.dilation;
                    if (id < 0 || id >= ad.input || ih < 0 || ih >= ah.input || iw < 0 || iw >= aw.input) continue;
                    const xValue = x[(((n * C + g * Cg + c) * ad.input + id) * ah.input + ih) * aw.input + iw]!;
                    const wValue = w[(((m * Cg + c) * ad.kernel + kd) * ah.kernel + kh) * aw.kernel + kw]!;
                    sum += xValue * wValue;
                  }
                }
              }
            }
            values[index++] = scalarActivation(sum, activation);
          }
        }
      }
    }
  }
  return { dims: plan.dims, values };
}

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  attrs: Partial<ConvAttrs>;
  bias?: boolean;
  activation?: Activation;
}

const RELU6: Activation = { kind: 'Clip', min: 0, max: 6 };

const CASES: ConvCase[] = [
  // Depthwise (group == C): 3-wide kernels take the all-taps-inside run, others go tap by tap.
  { name: 'depthwise 3x3 pad 1', x: [1, 5, 9, 7], w: [5, 1, 3, 3], attrs: { group: 5, pads: [1, 1, 1, 1] }, bias: true, activation: RELU6 },
  { name: 'depthwise 3x3 stride 2 asymmetric pads', x: [2, 3, 10, 11], w: [3, 1, 3, 3], attrs: { group: 3, strides: [2, 2], pads: [0, 1, 1, 0] }, bias: true },
  { name: 'depthwise 3x3 dilation 2 stride 3', x: [1, 4, 13, 14], w: [4, 1, 3, 3], attrs: { group: 4, strides: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'depthwise 3x3 wider padding than input', x: [1, 2, 2, 2], w: [2, 1, 3, 3], attrs: { group: 2, pads: [2, 3, 2, 3] }, bias: true },
  { name: 'depthwise 3x3, a tap that never lands inside a width-1 input', x: [1, 2, 4, 1], w: [2, 1, 3, 3], attrs: { group: 2, pads: [1, 3, 1, 0] }, bias: true },
  { name: 'depthwise 5x5 SAME_UPPER', x: [1, 3, 8, 9], w: [3, 1, 5, 5], attrs: { group: 3, auto_pad: 'SAME_UPPER' }, activation: { kind: 'LeakyRelu', alpha: 0.1 } },
  { name: 'depthwise 2x4 kernel', x: [1, 3, 6, 9], w: [3, 1, 2, 4], attrs: { group: 3, pads: [1, 0, 0, 2], strides: [1, 2] } },
  { name: 'depthwise multiplier 2', x: [1, 3, 7, 7], w: [6, 1, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise 1-D', x: [2, 3, 17], w: [3, 1, 3], attrs: { group: 3, pads: [1, 1], strides: [2] }, bias: true },
  { name: 'depthwise 3-D', x: [1, 2, 4, 5, 6], w: [2, 1, 3, 3, 3], attrs: { group: 2, pads: [1, 0, 1, 1, 0, 1] }, bias: true },
  { name: 'single channel (depthwise path, group 1)', x: [1, 1, 6, 6], w: [3, 1, 3, 3], attrs: { group: 1 }, bias: true },
  // Pointwise (1x1, stride 1, no padding): GEMM row blocks of 4 and leftovers, groups.
  { name: 'pointwise 7 -> 9', x: [1, 7, 5, 5], w: [9, 7, 1, 1], attrs: { group: 1 }, bias: true, activation: { kind: 'Relu' } },
  { name: 'pointwise 16 -> 8, 2 images', x: [2, 16, 4, 3], w: [8, 16, 1, 1], attrs: { group: 1 }, bias: true },
  { name: 'pointwise grouped', x: [1, 6, 3, 5], w: [9, 2, 1, 1], attrs: { group: 3 }, bias: true, activation: { kind: 'HardSwish' } },
  { name: 'pointwise 1-D, one position', x: [1, 5, 1], w: [3, 5, 1], attrs: { group: 1 } },
  // 1x1 that is not pointwise: strided or padded goes the general way.
  { name: '1x1 stride 2', x: [1, 5, 7, 7], w: [6, 5, 1, 1], attrs: { group: 1, strides: [2, 2] }, bias: true },
  { name: '1x1 padded', x: [1, 3, 4, 4], w: [5, 3, 1, 1], attrs: { group: 1, pads: [1, 0, 0, 1] } },
  // General im2col + GEMM.
  { name: '3x3 3 -> 5 stride 2 pad 1', x: [1, 3, 11, 10], w: [5, 3, 3, 3], attrs: { group: 1, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true, activation: RELU6 },
  { name: '3x3 dilation 2 VALID', x: [2, 3, 9, 9], w: [4, 3, 3, 3], attrs: { group: 1, dilations: [2, 2], auto_pad: 'VALID' } },
  { name: '2x3 kernel SAME_LOWER stride 2', x: [1, 5, 7, 8], w: [7, 5, 2, 3], attrs: { group: 1, auto_pad: 'SAME_LOWER', strides: [2, 2] }, bias: true },
  { name: 'grouped 3x3 (not depthwise)', x: [1, 6, 6, 6], w: [4, 3, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: '1-D kernel 4 stride 3', x: [2, 3, 20], w: [5, 3, 4], attrs: { group: 1, strides: [3], pads: [2, 1] }, bias: true },
  { name: '3-D 2x2x2', x: [1, 2, 4, 4, 5], w: [3, 2, 2, 2, 2], attrs: { group: 1, pads: [1, 0, 0, 0, 1, 1] }, bias: true },
  // K = 64·9 = 576 makes im2col tiles of 224 positions: 20x20 = 400 outputs span a full and a partial tile.
  { name: 'im2col tiles: 400 outputs over tiles of 224', x: [1, 64, 20, 20], w: [6, 64, 3, 3], attrs: { group: 1, pads: [1, 1, 1, 1] }, bias: true },
];

for (const testCase of CASES) {
  test(`conv: ${testCase.name}`, () => {
    const attrs: ConvAttrs = { group: 1, ...testCase.attrs };
    const activation = testCase.activation ?? { kind: 'none' };
    const x = randomFloats(testCase.x, 1);
    const w = randomFloats(testCase.w, 2);
    const bias = testCase.bias ? randomFloats([testCase.w[0]!], 3) : undefined;
    const expected = naiveConv(x, testCase.x, w, testCase.w, bias, attrs, activation);
    const plan = planConv(testCase.x, testCase.w, attrs, fail);
    assert.deepEqual(plan.dims, expected.dims);
    // The output starts as garbage: the kernel must write every element.
    const out = new Float32Array(expected.values.length).fill(12345);
    convolve(plan, x, w, bias, activation, out);
    assertClose(out, expected.values, testCase.name);
    // float64 data runs the same kernels in double storage.
    const out64 = new Float64Array(expected.values.length).fill(-777);
    convolve(plan, Float64Array.from(x), Float64Array.from(w), bias && Float64Array.from(bias), activation, out64);
    assertClose(out64, expected.values, `${testCase.name} (float64)`);
  });
}

test('conv: NaN and Inf inputs propagate as in the plain loop, in every kernel', () => {
  const cases: [string, number[], number[], ConvAttrs][] = [
    ['depthwise', [1, 3, 6, 6], [3, 1, 3, 3], { group: 3, pads: [1, 1, 1, 1] }],
    ['pointwise', [1, 5, 4, 4], [6, 5, 1, 1], { group: 1 }],
    ['general', [1, 3, 6, 6], [4, 3, 3, 3], { group: 1, pads: [1, 1, 1, 1] }],
  ];
  for (const [name, xDims, wDims, attrs] of cases) {
    const x = randomFloats(xDims, 4);
    x[7] = NaN;
    x[20] = Infinity;
    x[x.length - 3] = -Infinity;
    const w = randomFloats(wDims, 5);
    const expected = naiveConv(x, xDims, w, wDims, undefined, attrs, RELU6);
    const out = new Float32Array(expected.values.length);
    convolve(planConv(xDims, wDims, attrs, fail), x, w, undefined, RELU6, out);
    assert.ok(expected.values.some(Number.isNaN), `${name}: the case must produce NaN`);
    assertClose(out, expected.values, `${name} with NaN/Inf`);
  }
});

test('conv: convolution() (the integer ops\' path) equals convolve without bias, in a new buffer', () => {
  const attrs: ConvAttrs = { group: 1, strides: [2, 1], pads: [1, 0, 1, 0] };
  const x = randomFloats([1, 3, 7, 5], 6);
  const w = randomFloats([4, 3, 3, 2], 7);
  const { dims, values } = convolution(x, [1, 3, 7, 5], w, [4, 3, 3, 2], attrs, fail);
  const expected = naiveConv(x, [1, 3, 7, 5], w, [4, 3, 3, 2], undefined, attrs, { kind: 'none' });
  assert.deepEqual(dims, expected.dims);
  assert.ok(values instanceof Float32Array);
  assertClose(values, expected.values, 'convolution');
});

test('conv: mismatched channels are a typed error naming both shapes', () => {
  assert.throws(() => planConv([1, 4, 5, 5], [2, 3, 3, 3], { group: 1 }, fail), /SHAPE_MISMATCH: Conv input X has 4 channels, W expects 3 per group × 1 groups/);
  assert.throws(() => planConv([1, 4, 5, 5], [3, 2, 3, 3], { group: 2 }, fail), /not a multiple of group 2/);
});
