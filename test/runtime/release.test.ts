import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InferenceSession, Tensor } from '../../src/node.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Array buffer memory after collections; a turn of the event loop between them lets V8 free backing stores. */
async function arrayBufferMiB(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().arrayBuffers / 2 ** 20;
}

/** onnxruntime-web keeps a session's memory after release(); edgerun's goes back to the system. */
test('release() returns a session\'s weights and activations to the garbage collector', { skip: skipUnlessShared() }, async () => {
  const before = await arrayBufferMiB();
  // The handle stays referenced throughout: release() itself must drop the memory.
  const session = await InferenceSession.create(sharedPath('models/mobilenet_v2/model.onnx'));
  await session.run({ input: new Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
  const loaded = await arrayBufferMiB();
  assert.ok(loaded - before > 10, `mobilenet_v2's weights should hold over 10 MiB, held ${(loaded - before).toFixed(1)} MiB`);
  await session.release();
  const released = await arrayBufferMiB();
  assert.ok(released - before < 1, `after release ${(released - before).toFixed(1)} MiB were still held (loaded: ${(loaded - before).toFixed(1)} MiB)`);
});

test('a create / run / release loop of 100 sessions keeps RSS flat', { skip: skipUnlessShared() }, async () => {
  const { readFileSync } = await import('node:fs');
  const { decodeOnnxValue } = await import('../../src/node.js');
  const folder = sharedPath('models/tiny_bert_encoder');
  const bytes = readFileSync(`${folder}/model.onnx`);
  const feeds = {
    input: decodeOnnxValue(readFileSync(`${folder}/test_data_set_0/input_0.pb`), undefined),
    attention_mask: decodeOnnxValue(readFileSync(`${folder}/test_data_set_0/input_1.pb`), undefined),
  };
  const cycle = async () => {
    const session = await InferenceSession.create(bytes);
    await session.run(feeds);
    await session.release();
  };
  const memory = () => {
    collectGarbage();
    collectGarbage();
    const usage = process.memoryUsage();
    return { rss: usage.rss / 2 ** 20, held: (usage.heapUsed + usage.arrayBuffers) / 2 ** 20 };
  };
  // The first cycles raise the allocator's high-water mark; a leak keeps climbing after it.
  for (let i = 0; i < 40; i++) await cycle();
  const settled = memory();
  for (let i = 0; i < 60; i++) await cycle();
  const after = memory();
  // Each session holds 2 MiB of weights: a leak of one session per cycle would add 120 MiB.
  assert.ok(after.held - settled.held < 8, `JS heap + array buffers grew ${(after.held - settled.held).toFixed(1)} MiB over 60 cycles`);
  assert.ok(after.rss - settled.rss < 40, `RSS grew ${(after.rss - settled.rss).toFixed(1)} MiB over 60 create/run/release cycles (from ${settled.rss.toFixed(0)} MiB)`);
});
