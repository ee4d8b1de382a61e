import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession } from '../../src/node.js';
import { compareValues, DEFAULT_TOLERANCE } from '../support/compare.js';
import { readGoldenSet, tensorsOf, type GoldenCase } from './golden-set.js';

/**
 * The committed conformance set (scripts/make-golden-set.ts): every kernel family against onnxruntime-node's
 * outputs, with no ../shared needed, so that `npm test` alone catches a broken kernel.
 */
const set = readGoldenSet();

/** The families the set must hold: a regenerated set that lost one fails here rather than thinning silently. */
const REQUIRED_FAMILIES = [
  'Add (broadcast)', 'Mul', 'Div', 'Pow', 'Where', 'Equal', 'Sigmoid', 'Tanh', 'Gelu', 'Relu', 'Exp', 'Clip', 'Cast',
  'Softmax', 'LogSoftmax', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'MatMul', 'Gemm',
  'Einsum', 'Gather', 'GatherElements', 'GatherND', 'ScatterND', 'TopK', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ArgMax',
  'Reshape', 'Transpose', 'Slice', 'Pad', 'Concat', 'Split', 'Expand', 'Resize', 'BatchNormalization',
  'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'RNN', 'GRU', 'LSTM', 'QuantizeLinear',
  'DequantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'QLinearMatMul', 'ConvInteger', 'QLinearConv', 'If',
  'Loop', 'Scan',
];

async function problemOf(testCase: GoldenCase): Promise<string | undefined> {
  try {
    const session = await InferenceSession.create(Buffer.from(testCase.model, 'base64'));
    const actual = await session.run(tensorsOf(testCase.inputs));
    for (const [name, expected] of Object.entries(tensorsOf(testCase.outputs))) {
      const problem = compareValues(actual[name], expected, testCase.tolerance ?? DEFAULT_TOLERANCE, `output '${name}'`);
      if (problem) return problem;
    }
    return undefined;
  } catch (error) {
    return `edgerun failed: ${(error as Error).message}`;
  }
}

test('the committed set holds every required op family', () => {
  const families = new Set(set.cases.map((c) => c.family));
  assert.deepEqual(REQUIRED_FAMILIES.filter((family) => !families.has(family)), []);
});

const families = [...new Set(set.cases.map((c) => c.family))];
for (const family of families) {
  test(`${family} matches onnxruntime-node on the committed cases`, async () => {
    const problems: string[] = [];
    for (const testCase of set.cases.filter((c) => c.family === family)) {
      const problem = await problemOf(testCase);
      if (problem) problems.push(`${testCase.label}: ${problem}`);
    }
    assert.deepEqual(problems, []);
  });
}
