import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EdgerunError, InferenceSession, Tensor, registerBackend, type Backend } from '../../src/node.js';
import type { Model } from '../../src/core/graph.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { planArena } from '../../src/runtime/arena.js';
import { ortOutputs } from '../support/ort-reference.js';
import { compareValues } from '../support/compare.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';

const createRejects = async (source: Model, mentions: RegExp) =>
  assert.rejects(InferenceSession.fromModel(source), (error: unknown) => {
    assert.ok(error instanceof EdgerunError);
    assert.equal(error.code, 'UNSUPPORTED_OP');
    assert.match(error.message, mentions);
    return true;
  });

test('create refuses an unknown op inside a model-local function, naming the node', async () => {
  const withFunction = model({
    nodes: [{ ...node('Twice', ['x'], ['y'], 'call'), domain: 'local' }],
    inputs: [tensorInfo('x', 'float32', [2])],
    outputs: [tensorInfo('y', 'float32', [2])],
  });
  withFunction.opsetImports.push({ domain: 'local', version: 1 });
  withFunction.functions.push({
    name: 'Twice',
    domain: 'local',
    inputs: ['a'],
    outputs: ['b'],
    attributes: [],
    attributeDefaults: {},
    nodes: [node('NoSuchOp', ['a'], ['b'], 'inner_mystery')],
    opsetImports: [{ domain: '', version: 17 }],
  });
  await createRejects(withFunction, /inner_mystery.*NoSuchOp/);
});

/** An If branch of one node `op` reading the enclosing graph's x, named `<name>_node`. */
const branch = (name: string, op: string) => ({
  name,
  nodes: [node(op, ['x'], [`${name}_out`], `${name}_node`)],
  inputs: [],
  outputs: [tensorInfo(`${name}_out`, 'float32')],
  initializers: new Map(),
  valueInfo: [],
});

test('create refuses an unknown op inside an If branch, naming the node', async () => {
  const withIf = model({
    nodes: [
      {
        ...node('If', ['cond'], ['y'], 'choose'),
        attributes: { then_branch: { type: 'graph', value: branch('then', 'Relu') }, else_branch: { type: 'graph', value: branch('else', 'Frobnicate') } },
      },
    ],
    inputs: [tensorInfo('cond', 'bool', []), tensorInfo('x', 'float32', [2])],
    outputs: [tensorInfo('y', 'float32')],
  });
  await createRejects(withIf, /else_node.*Frobnicate/);
});

test('the arena never overlaps buffers that are alive at the same step', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 50; round++) {
    const buffers = Array.from({ length: 30 }, () => {
      const first = Math.floor(random() * 40);
      return { bytes: 1 + Math.floor(random() * 5000), first, last: first + Math.floor(random() * 10) };
    });
    const layout = planArena(buffers);
    buffers.forEach((a, i) =>
      buffers.forEach((b, j) => {
        if (i >= j || a.last < b.first || b.last < a.first) return;
        const apart = layout.offsets[i]! + a.bytes <= layout.offsets[j]! || layout.offsets[j]! + b.bytes <= layout.offsets[i]!;
        assert.ok(apart, `buffers ${i} and ${j} overlap in time and memory`);
      }),
    );
    const peak = Math.max(...Array.from({ length: 50 }, (_, step) => buffers.filter((b) => b.first <= step && step <= b.last).reduce((s, b) => s + b.bytes, 0)));
    assert.ok(layout.size >= peak, 'the arena holds at least the peak of live bytes');
    assert.ok(layout.size <= buffers.reduce((s, b) => s + Math.ceil(b.bytes / 64) * 64, 0), 'the arena is no larger than every buffer apart');
  }
});

/** A chain long enough that the arena must reuse memory: x -> relu -> neg -> relu -> ... -> y. */
function chainModel(length: number): Uint8Array {
  const nodes = Array.from({ length }, (_, i) => node(i % 2 ? 'Neg' : 'Relu', [i === 0 ? 'x' : `v${i}`], [i === length - 1 ? 'y' : `v${i + 1}`], `n${i}`));
  return encodeOnnx(model({ nodes, inputs: [tensorInfo('x', 'float32', [4, 256])], outputs: [tensorInfo('y', 'float32', [4, 256])] }));
}

test('outputs of one run are not overwritten by the next (they leave the arena)', async () => {
  const session = await InferenceSession.create(chainModel(9));
  const first = new Tensor('float32', Float32Array.from({ length: 1024 }, (_, i) => i - 500), [4, 256]);
  const second = new Tensor('float32', Float32Array.from({ length: 1024 }, (_, i) => 500 - i), [4, 256]);
  const y1 = (await session.run({ x: first })).y as Tensor;
  const kept = Float32Array.from(y1.data as Float32Array);
  const y2 = (await session.run({ x: second })).y as Tensor;
  assert.deepEqual(y1.data, kept, 'the first output changed when the session ran again');
  // Relu of -0 may give -0 or +0 by backend; the values must agree within the usual tolerance.
  assert.equal(compareValues(y1, (await ortOutputs(chainModel(9), { x: first })).y!), undefined);
  assert.equal(compareValues(y2, (await ortOutputs(chainModel(9), { x: second })).y!), undefined);
});

