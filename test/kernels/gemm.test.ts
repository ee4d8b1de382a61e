import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activate, applyActivation, type Activation } from '../../src/kernels/activation.js';
import { gemm, rowMajor, type Matrix } from '../../src/kernels/gemm.js';
import { matmul, planMatMul } from '../../src/kernels/matmul.js';
import { assertClose, randomFloats, scalarActivation } from './oracle.js';

/**
 * gemm against the triple loop: sizes below, at, above and across its 4×4 blocks and its column panels
 * (a panel is 2^15 / K columns wide), operands read transposed in place, offsets and output row strides,
 * every epilogue (alpha, broadcast bias, beta, activation), NaN and Inf.
 */

const fail = (code: string, detail: string): never => {
  throw new Error(`${code}: ${detail}`);
};

function element(matrix: Matrix, row: number, column: number): number {
  return matrix.data[matrix.offset + row * matrix.rowStride + column * matrix.colStride]!;
}

/** act(alpha·Σk A[m,k]·B[k,n] + beta·bias[m,n]) with plain loops, in doubles. */
function naiveGemm(M: number, N: number, K: number, a: Matrix, b: Matrix, alpha: number, bias: Matrix | undefined, beta: number, activation: Activation): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += element(a, m, k) * element(b, k, n);
      out[m * N + n] = scalarActivation(alpha * sum + (bias && beta !== 0 ? beta * element(bias, m, n) : 0), activation);
    }
  }
  return out;
}

const SIZES: [number, number, number][] = [
  [1, 1, 1], [3, 3, 3], [4, 4, 4], [5, 7, 3], [8, 8, 16], [9, 13, 17], [4, 5, 0],
  // K = 2000: column panels of 16, so N = 37 is two full panels and a partial one.
  [5, 37, 2000], [12, 33, 1024],
];

