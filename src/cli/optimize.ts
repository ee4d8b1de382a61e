import type { Command } from 'commander';
import type { Model } from '../core/graph.js';
import type { OptimizationLevel } from '../optimize/index.js';
import { UsageError, printJson } from './output.js';

const LEVELS: readonly OptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

interface OptimizeCommandOptions {
  output: string;
  level: string;
  nhwc?: boolean;
  json?: boolean;
}

export interface OptimizeReport {
  model: string;
  output: string;
  level: OptimizationLevel;
  nhwc: boolean;
  passes: string[];
  nodesBefore: number;
  nodesAfter: number;
  opsBefore: Record<string, number>;
  opsAfter: Record<string, number>;
  milliseconds: number;
}

/** `edgerun optimize MODEL -o OUT.onnx`: the graph optimizer's result saved as ONNX (fused ops in ai.edgerun). */
export function registerOptimize(program: Command): void {
  program
    .command('optimize')
    .description('optimize a model graph (folding, fusion, layout) and save it as ONNX; fused ops use the ai.edgerun domain')
    .argument('<model>', 'model file (.onnx)')
    .requiredOption('-o, --output <file>', 'where to write the optimized model (.onnx)')
    .option('--level <level>', `optimization level: ${LEVELS.join(', ')}`, 'extended')
    .option('--nhwc', "at level 'all', move convolution chains to NHWC")
    .option('--json', 'print the report as JSON')
    .action(async (modelPath: string, options: OptimizeCommandOptions) => {
      const level = options.level as OptimizationLevel;
      if (!LEVELS.includes(level)) throw new UsageError(`--level takes one of ${LEVELS.join(', ')}, got '${options.level}'`);
      const { writeFileSync } = await import('node:fs');
      const { EdgerunError, encodeOnnx, externalDataBeside, readModelFile, optimizeGraph } = await import('../node.js');
      const { passesFor } = await import('../optimize/index.js');
      const { loadModel } = await import('../runtime/session.js');
      const model = loadModel(readModelFile(modelPath), {}, { readExternal: externalDataBeside(modelPath) });
      const started = performance.now();
      const optimized = optimizeGraph(model, { level, preferNhwc: options.nhwc === true });
      const milliseconds = Math.round(performance.now() - started);
      try {
        writeFileSync(options.output, encodeOnnx(optimized));
      } catch (error) {
        throw new EdgerunError('IO_ERROR', `cannot write '${options.output}': ${(error as Error).message}`);
      }
      const report: OptimizeReport = {
        model: modelPath,
        output: options.output,
        level,
        nhwc: options.nhwc === true,
        passes: passesFor({ level, preferNhwc: options.nhwc === true }).map((pass) => pass.name),
        nodesBefore: model.graph.nodes.length,
        nodesAfter: optimized.graph.nodes.length,
        opsBefore: histogram(model),
        opsAfter: histogram(optimized),
        milliseconds,
      };
      if (options.json) printJson(report);
      else printReport(report);
      process.exitCode = 0;
    });
}

function histogram(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.nodes) {
    const op = node.domain ? `${node.domain}:${node.opType}` : node.opType;
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

function printReport(report: OptimizeReport): void {
  const ops = [...new Set([...Object.keys(report.opsBefore), ...Object.keys(report.opsAfter)])];
  const width = Math.max(...ops.map((op) => op.length), 2);
  const lines = [
    `model:  ${report.model}`,
    `level:  ${report.level}${report.nhwc ? ' (NHWC)' : ''} (${report.passes.join(', ') || 'no passes'})`,
    `nodes:  ${report.nodesBefore} -> ${report.nodesAfter} in ${report.milliseconds} ms`,
    `${'op'.padEnd(width)}  before  after`,
    ...ops.map((op) => `${op.padEnd(width)}  ${String(report.opsBefore[op] ?? 0).padStart(6)}  ${String(report.opsAfter[op] ?? 0).padStart(5)}`),
    `saved:  ${report.output}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