test('a value crossing devices is copied by steps the planner inserts', async () => {
  const moves: string[] = [];
  // A stand-in for a GPU backend: its tensors carry a device tag; it runs Neg only.
  const onDevice = new WeakSet<Tensor>();
  const fakeDevice: Backend = {
    name: 'fake-gpu',
    device: 'fake',
    supports: (info) => info.node.opType === 'Neg',
    prepare: () => ({
      run(io) {
        const x = io.inputs[0] as Tensor;
        assert.ok(onDevice.has(x), 'the device kernel was handed a host tensor');
        const y = new Tensor('float32', (x.data as Float32Array).map((v) => -v), x.dims);
        onDevice.add(y);
        io.set(0, y);
      },
    }),
    upload(tensor) {
      moves.push('upload');
      const copy = new Tensor(tensor.type, (tensor.data as Float32Array).slice(), tensor.dims);
      onDevice.add(copy);
      return copy;
    },
    async download(tensor) {
      moves.push('download');
      assert.ok(onDevice.has(tensor));
      return new Tensor(tensor.type, (tensor.data as Float32Array).slice(), tensor.dims);
    },
  };
  registerBackend('fake-gpu', () => fakeDevice);
  const bytes = chainModel(4);
  const session = await InferenceSession.create(bytes, { executionProviders: ['fake-gpu'] });
  const x = new Tensor('float32', Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i)), [4, 256]);
  const y = (await session.run({ x })).y as Tensor;
  assert.equal(compareValues(y, (await ortOutputs(bytes, { x })).y!), undefined);
  // relu (host) -> neg (device) -> relu (host) -> neg (device) -> y (host)
  assert.deepEqual(moves, ['upload', 'download', 'upload', 'download']);
  assert.ok(referenceBackend.device === 'cpu');
});

test('a backend may claim a run of nodes and run it as one kernel', async () => {
  const bytes = chainModel(4);
  const claimedRuns: string[][] = [];
  const fused: Backend = {
    name: 'fuser',
    device: 'cpu',
    supports: () => false,
    prepare: () => {
      throw new Error('the fuser prepares claimed runs only');
    },
    // Claims every Relu -> Neg pair: y = -relu(x) in one pass.
    claim: (infos) =>
      infos.flatMap((info, index) => (info.node.opType === 'Relu' && infos[index + 1]?.node.opType === 'Neg' ? [{ start: index, count: 2 }] : [])),
    prepareRun: (infos) => {
      claimedRuns.push(infos.map((info) => info.node.name));
      return {
        run(io) {
          assert.equal(io.inputs.length, 2);
          assert.equal(io.inputs[1], undefined, 'the value made inside the run is not handed in');
          const x = io.inputs[0] as Tensor;
          const y = io.output(1, 'float32', x.dims);
          (x.data as Float32Array).forEach((v, i) => ((y.data as Float32Array)[i] = -(v < 0 ? 0 : v)));
        },
      };
    },
  };
  registerBackend('fuser', () => fused);
  const profileFilePrefix = join(tmpdir(), `edgerun-plan-test-${process.pid}`);
  const session = await InferenceSession.create(bytes, { executionProviders: ['fuser'], enableProfiling: true, profileFilePrefix });
  const x = new Tensor('float32', Float32Array.from({ length: 1024 }, (_, i) => Math.cos(i)), [4, 256]);
  const y = (await session.run({ x })).y as Tensor;
  assert.equal(compareValues(y, (await ortOutputs(bytes, { x })).y!), undefined);
  assert.deepEqual(claimedRuns, [['n0', 'n1'], ['n2', 'n3']]);
  rmSync(session.endProfiling(), { force: true });
  assert.deepEqual(
    session.profileTrace.filter((event) => event.cat === 'Node').map((event) => event.args['provider']),
    ['fuser', 'fuser'],
  );
});

test('each backend hears a run begin once, before its first step, and subgraph runs do not count; claims see the values to keep', async () => {
  const events: string[] = [];
  let kept: string[] = [];
  const watcher: Backend = {
    name: 'watcher',
    device: 'cpu',
    supports: (info) => info.node.opType === 'Relu',
    prepare: (info) => ({
      run(io) {
        events.push(`run ${info.node.name}`);
        const x = io.inputs[0] as Tensor;
        io.set(0, new Tensor('float32', (x.data as Float32Array).map((v) => (v < 0 ? 0 : v)), x.dims));
      },
    }),
    claim: (_infos, keep) => {
      kept = [...keep].sort();
      return [];
    },
    prepareRun: () => {
      throw new Error('nothing is claimed');
    },
    beginRun: () => events.push('begin'),
  };
  registerBackend('watcher', () => watcher);
  const withIf = model({
    nodes: [
      node('Relu', ['x'], ['r'], 'top_relu'),
      { ...node('If', ['cond'], ['y'], 'choose'), attributes: { then_branch: { type: 'graph', value: branch('then', 'Relu') }, else_branch: { type: 'graph', value: branch('else', 'Relu') } } },
    ],
    inputs: [tensorInfo('cond', 'bool', []), tensorInfo('x', 'float32', [2])],
    outputs: [tensorInfo('y', 'float32'), tensorInfo('r', 'float32', [2])],
  });
  const session = await InferenceSession.create(encodeOnnx(withIf), { executionProviders: ['watcher'], graphOptimizationLevel: 'disabled' });
  assert.deepEqual(kept, ['r', 'x', 'y'], 'graph outputs and the value the If branches read are kept');
  const x = new Tensor('float32', Float32Array.from([-1, 2]), [2]);
  await session.run({ cond: new Tensor('bool', Uint8Array.from([1]), []), x });
  session.runSync({ cond: new Tensor('bool', Uint8Array.from([0]), []), x });
  assert.deepEqual(events, ['begin', 'run top_relu', 'run then_node', 'begin', 'run top_relu', 'run else_node']);
});
