import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgerunError } from '../../../src/core/errors.js';
import { Tensor } from '../../../src/core/tensor.js';
import type { NodeInfo } from '../../../src/backends/backend.js';
import { assertClose, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

const int64 = (values: number[]) => new Tensor('int64', BigInt64Array.from(values, BigInt), [values.length]);

/** The node as the planner shows it: the output's shape fixed by inference. */
function withOutputShape(spec: NodeSpec, dims: readonly number[]): NodeInfo {
  return { ...nodeInfo(spec), outputTypes: [{ kind: 'tensor', dtype: 'float32', shape: [...dims] }] };
}

test('Reshape, Flatten, Squeeze and Unsqueeze with a planned output shape match the reference', () => {
  const x = randomTensor([1, 32, 4, 32], 1);
  const specs: NodeSpec[] = [
    { opType: 'Reshape', opset: 14, inputs: [x, int64([1, 32, 128])], constants: [1] },
    { opType: 'Reshape', opset: 14, inputs: [x, int64([0, -1])], constants: [1] },
    { opType: 'Flatten', opset: 13, inputs: [x] },
    { opType: 'Squeeze', opset: 13, inputs: [x, int64([0])], constants: [1] },
    { opType: 'Unsqueeze', opset: 11, attributes: { axes: ints([0, 5]) }, inputs: [x] },
  ];
  for (const spec of specs) {
    const expected = runReference(nodeInfo(spec), spec.inputs);
    const info = withOutputShape(spec, expected.dims);
    for (const [variant, backend] of backends) {
      assert.ok(backend.supports(info), `${variant} takes ${spec.opType}`);
      // The harness's arena holds float32 tensors only: nodes with an int64 shape or axes input run on host memory.
      const places = spec.inputs.every((input) => input?.type === 'float32') ? (['host', 'arena'] as const) : (['host'] as const);
      for (const place of places) {
        const actual = runNode(backend, info, spec.inputs, place);
        assert.deepEqual(actual.dims, expected.dims, spec.opType);
        assertClose(actual, expected, `${variant}/${place} ${spec.opType}`);
      }
    }
  }
});

test('A reshape whose input does not have the planned element count fails with the node named', () => {
  const spec: NodeSpec = { opType: 'Reshape', opset: 14, inputs: [randomTensor([2, 3], 2), int64([6])], constants: [1] };
  const info = withOutputShape(spec, [8]);
  for (const [, backend] of backends) {
    assert.throws(() => runNode(backend, info, spec.inputs), (error: unknown) => error instanceof EdgerunError && error.code === 'SHAPE_MISMATCH' && /planned/.test(error.message));
  }
  const unknownShape = nodeInfo(spec);
  for (const [, backend] of backends) assert.equal(backend.supports(unknownShape), false);
});
