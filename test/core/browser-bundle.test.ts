import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { Tensor } from '../../src/core/tensor.js';
import { REPO_ROOT } from '../support/shared.js';
import { ortOutputs } from '../support/ort-reference.js';
import { addReluModel } from '../support/tiny-models.js';

/**
 * The browser entry bundles for the browser platform and runs a model in a bare JavaScript context that
 * has no Node globals at all (no process, Buffer, require or file system).
 */
test('the browser entry bundles and runs a model without any Node API', async () => {
  const result = await build({
    entryPoints: [`${REPO_ROOT}/src/index.ts`],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'edgerun',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const context: Record<string, unknown> = { TextDecoder, TextEncoder, performance, console };
  runInNewContext(`${code}\nglobalThis.api = edgerun;`, context);
  const api = context.api as typeof import('../../src/index.js');
  const bytes = addReluModel(new Tensor('float32', Float32Array.of(1, -2, 0.5), [3]));
  const session = await api.InferenceSession.create(bytes);
  const data = Float32Array.of(0, 1, 2);
  const out = await session.run({ x: new api.Tensor('float32', data, [1, 3]) });
  const reference = (await ortOutputs(bytes, { x: new Tensor('float32', data, [1, 3]) })).y!;
  assert.deepEqual(Array.from((out.y as Tensor).data as Float32Array), Array.from(reference.data as Float32Array));
  await assert.rejects(api.InferenceSession.create('model.onnx'), /pass the model bytes/);
});
