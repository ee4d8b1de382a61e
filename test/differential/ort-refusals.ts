import { EdgerunError } from '../../src/core/errors.js';
import type { Value } from '../../src/core/graph.js';
import { InferenceSession, type SessionOptions } from '../../src/node.js';
import { checkInference } from '../support/inference.js';
import type { OpCase } from './harness.js';

/**
 * The cases onnxruntime-node refuses are not compared, but not dropped either: each must be one this list
 * expects (with the reason), and edgerun must do what the entry says: run it, with every output present and
 * of the statically inferred type and shape, or refuse it with a typed EdgerunError.
 */
export interface ExpectedRefusal {
  /** The generator family and the labels of its cases this entry covers. */
  op: string;
  label: RegExp;
  /** Why onnxruntime refuses the case. */
  reason: string;
  edgerun: 'runs' | 'refuses';
}

export const EXPECTED_ORT_REFUSALS: ExpectedRefusal[] = [
  { op: 'onnxruntime gaps', label: /^LRN even size/, reason: 'ORT requires an odd size; the spec allows an even one', edgerun: 'runs' },
  { op: 'onnxruntime gaps', label: /^LRN rank [35]/, reason: 'ORT takes [N, C, H, W] only; the spec allows any number of spatial axes', edgerun: 'runs' },
  { op: 'onnxruntime gaps', label: /^(MaxPool|AveragePool) pad \d+ >= kernel/, reason: 'ORT requires each pad smaller than the kernel; the spec does not', edgerun: 'runs' },
];

export interface RefusalVerdict {
  edgerun: 'runs' | 'refuses';
  /** The entry that expects the refusal, when one does. */
  expected?: ExpectedRefusal;
  /** Why the case fails: no entry expects it, edgerun did otherwise, crashed, or ran with ill-typed outputs. */
  problem?: string;
}

export async function judgeRefusal(
  op: string,
  testCase: OpCase,
  ortMessage: string,
  expectations = EXPECTED_ORT_REFUSALS,
  sessionOptions: SessionOptions = {},
): Promise<RefusalVerdict> {
  const expected = expectations.find((entry) => entry.op === op && entry.label.test(testCase.label));
  const ort = `onnxruntime refused it (${ortMessage.split('\n')[0]!.slice(0, 200)})`;
  let verdict: RefusalVerdict;
  try {
    const session = await InferenceSession.create(testCase.model, sessionOptions);
    const outputs: Record<string, Value> = await session.run(testCase.feeds);
    const missing = session.outputNames.filter((name) => outputs[name] === undefined);
    const typing = checkInference(session, outputs).problem;
    verdict = { edgerun: 'runs', ...(missing.length > 0 || typing ? { problem: `edgerun ran it, but ${typing ?? `left out ${missing.join(', ')}`}` } : {}) };
    await session.release();
  } catch (error) {
    if (!(error instanceof EdgerunError)) return { edgerun: 'refuses', problem: `${ort}; edgerun crashed: ${String(error)}` };
    verdict = { edgerun: 'refuses' };
  }
  if (verdict.problem) return { ...verdict, problem: `${ort}; ${verdict.problem}` };
  if (!expected) return { ...verdict, problem: `${ort} and no entry of EXPECTED_ORT_REFUSALS expects it; edgerun ${verdict.edgerun} it` };
  if (expected.edgerun !== verdict.edgerun) return { ...verdict, expected, problem: `${ort}; edgerun ${verdict.edgerun} it, expected: ${expected.edgerun}` };
  return { ...verdict, expected };
}
