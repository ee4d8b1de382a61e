import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { countAllocations } from '../support/allocations.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

/**
 * Bytes of typed arrays allocated while a session runs, counted by wrapping the global typed-array
 * constructors before edgerun is loaded (this file runs in a process of its own). Views onto existing
 * memory (the arena's slots) are not allocations and are not counted.
 */
const allocated = countAllocations();
const { InferenceSession, decodeOnnxValue } = await import('../../src/node.js');

test('steady-state runs of a static-shape model allocate only their outputs', { skip: skipUnlessShared() }, async () => {
  for (const [name, provider] of [['mobilenet_v2', 'wasm'], ['squeezenet1_1', 'wasm'], ['mobilenet_v2', 'reference'], ['squeezenet1_1', 'reference']] as const) {
    const folder = sharedPath(`models/${name}`);
    const session = await InferenceSession.create(`${folder}/model.onnx`, { executionProviders: [provider] });
    const input = decodeOnnxValue(readFileSync(`${folder}/test_data_set_0/input_0.pb`), undefined);
    for (let i = 0; i < 2; i++) session.runSync({ input });
    const runs = 3;
    const before = allocated.bytes;
    let outputBytes = 0;
    for (let i = 0; i < runs; i++) {
      const outputs = session.runSync({ input });
      for (const value of Object.values(outputs)) outputBytes += (value as { data: ArrayBufferView }).data.byteLength;
    }
    const perRun = (allocated.bytes - before) / runs;
    console.log(`${name} on ${provider}: ${(perRun / 1024).toFixed(1)} KiB allocated per run, outputs ${(outputBytes / runs / 1024).toFixed(1)} KiB`);
    assert.ok(perRun <= outputBytes / runs + 64 * 1024, `${name} on ${provider}: ${(perRun / 2 ** 20).toFixed(2)} MiB allocated per run beyond its outputs`);
    await session.release();
  }
});
