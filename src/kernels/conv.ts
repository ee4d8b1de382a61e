import { applyActivation, NO_ACTIVATION, type Activation } from './activation.js';
import { type Fail, type Floats, floatsLike, scratchLike } from './floats.js';
import { gemm, rowMajor, type GemmEpilogue } from './gemm.js';
import { im2col } from './im2col.js';
import { asRank3, outputsOfTaps, spatialAxes, tapsOf, type ConvAttrs, type Rank3Axes, type TapOutputs, type WindowAxis } from './window.js';

/**
 * Convolution of X [N, C, spatial...] with W [M, C/group, kernel...] (1-D, 2-D and 3-D; ranks 1 and 2 run
 * as rank 3 with leading axes of size 1), plus a bias per output channel and an activation, written into a
 * caller-provided buffer. Three kernels, chosen by shape:
 * - depthwise (group == C, each output channel reads one input channel): direct, no im2col;
 * - pointwise (1×1 kernel, stride 1, no padding): X already is the column matrix, one GEMM per group;
 * - general: im2col over tiles of output positions, then GEMM.
 * Bias and activation are applied as each piece of output is finished, while it is in cache.
 */

export type { ConvAttrs } from './window.js';

/** Everything the kernels need to know about one convolution, checked once. */
export interface ConvPlan {
  batch: number;
  channels: number;
  outChannels: number;
  group: number;
  axes: Rank3Axes;
  /** Y's dims: [N, M, spatial...]. */
  dims: number[];
}

/** Checks X and W against each other and the attributes, and works out the output geometry. */
export function planConv(xDims: readonly number[], wDims: readonly number[], attrs: ConvAttrs, fail: Fail): ConvPlan {
  const axes = spatialAxes(attrs, xDims, attrs.kernel_shape ?? wDims.slice(2), fail);
  const [batch, channels] = [xDims[0]!, xDims[1]!];
  const outChannels = wDims[0]!;
  const group = attrs.group;
  if (wDims.length !== xDims.length) fail('SHAPE_MISMATCH', `Conv W [${wDims.join(', ')}] must have the rank of X [${xDims.join(', ')}]`);
  if (channels !== wDims[1]! * group) {
    fail('SHAPE_MISMATCH', `Conv input X has ${channels} channels, W expects ${wDims[1]} per group × ${group} groups`);
  }
  if (outChannels % group !== 0) fail('SHAPE_MISMATCH', `Conv W has ${outChannels} output channels, not a multiple of group ${group}`);
  return { batch, channels, outChannels, group, axes: asRank3(axes, fail), dims: [batch, outChannels, ...axes.map((axis) => axis.output)] };
}

/** Y = activation(conv(X, W) + bias) into `out` (every element written). */
export function convolve(plan: ConvPlan, x: Floats, w: Floats, bias: Floats | undefined, activation: Activation, out: Floats): void {
  if (plan.group === plan.channels) depthwise(plan, x, w, bias, activation, out);
  else if (plan.axes.every((axis) => axis.kernel === 1 && axis.stride === 1 && axis.padBegin === 0 && axis.padEnd === 0)) pointwise(plan, x, w, bias, activation, out);
  else general(plan, x, w, bias, activation, out);
}

/** The convolution without bias or activation, in x's float type, in a new buffer (the integer convolutions' path). */
export function convolution(x: Floats, xDims: readonly number[], w: Floats, wDims: readonly number[], attrs: ConvAttrs, fail: Fail): { dims: number[]; values: Floats } {
  const plan = planConv(xDims, wDims, attrs, fail);
  const values = floatsLike(x, plan.dims.reduce((count, dim) => count * dim, 1));
  convolve(plan, x, w, undefined, NO_ACTIVATION, values);
  return { dims: plan.dims, values };
}

function planeSizes({ axes }: ConvPlan): { inPlane: number; outPlane: number; taps: number } {
  const [ad, ah, aw] = axes;
  return { inPlane: ad.input * ah.input * aw.input, outPlane: ad.output * ah.output * aw.output, taps: ad.kernel * ah.kernel * aw.kernel };
}

/** The epilogue of output channels [first, ...) of a GEMM: their bias, then the activation. */
function channelEpilogue(bias: Floats | undefined, first: number, activation: Activation): GemmEpilogue {
  return { bias: bias && { data: bias, offset: first, rowStride: 1, colStride: 0 }, activation };
}

/**
 * Depthwise: output channel o reads input channel o / (M / C) only. One output row at a time. A row of a
 * 3×3 window whose three input rows lie inside the input (all but the edge rows) is depthwiseRow3x3's. Any
 * other row starts as the bias in a double accumulator row, and each kernel row inside the input adds its
 * taps: for 3-wide kernels the outputs whose three taps all land inside the input take the three in one
 * step; every other output, and every tap of other widths, goes tap by tap over the run of outputs whose
 * tap lands inside the input (outputsOfTaps), so no loop checks bounds. The activation runs over each
 * finished output plane while it is in cache.
 */
