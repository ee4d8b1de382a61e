import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchInputs, benchModel, compareOutputs, maxAbsDifference, median, pairedRatio, parseCounts, quantile, roundOrder, summarize, type ModelResult, type PlainTensor } from '../../src/cli/bench.js';
import { Tensor } from '../../src/core/tensor.js';
import { REPO_ROOT } from '../support/shared.js';
import { addReluModel } from '../support/tiny-models.js';

test('quantiles interpolate between ranks as numpy does', () => {
  const oneToTen = [10, 3, 1, 4, 2, 5, 9, 6, 8, 7];
  assert.equal(median(oneToTen), 5.5);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Math.abs(quantile(oneToTen, 0.9) - 9.1) < 1e-12);
  assert.equal(quantile(oneToTen, 0), 1);
  assert.equal(quantile(oneToTen, 1), 10);
  assert.throws(() => quantile([], 0.5), RangeError);
});

test('summary: median, p90 and spread as IQR over the median', () => {
  const stats = summarize([10, 10, 10, 10, 20, 20, 20, 20, 100]);
  assert.equal(stats.medianMs, 20);
  assert.equal(stats.minMs, 10);
  // quartiles at ranks 2 and 6: 10 and 20
  assert.equal(stats.spread, (20 - 10) / 20);
  assert.ok(Math.abs(stats.p90Ms - 36) < 1e-9);
});

test('paired ratios cancel drift that hits both runtimes in the same round', () => {
  const drift = [1, 3, 1, 5, 1];
  const peer = drift.map((factor) => 2 * factor);
  const edgerun = drift.map((factor) => 3 * factor);
  assert.equal(pairedRatio(edgerun, peer), 1.5);
  assert.throws(() => pairedRatio([1], [1, 2]), RangeError);
});

test('each round runs every runtime once, in an order that puts each runtime behind every other', () => {
  const runtimes = ['edgerun', 'onnxruntime-node', 'onnxruntime-web', 'tfjs-tflite', 'litert'];
  const predecessors = new Map(runtimes.map((runtime) => [runtime, new Set<string>()]));
  for (let round = 0; round < 30; round++) {
    const order = roundOrder(runtimes, round);
    assert.deepEqual([...order].sort(), [...runtimes].sort(), `round ${round} runs each runtime once`);
    assert.deepEqual(roundOrder(runtimes, round), order, 'the order of a round is reproducible');
    order.slice(1).forEach((runtime, index) => predecessors.get(runtime)!.add(order[index]!));
  }
  for (const [runtime, before] of predecessors) assert.equal(before.size, runtimes.length - 1, `${runtime} ran after ${[...before].join(', ')}`);
});

test('outputs are compared within rtol/atol, integers within one step, NaN only against NaN', () => {
  const tensor = (data: number[], type = 'float32'): PlainTensor => ({ name: 'y', type, dims: [data.length], data: type === 'float32' ? Float32Array.from(data) : Uint8Array.from(data) });
  assert.equal(compareOutputs([tensor([1, 2.001])], [tensor([1, 2])]), undefined);
  assert.match(compareOutputs([tensor([1, 2.01])], [tensor([1, 2])]) ?? '', /element 1: 2\.00999/);
  assert.match(compareOutputs([tensor([Number.NaN])], [tensor([0])]) ?? '', /element 0/);
  assert.equal(compareOutputs([tensor([5, 7], 'uint8')], [tensor([6, 7], 'uint8')]), undefined);
  assert.match(compareOutputs([tensor([4], 'uint8')], [tensor([6], 'uint8')]) ?? '', /element 0: 4, expected 6/);
  assert.match(compareOutputs([tensor([1, 2])], [{ ...tensor([1, 2]), dims: [1, 2] }]) ?? '', /dims/);
  assert.ok(Math.abs(maxAbsDifference([tensor([1, 2.25, -3])], [tensor([1, 2, -3.5])]) - 0.5) < 1e-6);
  assert.equal(maxAbsDifference([tensor([Number.NaN, 1])], [tensor([Number.NaN, 1])]), 0);
  assert.equal(maxAbsDifference([tensor([Number.NaN])], [tensor([0])]), Infinity);
  assert.equal(maxAbsDifference([tensor([1, 2])], [{ ...tensor([1, 2]), dims: [1, 2] }]), Infinity);
});

