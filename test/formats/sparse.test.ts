import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  ModelProtoSchema,
  NodeProtoSchema,
  SparseTensorProtoSchema,
} from 'onnx-buf';
import { EdgerunError, InferenceSession, Tensor } from '../../src/node.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { tensorToProto } from '../../src/formats/onnx/tensor-proto.js';
import { ortOutputs } from '../support/ort-reference.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';

/** y = x + w + c where w is a sparse initializer (coordinate indices) and c a Constant's sparse_value (linear). */
function sparseModel(coordinates: bigint[]): Uint8Array {
  const dense = encodeOnnx(
    model({
      nodes: [node('Add', ['x', 'w'], ['t'], 'add_w'), node('Add', ['t', 'c'], ['y'], 'add_c')],
      inputs: [tensorInfo('x', 'float32', [2, 3])],
      outputs: [tensorInfo('y', 'float32', [2, 3])],
    }),
  );
  const proto = fromBinary(ModelProtoSchema, dense);
  const graph = proto.graph!;
  graph.sparseInitializer.push(
    create(SparseTensorProtoSchema, {
      values: tensorToProto(new Tensor('float32', Float32Array.of(5, -7), [2]), 'w'),
      indices: tensorToProto(new Tensor('int64', BigInt64Array.from(coordinates), [2, 2])),
      dims: [2n, 3n],
    }),
  );
  const sparseValue = create(SparseTensorProtoSchema, {
    values: tensorToProto(new Tensor('float32', Float32Array.of(0.5), [1]), 'c'),
    indices: tensorToProto(new Tensor('int64', BigInt64Array.of(4n), [1])),
    dims: [2n, 3n],
  });
  graph.node.unshift(
    create(NodeProtoSchema, {
      name: 'constant',
      opType: 'Constant',
      output: ['c'],
      attribute: [create(AttributeProtoSchema, { name: 'sparse_value', type: AttributeProto_AttributeType.SPARSE_TENSOR, sparseTensor: sparseValue })],
    }),
  );
  return toBinary(ModelProtoSchema, proto);
}

const feeds = { x: new Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) };

test('sparse initializers and sparse Constant values run as onnxruntime runs them, also after re-encoding', async () => {
  const bytes = sparseModel([0n, 1n, 1n, 2n]);
  const reference = (await ortOutputs(bytes, feeds)).y;
  const out = await (await InferenceSession.create(bytes)).run(feeds);
  assert.deepStrictEqual(out.y, reference);
  const reencoded = encodeOnnx(decodeOnnx(bytes));
  assert.deepStrictEqual((await ortOutputs(reencoded, feeds)).y, reference);
  assert.deepStrictEqual(decodeOnnx(reencoded), decodeOnnx(bytes));
});

test('sparse indices outside the dims are refused, naming the initializer', async () => {
  await assert.rejects(InferenceSession.create(sparseModel([0n, 1n, 2n, 0n])), (error: unknown) => {
    assert.ok(error instanceof EdgerunError);
    assert.equal(error.code, 'MODEL_INVALID');
    assert.match(error.message, /sparse initializer 'w'.*index 2 on axis 0 is out of \[0, 2\)/);
    return true;
  });
});
