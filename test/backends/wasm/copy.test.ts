import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgerunError } from '../../../src/core/errors.js';
import { Tensor } from '../../../src/core/tensor.js';
import { int, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

test('Concat matches the reference on every axis, with empty and repeated inputs, in the arena and outside it', () => {
  let seed = 1;
  const cases: { dims: number[][]; axis: number }[] = [
    { dims: [[1, 5, 5, 16], [1, 5, 5, 48]], axis: 3 },
    { dims: [[1, 5, 5, 16], [1, 5, 5, 48]], axis: -1 },
    { dims: [[2, 3, 4], [2, 1, 4], [2, 5, 4]], axis: 1 },
    { dims: [[3, 7], [4, 7]], axis: 0 },
    { dims: [[2, 0, 3], [2, 4, 3]], axis: 1 },
    { dims: [[9], [1], [6]], axis: 0 },
    { dims: [[1, 2, 3, 1], [1, 2, 3, 5]], axis: 3 },
  ];
  for (const { dims, axis } of cases) {
    const inputs = dims.map((shape) => randomTensor(shape, seed++));
    for (const spec of [
      { opType: 'Concat', attributes: { axis: int(axis) }, inputs },
      { opType: 'Concat', attributes: { axis: int(axis) }, inputs: [inputs[0]!, inputs[0]!] },
    ] satisfies NodeSpec[]) {
      const expected = runReference(nodeInfo(spec), spec.inputs);
      for (const [variant, backend] of backends) {
        assert.ok(backend.supports(nodeInfo(spec)), `${variant} takes Concat`);
        for (const place of ['host', 'arena'] as const) {
          const actual = runNode(backend, nodeInfo(spec), spec.inputs, place);
          assert.deepEqual(actual.dims, expected.dims);
          // A copy: bit-identical, NaN payloads included.
          assert.deepEqual(new Uint32Array((actual.data as Float32Array).slice().buffer), new Uint32Array((expected.data as Float32Array).slice().buffer), `${variant}/${place} Concat ${JSON.stringify(dims)} axis ${axis}`);
        }
      }
    }
  }
});

test('Concat refuses inputs whose other dims differ, naming the input and the dims it needs', () => {
  const spec: NodeSpec = { opType: 'Concat', attributes: { axis: int(1) }, inputs: [randomTensor([2, 3, 4], 1), randomTensor([2, 3, 5], 2)] };
  const nan = new Tensor('float32', Float32Array.from([NaN, Infinity, -Infinity]), [3]);
  for (const [variant, backend] of backends) {
    assert.throws(
      () => runNode(backend, nodeInfo(spec), spec.inputs),
      (error: unknown) => error instanceof EdgerunError && error.code === 'SHAPE_MISMATCH' && /input #1 has dims \[2, 3, 5\].*\[2, \*, 4\]/.test(error.message),
      variant,
    );
    const special: NodeSpec = { opType: 'Concat', attributes: { axis: int(0) }, inputs: [nan, nan] };
    assert.deepEqual([...(runNode(backend, nodeInfo(special), special.inputs).data as Float32Array)], [NaN, Infinity, -Infinity, NaN, Infinity, -Infinity]);
  }
});