test('each runtime runs in its own process, interleaved, and edgerun is checked against onnxruntime-node', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-bench-'));
  const modelPath = join(folder, 'add_relu.onnx');
  writeFileSync(modelPath, addReluModel(new Tensor('float32', Float32Array.of(-0.5, 0, 0.5), [3])));
  const inputs = await benchInputs(modelPath);
  assert.deepEqual(inputs[0]?.dims, [1, 3]);
  const result = await benchModel({ name: 'add_relu', onnx: modelPath, inputs }, { threads: 1, warmups: 1, runs: 4, runtimes: ['edgerun', 'onnxruntime-node', 'tfjs-tflite'], edgerun: {} });
  const [edgerun, ortNode, tflite] = result.results;
  assert.equal(edgerun?.timesMs?.length, 4);
  assert.equal(ortNode?.timesMs?.length, 4);
  assert.ok(edgerun!.stats!.medianMs > 0 && edgerun!.peakRssMb! > edgerun!.baselineRssMb! - 1);
  assert.equal(ortNode?.edgerunRatio, pairedRatio(edgerun!.timesMs!, ortNode!.timesMs!));
  assert.equal(tflite?.unavailable, 'no .tflite');
  assert.deepEqual(result.outputCheck && { against: result.outputCheck.against, matches: result.outputCheck.matches }, { against: 'onnxruntime-node', matches: true });
});

function bench(env: Record<string, string | undefined>, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'build/bench/run.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const lines = `${result.stdout}${result.stderr}`.trim().split('\n');
  return { code: result.status, last: lines[lines.length - 1] ?? '' };
}

test('without the shared models the bench does not pass: a skip says so and fails unless allowed, a failure under CI', () => {
  const nowhere = mkdtempSync(join(tmpdir(), 'edgerun-no-shared-'));
  const outsideCi = { EDGERUN_SHARED: nowhere, CI: undefined };
  const skipped = bench(outsideCi);
  assert.equal(skipped.code, 1);
  assert.match(skipped.last, /^bench: SKIPPED: .*pass --allow-skip/);
  const allowed = bench(outsideCi, '--allow-skip');
  assert.equal(allowed.code, 0);
  assert.match(allowed.last, /^bench: SKIPPED: /);
  const underCi = bench({ EDGERUN_SHARED: nowhere, CI: 'true' }, '--allow-skip');
  assert.equal(underCi.code, 1);
  assert.match(underCi.last, /^bench: FAILED: .*missing prerequisite is a failure under CI/);
});

test('counts on the command line are whole numbers from a minimum up', () => {
  assert.deepEqual(parseCounts('1,2', '--threads'), [1, 2]);
  assert.deepEqual(parseCounts('0', '--warmups', 0), [0]);
  for (const bad of ['0', '1.5', 'two', '1,,2', '']) assert.throws(() => parseCounts(bad, '--threads'), /--threads takes whole numbers from 1 up/);
});

/** `edgerun bench ...` through commander as main.ts will register it, in a process of its own. */
function edgerunBench(...args: string[]) {
  const script = `
    import { Command } from 'commander';
    import { registerBench } from ${JSON.stringify(join(REPO_ROOT, 'build/src/cli/bench.js'))};
    import { reportFailure } from ${JSON.stringify(join(REPO_ROOT, 'build/src/cli/output.js'))};
    const program = new Command('edgerun').exitOverride();
    registerBench(program);
    await program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((error) => { process.exitCode = reportFailure(error); });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'bench', ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('edgerun bench MODEL: chosen peers and thread counts, JSON out; bad options are usage errors', () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-bench-cli-'));
  const modelPath = join(folder, 'add_relu.onnx');
  writeFileSync(modelPath, addReluModel(new Tensor('float32', Float32Array.of(1, 2, 3), [3])));
  const run = edgerunBench(modelPath, '--runs', '3', '--warmups', '0', '--threads', '1,2', '--peers', 'onnxruntime-node', '--json');
  assert.equal(run.code, 0, run.stderr);
  const { results } = JSON.parse(run.stdout) as { results: ModelResult[] };
  assert.deepEqual(results.map((result) => [result.threads, result.results.map((runtime) => runtime.runtime)]), [
    [1, ['edgerun', 'onnxruntime-node']],
    [2, ['edgerun', 'onnxruntime-node']],
  ]);
  assert.ok(results.every((result) => result.outputCheck?.matches && result.results.every((runtime) => runtime.timesMs?.length === 3)));
  const table = edgerunBench(modelPath, '--runs', '2', '--warmups', '0', '--peers', 'none');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /add_relu\.onnx \| 1 \| [\d.]+ \| not checked \|/);
  const typo = edgerunBench(modelPath, '--peers', 'onnxruntime-nod');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown peer onnxruntime-nod/);
  assert.equal(edgerunBench(modelPath, '--runs', '0').code, 2);
});
