import type { Command } from 'commander';
import type { ModelReport } from '../node.js';
import { printJson } from './output.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a model: format, opsets, inputs and outputs, op histogram, parameters, unsupported ops')
    .argument('<model>', 'model file (.onnx)')
    .option('--json', 'print the report as JSON (a type is { "dtype", "shape" }, a dim a size, a name or null)')
    .action(async (modelPath: string, options: { json?: boolean }) => {
      const [{ inspectModel }, { readRegularFile }] = await Promise.all([import('../node.js'), import('./files.js')]);
      const report = inspectModel(readRegularFile(modelPath, 'model file'));
      if (options.json) printJson(report);
      else printReport(modelPath, report);
      process.exitCode = 0;
    });
}

function printReport(path: string, report: ModelReport): void {
  const lines = [
    `model:      ${path}`,
    `format:     ${report.format} (IR version ${report.irVersion})`,
    `opsets:     ${report.opsets.map((entry) => `${entry.domain} ${entry.version}`).join(', ')}`,
  ];
  if (report.producer) lines.push(`producer:   ${report.producer}`);
  lines.push(`parameters: ${report.parameterCount.toLocaleString('en-US')} (${formatBytes(report.parameterBytes)})`);
  lines.push('inputs:');
  for (const input of report.inputs) lines.push(`  ${input.name}: ${input.description}`);
  lines.push('outputs:');
  for (const output of report.outputs) lines.push(`  ${output.name}: ${output.description}`);
  lines.push(`ops (${report.nodeCount} nodes):`);
  for (const [op, count] of Object.entries(report.opHistogram)) lines.push(`  ${op.padEnd(28)} ${count}`);
  if (report.unsupported.length === 0) {
    lines.push('op support: every node has a kernel');
  } else {
    lines.push(`op support: ${report.unsupported.length} node(s) have no kernel:`);
    for (const entry of report.unsupported) lines.push(`  ${entry.node || '(unnamed)'} (${entry.op}): ${entry.reason}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}
