import type { Command } from 'commander';
import { readNumbers } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import type { ValueType } from '../core/graph.js';
import type { Tensor, Value } from '../node.js';
import { UsageError, printJson } from './output.js';

interface RunOptions {
  input: string[];
  saveOutputs?: string;
  json?: boolean;
  timeout?: string;
  values?: string;
}

/** Values printed per output unless --values says otherwise: a glance on a terminal, everything as JSON. */
const TEXT_VALUES = 10;

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a model on input files and print each output (name, dtype, shape, values, argmax)')
    .argument('<model>', 'model file (.onnx)')
    .argument('[files...]', 'input files (.npy, .pb TensorProto, .json, .raw/.bin), mapped in order to the inputs not given by --input')
    .option('-i, --input <name=file>', 'an input by name (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--save-outputs <dir>', 'write output_<i>.pb (TensorProto) and output_<i>.npy to a folder')
    .option('--values <count>', `values to print per output, or 'all' (default: ${TEXT_VALUES}, with --json all)`)
    .option('--json', 'print outputs as JSON: full values, 64-bit integers as decimal strings')
    .option('--timeout <ms>', 'stop a run that takes longer than this (exit code 1)')
    .action(runCommand);
}

async function runCommand(modelPath: string, files: string[], options: RunOptions): Promise<void> {
  const timeoutMs = options.timeout === undefined ? undefined : Number(options.timeout);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError(`--timeout takes a positive number of milliseconds, got '${options.timeout}'`);
  const shown = valuesToShow(options);
  const named = parseNamedInputs(options.input);
  const [{ InferenceSession }, { readInputFile, saveOutputs }, { checkRegularFile }, { progress }] = await Promise.all([
    import('../node.js'),
    import('./io.js'),
    import('./files.js'),
    import('./progress.js'),
  ]);
  checkRegularFile(modelPath, 'model file');
  const session = await InferenceSession.create(modelPath);
  const declared = new Map(session.model.graph.inputs.map((info) => [info.name, info.type]));
  const sources = inputSources(session.inputNames, declared, named, files);
  const feeds: Record<string, Value> = {};
  for (const [name, file] of sources) feeds[name] = readInputFile(file, name, declared.get(name));

  const started = performance.now();
  const bar = progress('running', options.json);
  const outputs: Record<string, Value> = await session.run(feeds, undefined, timeoutMs === undefined ? { onProgress: bar.update } : { onProgress: bar.update, timeoutMs });
  bar.stop();
  const milliseconds = round(performance.now() - started);
  const written = options.saveOutputs ? saveOutputs(options.saveOutputs, session.outputNames, outputs) : [];
  const summaries = session.outputNames.map((name) => ({ name, ...summarize(outputs[name]!, shown) }));
  if (options.json) {
    printJson({ model: modelPath, milliseconds, outputs: summaries, saved: written });
  } else {
    for (const summary of summaries) process.stdout.write(`${summary.name}: ${formatSummary(summary)}\n`);
    process.stdout.write(`ran in ${milliseconds} ms\n`);
    if (written.length > 0) process.stdout.write(`saved ${written.join(', ')}\n`);
  }
  process.exitCode = 0;
}

function valuesToShow(options: RunOptions): number {
  if (options.values === undefined) return options.json ? Infinity : TEXT_VALUES;
  if (options.values === 'all') return Infinity;
  const count = Number(options.values);
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`--values takes a count or 'all', got '${options.values}'`);
  return count;
}

function parseNamedInputs(pairs: string[]): Map<string, string> {
  const named = new Map<string, string>();
  for (const pair of pairs) {
    const split = pair.indexOf('=');
    if (split <= 0) throw new UsageError(`--input takes NAME=FILE, got '${pair}'`);
    const name = pair.slice(0, split);
    if (named.has(name)) throw new UsageError(`--input ${name}=... is given twice`);
    named.set(name, pair.slice(split + 1));
  }
  return named;
}

