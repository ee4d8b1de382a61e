import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { EdgerunError, externalDataBeside, InferenceSession, Tensor } from '../../src/node.js';
import { addReluModel } from '../support/tiny-models.js';

/** The bias initializer moved to an external file at `location`. */
function withExternalBias(location: string): Uint8Array {
  const proto = fromBinary(ModelProtoSchema, addReluModel(new Tensor('float32', new Float32Array(3), [3])));
  const bias = proto.graph!.initializer[0]!;
  bias.rawData = new Uint8Array(0);
  bias.dataLocation = TensorProto_DataLocation.EXTERNAL;
  bias.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: location }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: '4' }),
    create(StringStringEntryProtoSchema, { key: 'length', value: '12' }),
  ];
  return toBinary(ModelProtoSchema, proto);
}

const weights = new Uint8Array(new Float32Array([99, 1, 2, 3]).buffer);

test('external data is read beside a model opened by path', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-ext-'));
  writeFileSync(join(folder, 'weights.bin'), weights);
  writeFileSync(join(folder, 'model.onnx'), withExternalBias('weights.bin'));
  const session = await InferenceSession.create(join(folder, 'model.onnx'));
  const out = await session.run({ x: new Tensor('float32', new Float32Array(3), [1, 3]) });
  assert.deepEqual(Array.from((out.y as Tensor).data as Float32Array), [1, 2, 3]);
});

test('a model path that cannot be read is an IO_ERROR naming it; a special file is read to its end', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-path-'));
  for (const path of [join(folder, 'missing.onnx'), join(folder, 'no-folder', 'model.onnx'), folder]) {
    await assert.rejects(InferenceSession.create(path), (error: unknown) => {
      assert.ok(error instanceof EdgerunError);
      assert.equal(error.code, 'IO_ERROR');
      assert.ok(error.message.includes(`cannot read '${path}'`), error.message);
      return true;
    });
  }
  // A /proc file reports size 0: read to its end, it is text, not an empty model.
  await assert.rejects(InferenceSession.create('/proc/self/status'), (error: unknown) => {
    assert.ok(error instanceof EdgerunError);
    assert.doesNotMatch(error.message, /more than 0 bytes/);
    return true;
  });
});

test('external data beside a model whose folder is gone is an EXTERNAL_DATA error naming the model', () => {
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-gone-'));
  const read = externalDataBeside(join(folder, 'model.onnx'));
  rmSync(folder, { recursive: true });
  assert.throws(() => read('weights.bin', 0, 4), (error: unknown) => {
    assert.ok(error instanceof EdgerunError);
    assert.equal(error.code, 'EXTERNAL_DATA');
    assert.ok(error.message.includes(`the folder of '${join(folder, 'model.onnx')}' is gone`), error.message);
    return true;
  });
});

test('external data given as bytes works without a file system', async () => {
  const session = await InferenceSession.create(withExternalBias('weights.bin'), { externalData: { 'weights.bin': weights } });
  const out = await session.run({ x: new Tensor('float32', Float32Array.of(1, 1, 1), [1, 3]) });
  assert.deepEqual(Array.from((out.y as Tensor).data as Float32Array), [2, 3, 4]);
});

test('external data paths that leave the model folder are refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgerun-ext-'));
  mkdirSync(join(root, 'model'));
  writeFileSync(join(root, 'secret.bin'), weights);
  for (const location of ['../secret.bin', join(root, 'secret.bin'), 'missing.bin']) {
    writeFileSync(join(root, 'model', 'model.onnx'), withExternalBias(location));
    await assert.rejects(InferenceSession.create(join(root, 'model', 'model.onnx')), (error: unknown) => {
      assert.ok(error instanceof EdgerunError);
      assert.equal(error.code, 'EXTERNAL_DATA');
      assert.match(error.message, /initializer 'b'/);
      return true;
    });
  }
});
