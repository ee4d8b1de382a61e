import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../../src/core/tensor.js';
import { assertClose, int, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

function checkAll(spec: NodeSpec, label: string): void {
  const info = nodeInfo(spec);
  const expected = runReference(info, spec.inputs);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(info), `${variant} supports ${label}`);
    // The arena holds float32 tensors only: an int64 axes input runs from the host.
    const places = spec.inputs.every((tensor) => tensor?.type === 'float32') ? (['host', 'arena'] as const) : (['host'] as const);
    for (const place of places) assertClose(runNode(backend, info, spec.inputs, place), expected, `${variant}/${place} ${label}`);
  }
}

test('ReduceMean over trailing axes: rows of lengths around the vector width, keepdims, negative axes, axes as input', () => {
  let seed = 1;
  for (const cols of [1, 3, 4, 5, 8, 13, 128]) {
    for (const keepdims of [0, 1]) {
      const x = randomTensor([2, 3, cols], seed++);
      const values = x.data as Float32Array;
      values[0] = Number.NaN;
      if (values.length > 7) values[7] = Number.POSITIVE_INFINITY;
      checkAll({ opType: 'ReduceMean', opset: 13, inputs: [x], attributes: { axes: ints([-1]), keepdims: int(keepdims) } }, `ReduceMean [2, 3, ${cols}] keepdims ${keepdims}`);
    }
  }
  const x = randomTensor([2, 3, 4, 5], seed++);
  checkAll({ opType: 'ReduceMean', opset: 13, inputs: [x], attributes: { axes: ints([3, 2]) } }, 'ReduceMean over the last two axes');
  checkAll({ opType: 'ReduceMean', opset: 13, inputs: [x] }, 'ReduceMean over every axis');
  checkAll({ opType: 'ReduceMean', opset: 18, inputs: [x, new Tensor('int64', BigInt64Array.of(-1n), [1])], constants: [1] }, 'ReduceMean axes input');
});

test('ReduceMean leaves axes it cannot take as rows to the reference: inner axes, axes at run, noop', () => {
  const x = randomTensor([2, 3, 4], 1);
  const specs: NodeSpec[] = [
    { opType: 'ReduceMean', opset: 13, inputs: [x], attributes: { axes: ints([1]) } },
    { opType: 'ReduceMean', opset: 13, inputs: [x], attributes: { axes: ints([0, 2]) } },
    { opType: 'ReduceMean', opset: 18, inputs: [x, new Tensor('int64', BigInt64Array.of(-1n), [1])] },
    { opType: 'ReduceMean', opset: 18, inputs: [x], attributes: { noop_with_empty_axes: int(1) } },
  ];
  for (const spec of specs) {
    for (const [variant, backend] of backends) assert.equal(backend.supports(nodeInfo(spec)), false, `${variant}: ${JSON.stringify(spec.attributes ?? {})} opset ${spec.opset}`);
  }
});
