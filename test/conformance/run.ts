import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runInWorkers } from '../support/worker-pool.js';
import { missingPrerequisite } from '../support/prerequisites.js';
import { HAVE_SHARED, MISSING_SHARED, REPO_ROOT, sharedPath } from '../support/shared.js';
import { checkWasmThreads, SUITES, listCases, sessionOptionsFromArgs, type ConformanceCase } from './cases.js';
import type { CaseResult } from './run-case.js';
import type { OptimizationLevel } from '../../src/optimize/index.js';
import { chooseVariant } from '../../src/backends/wasm/runtime.js';

/**
 * `npm run conformance`: every ONNX case of ../shared in worker threads, each under a time limit (a hung
 * or crashed worker is replaced), a pass/fail/skip table per suite beside onnxruntime's own runs, a JSON
 * report, and a check against the expected-failures file: a case expected to pass that fails fails the run.
 */
const { values: args } = parseArgs({
  options: {
    'allow-skip': { type: 'boolean', default: false },
    suite: { type: 'string' },
    filter: { type: 'string' },
    timeout: { type: 'string', default: '60000' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    report: { type: 'string', default: resolve(REPO_ROOT, 'reports/conformance.json') },
    expectations: { type: 'string', default: resolve(REPO_ROOT, 'test/conformance/expected-failures.json') },
    'write-expectations': { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    /** Run every model through the graph optimizer at this level first (disabled | basic | extended | all). */
    optimize: { type: 'string' },
    /** Execution providers in priority order, comma-separated (wasm | reference | cpu); default: the session's. */
    ep: { type: 'string' },
    /** intraOpNumThreads for every session. */
    threads: { type: 'string' },
  },
});

const TARGETS: Record<string, string> = {
  'onnx-node': '>= 1200',
  simple: '>= 21',
  'pytorch-converted': '>= 80',
  'pytorch-operator': '35',
  light: '9',
  models: 'all',
  real: 'all',
};

async function main(): Promise<number> {
  if (!HAVE_SHARED) missingPrerequisite('conformance', MISSING_SHARED);
  const suites = args.suite ? args.suite.split(',') : [...SUITES];
  const filter = args.filter ? new RegExp(args.filter) : undefined;
  const cases = listCases()
    .filter((c) => suites.includes(c.suite) && (!filter || filter.test(c.id)))
    .map((c) => ({ ...c, ...sessionChoices() }));
  const usesWasm = (args.ep ?? 'wasm').split(',').includes('wasm');
  const build = usesWasm ? ` (the wasm backend's ${chooseVariant() ?? 'no'} build)` : '';
  console.log(`conformance: execution providers ${args.ep ?? 'default'}${build}, ${args.threads ?? 1} thread(s)${args.optimize ? `, optimization level ${args.optimize}` : ''}`);
  await checkWasmThreads(sessionOptionsFromArgs(args.ep, args.threads));
  const results = await runAll(cases, Number(args.timeout), Number(args.jobs));
  const byId = new Map(results.map((result) => [result.id, result]));
  printTable(cases, byId);
  const inferenceIssues = results.filter((result) => result.inference === 'wrong');
  const coverage = (kind: string) => results.filter((result) => result.inference === kind).length;
  console.log(
    `static inference on cases whose outputs matched: full output shapes ${coverage('shape')}, element types only ${coverage('dtype')}, unknown ${coverage('none')}, wrong ${inferenceIssues.length} (failed)`,
  );
  for (const issue of inferenceIssues.slice(0, args.verbose ? undefined : 10)) console.log(`  ${issue.id}: ${issue.detail}`);
  mkdirSync(dirname(args.report!), { recursive: true });
  writeFileSync(args.report!, JSON.stringify({ generated: new Date().toISOString(), cases: Object.fromEntries(byId) }, null, 1));
  console.log(`report: ${args.report}`);
  return checkExpectations(cases, byId);
}

/** The session options the command line asks every case to run with. */
function sessionChoices(): Pick<ConformanceCase, 'optimize' | 'executionProviders' | 'threads'> {
  const { executionProviders, intraOpNumThreads } = sessionOptionsFromArgs(args.ep, args.threads);
  return {
    ...(args.optimize ? { optimize: args.optimize as OptimizationLevel } : {}),
    ...(executionProviders ? { executionProviders } : {}),
    ...(intraOpNumThreads ? { threads: intraOpNumThreads } : {}),
  };
}

function runAll(cases: ConformanceCase[], timeoutMs: number, jobs: number): Promise<CaseResult[]> {
  return runInWorkers<ConformanceCase, CaseResult>(cases, {
    workerUrl: new URL('./worker.js', import.meta.url),
    jobs,
    timeoutMs,
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
    onFailure: (testCase, reason, detail, ms) => ({ id: testCase.id, status: 'fail', reason, detail, ms }),
    onResult: (result) => {
      if (!args.verbose && (result.status !== 'fail' || !filtered())) return;
      const detail = result.status === 'fail' ? ` ${result.reason}: ${(result.detail ?? '').slice(0, 300)}` : '';
      console.log(`${result.status.padEnd(4)} ${result.id} (${result.ms} ms)${detail}`);
    },
  });
}

function filtered(): boolean {
  return Boolean(args.filter || args.suite);
}

function referencePasses(runtime: string): Map<string, number> {
  const counts = new Map<string, number>();
  const file = sharedPath(`conformance/reference-runs/onnxruntime-${runtime}-1.30.0.json`);
  if (!existsSync(file)) return counts;
  const report = JSON.parse(readFileSync(file, 'utf8')) as { cases: Record<string, { status: string }> };
  for (const [key, value] of Object.entries(report.cases)) {
    const suite = key.startsWith('node/') ? 'onnx-node' : key.slice(0, key.indexOf('/'));
    if (value.status === 'pass') counts.set(suite, (counts.get(suite) ?? 0) + 1);
  }
  return counts;
}

function printTable(cases: ConformanceCase[], byId: Map<string, CaseResult>): void {
  const ortNode = referencePasses('node');
  const ortWeb = referencePasses('web');
  const rows = [['suite', 'cases', 'pass', 'fail', 'skip', 'ORT-node', 'ORT-web', 'target']];
  const totals = [0, 0, 0, 0];
  for (const suite of SUITES) {
    const inSuite = cases.filter((c) => c.suite === suite);
    if (inSuite.length === 0) continue;
    const count = (status: string) => inSuite.filter((c) => byId.get(c.id)?.status === status).length;
    const row = [inSuite.length, count('pass'), count('fail'), count('skip')];
    row.forEach((value, i) => (totals[i]! += value));
    rows.push([suite, ...row.map(String), String(ortNode.get(suite) ?? '-'), String(ortWeb.get(suite) ?? '-'), TARGETS[suite] ?? '']);
  }
  rows.push(['total', ...totals.map(String), '', '', '']);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  console.log(`${totals[1]} passed, ${totals[2]} failed, ${totals[3]} skipped`);
}

function checkExpectations(cases: ConformanceCase[], byId: Map<string, CaseResult>): number {
  const file = args.expectations!;
  const expected: Record<string, string> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const failing = cases.filter((c) => byId.get(c.id)?.status === 'fail');
  if (args['write-expectations']) {
    const kept = Object.fromEntries(Object.entries(expected).filter(([id]) => !cases.some((c) => c.id === id)));
    for (const c of failing) {
      const result = byId.get(c.id)!;
      kept[c.id] = expected[c.id] ?? `${result.reason}: ${(result.detail ?? '').replace(/\s+/g, ' ').slice(0, 160)}`;
    }
    const sorted = Object.fromEntries(Object.entries(kept).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(file, `${JSON.stringify(sorted, null, 1)}\n`);
    console.log(`wrote ${Object.keys(sorted).length} expected failures to ${file}`);
    return 0;
  }
  const unexpected = failing.filter((c) => !(c.id in expected));
  const fixed = cases.filter((c) => c.id in expected && byId.get(c.id)?.status === 'pass');
  if (fixed.length > 0) console.log(`now passing (remove from the expected failures): ${fixed.map((c) => c.id).join(', ')}`);
  if (unexpected.length > 0) {
    console.log(`REGRESSIONS: ${unexpected.length} case(s) expected to pass failed:`);
    for (const c of unexpected) {
      const result = byId.get(c.id)!;
      console.log(`  ${c.id}: ${result.reason}: ${(result.detail ?? '').slice(0, 200)}`);
    }
    return 1;
  }
  console.log('conformance: every case expected to pass passed');
  return 0;
}

process.exitCode = await main();
