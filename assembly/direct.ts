// Direct NHWC convolution for layers with few input channels (a network's first layer: 3 channels, 3x3,
// stride 2): an implicit GEMM that reads each output pixel's window rows straight from X, with no im2col
// buffer. With dilation 1, one kernel row of a window is kw * channels consecutive floats, so a 4x8 tile
// (4 output pixels x 8 output channels, as in gemm.ts) runs kh runs of kw * channels multiply-adds.
// X must already hold the padding (f32_pad_nhwc): every window lies inside it.
import { clamp, madd, storeRow } from './simd';

/**
 * Copies X [h, w, channels] into out [ph, pw, channels] at row padTop, column padLeft, zeros around it (the
 * rows and columns past X up to ph and pw are zero too).
 */
export function f32_pad_nhwc(x: usize, h: i32, w: i32, channels: i32, padTop: i32, padLeft: i32, ph: i32, pw: i32, out: usize): void {
  const pixel = <usize>channels << 2;
  const outRow = <usize>pw * pixel;
  const rows = min(h, ph - padTop);
  const columns = min(w, pw - padLeft);
  memory.fill(out, 0, <usize>padTop * outRow);
  for (let row = 0; row < rows; row++) {
    const to = out + <usize>(padTop + row) * outRow;
    memory.fill(to, 0, <usize>padLeft * pixel);
    memory.copy(to + <usize>padLeft * pixel, x + <usize>(row * w) * pixel, <usize>columns * pixel);
    memory.fill(to + <usize>(padLeft + columns) * pixel, 0, <usize>(pw - padLeft - columns) * pixel);
  }
  memory.fill(out + <usize>(padTop + rows) * outRow, 0, <usize>(ph - padTop - rows) * outRow);
}

/**
 * Y [oh, ow, m] = clamp(conv(X, W) + bias, low, high) for X [.., w, channels] holding its padding, a kh x kw
 * window at strides (strideH, strideW), dilation 1. `packed` holds W per panel of 8 output channels: 8 bias
 * values, then kh * kw * channels rows of 8 weights ordered (ky, kx, channel), zero past m. Pixels past the
 * end of a row block alias the last one (computed twice, stored identically), as the GEMM does.
 */
export function f32_conv_direct_minmax_4x8(
  x: usize, w: i32, channels: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  oh: i32, ow: i32, packed: usize, m: i32, y: usize, low: f32, high: f32,
): void {
  const vlow = f32x4.splat(low);
  const vhigh = f32x4.splat(high);
  const run = kw * channels;
  const rowSkip = <usize>(w * channels - run) << 2;
  const pixelStep = <usize>(strideW * channels) << 2;
  const yPixel = <usize>m << 2;
  const panelBytes = <usize>(kh * run + 1) << 5;
  for (let oy = 0; oy < oh; oy++) {
    const inputRow = x + (<usize>(oy * strideH * w * channels) << 2);
    const yRow = y + <usize>(oy * ow) * yPixel;
    for (let ox = 0; ox < ow; ox += 4) {
      const x0 = inputRow + <usize>ox * pixelStep;
      const x1 = ox + 1 < ow ? x0 + pixelStep : x0;
      const x2 = ox + 2 < ow ? x1 + pixelStep : x1;
      const x3 = ox + 3 < ow ? x2 + pixelStep : x2;
      const y0 = yRow + <usize>ox * yPixel;
      const y1 = ox + 1 < ow ? y0 + yPixel : y0;
      const y2 = ox + 2 < ow ? y1 + yPixel : y1;
      const y3 = ox + 3 < ow ? y2 + yPixel : y2;
      let panel = packed;
      for (let col = 0; col < m; col += 8) {
        let acc0l = v128.load(panel);
        let acc0h = v128.load(panel, 16);
        let acc1l = acc0l;
        let acc1h = acc0h;
        let acc2l = acc0l;
        let acc2h = acc0h;
        let acc3l = acc0l;
        let acc3h = acc0h;
        let weights = panel + 32;
        let p0 = x0;
        let p1 = x1;
        let p2 = x2;
        let p3 = x3;
        for (let ky = 0; ky < kh; ky++) {
          for (let k = run; k > 0; k--) {
            const bl = v128.load(weights);
            const bh = v128.load(weights, 16);
            const a0 = v128.load32_splat(p0);
            const a1 = v128.load32_splat(p1);
            const a2 = v128.load32_splat(p2);
            const a3 = v128.load32_splat(p3);
            acc0l = madd(a0, bl, acc0l);
            acc0h = madd(a0, bh, acc0h);
            acc1l = madd(a1, bl, acc1l);
            acc1h = madd(a1, bh, acc1h);
            acc2l = madd(a2, bl, acc2l);
            acc2h = madd(a2, bh, acc2h);
            acc3l = madd(a3, bl, acc3l);
            acc3h = madd(a3, bh, acc3h);
            weights += 32;
            p0 += 4;
            p1 += 4;
            p2 += 4;
            p3 += 4;
          }
          p0 += rowSkip;
          p1 += rowSkip;
          p2 += rowSkip;
          p3 += rowSkip;
        }
        const width = m - col;
        const offset = <usize>col << 2;
        storeRow(y3 + offset, clamp(acc3l, vlow, vhigh), clamp(acc3h, vlow, vhigh), width);
        storeRow(y2 + offset, clamp(acc2l, vlow, vhigh), clamp(acc2h, vlow, vhigh), width);
        storeRow(y1 + offset, clamp(acc1l, vlow, vhigh), clamp(acc1h, vlow, vhigh), width);
        storeRow(y0 + offset, clamp(acc0l, vlow, vhigh), clamp(acc0h, vlow, vhigh), width);
        panel += panelBytes;
      }
    }
  }
}
