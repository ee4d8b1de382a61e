import { EdgerunError } from '../core/errors.js';

/**
 * An activation applied in a producer's output loop instead of as a node of its own (one pass over the
 * tensor instead of two). Fused ops in the `ai.edgerun` domain carry it as onnxruntime's FusedConv does:
 * an `activation` name and its `activation_params`.
 */
export type Activation =
  | { kind: 'none' }
  | { kind: 'Relu' }
  | { kind: 'Clip'; min: number; max: number }
  | { kind: 'Sigmoid' }
  | { kind: 'HardSigmoid'; alpha: number; beta: number }
  | { kind: 'HardSwish' }
  | { kind: 'LeakyRelu'; alpha: number }
  | { kind: 'Tanh' };

export const NO_ACTIVATION: Activation = { kind: 'none' };

/** The activation an `activation` / `activation_params` attribute pair names ('' is none). */
export function activationFromAttributes(name: string, params: readonly number[]): Activation {
  const param = (index: number, fallback: number) => params[index] ?? fallback;
  switch (name) {
    case '':
      return NO_ACTIVATION;
    case 'Relu':
    case 'Sigmoid':
    case 'HardSwish':
    case 'Tanh':
      return { kind: name };
    case 'Clip':
      return { kind: 'Clip', min: param(0, -Infinity), max: param(1, Infinity) };
    case 'HardSigmoid':
      return { kind: 'HardSigmoid', alpha: param(0, 0.2), beta: param(1, 0.5) };
    case 'LeakyRelu':
      return { kind: 'LeakyRelu', alpha: param(0, 0.01) };
    default:
      throw new EdgerunError('INVALID_ATTRIBUTE', `unknown fused activation '${name}'; known: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Tanh`);
  }
}

/** The attribute pair that names `activation` (the inverse of activationFromAttributes). */
export function activationAttributes(activation: Activation): { name: string; params: number[] } {
  switch (activation.kind) {
    case 'none':
      return { name: '', params: [] };
    case 'Clip':
      return { name: 'Clip', params: [activation.min, activation.max] };
    case 'HardSigmoid':
      return { name: 'HardSigmoid', params: [activation.alpha, activation.beta] };
    case 'LeakyRelu':
      return { name: 'LeakyRelu', params: [activation.alpha] };
    default:
      return { name: activation.kind, params: [] };
  }
}

/** Applies `activation` in place to data[start, end). NaN passes through every activation, as in the unfused ops. */
export function applyActivation(data: Float32Array | Float64Array, start: number, end: number, activation: Activation): void {
  activate(data, data, start, end, activation);
}

/**
 * target[i] = activation(source[i]) for i in [start, end), one pass; source and target may be the same
 * array (each element is read before it is written). Clip clamps to min, then to max: with min > max every
 * value becomes max, as ONNX Clip specifies.
 */
export function activate(source: Float32Array | Float64Array, target: Float32Array | Float64Array, start: number, end: number, activation: Activation): void {
  const bitwise = activation.kind === 'Relu' || (activation.kind === 'Clip' && !Number.isNaN(activation.min) && !Number.isNaN(activation.max));
  if (bitwise && source instanceof Float32Array && target instanceof Float32Array) {
    const [from, to] = [bitsOf(source), bitsOf(target)];
    if (activation.kind === 'Relu') reluBits(from, to, start, end);
    else clampBits(from, to, start, end, activation.min, activation.max);
    return;
  }
  switch (activation.kind) {
    case 'none':
      if (source !== target) for (let i = start; i < end; i++) target[i] = source[i]!;
      return;
    case 'Relu':
      for (let i = start; i < end; i++) {
        const value = source[i]!;
        target[i] = value < 0 ? 0 : value;
      }
      return;
    case 'Clip': {
      const { min, max } = activation;
      for (let i = start; i < end; i++) {
        let value = source[i]!;
        if (value < min) value = min;
        if (value > max) value = max;
        target[i] = value;
      }
      return;
    }
    case 'Sigmoid':
      for (let i = start; i < end; i++) target[i] = 1 / (1 + Math.exp(-source[i]!));
      return;
    case 'HardSigmoid': {
      const { alpha, beta } = activation;
      for (let i = start; i < end; i++) target[i] = Math.max(0, Math.min(1, alpha * source[i]! + beta));
      return;
    }
    case 'HardSwish':
      for (let i = start; i < end; i++) {
        const value = source[i]!;
        target[i] = value * Math.max(0, Math.min(1, value / 6 + 0.5));
      }
      return;
    case 'LeakyRelu': {
      const { alpha } = activation;
      for (let i = start; i < end; i++) {
        const value = source[i]!;
        target[i] = value < 0 ? value * alpha : value;
      }
      return;
    }
    case 'Tanh':
      for (let i = start; i < end; i++) target[i] = Math.tanh(source[i]!);
      return;
  }
}

