import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

/**
 * Bytes of typed arrays allocated while a session runs, counted by wrapping the global typed-array
 * constructors before edgerun is loaded (this file runs in a process of its own). Views onto existing
 * memory (the arena's slots) are not allocations and are not counted.
 */
const allocated = { bytes: 0 };
const TYPED_ARRAYS = ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'] as const;
const globals = globalThis as unknown as Record<string, new (...args: unknown[]) => ArrayBufferView>;
for (const name of TYPED_ARRAYS) {
  const Base = globals[name]!;
  const Counting = class extends Base {
    constructor(...args: unknown[]) {
      super(...args);
      const first = args[0];
      const isView = first instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && first instanceof SharedArrayBuffer);
      if (!isView) allocated.bytes += this.byteLength;
    }
  };
  // edgerun checks tensor data by its constructor's name.
  Object.defineProperty(Counting, 'name', { value: name });
  globals[name] = Counting as never;
}
const { InferenceSession, decodeOnnxValue } = await import('../../src/node.js');

test('steady-state runs of a static-shape model allocate only their outputs', { skip: skipUnlessShared() }, async () => {
  for (const name of ['mobilenet_v2', 'squeezenet1_1']) {
    const folder = sharedPath(`models/${name}`);
    const session = await InferenceSession.create(`${folder}/model.onnx`);
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
    console.log(`${name}: ${(perRun / 1024).toFixed(1)} KiB allocated per run, outputs ${(outputBytes / runs / 1024).toFixed(1)} KiB`);
    assert.ok(perRun <= outputBytes / runs + 64 * 1024, `${name}: ${(perRun / 2 ** 20).toFixed(2)} MiB allocated per run beyond its outputs`);
    await session.release();
  }
});
