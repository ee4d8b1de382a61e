import { dataTypeFromOnnx, isFloatType, isIntegerType, type DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { defineOp, attr, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { normalizeAxis, numbersOf, scalarOf, shapeOf, stridesOf, tensorFromNumbers, tensorType } from './common.js';

/**
 * Signal processing: DFT and STFT over signals whose last dimension holds one (real) or two (real,
 * imaginary) components, and the window / mel filter-bank generators that feed them.
 */

/** A complex signal split into planes, laid out by `dims` (without the trailing component dimension). */
interface ComplexSignal {
  dims: number[];
  re: Float64Array;
  im: Float64Array;
}

function complexSignalOf(ctx: KernelContext, input: Tensor): ComplexSignal {
  const components = input.dims[input.dims.length - 1];
  if (input.dims.length < 2 || (components !== 1 && components !== 2)) {
    ctx.fail('INVALID_ARGUMENT', `input must end with a dimension of 1 (real) or 2 (complex), got [${input.dims.join(', ')}]`);
  }
  const values = numbersOf(input);
  const count = values.length / components;
  const re = new Float64Array(count);
  const im = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    re[i] = values[i * components]!;
    if (components === 2) im[i] = values[i * 2 + 1]!;
  }
  return { dims: input.dims.slice(0, -1), re, im };
}

function interleaved(type: DataType, signal: ComplexSignal): Tensor {
  const out = new Float64Array(signal.re.length * 2);
  for (let i = 0; i < signal.re.length; i++) {
    out[2 * i] = signal.re[i]!;
    out[2 * i + 1] = signal.im[i]!;
  }
  return tensorFromNumbers(type, [...signal.dims, 2], out);
}

/** Frequency bins of a `length`-point DFT: all of them, or the first half and one when onesided. */
function binCount(length: number, onesided: boolean): number {
  return onesided ? Math.floor(length / 2) + 1 : length;
}

/**
 * The DFT of every line of `signal` along `axis`, zero-padded or truncated to `length` points, keeping
 * the first `length / 2 + 1` bins when `onesided`. A plain O(n^2) sum: clear, and fast enough for the
 * frame sizes these ops see.
 */
function dftAlongAxis(signal: ComplexSignal, axis: number, length: number, inverse: boolean, onesided: boolean): ComplexSignal {
  const inDims = signal.dims;
  const inLength = inDims[axis]!;
  const bins = binCount(length, onesided);
  const outDims = inDims.slice();
  outDims[axis] = bins;
  const inStride = stridesOf(inDims)[axis]!;
  const outStride = stridesOf(outDims)[axis]!;
  const outer = inDims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = inStride;
  const total = outer * bins * inner;
  const re = new Float64Array(total);
  const im = new Float64Array(total);
  // Twiddle factors indexed by (k * n) mod length keep the angles exact for large products.
  const sign = inverse ? 1 : -1;
  const cosTable = Float64Array.from({ length }, (_, j) => Math.cos((2 * Math.PI * j) / length));
  const sinTable = Float64Array.from({ length }, (_, j) => sign * Math.sin((2 * Math.PI * j) / length));
  const used = Math.min(inLength, length);
  const scale = inverse ? 1 / length : 1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const inBase = o * inLength * inner + i;
      const outBase = o * bins * inner + i;
      for (let k = 0; k < bins; k++) {
        let sumRe = 0;
        let sumIm = 0;
        for (let n = 0; n < used; n++) {
          const twiddle = (k * n) % length;
          const xRe = signal.re[inBase + n * inStride]!;
          const xIm = signal.im[inBase + n * inStride]!;
          const c = cosTable[twiddle]!;
          const s = sinTable[twiddle]!;
          sumRe += xRe * c - xIm * s;
          sumIm += xRe * s + xIm * c;
        }
        re[outBase + k * outStride] = sumRe * scale;
        im[outBase + k * outStride] = sumIm * scale;
      }
    }
  }
  return { dims: outDims, re, im };
}

