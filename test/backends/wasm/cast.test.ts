import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../../src/core/tensor.js';
import { int, nodeInfo, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();
const FLOAT = 1;

test('Cast of integer and bool data to float32 gives the reference kernel bits, int64 beyond 2^53 included', () => {
  const inputs: Tensor[] = [
    new Tensor('int64', BigInt64Array.from([0n, 1n, -1n, 16777217n, -(2n ** 62n) - 1n, 2n ** 60n + 2n ** 36n + 1n, 9007199254740993n]), [7]),
    new Tensor('int32', Int32Array.from([0, -2147483648, 2147483647, 16777217, -33554433, 5]), [2, 3]),
    new Tensor('uint32', Uint32Array.from([0, 4294967295, 16777217]), [3]),
    new Tensor('int16', Int16Array.from([-32768, 32767, 0]), [3]),
    new Tensor('uint16', Uint16Array.from([65535, 1]), [2]),
    new Tensor('int8', Int8Array.from([-128, 127, -1]), [1, 3]),
    new Tensor('uint8', Uint8Array.from([255, 0, 7]), [3]),
    new Tensor('bool', Uint8Array.from([1, 0, 1, 1]), [2, 2]),
    new Tensor('int64', new BigInt64Array(0), [0, 4]),
  ];
  for (const input of inputs) {
    const spec: NodeSpec = { opType: 'Cast', opset: 13, attributes: { to: int(FLOAT) }, inputs: [input] };
    const expected = runReference(nodeInfo(spec), spec.inputs);
    for (const [variant, backend] of backends) {
      assert.ok(backend.supports(nodeInfo(spec)), `${variant} takes Cast from ${input.type}`);
      // Host inputs only: the harness stages arena inputs as float32. The kernel writes its output in place either way.
      const actual = runNode(backend, nodeInfo(spec), spec.inputs);
      assert.deepEqual(actual.dims, expected.dims);
      assert.deepEqual(new Uint32Array((actual.data as Float32Array).slice().buffer), new Uint32Array((expected.data as Float32Array).slice().buffer), `${variant} ${input.type}`);
    }
  }
});

test('Cast to other types, and from float types, stays on the reference kernels', () => {
  for (const [from, to, dtype] of [['float32', 7, 'int64'], ['int64', 6, 'int32'], ['float64', FLOAT, 'float32']] as const) {
    const data = from === 'int64' ? new BigInt64Array(2) : from === 'float64' ? new Float64Array(2) : new Float32Array(2);
    const spec: NodeSpec = { opType: 'Cast', opset: 13, attributes: { to: int(to) }, inputs: [new Tensor(from, data, [2])] };
    const info = { ...nodeInfo(spec), outputTypes: [{ kind: 'tensor', dtype, shape: [2] }] } as ReturnType<typeof nodeInfo>;
    for (const [variant, backend] of backends) assert.equal(backend.supports(info), false, `${variant}: ${from} to ${dtype}`);
  }
});
