import type { Floats } from './floats.js';
import { outputsOfTaps, type Rank3Axes } from './window.js';

/**
 * Columns for a convolution as a matrix product: one row per (channel, kernel tap), one column per output
 * position, so the product reads weights [M, C·taps] times columns [C·taps, positions] row by row.
 */

/**
 * Writes the columns of output positions [from, to) for `channels` channels of x starting at `channelBase`
 * into `columns` (row length to - from). Taps that land in padding read 0. Positions are walked one output
 * row at a time: per row and tap, the positions inside the input form one run (outputsOfTaps).
 */
export function im2col(x: Floats, channelBase: number, channels: number, axes: Rank3Axes, from: number, to: number, columns: Floats): void {
  const [ad, ah, aw] = axes;
  const [D, H, W] = [ad.input, ah.input, aw.input];
  const OH = ah.output;
  const OW = aw.output;
  const inside = outputsOfTaps(aw);
  let j = 0;
  for (let c = 0; c < channels; c++) {
    const plane = channelBase + c * D * H * W;
    for (let kd = 0; kd < ad.kernel; kd++) {
      for (let kh = 0; kh < ah.kernel; kh++) {
        for (let kw = 0; kw < aw.kernel; kw++) {
          const shift = kw * aw.dilation - aw.padBegin;
          const low = inside.low[kw]!;
          const high = inside.high[kw]!;
          for (let p = from; p < to; ) {
            const od = Math.floor(p / (OH * OW));
            const oh = Math.floor(p / OW) - od * OH;
            const ow0 = p - (od * OH + oh) * OW;
            const ow1 = Math.min(OW, ow0 + to - p);
            const id = od * ad.stride - ad.padBegin + kd * ad.dilation;
            const ih = oh * ah.stride - ah.padBegin + kh * ah.dilation;
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              columns.fill(0, j, j + ow1 - ow0);
              j += ow1 - ow0;
            } else {
              const row = plane + (id * H + ih) * W + shift;
              const first = Math.max(ow0, Math.min(low, ow1));
              const last = Math.max(first, Math.min(high, ow1));
              let ow = ow0;
              for (; ow < first; ow++) columns[j++] = 0;
              for (; ow < last; ow++) columns[j++] = x[row + ow * aw.stride]!;
              for (; ow < ow1; ow++) columns[j++] = 0;
            }
            p += ow1 - ow0;
          }
        }
      }
    }
  }
}

/**
 * The inverse of im2col for one image, as Col2Im and ConvTranspose need it: each column entry (channel,
 * kernel tap, window position over `windows`) is added to the image position its tap lands on; taps landing
 * in padding are dropped. Here the axes' `output` is the image's extent.
 */
export function col2im(
  columns: Floats, columnsOffset: number, channels: number,
  [ad, ah, aw]: Rank3Axes,
  windows: [number, number, number],
  image: Floats, imageOffset: number,
): void {
  const [gd, gh, gw] = windows;
  const positions = gd * gh * gw;
  const D = ad.output;
  const H = ah.output;
  const W = aw.output;
  let row = columnsOffset;
  for (let c = 0; c < channels; c++) {
    const plane = imageOffset + c * D * H * W;
    for (let kd = 0; kd < ad.kernel; kd++) {
      for (let kh = 0; kh < ah.kernel; kh++) {
        for (let kw = 0; kw < aw.kernel; kw++, row += positions) {
          let p = row;
          for (let pd = 0; pd < gd; pd++) {
            const od = pd * ad.stride - ad.padBegin + kd * ad.dilation;
            for (let ph = 0; ph < gh; ph++, p += gw) {
              const oh = ph * ah.stride - ah.padBegin + kh * ah.dilation;
              if (od < 0 || od >= D || oh < 0 || oh >= H) continue;
              const target = plane + (od * H + oh) * W;
              for (let pw = 0; pw < gw; pw++) {
                const ow = pw * aw.stride - aw.padBegin + kw * aw.dilation;
                if (ow >= 0 && ow < W) image[target + ow]! += columns[p + pw]!;
              }
            }
          }
        }
      }
    }
  }
}
