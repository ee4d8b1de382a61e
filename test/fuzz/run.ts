import { existsSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { missingPrerequisite } from '../support/prerequisites.js';
import { HAVE_SHARED, MISSING_SHARED, sharedPath } from '../support/shared.js';
import { runInWorkers } from '../support/worker-pool.js';
import { MUTATIONS, type Mutation } from './mutate.js';

/**
 * `npm run fuzz`: mutates the ONNX files of ../shared/models and ../shared/real/onnx (truncate, flip bytes,
 * inflate length fields) under fixed seeds. Every case must end within 5 s and 1 GB, with an EdgerunError or
 * with outputs of the declared types and shapes. Exit 1 on any violation.
 */
export interface FuzzCase {
  file: string;
  mutation: Mutation;
  seed: number;
}

export interface FuzzResult extends FuzzCase {
  outcome: 'error' | 'ran' | 'violation';
  detail: string;
  ms: number;
  rss: number;
}

const LIMIT_MS = 5000;
const LIMIT_BYTES = 1024 ** 3;

const { values: args } = parseArgs({
  options: {
    'allow-skip': { type: 'boolean', default: false },
    cases: { type: 'string', default: '1002' },
    jobs: { type: 'string', default: '1' },
  },
});

function sources(): string[] {
  const files: string[] = [];
  for (const name of readdirSync(sharedPath('models')).sort()) {
    const file = sharedPath('models', name, 'model.onnx');
    if (existsSync(file)) files.push(file);
  }
  for (const name of readdirSync(sharedPath('real/onnx')).sort()) if (name.endsWith('.onnx')) files.push(sharedPath('real/onnx', name));
  return files;
}

async function main(): Promise<number> {
  if (!HAVE_SHARED) missingPrerequisite('fuzz', MISSING_SHARED);
  const files = sources();
  const total = Number(args.cases);
  const cases: FuzzCase[] = Array.from({ length: total }, (_, seed) => ({
    file: files[seed % files.length]!,
    mutation: MUTATIONS[Math.floor(seed / files.length) % MUTATIONS.length]!,
    seed,
  }));
  const results = await runInWorkers<FuzzCase, FuzzResult>(cases, {
    workerUrl: new URL('./worker.js', import.meta.url),
    jobs: Number(args.jobs),
    timeoutMs: LIMIT_MS,
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
    onFailure: (fuzzCase, kind, detail, ms) => ({ ...fuzzCase, outcome: 'violation', detail: `${kind}: ${detail}`, ms, rss: 0 }),
  });
  const violations = results.filter((result) => result.outcome === 'violation' || result.ms > LIMIT_MS || result.rss > LIMIT_BYTES);
  const count = (outcome: string) => results.filter((result) => result.outcome === outcome).length;
  const codes = new Map<string, number>();
  const examples = new Map<string, string>();
  for (const result of results) {
    if (result.outcome !== 'error') continue;
    const code = result.detail.slice(0, result.detail.indexOf(':'));
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (!examples.has(code)) examples.set(code, result.detail);
  }
  console.log(`fuzz: ${results.length} cases over ${files.length} models: ${count('error')} EdgerunError, ${count('ran')} ran with declared outputs, ${violations.length} violations`);
  console.log(`error codes: ${[...codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ')}`);
  for (const example of examples.values()) console.log(`  e.g. ${example.slice(0, 240)}`);
  console.log(`slowest case: ${Math.max(...results.map((result) => result.ms))} ms; peak RSS: ${(Math.max(...results.map((result) => result.rss)) / 1024 ** 2).toFixed(0)} MiB`);
  for (const violation of violations.slice(0, 30)) {
    console.log(`VIOLATION ${violation.file.split('/').slice(-2).join('/')} ${violation.mutation} seed ${violation.seed}: ${violation.detail} (${violation.ms} ms, ${(violation.rss / 1024 ** 2).toFixed(0)} MiB)`);
  }
  console.log(`${results.length - violations.length} passed, ${violations.length} failed`);
  return violations.length === 0 ? 0 : 1;
}

process.exitCode = await main();
