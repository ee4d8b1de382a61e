import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readNumbers, writeNumbers } from '../../src/core/dtype.js';
import type { Graph, Model } from '../../src/core/graph.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { InferenceSession, Tensor } from '../../src/node.js';
import { computeFloat16LikeOnnxruntime, FLOAT16_KERNEL_OPS } from '../../src/optimize/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { tensorInfo } from '../support/tiny-models.js';
import { graphModel, int, ints, op, randomTensor } from './support.js';

const half = (tensor: Tensor) => new Tensor('float16', writeNumbers('float16', readNumbers(tensor.type, tensor.data)), tensor.dims);
const castTo = (to: number) => ({ to: int(to) });

/**
 * float32 x -> Cast to float16 -> Conv (float16 weights) -> Relu -> Transpose -> Sigmoid -> Concat with a float16
 * input -> graph output. Conv, Relu and Sigmoid have no float16 kernel in onnxruntime's CPU provider; Transpose
 * has one but sits between such nodes, so it computes in float32 too; Concat has one and writes a graph output,
 * so it stays float16 and only its input from Sigmoid is cast back.
 */
function stageModel(): Model {
  return graphModel({
    nodes: [
      op('Cast', ['x'], ['x16'], castTo(10)),
      op('Conv', ['x16', 'w', 'b'], ['conv'], { pads: ints([1, 1, 1, 1]) }),
      op('Relu', ['conv'], ['relu']),
      op('Transpose', ['relu'], ['turned'], { perm: ints([0, 1, 3, 2]) }),
      op('Sigmoid', ['turned'], ['probability']),
      op('Concat', ['probability', 'hint'], ['joined'], { axis: int(1) }),
    ],
    inputs: [tensorInfo('x', 'float32', [1, 2, 5, 5]), tensorInfo('hint', 'float16', [1, 1, 5, 5])],
    outputs: [tensorInfo('joined', 'float16', [1, 3, 5, 5])],
    initializers: new Map([
      ['w', half(randomTensor([2, 2, 3, 3], 3))],
      ['b', half(randomTensor([2], 4))],
    ]),
  });
}

const describe = (graph: Graph) => graph.nodes.map((node) => (node.opType === 'Cast' ? `Cast(${String(node.attributes.to?.value)})` : node.opType));

test('float16 nodes without a float16 kernel in onnxruntime compute in float32, with Casts only where a value must stay float16', () => {
  const original = stageModel();
  const { graph } = computeFloat16LikeOnnxruntime(original);
  // The model's own Cast to float16 goes (its only reader was cast back); one Cast to float16 feeds Concat.
  assert.deepEqual(describe(graph), ['Conv', 'Relu', 'Transpose', 'Sigmoid', 'Cast(10)', 'Concat']);
  const conv = graph.nodes[0]!;
  assert.equal(conv.inputs[0], 'x', 'Conv reads the float32 input itself');
  for (const name of conv.inputs.slice(1)) assert.equal(graph.initializers.get(name)?.type, 'float32', `Conv's initializer '${name}' is upcast once`);
  assert.deepEqual([...graph.initializers.values()].map((tensor) => tensor.type), ['float32', 'float32'], 'the float16 initializers nothing reads any more are gone');
  const weights = graph.initializers.get(conv.inputs[1]!)!;
  assert.deepEqual(Array.from(weights.data as Float32Array), Array.from(readNumbers('float16', original.graph.initializers.get('w')!.data)));
  assert.deepEqual(graph.nodes.at(-1)!.inputs, ['probability', 'hint']);
  assert.deepEqual(graph.outputs, original.graph.outputs);
  assert.equal(computeFloat16LikeOnnxruntime({ ...original, graph }).graph, graph, 'running it again changes nothing');
});

test('the rewritten stage gives onnxruntime-node\'s output on the original float16 model', async () => {
  const original = stageModel();
  const x = randomTensor([1, 2, 5, 5], 7);
  const hint = half(randomTensor([1, 1, 5, 5], 8));
  const session = await ort.InferenceSession.create(encodeOnnx(original), { intraOpNumThreads: 1 });
  const expected = (await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, x.dims), hint: new ort.Tensor('float16', hint.data as Uint16Array, hint.dims) })).joined!;
  for (const executionProviders of [['reference'], ['wasm']] as const) {
    const actual = (await (await InferenceSession.create(encodeOnnx(computeFloat16LikeOnnxruntime(original)), { graphOptimizationLevel: 'disabled', executionProviders: [...executionProviders] })).run({ x, hint })).joined as Tensor;
    assert.equal(actual.type, 'float16');
    assert.deepEqual(Array.from(actual.data as Uint16Array), Array.from(expected.data as Uint16Array), `${executionProviders[0]}: the float16 bits differ from onnxruntime's`);
  }
});

