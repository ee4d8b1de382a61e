import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ortOutputs } from '../support/ort-reference.js';
import { int, Random, singleNodeCase, type OpCase } from './harness.js';
import { generators } from './ops-ort-gaps.js';
import { EXPECTED_ORT_REFUSALS, judgeRefusal } from './ort-refusals.js';

/** A case onnxruntime refuses is judged, not dropped: it must be expected, and edgerun must do as expected. */
async function ortRefusal(testCase: OpCase): Promise<string> {
  try {
    await ortOutputs(testCase.model, testCase.feeds, { logSeverityLevel: 4 });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`onnxruntime-node ran ${testCase.label}`);
}

const gaps = generators[0]!;
const lrnEven = singleNodeCase('LRN even size=2 x[1,4,2,2]', {
  opType: 'LRN',
  opset: 13,
  inputs: [{ name: 'x', value: new Random(3).tensor('float32', [1, 4, 2, 2]) }],
  outputs: ['y'],
  attributes: { size: int(2) },
});

test('every case of the onnxruntime-gaps family is refused by onnxruntime and run by edgerun as expected', async () => {
  for (const testCase of gaps.cases(new Random(7), 9)) {
    const verdict = await judgeRefusal(gaps.op, testCase, await ortRefusal(testCase));
    assert.equal(verdict.problem, undefined, testCase.label);
    assert.equal(verdict.edgerun, 'runs');
    assert.ok(verdict.expected?.reason, testCase.label);
  }
});

test('a refusal no entry expects fails, naming what onnxruntime said', async () => {
  const verdict = await judgeRefusal(gaps.op, lrnEven, await ortRefusal(lrnEven), []);
  assert.match(verdict.problem ?? '', /onnxruntime refused it \(.*size_ % 2 == 1.*\) and no entry of EXPECTED_ORT_REFUSALS expects it; edgerun runs it/);
});

test('edgerun doing otherwise than the entry says fails', async () => {
  const expectRefusal = EXPECTED_ORT_REFUSALS.map((entry) => ({ ...entry, edgerun: 'refuses' as const }));
  const verdict = await judgeRefusal(gaps.op, lrnEven, await ortRefusal(lrnEven), expectRefusal);
  assert.match(verdict.problem ?? '', /edgerun runs it, expected: refuses/);
});

test('a case both runtimes refuse passes when edgerun refuses it with a typed error, as expected', async () => {
  const badConv = singleNodeCase('Conv w of rank 3 for a 2-D image', {
    opType: 'Conv',
    opset: 11,
    inputs: [{ name: 'x', value: new Random(5).tensor('float32', [1, 1, 4, 4]) }, { name: 'w', value: new Random(6).tensor('float32', [1, 1, 2]) }],
    outputs: ['y'],
  });
  const expected = [{ op: 'Conv', label: /^Conv w of rank 3/, reason: 'W must have the rank of X', edgerun: 'refuses' as const }];
  const verdict = await judgeRefusal('Conv', badConv, await ortRefusal(badConv), expected);
  assert.deepEqual(verdict, { edgerun: 'refuses', expected: expected[0] });
});
