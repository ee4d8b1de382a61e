import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { decodeTensor, encodeTensor } from '../../src/formats/onnx/data-proto.js';
import { readNpy, writeNpy } from '../../src/formats/npy.js';
import { REPO_ROOT } from '../support/shared.js';
import { ortOutputs } from '../support/ort-reference.js';
import { addReluModel } from '../support/tiny-models.js';

/** The CLI as users run it: the built bin, real files, exit codes and stdout/stderr. */
function edgerun(...args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/edgerun.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const folder = mkdtempSync(join(tmpdir(), 'edgerun-cli-'));
const modelPath = join(folder, 'add_relu.onnx');
writeFileSync(modelPath, addReluModel(new Tensor('float32', Float32Array.of(1, -2, 0.5), [3])));
const input = new Tensor('float32', Float32Array.of(0, 1, 2, -5, 5, -1), [2, 3]);

test('inspect prints the interface, op histogram and op support', () => {
  const text = edgerun('inspect', modelPath);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /format: +onnx \(IR version 8\)/);
  assert.match(text.stdout, /x: float32\[batch, 3\]/);
  assert.match(text.stdout, /Add +1\n +Relu +1/);
  assert.match(text.stdout, /every node has a kernel/);
  const json = edgerun('inspect', modelPath, '--json');
  const report = JSON.parse(json.stdout) as { parameterCount: number; opHistogram: Record<string, number>; unsupported: unknown[] };
  assert.equal(report.parameterCount, 3);
  assert.deepEqual(report.opHistogram, { Add: 1, Relu: 1 });
  assert.deepEqual(report.unsupported, []);
});

test('run reads .pb, .npy and JSON inputs and saves outputs as .pb and .npy', async () => {
  const reference = (await ortOutputs(readFileSync(modelPath), { x: input })).y!;
  const expected = Array.from(reference.data as Float32Array);
  const argmax = expected.indexOf(Math.max(...expected));
  const inputs = {
    pb: join(folder, 'x.pb'),
    npy: join(folder, 'x.npy'),
    json: join(folder, 'x.json'),
  };
  writeFileSync(inputs.pb, encodeTensor(input, 'x'));
  writeFileSync(inputs.npy, writeNpy(input));
  writeFileSync(inputs.json, JSON.stringify({ type: 'float32', dims: [2, 3], data: Array.from(input.data as Float32Array) }));
  for (const [kind, file] of Object.entries(inputs)) {
    const out = join(folder, `out-${kind}`);
    const result = edgerun('run', modelPath, kind === 'json' ? `--input=x=${file}` : file, '--save-outputs', out, '--json');
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { outputs: { name: string; dims: number[]; values: number[]; argmax: number }[] };
    assert.deepEqual(printed.outputs[0]!.values, expected);
    assert.equal(printed.outputs[0]!.argmax, argmax);
    const pb = decodeTensor(readFileSync(join(out, 'output_0.pb')));
    assert.deepEqual(Array.from(pb.data as Float32Array), expected);
    assert.deepEqual(Array.from(readNpy(readFileSync(join(out, 'output_0.npy'))).data as Float32Array), expected);
  }
  const text = edgerun('run', modelPath, inputs.npy);
  assert.match(text.stdout, new RegExp(`y: float32 \\[2, 3\\] +argmax ${argmax}\\n +${expected.join(', ').replace(/\./g, '\\.')}`));
});

test('ops lists the catalogue with versions', () => {
  const ops = JSON.parse(edgerun('ops', '--json').stdout) as { domain: string; name: string; versions: number[] }[];
  const conv = ops.find((op) => op.domain === 'ai.onnx' && op.name === 'Conv');
  assert.ok(conv && conv.versions.includes(1));
  assert.ok(ops.some((op) => op.domain === 'ai.onnx.ml' && op.name === 'TreeEnsemble'));
});

test('exit codes: 1 with a message for model and input errors, 2 for usage', () => {
  const missing = edgerun('run', join(folder, 'nope.onnx'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /IO_ERROR: cannot read/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  const garbage = join(folder, 'garbage.onnx');
  writeFileSync(garbage, new Uint8Array(100).fill(0xff));
  assert.equal(edgerun('inspect', garbage).code, 1);
  const wrongShape = join(folder, 'wrong.npy');
  writeFileSync(wrongShape, writeNpy(new Tensor('float32', new Float32Array(4), [1, 4])));
  const shape = edgerun('run', modelPath, wrongShape);
  assert.equal(shape.code, 1);
  assert.match(shape.stderr, /INPUT_SHAPE_MISMATCH: input 'x': expected dims \[batch, 3\], got \[1, 4\]/);
  assert.equal(edgerun('run').code, 2);
  assert.equal(edgerun('frobnicate').code, 2);
  assert.equal(edgerun('run', modelPath, '--input', 'novalue').code, 2);
  assert.equal(edgerun('run', '--help').code, 0);
});

test('demo finds the speech in the bundled clip with both Silero VAD models', () => {
  const result = edgerun('demo', '--json');
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { expected: number[][]; results: { model: string; matches: boolean; segments: number[][] }[] };
  assert.deepEqual(report.results.map((r) => r.model), ['Silero VAD v5', 'Silero VAD v4']);
  for (const run of report.results) {
    assert.ok(run.matches, `${run.model}: found ${JSON.stringify(run.segments)}, expected ${JSON.stringify(report.expected)}`);
    assert.equal(run.segments.length, 2);
  }
});
