import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import type { Value } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { InferenceSession } from '../../src/node.js';
import { compareValues, DEFAULT_TOLERANCE } from '../support/compare.js';
import { Random, type OpCase, type OpGenerator } from './harness.js';
import { generators } from './generators.js';

/**
 * `npm run differential`: seeded random single-op models, edgerun beside onnxruntime-node, outputs compared
 * within rtol 1e-3 / atol 1e-4 (exact for integers). A case ORT itself cannot run is reported, not counted.
 */
const { values: args } = parseArgs({ options: { cases: { type: 'string', default: '40' }, seed: { type: 'string', default: '1' }, filter: { type: 'string' } } });

async function ortRun(testCase: OpCase): Promise<Record<string, Value>> {
  const session = await ort.InferenceSession.create(testCase.model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  const feeds = Object.fromEntries(Object.entries(testCase.feeds).map(([name, t]) => [name, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
  const outputs = await session.run(feeds);
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
}

async function main(): Promise<number> {
  const count = Number(args.cases);
  let passed = 0;
  let failed = 0;
  const ortCannot = new Map<string, number>();
  const selected = generators.filter((generator: OpGenerator) => !args.filter || new RegExp(args.filter).test(generator.op));
  for (const [index, generator] of selected.entries()) {
    const cases = generator.cases(new Random(Number(args.seed) * 1000 + index), count);
    let opPassed = 0;
    for (const testCase of cases) {
      let expected: Record<string, Value>;
      try {
        expected = await ortRun(testCase);
      } catch {
        ortCannot.set(generator.op, (ortCannot.get(generator.op) ?? 0) + 1);
        continue;
      }
      let problem: string | undefined;
      try {
        const actual = await (await InferenceSession.create(testCase.model)).run(testCase.feeds);
        for (const [name, value] of Object.entries(expected)) {
          problem ??= compareValues(actual[name], value, testCase.tolerance ?? DEFAULT_TOLERANCE, `output '${name}'`);
        }
      } catch (error) {
        problem = `edgerun failed: ${(error as Error).message}`;
      }
      if (problem) {
        failed++;
        console.log(`FAIL ${testCase.label}: ${problem.slice(0, 300)}`);
      } else {
        passed++;
        opPassed++;
      }
    }
    console.log(`${generator.op.padEnd(28)} ${opPassed}/${cases.length} match onnxruntime-node`);
  }
  if (ortCannot.size > 0) console.log(`not compared (onnxruntime-node cannot run them): ${[...ortCannot].map(([op, n]) => `${op} ${n}`).join(', ')}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
