import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InferenceSession, decodeOnnxValue, type TraceEvent } from '../../src/node.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

test('endProfiling writes a Chrome trace: one event per node per run, node times within 10 % of the run', { skip: skipUnlessShared() }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-profile-'));
  try {
    const modelPath = sharedPath('models/squeezenet1_1/model.onnx');
    // Unoptimized, so that the trace's nodes are the model's own; on the reference kernels, whose run time
    // dwarfs a busy test machine's pauses between nodes (the executor's own share is checked in the CLI test).
    const session = await InferenceSession.create(modelPath, {
      enableProfiling: true,
      profileFilePrefix: join(folder, 'squeeze'),
      graphOptimizationLevel: 'disabled',
      executionProviders: ['reference'],
    });
    const input = decodeOnnxValue(readFileSync(sharedPath('models/squeezenet1_1/test_data_set_0/input_0.pb')), undefined);
    const walls: number[] = [];
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      session.runSync({ input });
      walls.push(performance.now() - started);
    }
    const file = session.endProfiling();
    assert.ok(file.startsWith(join(folder, 'squeeze_')) && file.endsWith('.json'), file);
    const trace = JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[];
    const nodeCount = session.model.graph.nodes.length;
    const runs = trace.filter((event) => event.name === 'model_run');
    assert.equal(runs.length, 3);
    for (const [index, run] of runs.entries()) {
      const nodes = trace.filter((event) => event.cat === 'Node' && event.ts >= run.ts && event.ts + event.dur <= run.ts + run.dur + 1);
      assert.equal(nodes.length, nodeCount, `run ${index}: one event per node`);
      assert.equal(new Set(nodes.map((event) => event.name)).size, nodeCount, 'each node once');
      for (const event of nodes) {
        assert.equal(event.ph, 'X');
        assert.equal(typeof event.args['op_name'], 'string');
        assert.ok(['wasm', 'reference'].includes(String(event.args['provider'])));
      }
      const kernelMs = nodes.reduce((sum, event) => sum + event.dur, 0) / 1000;
      assert.ok(Math.abs(kernelMs - walls[index]!) <= 0.1 * walls[index]!, `run ${index}: nodes ${kernelMs.toFixed(1)} ms vs wall ${walls[index]!.toFixed(1)} ms`);
    }
    assert.ok(trace.some((event) => event.name === 'session_initialization'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
