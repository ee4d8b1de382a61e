import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { EdgerunError, InferenceSession, Tensor } from '../../src/node.js';
import { allocate, isFloatType, writeNumbers } from '../../src/core/dtype.js';
import type { Value, ValueType } from '../../src/core/graph.js';
import { mutate, seededRandom } from './mutate.js';
import type { FuzzCase, FuzzResult } from './run.js';

/** One fuzz case: the mutated model must fail with an EdgerunError or run and return what it declares. */
parentPort!.on('message', async (fuzzCase: FuzzCase) => {
  const started = performance.now();
  const finish = (outcome: FuzzResult['outcome'], detail: string): void =>
    parentPort!.postMessage({ ...fuzzCase, outcome, detail, ms: Math.round(performance.now() - started), rss: process.memoryUsage().rss });
  try {
    const bytes = mutate(readFileSync(fuzzCase.file), fuzzCase.mutation, fuzzCase.seed);
    const session = await InferenceSession.create(bytes, { maxTensorBytes: 256 * 2 ** 20 });
    const graph = session.model.graph;
    const random = seededRandom(fuzzCase.seed ^ 0x5eed);
    const feeds: Record<string, Value> = {};
    for (const info of graph.inputs.filter((input) => !graph.initializers.has(input.name))) {
      feeds[info.name] = inputFor(info.type, random);
    }
    const outputs = await session.run(feeds, undefined, { timeoutMs: 4000 });
    for (const info of graph.outputs) {
      const problem = checkDeclared(outputs[info.name], info.type);
      if (problem) return finish('violation', `output '${info.name}': ${problem}`);
    }
    finish('ran', '');
  } catch (error) {
    if (error instanceof EdgerunError) return finish('error', `${error.code}: ${error.message}`);
    finish('violation', `not an EdgerunError: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
});

function inputFor(type: ValueType | undefined, random: () => number): Value {
  if (type?.kind !== 'tensor') return null;
  const dims = (type.shape ?? []).map((dim) => (typeof dim === 'number' ? dim : 1));
  const count = dims.reduce((a, b) => a * b, 1);
  if (type.dtype === 'string') return new Tensor('string', allocate('string', count) as string[], dims);
  const values = Array.from({ length: count }, () => (isFloatType(type.dtype) ? random() * 2 - 1 : Math.floor(random() * 4)));
  return new Tensor(type.dtype, writeNumbers(type.dtype, values), dims);
}

function checkDeclared(value: Value | undefined, type: ValueType | undefined): string | undefined {
  if (value === undefined) return 'missing';
  if (type?.kind !== 'tensor') return undefined;
  if (!(value instanceof Tensor)) return `declared a ${type.dtype} tensor, got ${value === null ? 'null' : 'a sequence'}`;
  if (value.type !== type.dtype) return `declared ${type.dtype}, got ${value.type}`;
  const shape = type.shape;
  if (shape && (shape.length !== value.dims.length || shape.some((dim, i) => typeof dim === 'number' && dim !== value.dims[i]))) {
    return `declared dims [${shape.join(', ')}], got [${value.dims.join(', ')}]`;
  }
  return undefined;
}