function dftKernel(ctx: KernelContext, axisGiven: number, inverse: boolean, onesided: boolean): Tensor[] {
  const input = ctx.tensor(0);
  const signal = complexSignalOf(ctx, input);
  // The axis counts over the input's dims, the trailing component dimension included.
  const axis = normalizeAxis(axisGiven, input.dims.length, 'axis');
  if (axis >= signal.dims.length) ctx.fail('INVALID_ARGUMENT', `axis ${axisGiven} must not be the component dimension`);
  const lengthTensor = ctx.optionalTensor(1);
  const length = lengthTensor ? scalarOf(lengthTensor) : signal.dims[axis]!;
  if (!(length >= 1)) ctx.fail('INVALID_ARGUMENT', `dft_length must be positive, got ${length}`);
  return [interleaved(input.type, dftAlongAxis(signal, axis, length, inverse, onesided))];
}

// ---------------------------------------------------------------------------------------------------------
// Static types

/** Whether optional input `index` is given (has a name). */
function inputGiven(ctx: InferContext<unknown>, index: number): boolean {
  return (ctx.node.inputs[index] ?? '') !== '';
}

/** A scalar input's value when given and constant; `fallback` when omitted; undefined when not known statically. */
function scalarInput(ctx: InferContext<unknown>, index: number, fallback?: number): number | undefined {
  if (!inputGiven(ctx, index)) return fallback;
  const tensor = ctx.constant(index);
  return tensor ? scalarOf(tensor) : undefined;
}

/**
 * DFT's output: the input's dims with the transformed axis holding the bins and the component dim 2.
 * `axisGiven` undefined means the axis is not known statically: without dft_length and onesided, every
 * axis keeps its length, so the shape is still known.
 */
function inferDft(ctx: InferContext<unknown>, axisGiven: number | undefined, onesided: boolean): (ValueType | undefined)[] {
  const input = ctx.inputTypes[0];
  if (input?.kind !== 'tensor') return [undefined];
  const shape = input.shape;
  if (!shape) return [tensorType(input.dtype)];
  const rank = shape.length;
  const lengthGiven = inputGiven(ctx, 1);
  const withComponents = (dims: Dim[]) => tensorType(input.dtype, [...dims.slice(0, -1), 2]);
  if (axisGiven === undefined) return [withComponents(lengthGiven || onesided ? shape.map(() => undefined) : [...shape])];
  const axis = normalizeAxis(axisGiven, rank, 'axis');
  if (axis === rank - 1) return [tensorType(input.dtype)];
  const length = lengthGiven ? scalarInput(ctx, 1) : shape[axis];
  const bins = typeof length === 'number' ? binCount(length, onesided) : onesided ? undefined : length;
  return [withComponents(shape.map((dim, i) => (i === axis ? bins : dim)))];
}

/** STFT's output [batch, frames, bins, 2], each dim where the signal's shape and the constant inputs tell it. */
function inferStft(ctx: InferContext<{ onesided: number }>): (ValueType | undefined)[] {
  const input = ctx.inputTypes[0];
  if (input?.kind !== 'tensor') return [undefined];
  const shape = input.shape;
  const step = scalarInput(ctx, 1);
  const frameLength = inputGiven(ctx, 3) ? scalarInput(ctx, 3) : shapeOf(ctx.inputTypes[2])?.[0];
  const [batch, signalLength] = shape ?? [];
  const frames =
    typeof signalLength === 'number' && typeof frameLength === 'number' && step !== undefined ? Math.floor((signalLength - frameLength) / step) + 1 : undefined;
  const bins = typeof frameLength === 'number' ? binCount(frameLength, ctx.attrs.onesided !== 0) : undefined;
  return [tensorType(input.dtype, [batch, frames, bins, 2])];
}

