import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Tensor } from '../../src/core/tensor.js';
import { encodeTensor } from '../../src/formats/onnx/data-proto.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { tensorType } from '../../src/ops/common.js';
import { attr, defineOp, registerOp } from '../../src/ops/registry.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';
import { runCase } from './run-case.js';

/**
 * A conformance case whose numbers match but whose statically inferred output shape is wrong fails: an op
 * whose inference claims [n + extra] while its kernel returns its input unchanged.
 */
const DOMAIN = 'test.inference';
registerOp(
  defineOp({
    domain: DOMAIN,
    name: 'CopyClaimingExtra',
    since: 1,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: { extra: attr.int(0) },
    infer: ({ inputTypes, attrs }) => {
      const x = inputTypes[0];
      if (x?.kind !== 'tensor' || !x.shape) return [undefined];
      return [tensorType(x.dtype, x.shape.map((dim) => (typeof dim === 'number' ? dim + attrs.extra : dim)))];
    },
    kernel: ({ inputs }) => [inputs[0]],
  }),
);

const folder = mkdtempSync(join(tmpdir(), 'edgerun-conformance-case-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function caseWith(extra: number) {
  const dir = join(folder, `extra-${extra}`);
  mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
  const copy = { ...node('CopyClaimingExtra', ['x'], ['y'], 'copy'), domain: DOMAIN, attributes: { extra: { type: 'int' as const, value: extra } } };
  const built = model({ nodes: [copy], inputs: [tensorInfo('x', 'float32', [3])], outputs: [tensorInfo('y', 'float32')] });
  built.opsetImports.push({ domain: DOMAIN, version: 1 });
  writeFileSync(join(dir, 'model.onnx'), encodeOnnx(built));
  const x = new Tensor('float32', Float32Array.of(1, 2, 3), [3]);
  writeFileSync(join(dir, 'test_data_set_0/input_0.pb'), encodeTensor(x, 'x'));
  writeFileSync(join(dir, 'test_data_set_0/output_0.pb'), encodeTensor(x, 'y'));
  return { id: `inference/extra-${extra}`, suite: 'onnx-node', model: join(dir, 'model.onnx'), kind: 'standard' as const, dataDir: join(dir, 'test_data_set_0') };
}

test('a case whose inferred output shape is right passes', async () => {
  const result = await runCase(caseWith(0));
  assert.equal(result.status, 'pass', result.detail ?? '');
  assert.equal(result.inference, 'shape');
});

test('a case whose outputs match but whose inferred output shape is wrong fails', async () => {
  const result = await runCase(caseWith(1));
  assert.equal(result.status, 'fail');
  assert.equal(result.reason, 'wrong_inference');
  assert.match(result.detail ?? '', /output 'y' inferred float32\[4\], ran as float32\[3\]/);
});
