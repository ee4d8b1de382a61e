import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bfloat16ToNumber,
  float16ToNumber,
  float32FromBits,
  float8ToNumber,
  numberToBfloat16,
  numberToFloat16,
  numberToFloat8,
  type Float8Format,
} from '../../src/core/numeric.js';

test('every float16 bit pattern decodes and encodes back to itself (NaNs to a NaN)', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = float16ToNumber(bits);
    const again = numberToFloat16(value);
    if (Number.isNaN(value)) assert.ok(Number.isNaN(float16ToNumber(again)));
    else assert.equal(again, bits, `bits 0x${bits.toString(16)} -> ${value} -> 0x${again.toString(16)}`);
  }
});

test('float16 rounds to nearest even and overflows to infinity', () => {
  assert.equal(numberToFloat16(1 + 2 ** -11), 0x3c00); // halfway between 1 and the next float16: even wins
  assert.equal(numberToFloat16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(numberToFloat16(65504), 0x7bff);
  assert.equal(numberToFloat16(65520), 0x7c00);
  assert.equal(numberToFloat16(2 ** -25), 0); // half the smallest subnormal rounds to even (zero)
  assert.equal(numberToFloat16(3 * 2 ** -25), 2);
});

test('bfloat16 keeps float32 values that fit and rounds the rest to nearest even', () => {
  for (let bits = 0; bits < 0x10000; bits += 7) {
    const value = bfloat16ToNumber(bits);
    if (!Number.isNaN(value)) assert.equal(numberToBfloat16(value), bits);
  }
  assert.equal(numberToBfloat16(float32FromBits(0x3f808000)), 0x3f80); // tie, even stays
  assert.equal(numberToBfloat16(float32FromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
});

test('each float8 format round-trips its 256 codes and saturates as ONNX specifies', () => {
  const formats: Float8Format[] = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'];
  for (const format of formats) {
    for (let code = 0; code < 256; code++) {
      const value = float8ToNumber(format, code);
      if (Number.isNaN(value)) continue;
      // Without saturation, so that infinity (e5m2) maps back to itself rather than to the largest value.
      const again = numberToFloat8(format, value, false);
      assert.equal(float8ToNumber(format, again), value, `${format} code ${code}`);
    }
  }
  assert.equal(float8ToNumber('float8e4m3fn', numberToFloat8('float8e4m3fn', 1e6)), 448);
  assert.ok(Number.isNaN(float8ToNumber('float8e4m3fn', numberToFloat8('float8e4m3fn', 1e6, false))));
  assert.equal(float8ToNumber('float8e5m2', numberToFloat8('float8e5m2', 1e6, false)), Infinity);
  assert.equal(float8ToNumber('float8e5m2', numberToFloat8('float8e5m2', 1e6)), 57344);
  assert.equal(float8ToNumber('float8e5m2', numberToFloat8('float8e5m2', Infinity)), 57344);
  assert.ok(Object.is(float8ToNumber('float8e5m2fnuz', numberToFloat8('float8e5m2fnuz', -0)), 0));
});