test('Cast pairs are removed by onnxruntime\'s rules: a widening undone goes, a narrowing the model wrote and a graph output stay', () => {
  const { graph } = computeFloat16LikeOnnxruntime(
    graphModel({
      nodes: [
        // int32 -> int64 -> int32 loses nothing: both Casts go and Neg reads the input.
        op('Cast', ['count'], ['wide'], castTo(7)),
        op('Cast', ['wide'], ['narrow'], castTo(6)),
        op('Neg', ['narrow'], ['negated']),
        // float32 -> int32 -> float32 truncates, as the model asks: both stay.
        op('Cast', ['x'], ['truncated'], castTo(6)),
        op('Cast', ['truncated'], ['whole'], castTo(1)),
        // float16 -> float32 -> float16 loses nothing, but the second Cast writes a graph output: it stays, the first goes.
        op('Cast', ['h'], ['h32'], castTo(1)),
        op('Cast', ['h32'], ['h16'], castTo(10)),
      ],
      inputs: [tensorInfo('count', 'int32', [3]), tensorInfo('x', 'float32', [3]), tensorInfo('h', 'float16', [3])],
      outputs: [tensorInfo('negated', 'int32', [3]), tensorInfo('whole', 'float32', [3]), tensorInfo('h16', 'float16', [3])],
    }),
  );
  assert.deepEqual(
    graph.nodes.map((node) => `${node.opType}(${node.inputs.join(',')})->${node.outputs.join(',')}`),
    ['Neg(count)->negated', 'Cast(x)->truncated', 'Cast(truncated)->whole', 'Cast(h)->h16'],
  );
});

/** The graph onnxruntime-node runs for `model` on its CPU provider at level 'disabled', as it saves it. */
async function onnxruntimeRewrite(model: Model): Promise<Graph> {
  const folder = mkdtempSync(join(tmpdir(), 'float16-compute-'));
  try {
    const path = join(folder, 'rewritten.onnx');
    await ort.InferenceSession.create(encodeOnnx(model), { graphOptimizationLevel: 'disabled', optimizedModelFilePath: path });
    return decodeOnnx(readFileSync(path)).graph;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Op types in order, Casts with their target type; onnxruntime's Casts of initializers are initializers here. */
function computeSteps(graph: Graph): string[] {
  return describe({ ...graph, nodes: graph.nodes.filter((node) => !(node.opType === 'Cast' && graph.initializers.has(node.inputs[0]!))) });
}

test('the rewrite is the one onnxruntime-node makes: the same nodes, the same Casts', async () => {
  for (const original of [stageModel(), decodeOnnx(readFileSync(resolve(REPO_ROOT, 'test/models/tiny-unet-fp16.onnx')))]) {
    assert.deepEqual(computeSteps(computeFloat16LikeOnnxruntime(original).graph), computeSteps(await onnxruntimeRewrite(original)));
  }
});

test('FLOAT16_KERNEL_OPS are the ops onnxruntime-node keeps in float16 (one-node models)', async () => {
  const x = tensorInfo('x', 'float16', [1, 4, 2, 2]);
  const y = { name: 'y' };
  const cases: [string, Model][] = [
    ['Concat', graphModel({ nodes: [op('Concat', ['x', 'x'], ['y'], { axis: int(1) })], inputs: [x], outputs: [y] })],
    ['Transpose', graphModel({ nodes: [op('Transpose', ['x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Clip', graphModel({ nodes: [op('Clip', ['x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Identity', graphModel({ nodes: [op('Identity', ['x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Max', graphModel({ nodes: [op('Max', ['x', 'x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Relu', graphModel({ nodes: [op('Relu', ['x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Sigmoid', graphModel({ nodes: [op('Sigmoid', ['x'], ['y'])], inputs: [x], outputs: [y] })],
    ['Add', graphModel({ nodes: [op('Add', ['x', 'x'], ['y'])], inputs: [x], outputs: [y] })],
    ['MaxPool', graphModel({ nodes: [op('MaxPool', ['x'], ['y'], { kernel_shape: ints([1, 1]) })], inputs: [x], outputs: [y] })],
    ['Softmax', graphModel({ nodes: [op('Softmax', ['x'], ['y'])], inputs: [x], outputs: [y] })],
  ];
  for (const [opType, model] of cases) {
    const castAround = (await onnxruntimeRewrite(model)).nodes.some((node) => node.opType === 'Cast');
    assert.equal(castAround, !FLOAT16_KERNEL_OPS.has(opType), `${opType}: onnxruntime ${castAround ? 'casts around it' : 'runs it in float16'}`);
    assert.equal(computeFloat16LikeOnnxruntime(model).graph.nodes.some((node) => node.opType === 'Cast'), castAround, `${opType}: edgerun's rewrite differs`);
  }
});
