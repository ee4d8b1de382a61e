import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../../src/core/tensor.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import { accuracyGrid, worstUlps } from './accuracy.js';
import { assertClose, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';
import { backendsByVariant } from './variants.js';

const backends = await backendsByVariant();

/** The reference kernel's Erf in double precision (a float64 node) at every point of `x`. */
function erfExact(x: Float32Array): (v: number) => number {
  const input = new Tensor('float64', Float64Array.from(x), [x.length]);
  const info = { ...nodeInfo({ opType: 'Erf', opset: 13, inputs: [input] }), outputTypes: [{ kind: 'tensor' as const, dtype: 'float64' as const }] };
  let output: Tensor | undefined;
  referenceBackend.prepare(info).run({
    inputs: [input],
    output: (_index, dtype, dims) => (output = new Tensor(dtype, new Float64Array(x.length), dims)),
    set: (_index, value) => (output = value as Tensor),
    runGraph: () => {
      throw new Error('no subgraphs here');
    },
  });
  const values = new Map(Array.from(x, (v, i) => [v, (output!.data as Float64Array)[i]!]));
  return (v) => values.get(v)!;
}

/** Values across [-scale, scale) with NaN, infinities and zeros among them. */
function specials(count: number, seed: number, scale: number): Tensor {
  const tensor = randomTensor([count], seed);
  const values = tensor.data as Float32Array;
  for (let i = 0; i < count; i++) values[i]! *= scale;
  const marks = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-7, -3e-3, 0.124, -0.126, 88.5, -88.5, 1e4];
  marks.forEach((value, i) => {
    if (i * 3 < count) values[i * 3] = value;
  });
  return tensor;
}

test('Tanh, Erf and Sqrt match the reference across vector edges, with NaN and infinities', () => {
  let seed = 1;
  for (const opType of ['Tanh', 'Erf', 'Sqrt']) {
    for (const count of [1, 3, 4, 5, 8, 17, 64, 1027]) {
      for (const scale of [0.2, 6, 30]) {
        const spec: NodeSpec = { opType, opset: 13, inputs: [specials(count, seed++, scale)] };
        const info = nodeInfo(spec);
        const expected = runReference(info, spec.inputs);
        for (const [variant, backend] of backends) {
          assert.ok(backend.supports(info), `${variant} supports ${opType}`);
          for (const place of ['host', 'arena'] as const) assertClose(runNode(backend, info, spec.inputs, place), expected, `${variant}/${place} ${opType} of ${count} (scale ${scale})`);
        }
      }
    }
  }
});

test('Tanh and Erf stay within a few float32 ulps of the exact functions', () => {
  const x = accuracyGrid(20000);
  // Both are rational functions evaluated in float32 (a division instead of an exp: Erf 3x faster, an LSTM
  // cell's two tanh 10 % of its step), up to 6 ulps (Tanh: 6.2 at worst, near its saturation at 9).
  const exact: Record<string, [(v: number) => number, number]> = { Tanh: [Math.tanh, 7], Erf: [erfExact(x), 6] };
  for (const [opType, [fn, bound]] of Object.entries(exact)) {
    const spec: NodeSpec = { opType, opset: 13, inputs: [new Tensor('float32', x, [x.length])] };
    const got = runNode(backends[0]![1], nodeInfo(spec), spec.inputs).data as Float32Array;
    const error = worstUlps(x, got, fn);
    assert.ok(error <= bound, `${opType}: worst error ${error.toFixed(2)} ulp`);
  }
});

test('Pow by a constant 2 squares exactly, NaN and infinities included; other exponents stay on the reference', () => {
  let seed = 100;
  for (const count of [1, 3, 4, 5, 17, 1027]) {
    const spec: NodeSpec = { opType: 'Pow', opset: 15, inputs: [specials(count, seed++, 30), new Tensor('float32', Float32Array.of(2), [])], constants: [1] };
    const info = nodeInfo(spec);
    const expected = runReference(info, spec.inputs);
    for (const [variant, backend] of backends) {
      assert.ok(backend.supports(info), `${variant} supports Pow by 2`);
      for (const place of ['host', 'arena'] as const) assert.deepEqual(Array.from(runNode(backend, info, spec.inputs, place).data as Float32Array), Array.from(expected.data as Float32Array), `${variant}/${place} Pow of ${count}`);
    }
  }
  const x = specials(5, 1, 1);
  for (const spec of [
    { opType: 'Pow', opset: 15, inputs: [x, new Tensor('float32', Float32Array.of(3), [])], constants: [1] },
    { opType: 'Pow', opset: 15, inputs: [x, new Tensor('float32', Float32Array.of(2), [])] },
  ]) {
    for (const [variant, backend] of backends) assert.equal(backend.supports(nodeInfo(spec)), false, `${variant}: Pow ${JSON.stringify(spec.constants)}`);
  }
});
