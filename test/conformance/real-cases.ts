import { readFileSync } from 'node:fs';
import type { Value } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { readNpy } from '../../src/formats/npy.js';
import type { InferenceSession } from '../../src/runtime/session.js';
import { compareValues, type Tolerance } from '../support/compare.js';
import { sharedPath } from '../support/shared.js';

interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  file?: string;
  file_last_run?: string;
  value?: number;
  initial?: string;
  from_output?: string;
}

interface Expect {
  runs?: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  tolerance?: Tolerance;
  labels?: string;
  checks?: {
    accuracy_min?: number;
    speech_chunks?: number[];
    speech_min_prob?: number;
    silence_chunks?: number[];
    silence_max_prob?: number;
  };
}

/**
 * Runs a case from ../shared/real/cases: every run's outputs within tolerance of the origin runtime, state
 * carried from run to run where the case says so, and the case's checks (accuracy, speech/silence) met.
 * Returns the first problem, or undefined.
 */
export async function runRealCase(session: InferenceSession, dataDir: string): Promise<string | undefined> {
  const expect = JSON.parse(readFileSync(`${dataDir}/expect.json`, 'utf8')) as Expect;
  const runs = expect.runs ?? 1;
  const tolerance = expect.tolerance ?? { rtol: 1e-3, atol: 1e-4 };
  const carried = new Map<string, Value>();
  const firstOutputs: number[][] = [];
  for (let run = 0; run < runs; run++) {
    const outputs = await session.run(feedsForRun(expect, dataDir, run, carried));
    for (const spec of expect.inputs) {
      if (spec.from_output) carried.set(spec.name, outputs[spec.from_output]!);
    }
    for (const spec of expect.outputs) {
      const file = spec.file ? spec.file.replace('{run}', String(run)) : run === runs - 1 ? spec.file_last_run : undefined;
      if (!file) continue;
      const problem = compareValues(outputs[spec.name], readNpy(readFileSync(`${dataDir}/${file}`), file), tolerance, `run ${run}, output '${spec.name}'`);
      if (problem) return problem;
    }
    const first = outputs[expect.outputs[0]!.name] as Tensor;
    firstOutputs.push(Array.from(first.data as Float32Array));
  }
  return checkExpectations(expect, firstOutputs);
}

/** The inputs of call `run`: files, constants, and state carried from the previous call (zeros at first). */
function feedsForRun(expect: Expect, dataDir: string, run: number, carried: ReadonlyMap<string, Value>): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const spec of expect.inputs) {
    if (spec.file) feeds[spec.name] = readNpy(readFileSync(`${dataDir}/${spec.file.replace('{run}', String(run))}`), spec.file);
    else if (spec.value !== undefined) feeds[spec.name] = new Tensor(spec.dtype as 'int64', spec.dtype === 'int64' ? [BigInt(spec.value)] : [spec.value], spec.shape);
    else if (spec.from_output) feeds[spec.name] = (carried.get(spec.name) as Tensor | undefined) ?? zeros(spec);
  }
  return feeds;
}

/** The first call's inputs of a real case (for differential runs in other runtimes). */
export function firstRunFeeds(dataDir: string): Record<string, Tensor> {
  const expect = JSON.parse(readFileSync(`${dataDir}/expect.json`, 'utf8')) as Expect;
  return feedsForRun(expect, dataDir, 0, new Map());
}

function zeros(spec: TensorSpec): Tensor {
  return new Tensor('float32', new Float32Array(spec.shape.reduce((a, b) => a * b, 1)), spec.shape);
}

function checkExpectations(expect: Expect, outputs: number[][]): string | undefined {
  const checks = expect.checks ?? {};
  if (checks.accuracy_min !== undefined && expect.labels) {
    const labels = readNpy(readFileSync(sharedPath('real', expect.labels)));
    const truth = Array.from(labels.data as ArrayLike<number | bigint>, Number);
    const correct = outputs.filter((logits, index) => logits.indexOf(Math.max(...logits)) === truth[index]).length;
    const accuracy = correct / outputs.length;
    if (accuracy < checks.accuracy_min) return `accuracy ${accuracy} is below ${checks.accuracy_min}`;
  }
  for (const chunk of checks.speech_chunks ?? []) {
    const probability = outputs[chunk]![0]!;
    if (probability <= (checks.speech_min_prob ?? 0.5)) return `chunk ${chunk}: speech probability ${probability} <= ${checks.speech_min_prob}`;
  }
  for (const chunk of checks.silence_chunks ?? []) {
    const probability = outputs[chunk]![0]!;
    if (probability >= (checks.silence_max_prob ?? 0.35)) return `chunk ${chunk}: silence probability ${probability} >= ${checks.silence_max_prob}`;
  }
  return undefined;
}
