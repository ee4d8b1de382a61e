import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Value } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { listCases, type ConformanceCase } from '../conformance/cases.js';
import { firstRunFeeds } from '../conformance/real-cases.js';
import { lightInputs, readInputs } from '../conformance/run-case.js';
import { sharedPath, skipUnlessShared } from '../support/shared.js';

/**
 * decode -> encode -> decode gives an equal IR for every ONNX model in ../shared, and the re-encoded file
 * runs in onnxruntime-node with outputs identical to the original file's, on each case's own inputs.
 */
function uniqueModels(): ConformanceCase[] {
  const seen = new Set<string>();
  return listCases().filter((c) => !seen.has(c.model) && seen.add(c.model));
}

test('ONNX decode -> encode -> decode is the identity on the IR', { skip: skipUnlessShared() }, () => {
  const cases = uniqueModels();
  for (const { id, model } of cases) {
    const first = decodeOnnx(readFileSync(model));
    const second = decodeOnnx(encodeOnnx(first));
    assert.deepStrictEqual(second, first, `${id}: the IR changed across encode/decode`);
  }
  assert.ok(cases.length >= 1431 + 6 + 3, `expected every conformance, test and real model, found ${cases.length}`);
});

/** The tensor's bytes when it holds numbers (strings have none). */
function bytesOf(tensor: Tensor): ArrayBufferView | undefined {
  return Array.isArray(tensor.data) ? undefined : (tensor.data as ArrayBufferView);
}

test('decoding bytes the loader owns (tensor data realigned in place) gives the same IR and views the file', { skip: skipUnlessShared() }, () => {
  let viewed = 0;
  for (const { id, model } of uniqueModels()) {
    const bytes = readFileSync(model);
    const copied = decodeOnnx(bytes.slice());
    const owned = decodeOnnx(bytes, { ownsBytes: true });
    assert.deepStrictEqual(owned, copied, `${id}: realigning in place changed the IR`);
    for (const tensor of owned.graph.initializers.values()) if (bytesOf(tensor)?.buffer === bytes.buffer) viewed += bytesOf(tensor)!.byteLength;
  }
  // Most weights are large float32 tensors at odd offsets: without realignment few would be views.
  const mobilenet = readFileSync(sharedPath('models', 'mobilenet_v2', 'model.onnx'));
  const tensors = [...decodeOnnx(mobilenet, { ownsBytes: true }).graph.initializers.values()];
  const inFile = tensors.filter((tensor) => bytesOf(tensor)?.buffer === mobilenet.buffer).reduce((sum, tensor) => sum + bytesOf(tensor)!.byteLength, 0);
  const total = tensors.reduce((sum, tensor) => sum + (bytesOf(tensor)?.byteLength ?? 0), 0);
  assert.ok(inFile > 0.99 * total, `mobilenet_v2: ${inFile} of ${total} weight bytes are views into the file`);
  assert.ok(viewed > 0);
});

const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

function feedsFor(testCase: ConformanceCase): Record<string, Value> {
  const graph = decodeOnnx(readFileSync(testCase.model)).graph;
  const fed = graph.inputs.filter((info) => !graph.initializers.has(info.name));
  if (testCase.kind === 'light') return lightInputs(fed);
  if (testCase.kind === 'real') return firstRunFeeds(testCase.dataDir);
  return readInputs(fed, testCase.dataDir);
}

function ortFeeds(feeds: Record<string, Value>): Record<string, ort.Tensor> | undefined {
  const converted: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(feeds)) {
    if (!(value instanceof Tensor) || !ORT_TYPES.has(value.type)) return undefined;
    converted[name] = new ort.Tensor(value.type as 'float32', value.data as Float32Array, value.dims);
  }
  return converted;
}

test('re-encoded models give onnxruntime-node the same outputs as the originals', { skip: skipUnlessShared() }, async () => {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' };
  // onnxruntime's own run of the conformance cases: where it failed (some by aborting the process, e.g. on
  // int4 outputs) there is nothing to compare against.
  const reference = JSON.parse(readFileSync(sharedPath('conformance/reference-runs/onnxruntime-node-1.30.0.json'), 'utf8')) as {
    cases: Record<string, { status: string }>;
  };
  const compared: string[] = [];
  const ortCannot: string[] = [];
  for (const testCase of uniqueModels()) {
    const referenceStatus = reference.cases[testCase.id.replace(/^onnx-node\//, 'node/')]?.status;
    if (referenceStatus !== undefined && referenceStatus !== 'pass') continue;
    const feeds = ortFeeds(feedsFor(testCase));
    if (!feeds) continue; // sequences, optionals, bfloat16/float8/int4: onnxruntime's JS API cannot feed them
    const original = readFileSync(testCase.model);
    let before: ort.InferenceSession.ReturnType;
    try {
      before = await (await ort.InferenceSession.create(original, options)).run(feeds);
    } catch {
      ortCannot.push(testCase.id); // onnxruntime cannot run the original either (old opsets, missing kernels)
      continue;
    }
    const after = await (await ort.InferenceSession.create(encodeOnnx(decodeOnnx(original)), options)).run(feeds);
    for (const name of Object.keys(before)) {
      assert.deepStrictEqual(after[name]!.dims, before[name]!.dims, `${testCase.id}: output '${name}' dims`);
      assert.deepStrictEqual(after[name]!.data, before[name]!.data, `${testCase.id}: output '${name}' values`);
    }
    compared.push(testCase.id);
  }
  console.log(`compared ${compared.length} models in onnxruntime-node; it cannot run ${ortCannot.length} originals`);
  for (const suite of ['light/', 'models/', 'real/']) {
    assert.ok(compared.some((id) => id.startsWith(suite)), `no ${suite} model was compared`);
  }
  assert.ok(compared.length > 1150, `expected over 1150 models compared in onnxruntime-node, got ${compared.length}`);
});
