import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InferenceSession, Tensor } from '../../src/node.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function arrayBufferMiB(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().arrayBuffers / 2 ** 20;
}

/** onnxruntime-web keeps a session's memory after release(); edgerun's goes back to the system. */
test('release() returns a session\'s weights and activations to the garbage collector', { skip: skipUnlessShared() }, async () => {
  const before = arrayBufferMiB();
  // The handle stays referenced throughout: release() itself must drop the memory.
  const session = await InferenceSession.create(sharedPath('models/mobilenet_v2/model.onnx'));
  await session.run({ input: new Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
  const loaded = arrayBufferMiB();
  assert.ok(loaded - before > 10, `mobilenet_v2's weights should hold over 10 MiB, held ${(loaded - before).toFixed(1)} MiB`);
  await session.release();
  const released = arrayBufferMiB();
  assert.ok(released - before < 1, `after release ${(released - before).toFixed(1)} MiB were still held (loaded: ${(loaded - before).toFixed(1)} MiB)`);
});
