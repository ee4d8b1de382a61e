import { roundHalfEven } from '../core/numeric.js';

/**
 * Linear quantization parameters as onnxruntime computes them, in float32 step by step, so that a fast
 * kernel that takes them from here lands on the same integers as the reference kernels.
 */

/** The multiplier of an int32 accumulator: a_scale * b_scale / y_scale, each step rounded to float32. */
export function requantizationMultiplier(aScale: number, bScale: number, yScale: number): number {
  return Math.fround(Math.fround(aScale * bScale) / yScale);
}

/**
 * DynamicQuantizeLinear's uint8 scale and zero point for data in [min, max] (min <= 0 <= max): an all-zero
 * range gets scale 1 and zero point 0, as in onnxruntime.
 */
export function dynamicQuantizationParameters(min: number, max: number): { scale: number; zeroPoint: number } {
  const scale = max === min ? 1 : Math.fround(Math.fround(max - min) / 255);
  const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, Math.fround(-Math.fround(min / scale)))));
  return { scale, zeroPoint };
}
