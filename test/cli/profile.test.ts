import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProfileReport } from '../../src/runtime/profile.js';
import { REPO_ROOT, sharedPath, skipUnlessShared } from '../support/shared.js';

function edgerun(...args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/edgerun.js'), ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.signal, null, `edgerun ${args.join(' ')} was killed (${result.signal})`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('edgerun profile prints per-op-type and per-node tables with the time outside kernels', { skip: skipUnlessShared() }, () => {
  const model = sharedPath('models/mnist_cnn/model.onnx');
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-cli-profile-'));
  const json = edgerun('profile', model, '--runs', '3', '--warmup', '1', '--level', 'disabled', '--trace', join(folder, 'mnist'), '--json');
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as ProfileReport & { model: string; trace: string; wasmBuild: string | null };
  assert.equal(report.runs, 3);
  // The command line turns relaxed SIMD on for its process (Node 20 keeps it behind a flag): the fused
  // multiply-add build with shared memory is the one its sessions load.
  assert.equal(report.wasmBuild, 'relaxed-threads');
  assert.ok(report.trace.startsWith(join(folder, 'mnist_')), report.trace);
  const events = JSON.parse(readFileSync(report.trace, 'utf8')) as { name: string }[];
  assert.equal(events.filter((event) => event.name === 'model_run').length, 4, 'the trace holds the warm-up and the timed runs');
  // mnist_cnn: Conv-Relu-MaxPool twice, Reshape/Flatten, Gemm.
  const opTypes = report.opTypes.map((op) => op.opType).sort();
  for (const op of ['Conv', 'Relu', 'MaxPool', 'Gemm']) assert.ok(opTypes.includes(op), `${op} is listed (got ${opTypes.join(', ')})`);
  assert.ok(report.opTypes.every((op) => ['wasm', 'reference'].includes(op.backend) && op.calls >= 1));
  assert.ok(report.opTypes.some((op) => op.opType === 'Conv' && op.backend === 'wasm'), 'Conv runs on the wasm backend by default');
  const shares = report.opTypes.reduce((sum, op) => sum + op.share, 0) + report.outsideKernelsMs / report.runMs;
  assert.ok(Math.abs(shares - 1) < 0.01, `op-type shares and the outside-kernels share add up to 1 (got ${shares})`);
  assert.ok(Math.abs(report.kernelMs + report.outsideKernelsMs - report.runMs) < 1e-6);
  assert.ok(report.nodes.every((node) => /float32\[/.test(node.outputShapes)));

  const text = edgerun('profile', model, '--runs', '2', '--trace', join(folder, 'text'));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /ms per run; wasm build: relaxed-threads/);
  assert.match(text.stdout, /= per op type \(ms per run\) =/);
  assert.match(text.stdout, /\(outside kernels\)/);
  assert.match(text.stdout, /= top \d+ nodes \(ms per run\) =/);
  assert.match(text.stdout, /trace \(chrome:\/\/tracing, Perfetto\): .*text_.*\.json/);

  // With the reference kernels alone, no wasm build runs and none is named.
  const reference = edgerun('profile', model, '--runs', '1', '--ep', 'reference', '--trace', join(folder, 'reference'), '--json');
  assert.equal(reference.code, 0, reference.stderr);
  const referenceReport = JSON.parse(reference.stdout) as ProfileReport & { wasmBuild: string | null };
  assert.ok(referenceReport.opTypes.every((op) => op.backend === 'reference'));
  assert.equal(referenceReport.wasmBuild, null);
  rmSync(folder, { recursive: true, force: true });

  const refused = edgerun('profile', model, '--runs', '0', '--json');
  assert.notEqual(refused.code, 0);
  assert.match((JSON.parse(refused.stdout) as { error: { message: string } }).error.message, /--runs takes a positive integer/);
});
