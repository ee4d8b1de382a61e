import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend } from '../../../src/backends/wasm/index.js';
import { share } from '../../../src/backends/wasm/tasks.js';
import { assertClose, int, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';

test('shares cover every item once, boundaries aligned', () => {
  for (const [total, count, align] of [[13, 2, 4], [3, 2, 4], [100, 3, 1], [0, 2, 4], [7, 4, 1]] as const) {
    const parts = Array.from({ length: count }, (_, index) => share(total, count, index, align));
    assert.equal(parts[0]![0], 0);
    assert.equal(parts[count - 1]![1], total);
    parts.forEach(([begin, end], i) => {
      assert.ok(begin <= end);
      if (i > 0) assert.equal(begin, parts[i - 1]![1]);
      if (end < total) assert.equal(end % align, 0);
    });
  }
});

test('two threads on shared memory give the reference results for GEMM and depthwise layers', async () => {
  const backend = await createWasmBackend({ variant: 'threads' });
  await backend.init!({ threads: 2 });
  const cases: [string, NodeSpec][] = [
    ['MatMul 203x67x45 (split by rows)', { opType: 'MatMul', inputs: [randomTensor([203, 45], 1), randomTensor([45, 67], 2)], constants: [1] }],
    ['MatMul 7x203x150 (split by columns)', { opType: 'MatMul', inputs: [randomTensor([7, 150], 11), randomTensor([150, 203], 12)], constants: [1] }],
    ['Gemm 1x500x300 (split by columns)', { opType: 'Gemm', opset: 13, inputs: [randomTensor([1, 300], 13), randomTensor([300, 500], 14), randomTensor([500], 15)], constants: [1, 2] }],
    ['pointwise conv', { opType: 'Conv', opset: 11, inputs: [randomTensor([1, 24, 29, 31], 3), randomTensor([40, 24, 1, 1], 4), randomTensor([40], 5)], constants: [1, 2] }],
    ['depthwise stride 2', {
      opType: 'Conv', opset: 11, attributes: { group: int(48), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) },
      inputs: [randomTensor([1, 48, 37, 41], 6), randomTensor([48, 1, 3, 3], 7), randomTensor([48], 8)], constants: [1, 2],
    }],
    ['depthwise stride 1', {
      opType: 'Conv', opset: 11, attributes: { group: int(32), pads: ints([1, 1, 1, 1]) },
      inputs: [randomTensor([1, 32, 33, 30], 9), randomTensor([32, 1, 3, 3], 10)], constants: [1],
    }],
  ];
  for (const [label, spec] of cases) {
    const expected = runReference(nodeInfo(spec), spec.inputs);
    for (const place of ['host', 'arena'] as const) assertClose(runNode(backend, nodeInfo(spec), spec.inputs, place), expected, `${label} ${place}`);
  }
  backend.dispose!();
});

test('asking for threads without shared memory runs on one thread and says why, once', async () => {
  const warnings: string[] = [];
  const backend = await createWasmBackend({ variant: 'simd', warn: (message) => warnings.push(message) });
  await backend.init!({ threads: 2 });
  await backend.init!({ threads: 2 });
  assert.deepEqual(warnings, ['edgerun: the wasm backend runs on one thread: the simd build in use has no shared memory']);
  const spec: NodeSpec = { opType: 'MatMul', inputs: [randomTensor([64, 64], 1), randomTensor([64, 64], 2)], constants: [1] };
  assertClose(runNode(backend, nodeInfo(spec), spec.inputs), runReference(nodeInfo(spec), spec.inputs), 'one-thread MatMul');
  backend.dispose!();
});