for (const [M, N, K] of SIZES) {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    test(`gemm ${M}x${N}x${K}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, () => {
      // Operands sit at an offset inside larger buffers; the output has a row stride wider than N.
      const aData = randomFloats([M * K + 3], M + K);
      const bData = randomFloats([K * N + 5], N + 2 * K);
      const a = rowMajor(aData, 3, transA ? M : K, transA);
      const b = rowMajor(bData, 5, transB ? K : N, transB);
      const ldc = N + 2;
      const out = new Float32Array(M * ldc + 1).fill(99);
      gemm(M, N, K, a, b, out, 1, ldc);
      const expected = naiveGemm(M, N, K, a, b, 1, undefined, 1, { kind: 'none' });
      for (let m = 0; m < M; m++) assertClose(out.subarray(1 + m * ldc, 1 + m * ldc + N), expected.subarray(m * N, (m + 1) * N), `row ${m}`);
      // Padding between rows is not written.
      for (let m = 0; m < M; m++) assert.deepEqual([...out.subarray(1 + m * ldc + N, 1 + (m + 1) * ldc)], [99, 99]);
      assert.equal(out[0], 99);
    });
  }
}

test('gemm epilogue: alpha, beta and a bias broadcast per row, per column, as a scalar and in full', () => {
  const [M, N, K] = [6, 7, 5];
  const a = rowMajor(randomFloats([M * K], 1), 0, K);
  const b = rowMajor(randomFloats([K * N], 2), 0, N);
  const values = randomFloats([M * N], 3);
  const biases: [string, Matrix][] = [
    ['per row', { data: values, offset: 0, rowStride: 1, colStride: 0 }],
    ['per column', { data: values, offset: 2, rowStride: 0, colStride: 1 }],
    ['scalar', { data: values, offset: 4, rowStride: 0, colStride: 0 }],
    ['full', rowMajor(values, 0, N)],
  ];
  const activations: Activation[] = [{ kind: 'none' }, { kind: 'Relu' }, { kind: 'Clip', min: -0.5, max: 0.5 }, { kind: 'LeakyRelu', alpha: 0.2 }, { kind: 'HardSigmoid', alpha: 0.3, beta: 0.4 }, { kind: 'Sigmoid' }, { kind: 'Tanh' }];
  for (const [name, bias] of biases) {
    for (const activation of activations) {
      for (const [alpha, beta] of [[1, 1], [0.5, -2], [2, 0]]) {
        const out = new Float32Array(M * N);
        gemm(M, N, K, a, b, out, 0, N, { alpha, beta, bias, activation });
        assertClose(out, naiveGemm(M, N, K, a, b, alpha!, bias, beta!, activation), `${name} bias, ${activation.kind}, alpha ${alpha} beta ${beta}`);
      }
    }
  }
});

test('gemm: NaN and Inf propagate as in the plain loop', () => {
  const [M, N, K] = [5, 6, 7];
  const aData = randomFloats([M * K], 8);
  const bData = randomFloats([K * N], 9);
  aData[3] = NaN;
  bData[10] = Infinity;
  bData[K * N - 1] = -Infinity;
  const a = rowMajor(aData, 0, K);
  const b = rowMajor(bData, 0, N);
  for (const activation of [{ kind: 'none' }, { kind: 'Relu' }, { kind: 'Clip', min: 0, max: 6 }] as Activation[]) {
    const out = new Float32Array(M * N);
    gemm(M, N, K, a, b, out, 0, N, { activation });
    const expected = naiveGemm(M, N, K, a, b, 1, undefined, 1, activation);
    assert.ok(expected.some(Number.isNaN), 'the case must produce NaN');
    assertClose(out, expected, `NaN/Inf, ${activation.kind}`);
  }
});

test('matmul: numpy rank rules and broadcast batches against per-batch loops', () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 4], [4, 5], [3, 5]],
    [[4], [4, 5], [5]],
    [[3, 4], [4], [3]],
    [[2, 1, 3, 4], [5, 4, 6], [2, 5, 3, 6]],
    [[1, 3, 4], [2, 4, 2], [2, 3, 2]],
  ];
  for (const [aDims, bDims, outDims] of cases) {
    const aValues = randomFloats(aDims, aDims.length);
    const bValues = randomFloats(bDims, bDims.length + 10);
    const { dims, values } = matmul(aValues, aDims, bValues, bDims, fail);
    assert.deepEqual(dims, outDims);
    const plan = planMatMul(aDims, bDims, fail);
    const expected = new Float64Array(values.length);
    for (let batch = 0; batch < plan.batches; batch++) {
      const a = rowMajor(aValues, plan.aBatch[batch]! * plan.M * plan.K, plan.K);
      const b = rowMajor(bValues, plan.bBatch[batch]! * plan.K * plan.N, plan.N);
      expected.set(naiveGemm(plan.M, plan.N, plan.K, a, b, 1, undefined, 1, { kind: 'none' }), batch * plan.M * plan.N);
    }
    assertClose(values, expected, `[${aDims}] x [${bDims}]`);
  }
  assert.throws(() => planMatMul([2, 3], [4, 5], fail), /SHAPE_MISMATCH: MatMul inner dimensions differ/);
  assert.throws(() => planMatMul([2, 2, 3], [3, 3, 5], fail), /cannot be broadcast/);
});

test('activate: one pass from source to target; Clip with min > max gives max; NaN passes through', () => {
  const source = Float32Array.of(-3, -0.5, 0, 0.5, 3, NaN, Infinity, -Infinity, -0, 1.25, -1.25, 3e38, -3e38, 1e-40);
  const activations: Activation[] = [
    { kind: 'Relu' }, { kind: 'Clip', min: -1, max: 1 }, { kind: 'Clip', min: 2, max: 1 }, { kind: 'Clip', min: 0.5, max: 1.5 },
    { kind: 'Clip', min: 0, max: Infinity }, { kind: 'Clip', min: -Infinity, max: -1 }, { kind: 'HardSwish' },
    { kind: 'LeakyRelu', alpha: 0.1 }, { kind: 'HardSigmoid', alpha: 0.2, beta: 0.5 }, { kind: 'Tanh' }, { kind: 'Sigmoid' }, { kind: 'none' },
  ];
  for (const activation of activations) {
    const target = new Float32Array(source.length);
    activate(source, target, 0, source.length, activation);
    const expected = Array.from(source, (x) => Math.fround(scalarActivation(x, activation)));
    assertClose(target, expected, activation.kind);
    const inPlace = Float32Array.from(source);
    applyActivation(inPlace, 2, 6, activation);
    assertClose(inPlace, [...source.subarray(0, 2), ...expected.slice(2, 6), ...source.subarray(6)], `${activation.kind} in place on [2, 6)`);
  }
});
