import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockSwapOf } from '../../../src/backends/wasm/transpose.js';
import { assertClose, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

test('Transpose block swaps (layout moves among them) match the reference across the 4x4 tile edges', () => {
  let seed = 1;
  const shapes = [[1, 3, 5, 7], [2, 4, 4, 8], [1, 13, 3, 6], [2, 5, 9, 1], [1, 1, 1, 1], [3, 8, 2, 3]];
  const perms = [[0, 2, 3, 1], [0, 3, 1, 2], [0, 1, 3, 2], [2, 3, 0, 1], [3, 0, 1, 2], [0, 1, 2, 3]];
  for (const dims of shapes) {
    const x = randomTensor(dims, seed++);
    for (const perm of perms) {
      const spec: NodeSpec = { opType: 'Transpose', attributes: { perm: ints(perm) }, inputs: [x] };
      const expected = runReference(nodeInfo(spec), spec.inputs);
      for (const [variant, backend] of backends) {
        assert.ok(backend.supports(nodeInfo(spec)), `${variant} takes perm [${perm}]`);
        for (const place of ['host', 'arena'] as const) {
          const actual = runNode(backend, nodeInfo(spec), spec.inputs, place);
          assert.deepEqual(actual.dims, expected.dims);
          assertClose(actual, expected, `${variant}/${place} Transpose [${dims}] perm [${perm}]`);
        }
      }
    }
  }
  const matrix = randomTensor([6, 9], 99);
  const reversed: NodeSpec = { opType: 'Transpose', inputs: [matrix] };
  for (const [variant, backend] of backends) assertClose(runNode(backend, nodeInfo(reversed), reversed.inputs), runReference(nodeInfo(reversed), reversed.inputs), `${variant} Transpose 2-D default perm`);
});

test('Transpose perms that are not one block swap stay on the reference backend', () => {
  assert.equal(blockSwapOf([0, 2, 1, 3]), undefined);
  assert.equal(blockSwapOf([1, 0, 3, 2]), undefined);
  assert.equal(blockSwapOf([1, 0, 2, 3]), undefined);
  assert.deepEqual(blockSwapOf([0, 2, 3, 1]), { lead: 1, split: 2 });
  const spec: NodeSpec = { opType: 'Transpose', attributes: { perm: ints([0, 2, 1, 3]) }, inputs: [randomTensor([2, 3, 4, 5], 7)] };
  for (const [, backend] of backends) assert.equal(backend.supports(nodeInfo(spec)), false);
});