/*
 * Relu and Clip on float32 data compare the values' bit patterns as integers, with masks instead of branches:
 * a comparison of floats of random sign is a branch the CPU mispredicts half the time, and that cost (~6x
 * the branch-free loop) made Clip a quarter of mobilenet_v2's time. The results equal the branching loop's
 * except that -0 may come out as +0. NaN passes through.
 */

function bitsOf(data: Float32Array): Int32Array {
  return new Int32Array(data.buffer, data.byteOffset, data.length);
}

/** All ones when the float32 with these bits is NaN (exponent all ones, mantissa not zero), else 0. */
function nanMask(bits: number): number {
  return (0x7f800000 - (bits & 0x7fffffff)) >> 31;
}

function reluBits(source: Int32Array, target: Int32Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const bits = source[i]!;
    // Clear every bit of a negative number that is not NaN.
    target[i] = bits & ~((bits >> 31) & ~nanMask(bits));
  }
}

/**
 * A float32's bits as an integer that orders as the float does (negative floats have their magnitude bits
 * flipped); the map is its own inverse.
 */
function orderedKey(bits: number): number {
  return bits ^ ((bits >> 31) & 0x7fffffff);
}

const FLOAT32_BITS = new Int32Array(1);
const FLOAT32_VIEW = new Float32Array(FLOAT32_BITS.buffer);

/** The ordered key of a bound, rounded to float32 first as the comparison with float32 data would. */
function boundKey(value: number): number {
  FLOAT32_VIEW[0] = value;
  return orderedKey(FLOAT32_BITS[0]!);
}

/** All ones when a < b (int32s, any values: the sign of a - b corrected for overflow), else 0. */
function lessMask(a: number, b: number): number {
  const difference = (a - b) | 0;
  return (difference ^ ((a ^ b) & (difference ^ a))) >> 31;
}

function clampBits(source: Int32Array, target: Int32Array, start: number, end: number, min: number, max: number): void {
  const low = boundKey(min);
  const high = boundKey(max);
  if (low >= 0 && high >= low) {
    clampNonNegativeBits(source, target, start, end, low, high);
    return;
  }
  for (let i = start; i < end; i++) {
    const bits = source[i]!;
    let key = orderedKey(bits);
    key ^= (key ^ low) & lessMask(key, low);
    key ^= (key ^ high) & lessMask(high, key);
    const nan = nanMask(bits);
    target[i] = (bits & nan) | (orderedKey(key) & ~nan);
  }
}

/**
 * clampBits when 0 <= min <= max (Relu6 and most Clips): keys of non-negative floats are their bits, which
 * differ by less than 2^31, so a subtraction's sign compares them; a negative input is below min.
 */
function clampNonNegativeBits(source: Int32Array, target: Int32Array, start: number, end: number, low: number, high: number): void {
  for (let i = start; i < end; i++) {
    const bits = source[i]!;
    let clamped = bits ^ ((bits ^ low) & ((bits >> 31) | ((bits - low) >> 31)));
    clamped ^= (clamped ^ high) & ((high - clamped) >> 31);
    const nan = nanMask(bits);
    target[i] = (bits & nan) | (clamped & ~nan);
  }
}
