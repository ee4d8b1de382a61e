/**
 * TFLite's fixed-point requantization, shared by the kernels that run TFLite's integer arithmetic: a float
 * scale becomes a 32-bit multiplier and a power-of-two shift once (QuantizeMultiplier in TFLite's
 * quantization_util), and each int32 accumulator is then scaled with integers only, rounding once, half up
 * (MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING, the form XNNPACK calls 'rndnu').
 */

export interface QuantizedMultiplier {
  /** Q0.31 significand in [2^30, 2^31), or 0. */
  multiplier: number;
  /** Power of two the significand is scaled by: scale = multiplier * 2^(shift - 31); in [-31, 30]. */
  shift: number;
}

/** The significand in [0.5, 1) and exponent of a positive finite `value` (C's frexp). */
function frexp(value: number): [number, number] {
  // `| 0`: Math.ceil of a small negative logarithm is -0, and a shift is an integer.
  let exponent = Math.ceil(Math.log2(value)) | 0;
  // log2 can be off by one at powers of two: fix the exponent by exact power-of-two comparisons.
  if (2 ** exponent <= value) exponent += 1;
  if (2 ** (exponent - 1) > value) exponent -= 1;
  return [value / 2 ** exponent, exponent];
}

/** C's round(): halfway cases away from zero. */
function roundHalfAway(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value));
}

/**
 * TFLite's QuantizeMultiplier for a non-negative `scale` (in double precision): a scale below 2^-32 or so
 * flushes to zero, one too large for a shift of 30 saturates to the largest multiplier.
 */
export function quantizeMultiplier(scale: number): QuantizedMultiplier {
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new RangeError(`a requantization scale must be finite and not negative, got ${scale}`);
  if (scale === 0) return { multiplier: 0, shift: 0 };
  let [significand, shift] = frexp(scale);
  let multiplier = roundHalfAway(significand * 2 ** 31);
  if (multiplier === 2 ** 31) {
    multiplier /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  if (shift > 30) return { multiplier: 2 ** 31 - 1, shift: 30 };
  return { multiplier, shift };
}

/**
 * round(accumulator * multiplier * 2^(shift - 31)) in 64-bit integer arithmetic, ties up: TFLite's
 * single-rounding MultiplyByQuantizedMultiplier. BigInt keeps the 62-bit product exact.
 */
export function multiplyByQuantizedMultiplier(accumulator: number, { multiplier, shift }: QuantizedMultiplier): number {
  const totalShift = BigInt(31 - shift);
  const product = BigInt(accumulator) * BigInt(multiplier) + (1n << (totalShift - 1n));
  return Number(product >> totalShift);
}

/**
 * The effective scale of a quantized product, input scale times weight scale over output scale, each a
 * float32 widened to double, as TFLite's convolution and fully-connected kernels compute it.
 */
export function effectiveScale(inputScale: number, weightScale: number, outputScale: number): number {
  return (Math.fround(inputScale) * Math.fround(weightScale)) / Math.fround(outputScale);
}
