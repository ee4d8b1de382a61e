import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readNumbers, writeNumbers } from '../../src/core/dtype.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { InferenceSession, Tensor } from '../../src/node.js';
import { computeFloat16LikeOnnxruntime, OPTIMIZATION_LEVELS, type OptimizationLevel } from '../../src/optimize/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { model, tensorInfo } from '../support/tiny-models.js';

/**
 * The small segmentation models that scripts/make-quant-models.py writes (a U-Net stage: strided conv, ceil-mode
 * pooling, linear Resize to the skip connection's size, Concat, Sigmoid), dynamically quantized the way
 * onnxruntime's quantize_dynamic writes uint8 models, and as a float16 twin, run in edgerun and onnxruntime-node
 * with every node output exposed.
 */
const MODELS = resolve(REPO_ROOT, 'test/models');
const LEVELS: OptimizationLevel[] = ['disabled', 'basic', 'all'];

/** The model with every node output also a graph output, so each intermediate is compared. */
function withEveryOutput(path: string): { bytes: Uint8Array; names: string[] } {
  const model = decodeOnnx(readFileSync(path));
  const names = model.graph.nodes.flatMap((node) => node.outputs).filter((name) => name !== '');
  const declared = new Set(model.graph.outputs.map((output) => output.name));
  model.graph.outputs.push(...names.filter((name) => !declared.has(name)).map((name) => ({ name })));
  return { bytes: encodeOnnx(model), names };
}

/** An image-like input in [-0.5, 0.5] (as background removers normalize): smooth shading plus seeded grain. */
function imageInput(): Tensor {
  const [channels, size] = [3, 61];
  let seed = 12345;
  const grain = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
  const values: number[] = [];
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) values.push(0.4 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + grain());
  }
  return new Tensor('float32', writeNumbers('float32', values), [1, channels, size, size]);
}

async function ortRun(bytes: Uint8Array, input: Tensor, level: OptimizationLevel): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: level });
  const outputs = await session.run({ input: new ort.Tensor('float32', input.data as Float32Array, input.dims) });
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
}

/** The most float16 steps (units in the last place) between two float16 tensors' elements. */
function float16StepsApart(a: Tensor, b: Tensor): number {
  if (a.type !== 'float16') return maxDifference(a, b) === 0 ? 0 : Infinity;
  assert.deepEqual(a.dims, b.dims);
  // Sign-magnitude bits as one ordered integer line, so that neighbouring values are one apart.
  const ordered = (bits: number) => (bits & 0x8000 ? -(bits & 0x7fff) : bits);
  const [x, y] = [a.data as Uint16Array, b.data as Uint16Array];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(ordered(x[i]!) - ordered(y[i]!)));
  return worst;
}

