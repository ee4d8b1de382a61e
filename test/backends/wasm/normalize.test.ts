import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../../src/core/tensor.js';
import { assertClose, float, int, nodeInfo, randomTensor, runNode, runReference, str, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

/** Random values times `scale`, with NaN and infinities at the given flat positions. */
function valuesWith(dims: number[], seed: number, scale: number, specials: [number, number][] = []): Tensor {
  const tensor = randomTensor(dims, seed);
  const values = tensor.data as Float32Array;
  for (let i = 0; i < values.length; i++) values[i]! *= scale;
  for (const [at, value] of specials) if (at < values.length) values[at] = value;
  return tensor;
}

/** The node on every build, host and arena placement, against the reference kernel. */
function assertMatchesReference(spec: NodeSpec, label: string): void {
  const info = nodeInfo(spec);
  const expected = runReference(info, spec.inputs);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(info), `${variant} supports ${label}`);
    for (const place of ['host', 'arena'] as const) {
      const actual = runNode(backend, info, spec.inputs, place);
      assert.deepEqual(actual.dims, expected.dims, label);
      assertClose(actual, expected, `${variant}/${place} ${label}`);
    }
  }
}

test('Softmax matches the reference along every axis (ONNX-13) and coerced to 2-D (ONNX-11)', () => {
  let seed = 1;
  const shapes = [[7], [3, 5], [1, 4, 32, 32], [2, 3, 4, 5], [2, 9, 3], [1, 1, 6, 1]];
  for (const dims of shapes) {
    for (let axis = -dims.length; axis < dims.length; axis++) {
      for (const opset of [11, 13]) {
        for (const scale of [1, 30, 1e4]) {
          const spec: NodeSpec = { opType: 'Softmax', opset, attributes: { axis: int(axis) }, inputs: [valuesWith(dims, seed++, scale)] };
          assertMatchesReference(spec, `Softmax-${opset} [${dims}] axis ${axis} scale ${scale}`);
        }
      }
    }
  }
});

test('Softmax lines with NaN or an infinity give what the reference gives', () => {
  let seed = 50;
  for (const dims of [[3, 7], [2, 5, 3]]) {
    for (const special of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const axis of [-1, 1]) {
        const x = valuesWith(dims, seed++, 3, [[0, special], [4, special]]);
        assertMatchesReference({ opType: 'Softmax', opset: 13, attributes: { axis: int(axis) }, inputs: [x] }, `Softmax [${dims}] axis ${axis} with ${special}`);
      }
    }
    // A line that is -inf throughout is NaN in the reference (inf - inf) and here.
    const allLow = new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(Number.NEGATIVE_INFINITY), dims);
    assertMatchesReference({ opType: 'Softmax', opset: 13, inputs: [allLow] }, `Softmax [${dims}] all -inf`);
  }
});

test('Softmax over masked positions (an additive -1e4 or -inf mask) gives exact zeros there and no subnormal value', () => {
  const smallestNormal = 1.1754943508222875e-38;
  const dims = [1, 4, 32, 32];
  for (const mask of [-1e4, Number.NEGATIVE_INFINITY]) {
    const x = valuesWith(dims, 77, 3);
    const values = x.data as Float32Array;
    // Attention over 32 keys of which the last 12 are padding.
    for (let i = 0; i < values.length; i++) if (i % 32 >= 20) values[i]! += mask;
    const info = nodeInfo({ opType: 'Softmax', opset: 13, attributes: { axis: int(-1) }, inputs: [x] });
    for (const [variant, backend] of backends) {
      const y = runNode(backend, info, [x], 'arena').data as Float32Array;
      for (let i = 0; i < y.length; i++) {
        if (i % 32 >= 20) assert.equal(y[i], 0, `${variant}: masked position ${i} with mask ${mask}`);
        else assert.ok(y[i]! >= smallestNormal, `${variant}: position ${i} is ${y[i]}, expected a normal positive float`);
      }
    }
  }
});

test('LayerNormalization (ONNX-17 and ai.edgerun at opset 13) matches the reference', () => {
  let seed = 100;
  const cases: [number[], number][] = [[[1, 32, 128], -1], [[3, 7], -1], [[2, 3, 5], 1], [[4, 1, 9], -2], [[5, 130], 1], [[2, 2, 2, 3], -3]];
  for (const [dims, axis] of cases) {
    const normalized = dims.slice(axis < 0 ? axis + dims.length : axis);
    const x = valuesWith(dims, seed++, 4);
    // An offset far from zero: the variance must come from the centered values.
    (x.data as Float32Array).forEach((_, i, values) => (values[i]! += 100));
    const scale = valuesWith(normalized, seed++, 2);
    const bias = valuesWith(normalized, seed++, 1);
    for (const [domain, opset] of [['', 17], ['ai.edgerun', 13]] as const) {
      for (const withBias of [true, false]) {
        for (const constants of [[1, 2], []]) {
          const spec: NodeSpec = {
            opType: 'LayerNormalization', domain, opset,
            attributes: { axis: int(axis), epsilon: float(1e-5) },
            inputs: withBias ? [x, scale, bias] : [x, scale],
            constants,
          };
          assertMatchesReference(spec, `${domain || 'onnx'} LayerNormalization [${dims}] axis ${axis} bias ${withBias} constants [${constants}]`);
        }
      }
    }
  }
  const withNaN = valuesWith([3, 6], seed++, 1, [[2, Number.NaN], [13, Number.POSITIVE_INFINITY]]);
  assertMatchesReference({ opType: 'LayerNormalization', opset: 17, inputs: [withNaN, valuesWith([6], seed++, 1)] }, 'LayerNormalization with NaN and inf rows');
});

test('Gelu (ONNX-20 and ai.edgerun at opset 13) matches the reference; the tanh form stays on the reference', () => {
  let seed = 200;
  for (const count of [1, 3, 4, 5, 17, 1027]) {
    for (const scale of [0.5, 6, 1e3]) {
      const x = valuesWith([count], seed++, scale, [[0, Number.NaN], [3, Number.POSITIVE_INFINITY], [6, Number.NEGATIVE_INFINITY], [9, 0]]);
      assertMatchesReference({ opType: 'Gelu', opset: 20, inputs: [x] }, `Gelu of ${count} scale ${scale}`);
      assertMatchesReference({ opType: 'Gelu', domain: 'ai.edgerun', opset: 13, inputs: [x] }, `ai.edgerun Gelu of ${count} scale ${scale}`);
    }
  }
  const tanh = nodeInfo({ opType: 'Gelu', opset: 20, attributes: { approximate: str('tanh') }, inputs: [randomTensor([4], 1)] });
  for (const [, backend] of backends) assert.equal(backend.supports(tanh), false);
});
