import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { convertFile, onnxToTflite } from '../../scripts/onnx-to-tflite.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { EdgerunError } from '../../src/core/errors.js';
import { benchInputs, benchModel, type RuntimeName } from '../../src/cli/bench.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';

/**
 * The .tflite twins the bench gives the TFLite peers: each converted model, run by tfjs-tflite and LiteRT.js
 * on its test_data_set_0 input, must give onnxruntime-node's outputs on the ONNX file (rtol 1e-3, atol 1e-4,
 * and a max |diff| below 1e-4).
 */
const folder = mkdtempSync(join(tmpdir(), 'edgerun-tflite-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** LiteRT.js refuses models with variable tensors ("Variable tensors not yet supported"), which TFLite's sequence LSTM keeps its state in. */
const TWINS: Record<string, RuntimeName[]> = {
  mnist_cnn: ['tfjs-tflite', 'litert'],
  squeezenet1_1: ['tfjs-tflite', 'litert'],
  mobilenet_v2: ['tfjs-tflite', 'litert'],
  tiny_bert_encoder: ['tfjs-tflite', 'litert'],
  lstm_classifier: ['tfjs-tflite'],
};

for (const [name, peers] of Object.entries(TWINS)) {
  test(`${name}: its .tflite twin computes what the ONNX model computes, in ${peers.join(' and ')}`, { skip: skipUnlessShared() }, async (t) => {
    const onnx = sharedPath('models', name, 'model.onnx');
    const tflite = convertFile(onnx, join(folder, `${name}.tflite`));
    const result = await benchModel({ name, onnx, tflite, inputs: await benchInputs(onnx) }, { threads: 1, warmups: 0, runs: 1, runtimes: ['onnxruntime-node', ...peers], edgerun: {} });
    for (const runtime of result.results) assert.equal(runtime.unavailable, undefined, `${runtime.runtime}: ${runtime.unavailable}`);
    assert.deepEqual(result.peerChecks?.map((check) => check.runtime), peers);
    for (const check of result.peerChecks!) {
      t.diagnostic(`${check.runtime} vs ${check.against}: max |diff| ${check.maxAbsDiff.toExponential(2)}`);
      assert.ok(check.matches, `${check.runtime}: ${check.detail}`);
      assert.ok(check.maxAbsDiff < 1e-4, `${check.runtime}: max |diff| ${check.maxAbsDiff}`);
    }
  });
}

test('an op the converter has no TFLite form for is refused with UNSUPPORTED_OP naming the node', () => {
  const sine = model({
    nodes: [node('Sin', ['x'], ['y'], 'the_sine')],
    inputs: [tensorInfo('x', 'float32', [1, 4])],
    outputs: [tensorInfo('y', 'float32', [1, 4])],
  });
  assert.throws(
    () => onnxToTflite(encodeOnnx(sine)),
    (error: unknown) => error instanceof EdgerunError && error.code === 'UNSUPPORTED_OP' && /the_sine/.test(error.message) && /Sin/.test(error.message),
  );
});
