import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgerunError } from '../../../src/core/errors.js';
import { Tensor } from '../../../src/core/tensor.js';
import { assertClose, int, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

const indexTensor = (type: 'int64' | 'int32', values: number[], dims: number[]) =>
  new Tensor(type, type === 'int64' ? BigInt64Array.from(values, BigInt) : Int32Array.from(values), dims);

test('Gather on every axis (an embedding lookup on axis 0, a time step on axis 1) matches the reference for int64 and int32 indices', () => {
  const table = randomTensor([10, 3, 5], 1);
  for (const axis of [0, 1, 2, -1]) {
    const size = table.dims.at(axis)!;
    for (const type of ['int64', 'int32'] as const) {
      for (const [values, dims] of [[[0, size - 1, -1, 2, 2, -size], [2, 3]], [[size - 1], []], [[], [0]]] as [number[], number[]][]) {
        for (const constants of [[0], []]) {
          const spec: NodeSpec = { opType: 'Gather', opset: 13, attributes: { axis: int(axis) }, inputs: [table, indexTensor(type, values, dims)], constants };
          const expected = runReference(nodeInfo(spec), spec.inputs);
          for (const [variant, backend] of backends) {
            assert.ok(backend.supports(nodeInfo(spec)), `${variant} takes Gather on axis ${axis}`);
            const actual = runNode(backend, nodeInfo(spec), spec.inputs);
            assert.deepEqual(actual.dims, expected.dims);
            assertClose(actual, expected, `${variant} Gather axis ${axis} ${type} [${values}]`);
          }
        }
      }
    }
  }
});

test('Gather with an index out of range fails as the reference does', () => {
  const table = randomTensor([4, 2], 2);
  for (const index of [4, -5]) {
    const spec: NodeSpec = { opType: 'Gather', opset: 13, inputs: [table, indexTensor('int64', [1, index], [2])] };
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error as EdgerunError;
      }
      return assert.fail('no error');
    };
    const expected = failure(() => runReference(nodeInfo(spec), spec.inputs));
    for (const [variant, backend] of backends) {
      const actual = failure(() => runNode(backend, nodeInfo(spec), spec.inputs));
      assert.ok(actual instanceof EdgerunError, variant);
      assert.equal(actual.code, expected.code);
      assert.equal(actual.message, expected.message);
    }
  }
});