/** The largest absolute difference between two tensors of the same type and dims. */
function maxDifference(a: Tensor, b: Tensor): number {
  assert.equal(a.type, b.type);
  assert.deepEqual(a.dims, b.dims);
  const [x, y] = [readNumbers(a.type, a.data), readNumbers(b.type, b.data)];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

test('the dynamically quantized U-Net matches onnxruntime bit for bit in every intermediate, as onnxruntime does across its optimization levels', async () => {
  const { bytes, names } = withEveryOutput(resolve(MODELS, 'tiny-unet-quint8.onnx'));
  const input = imageInput();
  const expected = await ortRun(bytes, input, 'disabled');
  for (const level of LEVELS.slice(1)) {
    const other = await ortRun(bytes, input, level);
    for (const name of names) assert.equal(maxDifference(other[name]!, expected[name]!), 0, `onnxruntime itself differs at ${level} on '${name}'`);
  }
  const actual = await (await InferenceSession.create(bytes)).run({ input });
  for (const name of names) {
    assert.equal(maxDifference(actual[name] as Tensor, expected[name]!), 0, `'${name}' differs from onnxruntime`);
  }
});

/**
 * Run alone, a float16 node is computed by onnxruntime in float32 and rounded once; edgerun's float16-compute
 * pass does the same and gives the same bits, except that a Conv sums in another order, which may move a
 * result one float16 step at a rounding tie.
 */
test('each node of the float16 twin, run alone in edgerun and in onnxruntime on the same inputs, gives the same output (Conv within one float16 step)', async () => {
  const path = resolve(MODELS, 'tiny-unet-fp16.onnx');
  const { bytes } = withEveryOutput(path);
  const input = imageInput();
  const values: Record<string, Tensor> = { input, ...((await (await InferenceSession.create(bytes)).run({ input })) as Record<string, Tensor>) };
  const { graph, opsetImports } = decodeOnnx(readFileSync(path));
  for (const node of graph.nodes) {
    const fed = node.inputs.filter((name) => name !== '' && !graph.initializers.has(name));
    const single = encodeOnnx(
      model(
        {
          nodes: [node],
          inputs: fed.map((name) => tensorInfo(name, values[name]!.type, [...values[name]!.dims])),
          outputs: node.outputs.map((name) => ({ name })),
          initializers: new Map(node.inputs.filter((name) => graph.initializers.has(name)).map((name) => [name, graph.initializers.get(name)!])),
        },
        opsetImports[0]!.version,
      ),
    );
    const feeds = Object.fromEntries(fed.map((name) => [name, values[name]!]));
    const outputs = await (await ort.InferenceSession.create(single, { intraOpNumThreads: 1 })).run(
      Object.fromEntries(fed.map((name) => [name, new ort.Tensor(values[name]!.type as 'float32', values[name]!.data as Float32Array, values[name]!.dims)])),
    );
    const actual = await (await InferenceSession.create(single)).run(feeds);
    for (const name of node.outputs) {
      const expected = new Tensor(outputs[name]!.type as 'float32', outputs[name]!.data as Float32Array, outputs[name]!.dims);
      const allowed = node.opType === 'Conv' ? 1 : 0;
      const steps = float16StepsApart(actual[name] as Tensor, expected);
      assert.ok(steps <= allowed, `${node.opType} '${name}' is ${steps} float16 steps from onnxruntime's float16 node (${allowed} allowed)`);
    }
  }
});

/**
 * onnxruntime's CPU provider runs every float16 compute node through its float32 kernel and removes the Cast
 * pairs between such nodes, so the float16 twin runs in float32 end to end (the input Cast to float16 included).
 * edgerun's float16-compute pass makes the same rewrite, at every level (at 'disabled' through
 * computeFloat16LikeOnnxruntime, as a session applies it): the mask is then as close to onnxruntime at one of its
 * levels as onnxruntime's levels are to each other (float32 rounding, a few 2^-24 steps). Rounding each node to
 * float16, as the ONNX types say, put it 4e-4 away, thousands of times that spread.
 */
test('the float16 twin sits within onnxruntime\'s own spread between its optimization levels, at every edgerun level', async () => {
  const bytes = readFileSync(resolve(MODELS, 'tiny-unet-fp16.onnx'));
  const input = imageInput();
  const masks: Tensor[] = [];
  for (const level of OPTIMIZATION_LEVELS) masks.push((await ortRun(bytes, input, level)).mask_fp32!);
  const spread = Math.max(...masks.flatMap((a) => masks.map((b) => maxDifference(a, b))));
  assert.ok(spread < 1e-6, `onnxruntime's own spread is float32 rounding, got ${spread}`);
  const asOnnxruntimeRunsIt = encodeOnnx(computeFloat16LikeOnnxruntime(decodeOnnx(bytes)));
  for (const level of OPTIMIZATION_LEVELS) {
    for (const provider of ['wasm', 'reference'] as const) {
      const options = { graphOptimizationLevel: level, executionProviders: [provider] };
      const session = await InferenceSession.create(level === 'disabled' ? asOnnxruntimeRunsIt : bytes, options);
      const mask = (await session.run({ input })).mask_fp32 as Tensor;
      const nearest = Math.min(...masks.map((expected) => maxDifference(mask, expected)));
      assert.ok(nearest <= spread, `${level} on ${provider}: the mask is ${nearest} from the nearest onnxruntime level (onnxruntime's own spread ${spread})`);
    }
  }
});
