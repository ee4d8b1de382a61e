import type { Fail } from './floats.js';

/**
 * Sliding-window geometry shared by convolutions and pooling: per spatial axis the input and output
 * extents, kernel, stride, dilation and padding, as the spec's auto_pad / pads / ceil_mode rules give them.
 */

/** One spatial axis of a sliding window. */
export interface WindowAxis {
  input: number;
  output: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
}

export interface WindowAttrs {
  /** NOTSET when absent (DeformConv has no auto_pad). */
  auto_pad?: string;
  pads?: number[];
  strides?: number[];
  dilations?: number[];
  ceil_mode?: number;
}

export interface ConvAttrs extends WindowAttrs {
  group: number;
  kernel_shape?: number[];
}

/** Spatial axis `i` of `rank` (pads hold rank begin values, then rank end values) of a window of `kernelSize`. */
export function windowAxis(input: number, i: number, rank: number, kernelSize: number, options: WindowAttrs, fail: Fail): WindowAxis {
  const stride = options.strides?.[i] ?? 1;
  const dilation = options.dilations?.[i] ?? 1;
  const span = (kernelSize - 1) * dilation + 1;
  const round = options.ceil_mode ? Math.ceil : Math.floor;
  let padBegin = 0;
  let padEnd = 0;
  let output: number;
  if (options.auto_pad === 'SAME_UPPER' || options.auto_pad === 'SAME_LOWER') {
    output = Math.ceil(input / stride);
    const total = Math.max(0, (output - 1) * stride + span - input);
    // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
    padBegin = options.auto_pad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    padEnd = total - padBegin;
  } else {
    if (options.auto_pad !== 'VALID') {
      padBegin = options.pads?.[i] ?? 0;
      padEnd = options.pads?.[i + rank] ?? 0;
    }
    output = round((input + padBegin + padEnd - span) / stride) + 1;
    // A window may not start inside the end padding only (ceil_mode would otherwise add an empty window).
    if (options.ceil_mode && (output - 1) * stride >= input + padBegin) output--;
  }
  if (output < 1) fail('INVALID_ARGUMENT', `spatial axis ${i} of size ${input} is too small for a window of ${span}`);
  return { input, output, kernel: kernelSize, stride, dilation, padBegin, padEnd };
}

/** The window axes of X [N, C, spatial...]. */
export function spatialAxes(attrs: WindowAttrs, xDims: readonly number[], kernel: readonly number[], fail: Fail): WindowAxis[] {
  if (xDims.length < 3) fail('INVALID_ARGUMENT', `input X must be [N, C, spatial...], got [${xDims.join(', ')}]`);
  const spatial = xDims.slice(2);
  const rank = spatial.length;
  if (kernel.length !== rank) fail('INVALID_ARGUMENT', `kernel_shape [${kernel.join(', ')}] must have ${rank} values, one per spatial axis`);
  return spatial.map((input, i) => windowAxis(input, i, rank, kernel[i]!, attrs, fail));
}

const UNIT_AXIS: WindowAxis = { input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0 };

export type Rank3Axes = [WindowAxis, WindowAxis, WindowAxis];

/** Rank 1 and 2 windows as rank 3 with leading unit axes, so one triple loop serves all ranks. */
export function asRank3(axes: WindowAxis[], fail: Fail): Rank3Axes {
  if (axes.length > 3) fail('INVALID_ARGUMENT', `${axes.length} spatial axes are not supported (at most 3)`);
  const padded = [...new Array<WindowAxis>(3 - axes.length).fill(UNIT_AXIS), ...axes];
  return [padded[0]!, padded[1]!, padded[2]!];
}

/**
 * For each output position along an axis, the kernel taps that land inside the input: [first, end). A
 * window's taps start at `start` = output·stride - padBegin; tap k reads input start + k·dilation.
 */
export interface AxisTaps {
  start: Int32Array;
  first: Int32Array;
  end: Int32Array;
}

export function tapsOf(axis: WindowAxis): AxisTaps {
  const taps: AxisTaps = { start: new Int32Array(axis.output), first: new Int32Array(axis.output), end: new Int32Array(axis.output) };
  for (let o = 0; o < axis.output; o++) {
    const start = o * axis.stride - axis.padBegin;
    taps.start[o] = start;
    taps.first[o] = Math.min(axis.kernel, Math.max(0, Math.ceil(-start / axis.dilation)));
    taps.end[o] = Math.max(taps.first[o]!, Math.min(axis.kernel, Math.ceil((axis.input - start) / axis.dilation)));
  }
  return taps;
}

/**
 * For each kernel tap along an axis, the output positions whose tap lands inside the input: [low, high).
 * The transpose of tapsOf, for loops that run a whole output row per tap.
 */
export interface TapOutputs {
  low: Int32Array;
  high: Int32Array;
}

export function outputsOfTaps(axis: WindowAxis): TapOutputs {
  const ranges: TapOutputs = { low: new Int32Array(axis.kernel), high: new Int32Array(axis.kernel) };
  for (let k = 0; k < axis.kernel; k++) {
    // Output o reads input o·stride + shift; it is inside when 0 <= o·stride + shift < input.
    const shift = k * axis.dilation - axis.padBegin;
    const low = Math.min(axis.output, Math.max(0, Math.ceil(-shift / axis.stride)));
    const high = Math.min(axis.output, Math.floor((axis.input - 1 - shift) / axis.stride) + 1);
    ranges.low[k] = low;
    ranges.high[k] = Math.max(low, high);
  }
  return ranges;
}
