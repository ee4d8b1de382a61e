import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EdgerunError, InferenceSession, Tensor } from '../../src/node.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { ortOutputs } from '../support/ort-reference.js';
import { addReluModel, model, node, tensorInfo } from '../support/tiny-models.js';

const bias = new Tensor('float32', Float32Array.of(1, -2, 0.5), [3]);

async function rejectsWith(promise: Promise<unknown>, code: string, mentions: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof EdgerunError, `expected an EdgerunError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, mentions);
    return true;
  });
}

test('a session exposes names and ORT-shaped metadata, and runs', async () => {
  const session = await InferenceSession.create(addReluModel(bias));
  assert.deepEqual(session.inputNames, ['x']);
  assert.deepEqual(session.outputNames, ['y']);
  assert.deepEqual(session.inputMetadata[0], { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 3], description: 'float32[batch, 3]' });
  const feeds = { x: new Tensor('float32', Float32Array.of(0, 1, 2, -5, 5, -1), [2, 3]) };
  const y = (await session.run(feeds)).y as Tensor;
  assert.deepStrictEqual(y, (await ortOutputs(addReluModel(bias), feeds)).y);
});

test('feeds are checked by name, type and shape, with messages naming the input', async () => {
  const session = await InferenceSession.create(addReluModel(bias));
  const good = new Tensor('float32', new Float32Array(3), [1, 3]);
  await rejectsWith(session.run({ nope: good }), 'INPUT_NAME_UNKNOWN', /'nope'.*inputs: x/);
  await rejectsWith(session.run({}), 'INPUT_MISSING', /'x'/);
  await rejectsWith(session.run({ x: new Tensor('int32', new Int32Array(3), [1, 3]) }), 'INPUT_TYPE_MISMATCH', /input 'x': expected float32, got int32/);
  await rejectsWith(session.run({ x: new Tensor('float32', new Float32Array(4), [1, 4]) }), 'INPUT_SHAPE_MISMATCH', /input 'x': expected dims \[batch, 3\], got \[1, 4\]/);
  await rejectsWith(session.run({ x: good }, ['z']), 'OUTPUT_NAME_UNKNOWN', /'z'/);
});

test('a kernel failure names the node and op', async () => {
  const session = await InferenceSession.create(
    encodeOnnx(
      model({
        nodes: [node('Add', ['a', 'b'], ['c'], 'the_add')],
        inputs: [tensorInfo('a', 'float32'), tensorInfo('b', 'float32')],
        outputs: [tensorInfo('c', 'float32')],
      }),
    ),
  );
  await rejectsWith(
    session.run({ a: new Tensor('float32', new Float32Array(2), [2]), b: new Tensor('float32', new Float32Array(3), [3]) }),
    'SHAPE_MISMATCH',
    /^node 'the_add' \(Add\): (shapes|inputs) \[2\] and \[3\] (cannot|do not) broadcast/,
  );
});

test('release frees the session; later runs fail with SESSION_RELEASED', async () => {
  const session = await InferenceSession.create(addReluModel(bias));
  await session.release();
  await rejectsWith(session.run({ x: new Tensor('float32', new Float32Array(3), [1, 3]) }), 'SESSION_RELEASED', /released/);
});

test('unsupported ops are all named at creation', async () => {
  const bytes = encodeOnnx(
    model({
      nodes: [node('FancyOp', ['x'], ['t'], 'first'), node('OtherOp', ['t'], ['y'], 'second')],
      inputs: [tensorInfo('x', 'float32')],
      outputs: [tensorInfo('y', 'float32')],
    }),
  );
  await rejectsWith(InferenceSession.create(bytes), 'UNSUPPORTED_OP', /2 node\(s\).*'first' \(FancyOp\).*'second' \(OtherOp\)/);
});

test('cyclic graphs and dangling inputs are rejected with the nodes named', async () => {
  const cyclic = encodeOnnx(
    model({
      nodes: [node('Relu', ['b'], ['a'], 'n1'), node('Relu', ['a'], ['b'], 'n2')],
      inputs: [],
      outputs: [tensorInfo('a', 'float32')],
    }),
  );
  await rejectsWith(InferenceSession.create(cyclic), 'GRAPH_CYCLE', /'n1' \(Relu\)/);
  const dangling = encodeOnnx(
    model({ nodes: [node('Relu', ['ghost'], ['y'], 'n1')], inputs: [], outputs: [tensorInfo('y', 'float32')] }),
  );
  await rejectsWith(InferenceSession.create(dangling), 'INVALID_GRAPH', /node 'n1' \(Relu\): input 'ghost'/);
});

test('truncated and garbage bytes give MODEL_TRUNCATED / MODEL_INVALID / UNKNOWN_FORMAT', async () => {
  const bytes = addReluModel(bias);
  await rejectsWith(InferenceSession.create(bytes.subarray(0, bytes.length - 7)), 'MODEL_TRUNCATED', /protobuf/);
  await rejectsWith(InferenceSession.create(Uint8Array.of(1, 2, 3)), 'MODEL_TRUNCATED', /3 bytes/);
  await rejectsWith(InferenceSession.create(new Uint8Array(64).fill(0xff)), 'UNKNOWN_FORMAT', /not an ONNX/);
});

test('unknown execution providers are refused by name, also while a model file is still being read', async () => {
  await rejectsWith(InferenceSession.create(addReluModel(bias), { executionProviders: ['gpu'] }), 'INVALID_ARGUMENT', /'gpu'.*available/);
  const path = join(mkdtempSync(join(tmpdir(), 'edgerun-session-')), 'model.onnx');
  writeFileSync(path, addReluModel(bias));
  await rejectsWith(InferenceSession.create(path, { executionProviders: ['gpu'] }), 'INVALID_ARGUMENT', /'gpu'.*available/);
});

test('custom ops registered through the package entry point run like built-in ones', async () => {
  // The package as users import it (its `exports`), not the sources the other tests use.
  const { registerOp, defineOp, attr, InferenceSession: PackageSession, Tensor: PackageTensor } = await import('edgerun');
  registerOp(
    defineOp({
      domain: 'com.example',
      name: 'Scale',
      since: 1,
      inputs: ['X'],
      outputs: ['Y'],
      attributes: { factor: attr.float(2) },
      kernel: ({ tensor, attrs }) => {
        const x = tensor(0);
        return [new PackageTensor('float32', (x.data as Float32Array).map((value) => value * attrs.factor), x.dims)];
      },
    }),
  );
  const scaled = model({ nodes: [{ ...node('Scale', ['x'], ['y']), domain: 'com.example' }], inputs: [tensorInfo('x', 'float32')], outputs: [tensorInfo('y', 'float32')] });
  scaled.opsetImports.push({ domain: 'com.example', version: 1 });
  const session = await PackageSession.create(encodeOnnx(scaled));
  const x = Float32Array.of(1, -3);
  const out = await session.run({ x: new PackageTensor('float32', x, [2]) });
  assert.deepEqual(Array.from((out.y as InstanceType<typeof PackageTensor>).data as Float32Array), Array.from(x, (value) => value * 2));
});

test('run options may come second, as in onnxruntime; a run past its time limit stops with LIMIT_EXCEEDED', async () => {
  // Unoptimized, so that progress counts the model's own two nodes (Add and Relu would fuse).
  const session = await InferenceSession.create(addReluModel(bias), { graphOptimizationLevel: 'disabled' });
  const x = new Tensor('float32', new Float32Array(3), [1, 3]);
  const progress: number[] = [];
  await session.run({ x }, { onProgress: (done) => progress.push(done) });
  assert.deepEqual(progress, [1, 2]);
  await rejectsWith(session.run({ x }, { timeoutMs: -1 }), 'LIMIT_EXCEEDED', /node 'add' \(Add\): the run exceeded its time limit/);
});

test('a node whose output would exceed maxTensorBytes is stopped before it allocates', async () => {
  const filled = encodeOnnx(
    model({
      nodes: [node('ConstantOfShape', ['shape'], ['y'], 'fill')],
      inputs: [tensorInfo('shape', 'int64', [2])],
      outputs: [tensorInfo('y', 'float32')],
    }),
  );
  const huge = new Tensor('int64', BigInt64Array.of(50000n, 50000n), [2]);
  await rejectsWith((await InferenceSession.create(filled)).run({ shape: huge }), 'LIMIT_EXCEEDED', /node 'fill' \(ConstantOfShape\): output 'y' would be float32\[50000, 50000\] \(9\.31 GiB\), over the 4\.00 GiB limit/);
  const capped = await InferenceSession.create(filled, { maxTensorBytes: 1024 });
  await rejectsWith(capped.run({ shape: new Tensor('int64', BigInt64Array.of(16n, 17n), [2]) }), 'LIMIT_EXCEEDED', /float32\[16, 17\]/);
  const small = await capped.run({ shape: new Tensor('int64', BigInt64Array.of(16n, 16n), [2]) });
  assert.deepEqual((small.y as Tensor).dims, [16, 16]);
});

test('a named dim must have one size across the inputs that share it', async () => {
  const added = encodeOnnx(
    model({
      nodes: [node('Add', ['a', 'b'], ['c'], 'sum')],
      inputs: [tensorInfo('a', 'float32', ['batch', 2]), tensorInfo('b', 'float32', ['batch', 2])],
      outputs: [tensorInfo('c', 'float32', ['batch', 2])],
    }),
  );
  const session = await InferenceSession.create(added);
  const ones = (rows: number) => new Tensor('float32', new Float32Array(rows * 2).fill(1), [rows, 2]);
  assert.deepEqual(((await session.run({ a: ones(3), b: ones(3) })).c as Tensor).dims, [3, 2]);
  await rejectsWith(session.run({ a: ones(3), b: ones(1) }), 'INPUT_SHAPE_MISMATCH', /input 'b': dim 'batch' \(axis 0\) is 1, but input 'a' gave 'batch' = 3/);
});

test('feeding bare arrays says how to wrap them', async () => {
  const session = await InferenceSession.create(addReluModel(bias));
  const bare = { x: [1, 2, 3] } as unknown as Record<string, Tensor>;
  await rejectsWith(session.run(bare), 'INPUT_TYPE_MISMATCH', /input 'x': expected float32\[batch, 3\], got a plain array of numbers \(wrap it: new Tensor/);
  const typed = { x: Float32Array.of(1, 2, 3) } as unknown as Record<string, Tensor>;
  await rejectsWith(session.run(typed), 'INPUT_TYPE_MISMATCH', /got a bare Float32Array/);
});
