import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgerunError, InferenceSession, Tensor, asOptional, asSequence, asTensor, isSequence, isTensor } from '../../src/index.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';

/** The run result's non-tensor values, reached through the exported narrowing helpers. */
test('sequence and optional outputs are reached through asSequence / asOptional; asTensor refuses them by name', async () => {
  const bytes = encodeOnnx(
    model({
      nodes: [node('SequenceConstruct', ['x', 'x'], ['pair']), node('Optional', ['x'], ['maybe']), node('Neg', ['x'], ['negated'])],
      inputs: [tensorInfo('x', 'float32', [3])],
      outputs: [{ name: 'pair' }, { name: 'maybe' }, tensorInfo('negated', 'float32', [3])],
    }),
  );
  const session = await InferenceSession.create(bytes);
  const x = new Tensor('float32', Float32Array.of(1, -2, 3), [3]);
  const out = await session.run({ x });
  assert.deepEqual(Array.from(out.negated!.data as Float32Array), [-1, 2, -3]);
  const pair = asSequence(out.pair, 'pair');
  assert.equal(pair.length, 2);
  for (const item of pair) {
    assert.ok(isTensor(item));
    assert.deepEqual(Array.from(item.data as Float32Array), [1, -2, 3]);
  }
  const maybe = asOptional(out.maybe, 'maybe');
  assert.ok(isTensor(maybe) && maybe.dims[0] === 3);
  assert.equal(asOptional(null, 'empty'), null);
  assert.equal(isSequence(out.negated), false);
  assert.throws(() => asTensor(out.pair, 'pair'), (error: unknown) => error instanceof EdgerunError && error.code === 'TYPE_MISMATCH' && /pair is a sequence of 2, not a tensor/.test(error.message));
  assert.throws(() => asSequence(out.negated, 'negated'), /negated is a float32 tensor \[3\], not a sequence/);
  assert.throws(() => asOptional({ not: 'a value' }, 'odd'), /odd is an object, not an ONNX value/);
});