const dft17 = defineOp({
  name: 'DFT',
  since: 17,
  inputs: ['input', 'dft_length?'],
  outputs: ['output'],
  attributes: { axis: attr.int(1), inverse: attr.int(0), onesided: attr.int(0) },
  infer: (ctx) => inferDft(ctx, ctx.attrs.axis, ctx.attrs.onesided !== 0),
  kernel: (ctx) => dftKernel(ctx, ctx.attrs.axis, ctx.attrs.inverse !== 0, ctx.attrs.onesided !== 0),
});

const dft20 = defineOp({
  name: 'DFT',
  since: 20,
  inputs: ['input', 'dft_length?', 'axis?'],
  outputs: ['output'],
  attributes: { inverse: attr.int(0), onesided: attr.int(0) },
  infer: (ctx) => inferDft(ctx, scalarInput(ctx, 2, -2), ctx.attrs.onesided !== 0),
  kernel: (ctx) => {
    const axisTensor = ctx.optionalTensor(2);
    const axis = axisTensor ? scalarOf(axisTensor) : -2;
    return dftKernel(ctx, axis, ctx.attrs.inverse !== 0, ctx.attrs.onesided !== 0);
  },
});

const stft = defineOp({
  name: 'STFT',
  since: 17,
  inputs: ['signal', 'frame_step', 'window?', 'frame_length?'],
  outputs: ['output'],
  attributes: { onesided: attr.int(1) },
  infer: inferStft,
  kernel: (ctx) => {
    const input = ctx.tensor(0);
    const signal = complexSignalOf(ctx, input);
    if (signal.dims.length !== 2) ctx.fail('INVALID_ARGUMENT', `signal must be [batch, length, 1 or 2], got [${input.dims.join(', ')}]`);
    const [batch, signalLength] = signal.dims as [number, number];
    const step = scalarOf(ctx.tensor(1));
    const windowTensor = ctx.optionalTensor(2);
    const lengthTensor = ctx.optionalTensor(3);
    const window = windowTensor ? numbersOf(windowTensor) : undefined;
    const frameLength = lengthTensor ? scalarOf(lengthTensor) : (window?.length ?? 0);
    if (!lengthTensor && !window) ctx.fail('INVALID_ARGUMENT', 'either window or frame_length must be given');
    if (window && window.length !== frameLength) {
      ctx.fail('INVALID_ARGUMENT', `window has ${window.length} values but frame_length is ${frameLength}`);
    }
    if (!(step >= 1) || frameLength < 1 || frameLength > signalLength) {
      ctx.fail('INVALID_ARGUMENT', `frame_step ${step} and frame_length ${frameLength} do not fit a signal of ${signalLength}`);
    }
    const frames = Math.floor((signalLength - frameLength) / step) + 1;
    // Gather windowed frames as a [batch, frames, frameLength] signal, then one DFT along the last axis.
    const framed: ComplexSignal = {
      dims: [batch, frames, frameLength],
      re: new Float64Array(batch * frames * frameLength),
      im: new Float64Array(batch * frames * frameLength),
    };
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < frames; f++) {
        for (let n = 0; n < frameLength; n++) {
          const from = b * signalLength + f * step + n;
          const to = (b * frames + f) * frameLength + n;
          const weight = window ? window[n]! : 1;
          framed.re[to] = signal.re[from]! * weight;
          framed.im[to] = signal.im[from]! * weight;
        }
      }
    }
    return [interleaved(input.type, dftAlongAxis(framed, 2, frameLength, false, ctx.attrs.onesided !== 0))];
  },
});

function outputTypeOf(ctx: KernelContext, code: number): DataType {
  const type = dataTypeFromOnnx(code, 'output_datatype');
  if (!isFloatType(type) && !isIntegerType(type)) {
    ctx.fail('INVALID_ATTRIBUTE', `output_datatype ${code} (${type}) is not a numeric type`);
  }
  return type;
}

