import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { EdgerunError } from '../../src/core/errors.js';
import type { Value, ValueInfo } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { decodeValue } from '../../src/formats/onnx/data-proto.js';
import { InferenceSession } from '../../src/node.js';
import type { InferenceSession as Session } from '../../src/runtime/session.js';
import { compareValues } from '../support/compare.js';
import { checkInference, type InferenceCoverage } from '../support/inference.js';
import { sessionOptionsOf, type ConformanceCase } from './cases.js';
import { runRealCase } from './real-cases.js';

export type CaseStatus = 'pass' | 'fail' | 'skip';
export type FailReason = 'load_error' | 'unsupported_op' | 'unsupported_io_type' | 'run_error' | 'mismatch' | 'wrong_inference' | 'timeout' | 'crash' | 'harness_error';

export interface CaseResult {
  id: string;
  status: CaseStatus;
  reason?: FailReason;
  detail?: string;
  /** How much of the outputs' types static inference told before the run ('wrong' fails the case). */
  inference?: InferenceCoverage;
  ms: number;
}

export async function runCase(testCase: ConformanceCase): Promise<CaseResult> {
  const started = performance.now();
  const finish = (result: Omit<CaseResult, 'id' | 'ms'>): CaseResult => ({ id: testCase.id, ...result, ms: Math.round(performance.now() - started) });
  let session: Session;
  try {
    session = await InferenceSession.create(testCase.model, sessionOptionsOf(testCase));
  } catch (error) {
    const code = error instanceof EdgerunError ? error.code : undefined;
    return finish({ status: 'fail', reason: code === 'UNSUPPORTED_OP' ? 'unsupported_op' : 'load_error', detail: messageOf(error) });
  }
  try {
    if (testCase.kind === 'real') {
      const problem = await runRealCase(session, testCase.dataDir);
      return finish(problem ? { status: 'fail', reason: 'mismatch', detail: problem } : { status: 'pass' });
    }
    const graph = session.model.graph;
    const fed = graph.inputs.filter((info) => !graph.initializers.has(info.name));
    const feeds = testCase.kind === 'light' ? lightInputs(fed) : readInputs(fed, testCase.dataDir);
    let outputs: Record<string, Value>;
    try {
      outputs = await session.run(feeds);
    } catch (error) {
      return finish({ status: 'fail', reason: 'run_error', detail: messageOf(error) });
    }
    const expectedFiles = testCase.kind === 'light' ? [testCase.dataDir] : outputFiles(testCase.dataDir);
    for (const [index, file] of expectedFiles.entries()) {
      const info = graph.outputs[index];
      if (!info) return finish({ status: 'fail', reason: 'harness_error', detail: `no graph output #${index} for ${file}` });
      const expected = decodeValue(readFileSync(file), info.type);
      const problem = compareValues(outputs[info.name], expected, undefined, `output '${info.name}'`);
      if (problem) return finish({ status: 'fail', reason: 'mismatch', detail: problem });
    }
    const inference = checkInference(session, outputs);
    if (inference.problem) return finish({ status: 'fail', reason: 'wrong_inference', inference: inference.coverage, detail: inference.problem });
    return finish({ status: 'pass', inference: inference.coverage });
  } catch (error) {
    return finish({ status: 'fail', reason: 'harness_error', detail: messageOf(error) });
  } finally {
    // Frees the session's wasm memory and stops its worker threads before the next case.
    await session.release();
  }
}

function messageOf(error: unknown): string {
  if (error instanceof EdgerunError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** input_K.pb is the K-th graph input that is not an initializer; the model's declared type decides the proto. */
export function readInputs(fed: ValueInfo[], dataDir: string): Record<string, Value> {
  const feeds: Record<string, Value> = {};
  fed.forEach((info, index) => {
    const file = `${dataDir}/input_${index}.pb`;
    if (existsSync(file)) feeds[info.name] = decodeValue(readFileSync(file), info.type);
  });
  return feeds;
}

function outputFiles(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => /^output_\d+\.pb$/.test(name))
    .sort((a, b) => Number(a.slice(7, -3)) - Number(b.slice(7, -3)))
    .map((name) => `${dataDir}/${name}`);
}

/** The onnx runner's dummy inputs for the light models: arange(n).reshape(shape) / n, symbolic dims as 1. */
export function lightInputs(fed: ValueInfo[]): Record<string, Value> {
  const feeds: Record<string, Value> = {};
  for (const info of fed) {
    if (info.type?.kind !== 'tensor' || info.type.dtype !== 'float32') continue;
    const dims = (info.type.shape ?? []).map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1));
    const count = dims.reduce((a, b) => a * b, 1);
    feeds[info.name] = new Tensor('float32', Float32Array.from({ length: count }, (_, i) => i / count), dims);
  }
  return feeds;
}
