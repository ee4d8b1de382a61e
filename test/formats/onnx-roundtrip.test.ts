import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Value, ValueInfo } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { decodeValue } from '../../src/formats/onnx/data-proto.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { listCases } from '../conformance/cases.js';
import { SKIP_SHARED, sharedPath } from '../support/shared.js';

/**
 * decode -> encode -> decode gives an equal IR for every ONNX model in ../shared, and the re-encoded file
 * runs in onnxruntime-node with outputs identical to the original file's.
 */
function modelFiles(): { id: string; file: string; dataDir?: string }[] {
  const seen = new Set<string>();
  const files = listCases()
    .filter((c) => !seen.has(c.model) && seen.add(c.model))
    .map((c) => ({ id: c.id, file: c.model, ...(c.kind === 'standard' ? { dataDir: c.dataDir } : {}) }));
  const realOnnx = sharedPath('real/onnx');
  for (const name of existsSync(realOnnx) ? readdirSync(realOnnx) : []) {
    const file = `${realOnnx}/${name}`;
    if (name.endsWith('.onnx') && !seen.has(file)) files.push({ id: `real/${name}`, file });
  }
  return files;
}

test('ONNX decode -> encode -> decode is the identity on the IR', { skip: SKIP_SHARED }, () => {
  const files = modelFiles();
  for (const { id, file } of files) {
    const bytes = readFileSync(file);
    const first = decodeOnnx(bytes);
    const second = decodeOnnx(encodeOnnx(first));
    assert.deepStrictEqual(second, first, `${id}: the IR changed across encode/decode`);
  }
  assert.ok(files.length >= 1431, `expected every conformance model, found ${files.length}`);
});

const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

function ortFeeds(inputs: ValueInfo[], dataDir: string): Record<string, ort.Tensor> | undefined {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [index, info] of inputs.entries()) {
    const file = `${dataDir}/input_${index}.pb`;
    if (!existsSync(file)) continue;
    const value: Value = decodeValue(readFileSync(file), info.type);
    if (!(value instanceof Tensor) || !ORT_TYPES.has(value.type)) return undefined;
    feeds[info.name] = new ort.Tensor(value.type as 'float32', value.data as Float32Array, value.dims);
  }
  return feeds;
}

test('re-encoded models give onnxruntime-node the same outputs as the originals', { skip: SKIP_SHARED }, async () => {
  const reference = JSON.parse(readFileSync(sharedPath('conformance/reference-runs/onnxruntime-node-1.30.0.json'), 'utf8')) as {
    cases: Record<string, { status: string }>;
  };
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' };
  let compared = 0;
  const withoutLocale: string[] = [];
  for (const { id, file, dataDir } of modelFiles()) {
    const referenceKey = id.replace(/^onnx-node\//, 'node/');
    if (!dataDir || reference.cases[referenceKey]?.status !== 'pass') continue;
    const original = readFileSync(file);
    const model = decodeOnnx(original);
    const feeds = ortFeeds(model.graph.inputs.filter((info) => !model.graph.initializers.has(info.name)), dataDir);
    if (!feeds) continue;
    let first: ort.InferenceSession;
    try {
      first = await ort.InferenceSession.create(original, options);
    } catch (error) {
      // onnxruntime's StringNormalizer needs the en_US.UTF-8 locale installed on the host.
      if (/locale/i.test(String(error))) {
        withoutLocale.push(id);
        continue;
      }
      throw error;
    }
    const before = await first.run(feeds);
    const after = await (await ort.InferenceSession.create(encodeOnnx(model), options)).run(feeds);
    for (const name of Object.keys(before)) {
      assert.deepStrictEqual(after[name]!.dims, before[name]!.dims, `${id}: output '${name}' dims`);
      assert.deepStrictEqual(after[name]!.data, before[name]!.data, `${id}: output '${name}' values`);
    }
    compared++;
  }
  if (withoutLocale.length > 0) console.log(`not compared (host lacks the en_US.UTF-8 locale onnxruntime needs): ${withoutLocale.join(', ')}`);
  assert.ok(compared > 1000, `expected over 1000 models compared in onnxruntime-node, got ${compared}`);
});
