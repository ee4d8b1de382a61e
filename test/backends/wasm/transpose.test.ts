import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockSwapOf, reduceTranspose } from '../../../src/backends/wasm/transpose.js';
import { assertClose, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

function assertTransposeMatches(dims: number[], perm: number[] | undefined, seed: number): void {
  const x = randomTensor(dims, seed);
  const spec: NodeSpec = { opType: 'Transpose', attributes: perm ? { perm: ints(perm) } : {}, inputs: [x] };
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

test('Transpose block swaps (layout moves among them) match the reference across the 4x4 tile edges', () => {
  let seed = 1;
  // [n, 3, h, w] to NHWC is an RGB image: three planes interleaved by shuffles, 4 pixels at a time, then the edge.
  const shapes = [[1, 3, 5, 7], [2, 4, 4, 8], [1, 13, 3, 6], [2, 5, 9, 1], [1, 1, 1, 1], [3, 8, 2, 3], [2, 3, 9, 9], [1, 3, 4, 4]];
  const perms = [[0, 2, 3, 1], [0, 3, 1, 2], [0, 1, 3, 2], [2, 3, 0, 1], [3, 0, 1, 2], [0, 1, 2, 3]];
  for (const dims of shapes) for (const perm of perms) assertTransposeMatches(dims, perm, seed++);
  assertTransposeMatches([6, 9], undefined, 99);
});

/** Every permutation of [0 .. rank-1]. */
function permutations(rank: number): number[][] {
  if (rank === 0) return [[]];
  return permutations(rank - 1).flatMap((perm) => Array.from({ length: rank }, (_, at) => [...perm.slice(0, at), rank - 1, ...perm.slice(at)]));
}

test('Transpose of any perm up to 6-D matches the reference (attention [0, 2, 1, 3] among them)', () => {
  let seed = 200;
  for (const dims of [[2, 3, 4, 5], [1, 32, 4, 32], [3, 1, 5, 2]]) for (const perm of permutations(4)) assertTransposeMatches(dims, perm, seed++);
  for (const perm of permutations(3)) assertTransposeMatches([5, 7, 3], perm, seed++);
  for (const perm of [[4, 2, 0, 3, 1], [1, 0, 2, 4, 3], [0, 3, 4, 1, 2]]) assertTransposeMatches([2, 3, 1, 4, 5], perm, seed++);
  for (const perm of [[5, 4, 3, 2, 1, 0], [0, 2, 4, 1, 3, 5], [1, 0, 3, 2, 5, 4]]) assertTransposeMatches([2, 3, 2, 3, 2, 5], perm, seed++);
  assertTransposeMatches([], [], seed++);
  assertTransposeMatches([4, 0, 3], [2, 0, 1], seed++);
});

test('A transpose is reduced to fewer axes before it runs', () => {
  // Attention's head split: the unit batch axis goes, the head size stays innermost.
  assert.deepEqual(reduceTranspose([1, 32, 4, 32], [0, 2, 1, 3]), { dims: [32, 4, 32], perm: [1, 0, 2] });
  // Keys transposed for Q K^T: heads and head size travel together, a 2-D transpose remains.
  assert.deepEqual(reduceTranspose([1, 32, 4, 32], [0, 2, 3, 1]), { dims: [32, 128], perm: [1, 0] });
  assert.deepEqual(reduceTranspose([2, 3, 4], [0, 1, 2]), { dims: [24], perm: [0] });
  assert.deepEqual(blockSwapOf([1, 0]), { lead: 0, split: 1 });
  assert.equal(blockSwapOf([1, 0, 2]), undefined);
});
