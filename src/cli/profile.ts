import type { Command } from 'commander';
import type { DataType } from '../core/dtype.js';
import type { InferenceSession, ProfileReport, Value } from '../node.js';
import { UsageError, printJson } from './output.js';

interface ProfileOptions {
  input: string[];
  trace?: string;
  runs: string;
  warmup: string;
  ep?: string;
  threads?: string;
  level?: string;
  top: string;
  json?: boolean;
}

/**
 * `edgerun profile MODEL`: where a model's time goes, in the tables TFLite's benchmark_model prints: per
 * node and per op type, time per run, share, calls, backend and shapes, and the time outside kernels.
 */
export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('time every node over several runs and print per-node and per-op-type tables')
    .argument('<model>', 'model file (.onnx)')
    .option('-i, --input <name=file>', 'an input by name (repeatable); inputs not given are filled with zeros', (value: string, all: string[]) => [...all, value], [])
    .option('--runs <n>', 'timed runs', '10')
    .option('--warmup <n>', 'untimed runs first', '2')
    .option('--ep <providers>', "execution providers, comma-separated (e.g. 'wasm' or 'reference')")
    .option('--threads <n>', 'intraOpNumThreads')
    .option('--level <level>', 'graphOptimizationLevel: disabled, basic, extended or all')
    .option('--top <n>', 'nodes listed in the per-node table', '20')
    .option('--trace <prefix>', "where the Chrome trace goes: '<prefix>_<date>.json' (default: in the system's temporary folder)")
    .option('--json', 'print the tables as JSON')
    .action(async (modelPath: string, options: ProfileOptions) => {
      const { InferenceSession, profileReport } = await import('../node.js');
      const { chooseVariant } = await import('../backends/wasm/runtime.js');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const runs = positiveInteger(options.runs, '--runs');
      const warmup = nonNegativeInteger(options.warmup, '--warmup');
      const session = await InferenceSession.create(modelPath, {
        enableProfiling: true,
        profileFilePrefix: options.trace ?? join(tmpdir(), 'edgerun_profile'),
        ...(options.ep ? { executionProviders: options.ep.split(',') } : {}),
        ...(options.threads ? { intraOpNumThreads: positiveInteger(options.threads, '--threads') } : {}),
        ...(options.level ? { graphOptimizationLevel: options.level as 'all' } : {}),
      });
      const feeds = await inputsFor(session, options.input);
      for (let i = 0; i < warmup; i++) session.runSync(feeds);
      // Warm-up runs are profiled too; the report keeps only the last `runs` of them.
      for (let i = 0; i < runs; i++) session.runSync(feeds);
      const trace = session.endProfiling();
      const report = profileReport(session.profileTrace, runs, Number(options.top));
      // Which of the wasm backend's builds ran (relaxed SIMD or not, shared memory or not); none when no node
      // ran on it (--ep reference).
      const wasmBuild = report.opTypes.some((op) => op.backend === 'wasm') ? (chooseVariant() ?? null) : null;
      if (options.json) printJson({ model: modelPath, trace, wasmBuild, ...report });
      else printProfile(modelPath, report, trace, wasmBuild);
      process.exitCode = 0;
    });
}

function printProfile(path: string, report: ProfileReport, trace: string, wasmBuild: string | null): void {
  const ms = (value: number) => value.toFixed(3).padStart(9);
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`.padStart(7);
  const lines = [`model: ${path}`, `runs: ${report.runs}, ${report.runMs.toFixed(3)} ms per run; wasm build: ${wasmBuild ?? 'not used'}`, '', '= per op type (ms per run) =', `${'op type'.padEnd(28)} ${'ms'.padStart(9)} ${'share'.padStart(7)} ${'calls'.padStart(6)} ${'nodes'.padStart(6)}  backend`];
  for (const op of report.opTypes) lines.push(`${op.opType.padEnd(28)} ${ms(op.ms)} ${percent(op.share)} ${String(op.calls).padStart(6)} ${String(op.nodes).padStart(6)}  ${op.backend}`);
  lines.push(`${'(outside kernels)'.padEnd(28)} ${ms(report.outsideKernelsMs)} ${percent(report.runMs > 0 ? report.outsideKernelsMs / report.runMs : 0)}`);
  lines.push('', `= top ${report.nodes.length} nodes (ms per run) =`, `${'node'.padEnd(36)} ${'op type'.padEnd(20)} ${'ms'.padStart(9)} ${'share'.padStart(7)}  backend  shapes (in -> out)`);
  for (const node of report.nodes) {
    lines.push(`${node.node.slice(0, 36).padEnd(36)} ${node.opType.slice(0, 20).padEnd(20)} ${ms(node.ms)} ${percent(node.share)}  ${node.backend.padEnd(8)} ${node.inputShapes} -> ${node.outputShapes}`);
  }
  lines.push('', `trace (chrome://tracing, Perfetto): ${trace}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Feeds from --input files; every other input zeros of its declared shape (symbolic dims as 1). */
async function inputsFor(session: InferenceSession, pairs: readonly string[]): Promise<Record<string, Value>> {
  const { Tensor } = await import('../node.js');
  const { readInputFile } = await import('./io.js');
  const declared = new Map(session.model.graph.inputs.map((info) => [info.name, info.type]));
  const feeds: Record<string, Value> = {};
  for (const pair of pairs) {
    const split = pair.indexOf('=');
    if (split <= 0) throw new UsageError(`--input takes NAME=FILE, got '${pair}'`);
    const name = pair.slice(0, split);
    feeds[name] = readInputFile(pair.slice(split + 1), name, declared.get(name));
  }
  for (const meta of session.inputMetadata) {
    if (meta.name in feeds) continue;
    if (!meta.isTensor) throw new UsageError(`input '${meta.name}' is a ${meta.type}; give it with --input`);
    const dims = meta.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const type = meta.type as DataType;
    const data = type === 'string' ? new Array<string>(size).fill('') : type === 'int64' || type === 'uint64' ? new Array<bigint>(size).fill(0n) : new Array<number>(size).fill(0);
    feeds[meta.name] = new Tensor(type, data, dims);
  }
  return feeds;
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} takes a positive integer, got '${text}'`);
  return value;
}

function nonNegativeInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} takes a whole number, got '${text}'`);
  return value;
}