function depthwise(plan: ConvPlan, x: Floats, w: Floats, bias: Floats | undefined, activation: Activation, out: Floats): void {
  const { batch, channels, outChannels, axes } = plan;
  const [ad, ah, aw] = axes;
  const { inPlane, outPlane, taps } = planeSizes(plan);
  const [H, W] = [ah.input, aw.input];
  const [OH, OW] = [ah.output, aw.output];
  const depthTaps = tapsOf(ad);
  const rowTaps = tapsOf(ah);
  const inside = outputsOfTaps(aw);
  const [innerLow, innerHigh] = aw.kernel === 3 ? allTapsInside(inside) : [OW, OW];
  const threeByThree = ad.kernel === 1 && ah.kernel === 3 && aw.kernel === 3;
  const multiplier = outChannels / channels;
  const stride = aw.stride;
  const d1 = aw.dilation;
  const d2 = 2 * aw.dilation;
  const row = new Float64Array(OW);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      const xPlane = (n * channels + Math.floor(o / multiplier)) * inPlane;
      const wBase = o * taps;
      const outBase = (n * outChannels + o) * outPlane;
      const start = bias ? bias[o]! : 0;
      for (let od = 0; od < ad.output; od++) {
        for (let oh = 0; oh < OH; oh++) {
          const target = outBase + (od * OH + oh) * OW;
          if (threeByThree && depthTaps.end[od] === 1 && rowTaps.first[oh] === 0 && rowTaps.end[oh] === 3) {
            const r0 = xPlane + (depthTaps.start[od]! * H + rowTaps.start[oh]!) * W - aw.padBegin;
            const rows: Rows3 = [r0, r0 + ah.dilation * W, r0 + 2 * ah.dilation * W];
            depthwiseRow3x3(x, rows, w, wBase, start, aw, inside, [innerLow, innerHigh], out, target);
            continue;
          }
          row.fill(start);
          for (let kd = depthTaps.first[od]!; kd < depthTaps.end[od]!; kd++) {
            const id = depthTaps.start[od]! + kd * ad.dilation;
            for (let kh = rowTaps.first[oh]!; kh < rowTaps.end[oh]!; kh++) {
              // Tap kw of output ow reads x[xRow + kw·dilation + ow·stride].
              const xRow = xPlane + (id * H + rowTaps.start[oh]! + kh * ah.dilation) * W - aw.padBegin;
              const wRow = wBase + (kd * ah.kernel + kh) * aw.kernel;
              if (innerLow < innerHigh) {
                const w0 = w[wRow]!, w1 = w[wRow + 1]!, w2 = w[wRow + 2]!;
                for (let ow = innerLow, xi = xRow + ow * stride; ow < innerHigh; ow++, xi += stride) row[ow]! += w0 * x[xi]! + w1 * x[xi + d1]! + w2 * x[xi + d2]!;
              }
              for (let kw = 0; kw < aw.kernel; kw++) {
                const weight = w[wRow + kw]!;
                const low = inside.low[kw]!;
                const high = inside.high[kw]!;
                const tapRow = xRow + kw * aw.dilation;
                // The outputs before the all-inside run, then those after it.
                for (let ow = low, end = Math.min(high, innerLow); ow < end; ow++) row[ow]! += weight * x[tapRow + ow * stride]!;
                for (let ow = Math.max(low, innerHigh); ow < high; ow++) row[ow]! += weight * x[tapRow + ow * stride]!;
              }
            }
          }
          for (let ow = 0; ow < OW; ow++) out[target + ow] = row[ow]!;
        }
      }
      applyActivation(out, outBase, outBase + outPlane, activation);
    }
  }
}

/** Offsets of the three input rows a 3×3 window reads, each less the width axis' begin padding. */
type Rows3 = [number, number, number];

/**
 * One output row of a 3×3 depthwise window whose three input rows all lie inside the input: each output in
 * [inner[0], inner[1]) (all three columns inside too) is the bias plus nine products in one expression (with
 * stride 1, reusing the columns the previous window loaded); the few outputs at the row's ends add the taps
 * that land inside the input.
 */