/** Input name -> file, checked against the model's inputs before any file is read. */
function inputSources(inputs: readonly string[], declared: Map<string, ValueType | undefined>, named: Map<string, string>, files: string[]): Map<string, string> {
  const listing = (names: readonly string[]) => names.map((name) => `${name} (${describe(declared.get(name))})`).join(', ') || 'none';
  for (const name of named.keys()) {
    if (!inputs.includes(name)) throw new EdgerunError('INPUT_NAME_UNKNOWN', `--input ${name}=...: the model has no input '${name}'; its inputs: ${listing(inputs)}`);
  }
  const open = inputs.filter((name) => !named.has(name));
  if (files.length > open.length) {
    const takes = `the model takes ${inputs.length} input${inputs.length === 1 ? '' : 's'}: ${listing(inputs)}`;
    const left = named.size > 0 ? `; ${open.length} left after --input: ${listing(open)}` : '';
    throw new UsageError(`${files.length} input file${files.length === 1 ? '' : 's'} given (${files.join(', ')}), but ${takes}${left}`);
  }
  const sources = new Map(named);
  files.forEach((file, index) => sources.set(open[index]!, file));
  return sources;
}

function describe(type: ValueType | undefined): string {
  if (type?.kind !== 'tensor') return type?.kind ?? 'unknown type';
  return `${type.dtype}[${(type.shape ?? []).map((dim) => dim ?? '?').join(', ')}]`;
}

/** One value as the run command reports it; `values` holds the first `shown` elements, `cut` says when more exist. */
interface Summary {
  type: string;
  dims?: number[];
  size?: number;
  values?: (number | bigint | string | [number, number])[];
  argmax?: number;
  valuesCut?: { shown: number; of: number; toGetAll: string };
  items?: Summary[];
}

function summarize(value: Value, shown: number): Summary {
  if (value === null) return { type: 'empty optional' };
  if (Array.isArray(value)) return { type: 'sequence', size: value.length, items: value.map((item) => summarize(item, shown)) };
  const tensor = value as Tensor;
  const all = elementsOf(tensor);
  const summary: Summary = { type: tensor.type, dims: [...tensor.dims], size: tensor.size, values: all.slice(0, shown) };
  if (all.length > shown) summary.valuesCut = { shown, of: all.length, toGetAll: "--values all, or --save-outputs DIR for .npy and .pb files" };
  const argmax = argmaxOf(tensor);
  if (argmax !== undefined) summary.argmax = argmax;
  return summary;
}

/** Elements exactly: 64-bit integers stay BigInt, complex values are [re, im] pairs. */
function elementsOf(tensor: Tensor): (number | bigint | string | [number, number])[] {
  if (tensor.type === 'string') return tensor.data as string[];
  if (tensor.type === 'int64' || tensor.type === 'uint64') return Array.from(tensor.data as BigInt64Array | BigUint64Array);
  if (tensor.type === 'complex64' || tensor.type === 'complex128') {
    const parts = tensor.data as Float32Array | Float64Array;
    return Array.from({ length: parts.length / 2 }, (_, i): [number, number] => [parts[2 * i]!, parts[2 * i + 1]!]);
  }
  return Array.from(readNumbers(tensor.type, tensor.data));
}

function argmaxOf(tensor: Tensor): number | undefined {
  if (tensor.type === 'string' || tensor.type === 'complex64' || tensor.type === 'complex128' || tensor.size === 0) return undefined;
  const numbers = readNumbers(tensor.type, tensor.data);
  let best = 0;
  for (let i = 1; i < numbers.length; i++) if (numbers[i]! > numbers[best]!) best = i;
  return best;
}

function formatSummary(summary: Summary): string {
  if (summary.items) return `sequence of ${summary.items.length}${summary.items.map((item) => `\n  - ${formatSummary(item).replace(/\n/g, '\n    ')}`).join('')}`;
  if (!summary.dims) return summary.type;
  const argmax = summary.argmax === undefined ? '' : `  argmax ${summary.argmax}`;
  const values = summary.values!.map(formatElement).join(', ');
  const cut = summary.valuesCut ? `, ... (${summary.valuesCut.of} values; --values all prints them all)` : '';
  return `${summary.type} [${summary.dims.join(', ')}]${argmax}${summary.values!.length > 0 ? `\n  ${values}${cut}` : ''}`;
}

function formatElement(value: number | bigint | string | [number, number]): string {
  if (typeof value === 'number') return Number(value.toPrecision(6)).toString();
  if (Array.isArray(value)) return `(${value.map(formatElement).join(', ')})`;
  return String(value);
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}
