import { parseArgs } from 'node:util';
import type { Value } from '../../src/core/graph.js';
import { InferenceSession } from '../../src/node.js';
import { compareValues, DEFAULT_TOLERANCE } from '../support/compare.js';
import { ortOutputs } from '../support/ort-reference.js';
import { Random, type OpGenerator } from './harness.js';
import { generators } from './generators.js';
import { judgeRefusal } from './ort-refusals.js';
import { checkWasmThreads, sessionOptionsFromArgs } from '../conformance/cases.js';

/**
 * `npm run differential`: seeded random single-op models, edgerun beside onnxruntime-node, outputs compared
 * within rtol 1e-3 / atol 1e-4 (exact for integers). A case ORT itself cannot run is counted on a line of
 * its own and must be one ort-refusals.ts expects, with edgerun running or refusing it as the entry says.
 */
const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    filter: { type: 'string' },
    /** Execution providers for edgerun's sessions, comma-separated in priority order (wasm | reference); default: the session's. */
    ep: { type: 'string' },
    /** intraOpNumThreads for edgerun's sessions. */
    threads: { type: 'string' },
  },
});

const sessionOptions = sessionOptionsFromArgs(args.ep, args.threads);

async function main(): Promise<number> {
  console.log(`differential: edgerun on execution providers ${args.ep ?? 'default'}, ${args.threads ?? 1} thread(s)`);
  await checkWasmThreads(sessionOptions);
  const count = Number(args.cases);
  let passed = 0;
  let failed = 0;
  const refusedBy = new Map<string, { runs: number; refuses: number }>();
  const selected = generators.filter((generator: OpGenerator) => !args.filter || new RegExp(args.filter).test(generator.op));
  for (const [index, generator] of selected.entries()) {
    const cases = generator.cases(new Random(Number(args.seed) * 1000 + index), count);
    let opPassed = 0;
    for (const testCase of cases) {
      let expected: Record<string, Value>;
      try {
        expected = await ortOutputs(testCase.model, testCase.feeds, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
      } catch (error) {
        const verdict = await judgeRefusal(generator.op, testCase, (error as Error).message, undefined, sessionOptions);
        const tally = refusedBy.get(generator.op) ?? { runs: 0, refuses: 0 };
        tally[verdict.edgerun]++;
        refusedBy.set(generator.op, tally);
        if (verdict.problem) {
          failed++;
          console.log(`FAIL ${testCase.label}: ${verdict.problem.slice(0, 400)}`);
        }
        continue;
      }
      let problem: string | undefined;
      try {
        const session = await InferenceSession.create(testCase.model, sessionOptions);
        const actual = await session.run(testCase.feeds);
        for (const [name, value] of Object.entries(expected)) {
          problem ??= compareValues(actual[name], value, testCase.tolerance ?? DEFAULT_TOLERANCE, `output '${name}'`);
        }
        await session.release();
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
    const refused = refusedBy.get(generator.op);
    const refusedCount = refused ? refused.runs + refused.refuses : 0;
    const refusedNote = refusedCount > 0 ? `; ${refusedCount} refused by onnxruntime-node` : '';
    console.log(`${generator.op.padEnd(28)} ${opPassed}/${cases.length - refusedCount} match onnxruntime-node${refusedNote}`);
  }
  const tallies = [...refusedBy.values()];
  const ran = tallies.reduce((total, tally) => total + tally.runs, 0);
  const refusedToo = tallies.reduce((total, tally) => total + tally.refuses, 0);
  console.log(
    `${ran + refusedToo} cases ORT refused: edgerun ran ${ran} (outputs of the inferred types), refused ${refusedToo} with a typed error; ` +
      `by op: ${[...refusedBy].map(([op, tally]) => `${op} ${tally.runs + tally.refuses}`).join(', ') || 'none'}`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
