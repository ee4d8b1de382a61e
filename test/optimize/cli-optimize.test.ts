import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { REPO_ROOT } from '../support/shared.js';
import { assertSameOutputs, floatInput, graphModel, ints, op, opTypes, randomTensor } from './support.js';

/** The command as registered on a commander program (main.ts registers it beside the others). */
function edgerunOptimize(...args: string[]) {
  const commandUrl = pathToFileURL(join(REPO_ROOT, 'build/src/cli/optimize.js')).href;
  const script = `
    import { Command } from 'commander';
    import { registerOptimize } from '${commandUrl}';
    const program = new Command('edgerun').exitOverride();
    registerOptimize(program);
    await program.parseAsync(${JSON.stringify(args)}, { from: 'user' });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('edgerun optimize writes the fused graph as ONNX and reports the node counts', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-optimize-'));
  const original = graphModel({
    nodes: [op('Conv', ['x', 'w'], ['c'], { pads: ints([1, 1, 1, 1]) }), op('Relu', ['c'], ['y'])],
    inputs: [floatInput('x', [1, 2, 4, 4])],
    outputs: [floatInput('y', [1, 3, 4, 4])],
    initializers: new Map([['w', randomTensor([3, 2, 3, 3])]]),
  });
  const modelPath = join(folder, 'conv_relu.onnx');
  const outputPath = join(folder, 'conv_relu.optimized.onnx');
  writeFileSync(modelPath, encodeOnnx(original));
  const result = edgerunOptimize('optimize', modelPath, '-o', outputPath, '--level', 'extended', '--json');
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { nodesBefore: number; nodesAfter: number; opsAfter: Record<string, number> };
  assert.equal(report.nodesBefore, 2);
  assert.equal(report.nodesAfter, 1);
  assert.deepEqual(report.opsAfter, { 'ai.edgerun:FusedConv': 1 });
  const saved = decodeOnnx(readFileSync(outputPath));
  assert.deepEqual(opTypes(saved), ['FusedConv']);
  await assertSameOutputs(original, saved, { x: randomTensor([1, 2, 4, 4], 3) });
  const wrong = edgerunOptimize('optimize', modelPath, '-o', outputPath, '--level', 'fastest');
  assert.match(wrong.stderr, /--level takes one of disabled, basic, extended, all, got 'fastest'/);
});
