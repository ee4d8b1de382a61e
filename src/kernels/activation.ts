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
