import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { sharedPath } from '../support/shared.js';
import type { OptimizationLevel } from '../../src/optimize/index.js';
import { availableBackends } from '../../src/runtime/backends.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';

/** One conformance case: a model and where its inputs and expected outputs come from. */
export interface ConformanceCase {
  id: string;
  suite: string;
  model: string;
  /** standard: test_data_set_N/*.pb; light: generated inputs + one expected output; real: ../shared/real/cases. */
  kind: 'standard' | 'light' | 'real';
  dataDir: string;
  /** The graph optimization level the model runs at (none: as loaded). */
  optimize?: OptimizationLevel;
  /** Execution providers in priority order (none: the session's defaults). */
  executionProviders?: string[];
  /** intraOpNumThreads for the session (none: the session's default, one thread). */
  threads?: number;
}

/**
 * The command line's `--ep LIST` and `--threads N` as session options (both harnesses take them); an
 * unknown provider or a thread count that is not a positive integer stops the harness before any case runs.
 */
export function sessionOptionsFromArgs(ep: string | undefined, threads: string | undefined): { executionProviders?: string[]; intraOpNumThreads?: number } {
  const providers = ep?.split(',');
  const unknown = providers?.filter((name) => !availableBackends().includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`--ep: unknown execution provider(s) ${unknown.join(', ')}; available: ${availableBackends().join(', ')}`);
  const count = threads === undefined ? undefined : Number(threads);
  if (count !== undefined && !(Number.isInteger(count) && count >= 1)) throw new Error(`--threads must be a positive integer, got '${threads}'`);
  return { ...(providers ? { executionProviders: providers } : {}), ...(count ? { intraOpNumThreads: count } : {}) };
}

/**
 * With --threads N > 1 and the wasm provider in use, a wasm backend must really start its N - 1 workers
 * here: a host where they cannot start would otherwise run every case on one thread after a warning.
 */
export async function checkWasmThreads(options: { executionProviders?: string[]; intraOpNumThreads?: number }): Promise<void> {
  const threads = options.intraOpNumThreads ?? 1;
  if (threads <= 1 || !(options.executionProviders ?? ['wasm']).includes('wasm')) return;
  const warnings: string[] = [];
  const backend = await createWasmBackend({ warn: (message) => warnings.push(message) });
  await backend.init?.({ threads });
  const running = backend.threads;
  backend.dispose?.();
  if (running !== threads) throw new Error(`--threads ${threads}: the wasm backend runs on ${running} thread(s) on this host (${warnings.join('; ') || 'no reason given'})`);
}

/** The session options a case asks for. */
export function sessionOptionsOf(testCase: ConformanceCase): { graphOptimizationLevel?: OptimizationLevel; executionProviders?: string[]; intraOpNumThreads?: number } {
  return {
    ...(testCase.optimize ? { graphOptimizationLevel: testCase.optimize } : {}),
    ...(testCase.executionProviders ? { executionProviders: testCase.executionProviders } : {}),
    ...(testCase.threads ? { intraOpNumThreads: testCase.threads } : {}),
  };
}

export const SUITES = ['onnx-node', 'simple', 'pytorch-converted', 'pytorch-operator', 'light', 'models', 'real'] as const;

interface IndexEntry {
  key: string;
  suite: string;
  model: string;
}

export function listCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const index = JSON.parse(readFileSync(sharedPath('conformance/index.json'), 'utf8')) as { cases: IndexEntry[] };
  for (const entry of index.cases) {
    const model = sharedPath('conformance', entry.model);
    const suite = entry.suite === 'node' ? 'onnx-node' : entry.suite;
    const name = entry.key.slice(entry.key.indexOf('/') + 1);
    if (entry.suite === 'light') {
      cases.push({ id: `${suite}/${name}`, suite, model, kind: 'light', dataDir: model.replace(/\.onnx$/, '_output_0.pb') });
    } else {
      cases.push({ id: `${suite}/${name}`, suite, model, kind: 'standard', dataDir: model.replace(/model\.onnx$/, 'test_data_set_0') });
    }
  }
  for (const name of readdirSync(sharedPath('models')).sort()) {
    const folder = sharedPath('models', name);
    for (const file of existsSync(`${folder}/test_data_set_0`) ? readdirSync(folder).sort() : []) {
      if (!file.endsWith('.onnx')) continue;
      const variant = file === 'model.onnx' ? '' : `-${file.replace(/^model\.|\.onnx$/g, '')}`;
      cases.push({ id: `models/${name}${variant}`, suite: 'models', model: `${folder}/${file}`, kind: 'standard', dataDir: `${folder}/test_data_set_0` });
    }
  }
  for (const name of readdirSync(sharedPath('real/cases')).sort()) {
    if (!name.startsWith('onnx-')) continue;
    const dataDir = sharedPath('real/cases', name);
    const expect = JSON.parse(readFileSync(`${dataDir}/expect.json`, 'utf8')) as { model: string };
    cases.push({ id: `real/${name}`, suite: 'real', model: sharedPath('real', expect.model), kind: 'real', dataDir });
  }
  return cases;
}
