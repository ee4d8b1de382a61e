import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgerunError } from '../../../src/core/errors.js';
import { Tensor } from '../../../src/core/tensor.js';
import { activationFromAttributes, applyActivation } from '../../../src/kernels/activation.js';
import { assertClose, float, floats, int, nodeInfo, randomTensor, runNode, runReference, str, type NodeSpec } from './harness.js';
import { backendsByVariant, hostVariants } from './variants.js';

const backends = await backendsByVariant();

/**
 * Sizes around the tiles: m below 4 (the row-by-row 1x24 / 1x8 path), equal, above and between multiples of 4
 * (the last block of four rows overlaps the one before); n around 8 and 24.
 */
const M_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 13];
const N_SIZES = [1, 7, 8, 9, 16, 19, 24, 25, 33];
const K_SIZES = [1, 2, 17];

function checkAll(spec: NodeSpec, label: string, expected = runReference(nodeInfo(spec), spec.inputs)): void {
  const info = nodeInfo(spec);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(info), `${variant} supports ${label}`);
    for (const place of ['host', 'arena'] as const) assertClose(runNode(backend, info, spec.inputs, place), expected, `${variant}/${place} ${label}`);
  }
}

test('the host runs the SIMD build and every variant it validates', () => {
  assert.ok(hostVariants().includes('simd'));
});

test('MatMul with constant B walks the tile edges in m, n and k', () => {
  let seed = 1;
  for (const m of M_SIZES) {
    for (const n of N_SIZES) {
      for (const k of K_SIZES) {
        const a = randomTensor([m, k], seed++);
        const b = randomTensor([k, n], seed++);
        checkAll({ opType: 'MatMul', inputs: [a, b], constants: [1] }, `MatMul ${m}x${k} * ${k}x${n}`);
      }
    }
  }
});

test('MatMul with a packed B wider than one cache block: every column block, full and partial panels', () => {
  // k = 600: a panel is 19,232 bytes, so a block of 256 KiB holds 13 panels (104 columns); n = 300 makes three blocks.
  let seed = 500;
  for (const m of [1, 2, 3, 6]) {
    const a = randomTensor([m, 600], seed++);
    const b = randomTensor([600, 300], seed++);
    checkAll({ opType: 'MatMul', inputs: [a, b], constants: [1] }, `MatMul ${m}x600 * 600x300`);
  }
});

test('MatMul: batched A on a constant B, batched B at run with broadcasting, 1-D A, dynamic shapes', () => {
  checkAll({ opType: 'MatMul', inputs: [randomTensor([2, 3, 5, 6], 1), randomTensor([6, 9], 2)], constants: [1] }, 'batched A');
  checkAll({ opType: 'MatMul', inputs: [randomTensor([6], 3), randomTensor([6, 9], 4)], constants: [1] }, '1-D A');
  checkAll({ opType: 'MatMul', inputs: [randomTensor([2, 3, 5, 6], 5), randomTensor([3, 6, 10], 6)] }, 'batched B broadcast');
  checkAll({ opType: 'MatMul', inputs: [randomTensor([1, 5, 6], 7), randomTensor([4, 6, 3], 8)] }, 'A broadcast over B batches');
  checkAll({ opType: 'MatMul', inputs: [randomTensor([7, 6], 9), randomTensor([6, 11], 10)], constants: [1], dynamicShapes: true }, 'dynamic shapes');
});

test('Gemm: transA, transB, alpha, beta, row and scalar C', () => {
  let seed = 100;
  for (const [m, n, k] of [[1, 1, 1], [5, 9, 7], [8, 16, 4], [13, 19, 17]] as const) {
    for (const transA of [0, 1]) {
      for (const transB of [0, 1]) {
        const a = randomTensor(transA ? [k, m] : [m, k], seed++);
        const b = randomTensor(transB ? [n, k] : [k, n], seed++);
        for (const c of [undefined, randomTensor([n], seed++), randomTensor([1, n], seed++), randomTensor([1], seed++)]) {
          const attributes = { transA: int(transA), transB: int(transB), alpha: float(0.75), beta: float(1.5) };
          const constants = c ? [1, 2] : [1];
          checkAll({ opType: 'Gemm', opset: 13, attributes, inputs: [a, b, c], constants }, `Gemm ${m}x${n}x${k} tA=${transA} tB=${transB} C=${c?.dims.join('x')}`);
        }
      }
    }
  }
  const runTimeB = { opType: 'Gemm', opset: 13, attributes: { transB: int(1) }, inputs: [randomTensor([6, 5], 1), randomTensor([10, 5], 2)] };
  checkAll(runTimeB, 'Gemm with B at run');
});