function depthwiseRow3x3(x: Floats, [r0, r1, r2]: Rows3, w: Floats, wBase: number, start: number, aw: WindowAxis, inside: TapOutputs, inner: [number, number], out: Floats, target: number): void {
  const w00 = w[wBase]!, w01 = w[wBase + 1]!, w02 = w[wBase + 2]!;
  const w10 = w[wBase + 3]!, w11 = w[wBase + 4]!, w12 = w[wBase + 5]!;
  const w20 = w[wBase + 6]!, w21 = w[wBase + 7]!, w22 = w[wBase + 8]!;
  const stride = aw.stride;
  const d1 = aw.dilation;
  const d2 = 2 * aw.dilation;
  const [innerLow, innerHigh] = inner;
  if (stride === 1 && d1 === 1 && innerLow < innerHigh) {
    // Adjacent windows share two of their three columns: carry them over, load one new column per output.
    let xi = innerLow;
    let a0 = x[r0 + xi]!, a1 = x[r0 + xi + 1]!, b0 = x[r1 + xi]!, b1 = x[r1 + xi + 1]!, c0 = x[r2 + xi]!, c1 = x[r2 + xi + 1]!;
    for (let ow = innerLow; ow < innerHigh; ow++, xi++) {
      const a2 = x[r0 + xi + 2]!, b2 = x[r1 + xi + 2]!, c2 = x[r2 + xi + 2]!;
      out[target + ow] = start + w00 * a0 + w01 * a1 + w02 * a2 + w10 * b0 + w11 * b1 + w12 * b2 + w20 * c0 + w21 * c1 + w22 * c2;
      a0 = a1; a1 = a2;
      b0 = b1; b1 = b2;
      c0 = c1; c1 = c2;
    }
  } else {
    for (let ow = innerLow, xi = innerLow * stride; ow < innerHigh; ow++, xi += stride) {
      out[target + ow] =
        start +
        w00 * x[r0 + xi]! + w01 * x[r0 + xi + d1]! + w02 * x[r0 + xi + d2]! +
        w10 * x[r1 + xi]! + w11 * x[r1 + xi + d1]! + w12 * x[r1 + xi + d2]! +
        w20 * x[r2 + xi]! + w21 * x[r2 + xi + d1]! + w22 * x[r2 + xi + d2]!;
    }
  }
  const edge = (ow: number) => {
    let sum = start;
    for (let kw = 0; kw < 3; kw++) {
      if (ow < inside.low[kw]! || ow >= inside.high[kw]!) continue;
      const xi = ow * stride + kw * d1;
      sum += w[wBase + kw]! * x[r0 + xi]! + w[wBase + 3 + kw]! * x[r1 + xi]! + w[wBase + 6 + kw]! * x[r2 + xi]!;
    }
    out[target + ow] = sum;
  };
  for (let ow = 0; ow < innerLow; ow++) edge(ow);
  for (let ow = innerHigh; ow < aw.output; ow++) edge(ow);
}

/** The outputs [low, high) where every tap of the axis lands inside the input. */
function allTapsInside(inside: TapOutputs): [number, number] {
  const low = Math.max(...inside.low);
  return [low, Math.max(low, Math.min(...inside.high))];
}

/** 1×1, stride 1, no padding: per image and group, Y_g [M/g, P] = W_g [M/g, C/g] · X_g [C/g, P]. */
function pointwise(plan: ConvPlan, x: Floats, w: Floats, bias: Floats | undefined, activation: Activation, out: Floats): void {
  const { batch, channels, outChannels, group } = plan;
  const { inPlane: P } = planeSizes(plan);
  const groupChannels = channels / group;
  const groupOut = outChannels / group;
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < group; g++) {
      gemm(
        groupOut, P, groupChannels,
        rowMajor(w, g * groupOut * groupChannels, groupChannels),
        rowMajor(x, (n * channels + g * groupChannels) * P, P),
        out, (n * outChannels + g * groupOut) * P, P,
        channelEpilogue(bias, g * groupOut, activation),
      );
    }
  }
}

/** Column elements per tile: a tile's columns stay in cache between im2col and the GEMM. */
const TILE_ELEMENTS = 1 << 17;

/** im2col + GEMM over tiles of output positions (a multiple of 4, the GEMM's block width). */
function general(plan: ConvPlan, x: Floats, w: Floats, bias: Floats | undefined, activation: Activation, out: Floats): void {
  const { batch, channels, outChannels, group, axes } = plan;
  const { inPlane, outPlane, taps } = planeSizes(plan);
  const groupChannels = channels / group;
  const groupOut = outChannels / group;
  const K = groupChannels * taps;
  const tileSize = Math.min(outPlane, Math.max(16, Math.floor(TILE_ELEMENTS / K) & ~3));
  const columns = scratchLike(x, tileSize * K);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < group; g++) {
      const channelBase = (n * channels + g * groupChannels) * inPlane;
      for (let tileStart = 0; tileStart < outPlane; tileStart += tileSize) {
        const tileEnd = Math.min(outPlane, tileStart + tileSize);
        const length = tileEnd - tileStart;
        im2col(x, channelBase, groupChannels, axes, tileStart, tileEnd, columns);
        gemm(
          groupOut, length, K,
          rowMajor(w, g * groupOut * K, K),
          rowMajor(columns, 0, length),
          out, (n * outChannels + g * groupOut) * outPlane + tileStart, outPlane,
          channelEpilogue(bias, g * groupOut, activation),
        );
      }
    }
  }
}
