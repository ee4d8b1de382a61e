import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveScale, multiplyByQuantizedMultiplier, quantizeMultiplier } from '../../src/kernels/fixed-point.js';

/**
 * TFLite's multiplier / shift derivation, against values worked out by hand and against an independent
 * derivation: search the shift that puts scale * 2^(31 - shift) in [2^30, 2^31), round half away from zero.
 */

test('quantizeMultiplier: hand-computed pairs (powers of two, 0.75, the 2^31 rounding carry, flush to zero, saturation)', () => {
  const cases: [number, number, number][] = [
    [0.5, 2 ** 30, 0],
    [1, 2 ** 30, 1],
    [0.75, 1610612736, 0],
    [0.1, 1717986918, -3],
    [3, 1610612736, 2],
    // 1 - 2^-33 rounds up to 2^31 in Q0.31: the significand halves and the shift carries.
    [1 - 2 ** -33, 2 ** 30, 1],
    // 2^-32 is 0.5 * 2^-31, the smallest shift kept; below it the multiplier flushes to zero.
    [2 ** -32, 2 ** 30, -31],
    [2 ** -33, 0, 0],
    [2 ** 31, 2 ** 31 - 1, 30],
    [0, 0, 0],
  ];
  for (const [scale, multiplier, shift] of cases) assert.deepEqual(quantizeMultiplier(scale), { multiplier, shift }, `scale ${scale}`);
  assert.throws(() => quantizeMultiplier(-1), RangeError);
  assert.throws(() => quantizeMultiplier(Number.NaN), RangeError);
});

test('quantizeMultiplier agrees with a shift search on random scales, and the pair reproduces the scale to 2^-31', () => {
  let state = 99;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2000; i++) {
    const scale = Math.fround(random() * 2 ** Math.floor(random() * 40 - 28));
    if (scale === 0) continue;
    let shift = 0;
    while (scale * 2 ** (31 - shift) >= 2 ** 31) shift++;
    while (scale * 2 ** (31 - shift) < 2 ** 30) shift--;
    let multiplier = Math.round(scale * 2 ** (31 - shift));
    if (multiplier === 2 ** 31) [multiplier, shift] = [2 ** 30, shift + 1];
    if (shift < -31) [multiplier, shift] = [0, 0];
    if (shift > 30) [multiplier, shift] = [2 ** 31 - 1, 30];
    const pair = quantizeMultiplier(scale);
    assert.deepEqual(pair, { multiplier, shift }, `scale ${scale}`);
    if (shift > -31 && shift < 30) assert.ok(Math.abs(pair.multiplier * 2 ** (shift - 31) - scale) <= 2 ** (shift - 32), `scale ${scale}`);
  }
});

test('multiplyByQuantizedMultiplier rounds once, ties up, in 64-bit arithmetic', () => {
  const half = quantizeMultiplier(0.5);
  assert.deepEqual([3, 5, -3, -5, 1, -1].map((x) => multiplyByQuantizedMultiplier(x, half)), [2, 3, -1, -2, 1, 0]);
  const third = quantizeMultiplier(1 / 3);
  // 1/3 is 1431655765 * 2^-32; the extremes of int32 need the full 62-bit product. -2^31 / 3 lands on
  // exactly -715827882.5, which rounds up.
  assert.deepEqual(third, { multiplier: 1431655765, shift: -1 });
  assert.equal(multiplyByQuantizedMultiplier(2 ** 31 - 1, third), 715827882);
  assert.equal(multiplyByQuantizedMultiplier(-(2 ** 31), third), -715827882);
  assert.equal(effectiveScale(0.1, 0.2, 0.3), (Math.fround(0.1) * Math.fround(0.2)) / Math.fround(0.3));
});