test('Gemm refuses what it cannot run: C of full shape or at run, alpha with B at run', () => {
  const backend = backends[0]![1];
  const a = randomTensor([4, 3], 1);
  const b = randomTensor([3, 5], 2);
  assert.equal(backend.supports(nodeInfo({ opType: 'Gemm', opset: 13, inputs: [a, b, randomTensor([4, 5], 3)], constants: [1, 2] })), false);
  assert.equal(backend.supports(nodeInfo({ opType: 'Gemm', opset: 13, inputs: [a, b, randomTensor([5], 3)], constants: [1] })), false);
  assert.equal(backend.supports(nodeInfo({ opType: 'Gemm', opset: 13, attributes: { alpha: float(2) }, inputs: [a, b] })), false);
  assert.equal(backend.supports(nodeInfo({ opType: 'MatMul', inputs: [new Tensor('float64', new Float64Array(12), [4, 3]), b], constants: [1] })), false);
});

/** A fused op's expected output: the plain op's reference, then the activation. */
function fusedExpected(plain: NodeSpec, activation: string, params: number[]): Tensor {
  const expected = runReference(nodeInfo(plain), plain.inputs);
  applyActivation(expected.data as Float32Array, 0, expected.data.length, activationFromAttributes(activation, params));
  return expected;
}

test('FusedGemm and FusedMatMul apply their activation, NaN and infinities pass as in the unfused ops', () => {
  // 9 rows: two blocks of four rows and an overlapping last block; 2 rows: the row-by-row path, 1x24 and 1x8 tiles.
  for (const [m, n, k] of [[9, 10, 7], [2, 30, 7]] as const) {
    const a = randomTensor([m, k], 1);
    const values = a.data as Float32Array;
    values[0] = Number.NaN;
    values[8] = Number.POSITIVE_INFINITY;
    values[m * k - 3] = Number.NEGATIVE_INFINITY;
    const b = randomTensor([k, n], 2);
    const bias = randomTensor([n], 3);
    for (const [activation, params] of [['', []], ['Relu', []], ['Clip', [0, 6]], ['Clip', [-0.25, 0.5]], ['LeakyRelu', [0.1]], ['Sigmoid', []], ['HardSwish', []]] as const) {
      const attributes = { activation: str(activation), activation_params: floats([...params]) };
      const label = `${m}x${n}x${k} ${activation} ${params.join(',')}`;
      const gemm = { opType: 'Gemm', opset: 13, inputs: [a, b, bias], constants: [1, 2] };
      checkAll({ ...gemm, domain: 'ai.edgerun', opType: 'FusedGemm', attributes }, `FusedGemm ${label}`, fusedExpected(gemm, activation, [...params]));
      const matmul = { opType: 'MatMul', inputs: [a, b], constants: [1] };
      checkAll({ ...matmul, domain: 'ai.edgerun', opType: 'FusedMatMul', attributes }, `FusedMatMul ${label}`, fusedExpected(matmul, activation, [...params]));
    }
  }
});

test('FusedMatMul adds its Bias (a row of n, one value, or a row with leading unit dims); a Bias at run is refused', () => {
  const a = randomTensor([2, 5, 7], 4);
  const b = randomTensor([7, 9], 5);
  for (const bias of [randomTensor([9], 6), randomTensor([1], 7), randomTensor([1, 1, 9], 8)]) {
    checkAll({ opType: 'FusedMatMul', domain: 'ai.edgerun', inputs: [a, b, bias], constants: [1, 2] }, `FusedMatMul bias [${bias.dims.join(', ')}]`);
  }
  const atRun = nodeInfo({ opType: 'FusedMatMul', domain: 'ai.edgerun', inputs: [a, b, randomTensor([9], 6)], constants: [1] });
  for (const [variant, backend] of backends) assert.equal(backend.supports(atRun), false, variant);
});

test('prepare refuses a node supports() turned down, with a typed error naming it', () => {
  const backend = backends[0]![1];
  const info = nodeInfo({ opType: 'Gemm', opset: 13, inputs: [randomTensor([4, 3], 1), randomTensor([3, 5], 2), randomTensor([4, 5], 3)], constants: [1, 2] });
  assert.throws(() => backend.prepare(info), (error: unknown) => error instanceof EdgerunError && error.code === 'UNSUPPORTED_OP' && /test_Gemm/.test(error.message));
});

test('MatMul with a constant B of leading dims 1 broadcasts them into the output, as numpy does', () => {
  const b = randomTensor([1, 9, 5], 8);
  checkAll({ opType: 'MatMul', inputs: [randomTensor([7, 9], 9), b], constants: [1] }, 'MatMul [7,9] x [1,9,5]');
  checkAll({ opType: 'MatMul', inputs: [randomTensor([9], 10), b], constants: [1] }, 'MatMul [9] x [1,9,5]');
});
