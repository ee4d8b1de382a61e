import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Tensor } from '../src/core/tensor.js';
import { encodeTensor } from '../src/formats/onnx/data-proto.js';
import { generators } from '../test/differential/generators.js';
import { Random, type OpCase, type OpGenerator } from '../test/differential/harness.js';
import { goldenOnlyGenerators } from '../test/golden/generators.js';
import { GOLDEN_SET_FILE, type GoldenCase, type GoldenSet } from '../test/golden/golden-set.js';
import { ortOutputs } from '../test/support/ort-reference.js';
import { REPO_ROOT } from '../test/support/shared.js';

/**
 * Writes the committed conformance set that `npm test` runs without ../shared: a few small seeded cases of
 * every differential generator family (plus quantized ops and control flow), each with onnxruntime-node's
 * outputs as the expected values. Regenerate with `npm run golden:generate` after adding a generator.
 */
const CASES_PER_FAMILY = 2;
/** Model plus tensors, in bytes: keeps the whole file at a few hundred KB. */
const MAX_CASE_BYTES = 2500;
const DRAWS_PER_FAMILY = 40;

/** A seed from the family name, so that adding a family leaves the others' cases unchanged. */
function seedOf(op: string): number {
  let hash = 2166136261;
  for (const char of op) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash;
}

function base64Of(tensors: Record<string, Tensor>): Record<string, string> {
  return Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [name, Buffer.from(encodeTensor(tensor, name)).toString('base64')]));
}

function sizeOf(testCase: OpCase, outputs: Record<string, Tensor>): number {
  const tensors = [...Object.values(testCase.feeds), ...Object.values(outputs)];
  return testCase.model.length + tensors.reduce((total, tensor) => total + encodeTensor(tensor).length, 0);
}

/**
 * The first small cases onnxruntime can run, one of them with a float32 output where the family has one:
 * most kernels have a float32 path of their own beside the generic one.
 */
async function casesOf(generator: OpGenerator): Promise<{ kept: GoldenCase[]; refused: number }> {
  const random = new Random(seedOf(generator.op));
  const candidates: GoldenCase[] = [];
  let refused = 0;
  for (const testCase of generator.cases(random, DRAWS_PER_FAMILY)) {
    if (testCase.model.length > MAX_CASE_BYTES) continue;
    let outputs: Record<string, Tensor>;
    try {
      outputs = await ortOutputs(testCase.model, testCase.feeds, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
    } catch {
      refused++;
      continue;
    }
    if (sizeOf(testCase, outputs) > MAX_CASE_BYTES) continue;
    candidates.push({
      family: generator.op,
      label: testCase.label,
      float32: Object.values(outputs).some((tensor) => tensor.type === 'float32'),
      model: Buffer.from(testCase.model).toString('base64'),
      inputs: base64Of(testCase.feeds),
      outputs: base64Of(outputs),
      ...(testCase.tolerance ? { tolerance: testCase.tolerance } : {}),
    });
  }
  const first = candidates.find((candidate) => candidate.float32) ?? candidates[0];
  const kept = first ? [first, ...candidates.filter((candidate) => candidate !== first).slice(0, CASES_PER_FAMILY - 1)] : [];
  return { kept, refused };
}

async function main(): Promise<void> {
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  const cases: GoldenCase[] = [];
  const short: string[] = [];
  for (const generator of [...generators, ...goldenOnlyGenerators]) {
    const { kept, refused } = await casesOf(generator);
    if (kept.length < CASES_PER_FAMILY) short.push(`${generator.op} (${kept.length} kept, ${refused} refused by onnxruntime)`);
    cases.push(...kept);
  }
  const set: GoldenSet = {
    origin: `seeded cases of the differential generators and test/golden/generators.ts; expected outputs from onnxruntime-node ${ortVersion} (graph optimization off); written by scripts/make-golden-set.ts`,
    cases,
  };
  const file = resolve(REPO_ROOT, GOLDEN_SET_FILE);
  // One case per line: small diffs when a family changes.
  writeFileSync(file, `{"origin": ${JSON.stringify(set.origin)},\n"cases": [\n${cases.map((c) => JSON.stringify(c)).join(',\n')}\n]}\n`);
  console.log(`wrote ${cases.length} cases of ${new Set(cases.map((c) => c.family)).size} families to ${GOLDEN_SET_FILE}`);
  if (short.length > 0) console.log(`families with fewer than ${CASES_PER_FAMILY} cases: ${short.join(', ')}`);
}

await main();