/** A generalized cosine window: sum of coefficients[k] * cos(2 pi k n / N) with alternating signs. */
function cosineWindowOp(name: string, coefficients: readonly number[]): OpDef {
  return defineOp({
    name,
    since: 17,
    inputs: ['size'],
    outputs: ['output'],
    attributes: { output_datatype: attr.int(1), periodic: attr.int(1) },
    infer: (ctx) => [tensorType(dataTypeFromOnnx(ctx.attrs.output_datatype, 'output_datatype'), [scalarInput(ctx, 0)])],
    kernel: (ctx) => {
      const size = scalarOf(ctx.tensor(0));
      if (!(size >= 0) || !Number.isInteger(size)) ctx.fail('INVALID_ARGUMENT', `size must be a non-negative integer, got ${size}`);
      // A periodic window is one period of an (N + 1)-point symmetric window, for spectral analysis.
      const period = ctx.attrs.periodic !== 0 ? size : size - 1;
      const values = new Float64Array(size);
      for (let n = 0; n < size; n++) {
        let sum = 0;
        coefficients.forEach((c, k) => (sum += (k % 2 === 0 ? c : -c) * Math.cos((2 * Math.PI * k * n) / period)));
        values[n] = sum;
      }
      return [tensorFromNumbers(outputTypeOf(ctx, ctx.attrs.output_datatype), [size], values)];
    },
  });
}

const HAMMING_ALPHA = 25 / 46;

const melWeightMatrix = defineOp({
  name: 'MelWeightMatrix',
  since: 17,
  inputs: ['num_mel_bins', 'dft_length', 'sample_rate', 'lower_edge_hertz', 'upper_edge_hertz'],
  outputs: ['output'],
  attributes: { output_datatype: attr.int(1) },
  infer: (ctx) => {
    const melBins = scalarInput(ctx, 0);
    const dftLength = scalarInput(ctx, 1);
    const spectrogramBins = dftLength === undefined ? undefined : binCount(dftLength, true);
    return [tensorType(dataTypeFromOnnx(ctx.attrs.output_datatype, 'output_datatype'), [spectrogramBins, melBins])];
  },
  kernel: (ctx) => {
    const [melBins, dftLength, sampleRate, lowerHertz, upperHertz] = [0, 1, 2, 3, 4].map((i) => scalarOf(ctx.tensor(i))) as [
      number, number, number, number, number,
    ];
    const spectrogramBins = binCount(dftLength, true);
    const toMel = (hertz: number) => 2595 * Math.log10(1 + hertz / 700);
    const lowMel = toMel(lowerHertz);
    const melStep = (toMel(upperHertz) - lowMel) / (melBins + 2);
    // Band edges: evenly spaced on the mel scale, mapped back to hertz, then to DFT bin numbers.
    const edges = Array.from({ length: melBins + 2 }, (_, i) => {
      const hertz = 700 * (Math.pow(10, (i * melStep + lowMel) / 2595) - 1);
      return Math.floor(((dftLength + 1) * hertz) / sampleRate);
    });
    const out = new Float64Array(spectrogramBins * melBins);
    for (let band = 0; band < melBins; band++) {
      const [low, center, high] = [edges[band]!, edges[band + 1]!, edges[band + 2]!];
      if (center === low) out[center * melBins + band] = 1;
      for (let j = low; j <= center && center > low; j++) out[j * melBins + band] = (j - low) / (center - low);
      for (let j = center; j < high; j++) out[j * melBins + band] = (high - j) / (high - center);
    }
    return [tensorFromNumbers(outputTypeOf(ctx, ctx.attrs.output_datatype), [spectrogramBins, melBins], out)];
  },
});

export const ops: OpDef[] = [
  dft17,
  dft20,
  stft,
  cosineWindowOp('HannWindow', [0.5, 0.5]),
  cosineWindowOp('HammingWindow', [HAMMING_ALPHA, 1 - HAMMING_ALPHA]),
  cosineWindowOp('BlackmanWindow', [0.42, 0.5, 0.08]),
  melWeightMatrix,
];
