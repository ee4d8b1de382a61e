import type { Command } from 'commander';
import { readNumbers } from '../core/dtype.js';
import { InferenceSession, Tensor, type Value } from '../node.js';
import { readInputFile, saveOutputs } from './io.js';
import { UsageError, printJson } from './output.js';
import { progress } from './progress.js';

interface RunOptions {
  input: string[];
  saveOutputs?: string;
  json?: boolean;
  timeout?: string;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a model on input files and print each output (name, dtype, shape, values, argmax)')
    .argument('<model>', 'model file (.onnx)')
    .argument('[files...]', 'input files (.pb TensorProto, .npy or .json), mapped to the inputs in order')
    .option('-i, --input <name=file>', 'an input by name (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--save-outputs <dir>', 'write output_<i>.pb (TensorProto) and output_<i>.npy to a folder')
    .option('--json', 'print outputs as JSON')
    .option('--timeout <ms>', 'stop a run that takes longer than this (exit code 1)')
    .action(async (modelPath: string, files: string[], options: RunOptions) => {
      const timeoutMs = options.timeout === undefined ? undefined : Number(options.timeout);
      if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError(`--timeout takes a positive number of milliseconds, got '${options.timeout}'`);
      const session = await InferenceSession.create(modelPath);
      const declared = new Map(session.model.graph.inputs.map((info) => [info.name, info.type]));
      const feeds: Record<string, Value> = {};
      for (const pair of options.input) {
        const split = pair.indexOf('=');
        if (split <= 0) throw new UsageError(`--input takes NAME=FILE, got '${pair}'`);
        const name = pair.slice(0, split);
        feeds[name] = readInputFile(pair.slice(split + 1), declared.get(name));
      }
      const positional = session.inputNames.filter((name) => !(name in feeds));
      if (files.length > positional.length) {
        throw new UsageError(`${files.length} input files given but the model has ${positional.length} more input(s): ${positional.join(', ') || '(none)'}`);
      }
      files.forEach((file, index) => {
        const name = positional[index]!;
        feeds[name] = readInputFile(file, declared.get(name));
      });
      const started = performance.now();
      const bar = progress('running', options.json);
      const outputs = await session.run(feeds, undefined, timeoutMs === undefined ? { onProgress: bar.update } : { onProgress: bar.update, timeoutMs });
      bar.stop();
      const milliseconds = performance.now() - started;
      const written = options.saveOutputs ? saveOutputs(options.saveOutputs, session.outputNames, outputs) : [];
      const summaries = session.outputNames.map((name) => summarize(name, outputs[name]!));
      if (options.json) {
        printJson({ model: modelPath, milliseconds: round(milliseconds), outputs: summaries, saved: written });
      } else {
        for (const summary of summaries) {
          const argmax = summary.argmax === undefined ? '' : `  argmax ${summary.argmax}`;
          const shape = summary.type.startsWith('sequence') || summary.type === 'empty optional' ? '' : ` [${summary.dims.join(', ')}]`;
          const values = summary.values.length > 0 ? `\n  ${formatValues(summary.values)}${summary.size > summary.values.length ? ', ...' : ''}` : '';
          process.stdout.write(`${summary.name}: ${summary.type}${shape}${argmax}${values}\n`);
        }
        process.stdout.write(`ran in ${round(milliseconds)} ms\n`);
        if (written.length > 0) process.stdout.write(`saved ${written.join(', ')}\n`);
      }
      process.exitCode = 0;
    });
}

interface OutputSummary {
  name: string;
  type: string;
  dims: number[];
  size: number;
  values: (number | string)[];
  argmax?: number;
}

const SHOWN = 10;

function summarize(name: string, value: Value): OutputSummary {
  if (!(value instanceof Tensor)) {
    if (value === null) return { name, type: 'empty optional', dims: [], size: 0, values: [] };
    const items = value.map((item) => (item instanceof Tensor ? `${item.type}[${item.dims.join(', ')}]` : Array.isArray(item) ? 'sequence' : 'empty optional'));
    return { name, type: `sequence of ${value.length}`, dims: [], size: items.length, values: items };
  }
  const summary: OutputSummary = { name, type: value.type, dims: [...value.dims], size: value.size, values: [] };
  if (value.type === 'string') {
    summary.values = (value.data as string[]).slice(0, SHOWN);
    return summary;
  }
  if (value.type === 'complex64' || value.type === 'complex128') return summary;
  const numbers = readNumbers(value.type, value.data);
  summary.values = Array.from({ length: Math.min(SHOWN, numbers.length) }, (_, i) => numbers[i]!);
  if (numbers.length > 0) {
    let best = 0;
    for (let i = 1; i < numbers.length; i++) if (numbers[i]! > numbers[best]!) best = i;
    summary.argmax = best;
  }
  return summary;
}

function formatValues(values: (number | string)[]): string {
  return values.map((value) => (typeof value === 'number' ? Number(value.toPrecision(6)).toString() : value)).join(', ');
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}
