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
  switch (activation.kind) {
    case 'none':
      return;
    case 'Relu':
      for (let i = start; i < end; i++) if (data[i]! < 0) data[i] = 0;
      return;
    case 'Clip': {
      const { min, max } = activation;
      for (let i = start; i < end; i++) {
        const value = data[i]!;
        if (value < min) data[i] = min;
        else if (value > max) data[i] = max;
      }
      return;
    }
    case 'Sigmoid':
      for (let i = start; i < end; i++) data[i] = 1 / (1 + Math.exp(-data[i]!));
      return;
    case 'HardSigmoid': {
      const { alpha, beta } = activation;
      for (let i = start; i < end; i++) data[i] = Math.max(0, Math.min(1, alpha * data[i]! + beta));
      return;
    }
    case 'HardSwish':
      for (let i = start; i < end; i++) {
        const value = data[i]!;
        data[i] = value * Math.max(0, Math.min(1, value / 6 + 0.5));
      }
      return;
    case 'LeakyRelu': {
      const { alpha } = activation;
      for (let i = start; i < end; i++) if (data[i]! < 0) data[i] = data[i]! * alpha;
      return;
    }
    case 'Tanh':
      for (let i = start; i < end; i++) data[i] = Math.tanh(data[i]!);
      return;
  }
}
