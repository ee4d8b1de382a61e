import { describeNode } from '../../core/graph.js';
import { EdgerunError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { spatialAxes, type ConvAttrs, type WindowAxis } from '../../kernels/window.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, epilogueOf, floatInput, rankOf, Staging, staticDims, type WasmOp } from './common.js';
import { packMatrix } from './gemm.js';
import type { WarmUpKernel, WasmBlock, WasmRuntime } from './runtime.js';
import { WinogradConv } from './winograd.js';

/**
 * 2-D convolution: ai.edgerun FusedConv (Conv's inputs and attributes plus a fused `activation`) with
 * layout NHWC (X [N, H, W, C], Y [N, H', W', M], W in ONNX's [M, C/group, kH, kW]), and ONNX Conv or an
 * NCHW FusedConv, run as the NHWC kernels between two transposes per image. Four paths, chosen at prepare from W:
 *   pointwise  1x1, stride 1, no padding, one group: one GEMM over every pixel of the batch
 *   depthwise  one input channel per group, M = C: the f32_dwconv kernel (3x3 register-blocked)
 *   direct     few input channels (a first layer), one group, no dilation: f32_conv_direct, each output
 *              row's windows regrouped (padding included) into one short buffer, then a GEMM over it
 *   winograd   3x3, stride 1, no dilation, one group, enough channels: Winograd F(4x4, 3x3) (winograd.ts);
 *              an image holding NaN or infinities takes the general path, whose results keep them in place
 *   general    anything else, grouped too: im2col per image and group, then GEMM
 */

type Path = 'pointwise' | 'depthwise' | 'direct' | 'winograd' | 'general';

/**
 * Input channels up to which the direct kernel is taken: a pixel is then one vector for its regrouping, where
 * im2col copies such short runs slowly.
 */
const DIRECT_MAX_CHANNELS = 4;

/**
 * Input and output channels from which Winograd is taken: the 36 products need some depth and width to beat
 * im2col + GEMM, and narrow layers (small models, float16 twins compared step by step) keep the direct sums.
 */
const WINOGRAD_MIN_CHANNELS = 16;

interface Geometry {
  batch: number;
  height: number;
  width: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  rows: WindowAxis;
  cols: WindowAxis;
}

/** What the Winograd path needs of the geometry. */
function winogradGeometry({ height, width, outHeight, outWidth, rows, cols }: Geometry) {
  return { height, width, outHeight, outWidth, padTop: rows.padBegin, padLeft: cols.padBegin };
}

/** Conv's attributes as resolved (or as a pass wrote them on a fused op), spec defaults filled in. */
function convAttrs(attributes: Readonly<Record<string, unknown>>): ConvAttrs {
  return {
    auto_pad: (attributes.auto_pad as string | undefined) ?? 'NOTSET',
    group: (attributes.group as number | undefined) ?? 1,
    kernel_shape: attributes.kernel_shape as number[] | undefined,
    pads: attributes.pads as number[] | undefined,
    strides: attributes.strides as number[] | undefined,
    dilations: attributes.dilations as number[] | undefined,
  };
}

/** FusedConv says `layout: 'NHWC'` when a layout pass moved it; Conv and an unmoved FusedConv are NCHW. */
function isNhwc(info: NodeInfo): boolean {
  return info.attributes.layout === 'NHWC';
}

function convSupports(info: NodeInfo): boolean {
  if (!allFloat32(info) || epilogueOf(info.attributes) === undefined) return false;
  if (info.node.inputs.length > 3) return false;
  const weights = info.constants[1];
  const hasBias = (info.node.inputs[2] ?? '') !== '';
  if (!weights || weights.dims.length !== 4 || (hasBias && !info.constants[2])) return false;
  const rank = rankOf(info, 0);
  return rank === undefined || rank === 4;
}

/** Paths that can write Y as a channel slice of a wider NHWC tensor (their output is a GEMM's or Winograd's). */
const SLICE_PATHS: readonly Path[] = ['pointwise', 'winograd', 'general'];

/** The path of an NHWC convolution this backend supports; undefined for any other node. */
function nhwcPathOf(info: NodeInfo): Path | undefined {
  if (!convSupports(info) || !isNhwc(info)) return undefined;
  const attrs = convAttrs(info.attributes);
  return pathOf(info.constants[1]!, attrs.group, attrs);
}

/**
 * Whether the NHWC convolution reads an NCHW X as it is (the direct path): a Transpose to NHWC before it
 * then need not run (see planar-conv.ts).
 */
export function convReadsPlanarInput(info: NodeInfo): boolean {
  return nhwcPathOf(info) === 'direct';
}

/**
 * Whether the node is an NHWC convolution this backend can run straight into a channel slice of a wider
 * tensor: a supported path and an activation applied in the output loop (a clamp, or none).
 */
export function convWritesChannelSlice(info: NodeInfo): boolean {
  const path = nhwcPathOf(info);
  return path !== undefined && !epilogueOf(info.attributes)!.activation && SLICE_PATHS.includes(path);
}

function pathOf(weights: Tensor, group: number, attrs: ConvAttrs): Path {
  const [m, perGroup, kh, kw] = weights.dims as [number, number, number, number];
  const unit = (values: number[] | undefined) => !values || values.every((value) => value === 1);
  if (group === 1 && kh === 1 && kw === 1) {
    const unpadded = (attrs.auto_pad === 'NOTSET' || attrs.auto_pad === 'VALID') && (!attrs.pads || attrs.pads.every((pad) => pad === 0));
    if (unit(attrs.strides) && unpadded) return 'pointwise';
  }
  if (perGroup === 1 && m === group) return 'depthwise';
  if (group === 1 && perGroup <= DIRECT_MAX_CHANNELS && unit(attrs.dilations)) return 'direct';
  const wide = perGroup >= WINOGRAD_MIN_CHANNELS && m >= WINOGRAD_MIN_CHANNELS;
  if (group === 1 && kh === 3 && kw === 3 && unit(attrs.strides) && unit(attrs.dilations) && wide) return 'winograd';
  return 'general';
}

/** W [M, C/group, kH, kW] of group `g` as B' [kH * kW * C/group, M/group], rows ordered (ky, kx, c) like im2col. */
function groupWeights(weights: Tensor, group: number, g: number): Float32Array {
  const [m, perGroup, kh, kw] = weights.dims as [number, number, number, number];
  const outPerGroup = m / group;
  const depth = kh * kw * perGroup;
  const values = weights.data as Float32Array;
  if (kh * kw === 1) return values.subarray(g * outPerGroup * depth, (g + 1) * outPerGroup * depth);
  const matrix = new Float32Array(outPerGroup * depth);
  for (let n = 0; n < outPerGroup; n++) {
    for (let c = 0; c < perGroup; c++) {
      for (let tap = 0; tap < kh * kw; tap++) {
        matrix[n * depth + tap * perGroup + c] = values[((g * outPerGroup + n) * perGroup + c) * kh * kw + tap]!;
      }
    }
  }
  return matrix;
}

/** W [M, C, kH, kW] as B' [kW * kH * C, M] with rows ordered (kx, ky, c): the direct kernel's regrouped windows. */
function directWeights(weights: Tensor): Float32Array {
  const [m, channels, kh, kw] = weights.dims as [number, number, number, number];
  const depth = kw * kh * channels;
  const values = weights.data as Float32Array;
  const matrix = new Float32Array(m * depth);
  for (let n = 0; n < m; n++) {
    for (let c = 0; c < channels; c++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) matrix[n * depth + (kx * kh + ky) * channels + c] = values[((n * channels + c) * kh + ky) * kw + kx]!;
      }
    }
  }
  return matrix;
}

/** The kernels each path runs (Winograd's GEMMs too; an image holding NaN or infinities falls back to the general path). */
const PATH_KERNELS: Record<Path, WarmUpKernel[]> = {
  pointwise: ['f32_gemm_minmax'],
  direct: ['f32_conv_direct_minmax'],
  depthwise: ['f32_dwconv_minmax_nhwc'],
  general: ['f32_im2col_nhwc', 'f32_gemm_minmax'],
  winograd: ['f32_winograd', 'f32_gemm_minmax'],
};

/** A convolution prepared once (path chosen, weights packed); it runs on NHWC tensors in wasm memory. */
export interface PreparedConv {
  readonly outChannels: number;
  geometryOf(xDims: readonly number[]): Geometry;
  /** The path's work buffers for one image (byte lengths), for `convolve`'s `work`. */
  pathWorkBytes(geometry: Geometry): number[];
  /** Whether `convolve` can read X in NCHW (`planar`): the direct path reads a pixel's channels from their planes. */
  readonly readsPlanar: boolean;
  /**
   * `images` images from NHWC x (NCHW when `planar`, where readsPlanar) to NHWC y, both in wasm memory, Y's
   * pixels `yPixel` floats apart (more than outChannels only where convWritesChannelSlice says so).
   */
  convolve(geometry: Geometry, x: number, y: number, yPixel: number, images: number, work: number[], planar?: boolean): void;
  dispose(): void;
}

export function prepareNhwcConv(runtime: WasmRuntime, info: NodeInfo): PreparedConv {
  const nhwc = isNhwc(info);
  const attrs = convAttrs(info.attributes);
  const epilogue = epilogueOf(info.attributes)!;
  const weights = info.constants[1]!;
  const bias = info.constants[2]?.data as Float32Array | undefined;
  const [outChannels, perGroup, kh, kw] = weights.dims as [number, number, number, number];
  const group = attrs.group;
  const outPerGroup = outChannels / group;
  const depth = kh * kw * perGroup;
  const path = pathOf(weights, group, attrs);
  runtime.warmUp(...PATH_KERNELS[path]);
  const { kernels } = runtime;
  const fail = (code: EdgerunError['code'], detail: string): never => {
    throw new EdgerunError(code, detail, [describeNode(info.node)]);
  };
  if (outChannels % group !== 0) fail('INVALID_ARGUMENT', `W's ${outChannels} output channels do not split into ${group} groups`);

  let packed: WasmBlock[] = [];
  const winograd = path === 'winograd' ? new WinogradConv(runtime, weights, bias) : undefined;
  if (path === 'depthwise') {
    const source = runtime.upload(weights.data as Float32Array);
    const biasBlock = bias ? runtime.upload(bias) : undefined;
    const block = runtime.alloc(kernels.f32_dwconv_packed_size(outChannels, kh, kw));
    kernels.f32_dwconv_pack(outChannels, kh, kw, source.pointer, biasBlock?.pointer ?? 0, block.pointer);
    source.release();
    biasBlock?.release();
    packed = [block];
  } else if (path === 'direct') {
    packed = [packMatrix(runtime, { values: directWeights(weights), k: depth, n: outChannels, transposed: true }, bias)];
  } else {
    packed = Array.from({ length: group }, (_, g) =>
      packMatrix(runtime, { values: groupWeights(weights, group, g), k: depth, n: outPerGroup, transposed: true }, bias?.subarray(g * outPerGroup, (g + 1) * outPerGroup)));
  }

  /** Geometry from X's dims (NHWC or NCHW). */
  const geometryOf = (xDims: readonly number[]): Geometry => {
    if (xDims.length !== 4) fail('INVALID_ARGUMENT', `input X must have rank 4, got [${xDims.join(', ')}]`);
    const [batch, height, width, channels] = nhwc ? xDims : [xDims[0]!, xDims[2]!, xDims[3]!, xDims[1]!];
    if (channels !== perGroup * group) fail('SHAPE_MISMATCH', `X has ${channels} channels, W expects ${perGroup} x ${group} groups`);
    const [rows, cols] = spatialAxes(attrs, [batch!, channels!, height!, width!], [kh, kw], fail) as [WindowAxis, WindowAxis];
    return { batch: batch!, height: height!, width: width!, channels: channels!, outHeight: rows.output, outWidth: cols.output, rows, cols };
  };
  /** Bytes of one thread's scratch on the direct path, whole cache lines. */
  const directScratchBytes = (geometry: Geometry) =>
    Math.ceil(kernels.f32_conv_direct_scratch_size(geometry.channels, kh, kw, geometry.cols.stride, geometry.outWidth) / 64) * 64;
  /** The path's work buffers for one image: im2col patches (general, winograd), then Winograd's. */
  const pathWorkBytes = (geometry: Geometry): number[] => {
    if (path === 'direct') return [directScratchBytes(geometry) * runtime.chunks];
    const patches = path === 'general' || winograd ? [geometry.outHeight * geometry.outWidth * depth * 4] : [];
    return [...patches, ...(winograd?.workBytes(winogradGeometry(geometry)) ?? [])];
  };
  const convolve = (geometry: Geometry, x: number, y: number, yPixel: number, images: number, work: number[], planar = false) => {
    if (planar && path !== 'direct') fail('KERNEL_FAILED', `the ${path} path reads X in NHWC only`);
    const { height, width, channels, outHeight, outWidth } = geometry;
    if (path === 'pointwise') {
      runtime.gemm(images * height * width, outChannels, channels, x, channels, packed[0]!.pointer, y, yPixel, epilogue.low, epilogue.high);
      return;
    }
    const [inImage, outImage] = [height * width * channels * 4, outHeight * outWidth * yPixel * 4];
    for (let image = 0; image < images; image++) convolveImage(geometry, x + image * inImage, y + image * outImage, yPixel, work, planar);
  };
  const convolveImage = (geometry: Geometry, x: number, y: number, yPixel: number, work: number[], planar: boolean) => {
    const { height, width, channels, outHeight, outWidth, rows, cols } = geometry;
    const { low, high } = epilogue;
    if (path === 'direct') {
      runtime.directConv(
        x, height, width, channels, planar ? 1 : 0, kh, kw, rows.stride, cols.stride, rows.padBegin, cols.padBegin, outHeight, outWidth, packed[0]!.pointer, outChannels,
        y, low, high, work[0]!, directScratchBytes(geometry),
      );
    } else if (winograd && kernels.f32_all_finite(x, height * width * channels)) {
      winograd.run(winogradGeometry(geometry), x, y, yPixel, low, high, work.slice(1));
    } else if (path === 'depthwise') {
      runtime.dwconv(
        x, height, width, channels, kh, kw, rows.stride, cols.stride, rows.dilation, cols.dilation, rows.padBegin, cols.padBegin,
        outHeight, outWidth, packed[0]!.pointer, y, low, high,
      );
    } else {
      const patches = work[0]!;
      for (let g = 0; g < group; g++) {
        kernels.f32_im2col_nhwc(
          x, height, width, channels, g * perGroup, perGroup, kh, kw, rows.stride, cols.stride, rows.dilation, cols.dilation,
          rows.padBegin, cols.padBegin, outHeight, outWidth, patches,
        );
        runtime.gemm(outHeight * outWidth, outPerGroup, depth, patches, depth, packed[g]!.pointer, y + g * outPerGroup * 4, yPixel, low, high);
      }
    }
  };

  return {
    outChannels,
    readsPlanar: path === 'direct',
    geometryOf,
    pathWorkBytes,
    convolve,
    dispose: () => {
      packed.forEach((block) => block.release());
      winograd?.release();
    },
  };
}

function prepareConv(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const conv = prepareNhwcConv(runtime, info);
  const { outChannels } = conv;
  const nhwc = isNhwc(info);
  const { kernels } = runtime;
  const epilogue = epilogueOf(info.attributes)!;
  if (!nhwc) runtime.warmUp('f32_transpose');
  /** Work buffers: X (unless the path reads it in NCHW) and Y of one image in NHWC (NCHW Conv), then the path's. */
  const workBytes = (geometry: Geometry): number[] => {
    const nchwImages = [conv.readsPlanar ? 0 : geometry.height * geometry.width * geometry.channels * 4, geometry.outHeight * geometry.outWidth * outChannels * 4];
    return [...(nhwc ? [] : nchwImages), ...conv.pathWorkBytes(geometry)];
  };
  const xDims = staticDims(info, 0);
  if (xDims) {
    const geometry = conv.geometryOf(xDims);
    const bytes = geometry.batch * geometry.height * geometry.width * geometry.channels * 4;
    runtime.reserveScratch(Staging.bytesFor([bytes, geometry.batch * geometry.outHeight * geometry.outWidth * outChannels * 4], workBytes(geometry)));
  }

  return {
    run(io) {
      const x = floatInput(info, io, 0);
      const geometry = conv.geometryOf(x.dims);
      const { batch, height, width, channels, outHeight, outWidth } = geometry;
      const y = io.output(0, 'float32', nhwc ? [batch, outHeight, outWidth, outChannels] : [batch, outChannels, outHeight, outWidth]);
      const buffers = workBytes(geometry);
      const staging = new Staging(runtime, [x], [y], buffers);
      const [xAddress, yAddress] = [staging.address(x), staging.address(y)];
      const works = buffers.map((_, index) => staging.work(index));
      if (nhwc) {
        conv.convolve(geometry, xAddress, yAddress, outChannels, batch, works);
      } else {
        const inImage = height * width * channels * 4;
        const outImage = outHeight * outWidth * outChannels * 4;
        const [xNhwc, yNhwc] = [works[0]!, works[1]!];
        const pathWork = works.slice(2);
        for (let image = 0; image < batch; image++) {
          if (conv.readsPlanar) {
            conv.convolve(geometry, xAddress + image * inImage, yNhwc, outChannels, 1, pathWork, true);
          } else {
            kernels.f32_transpose(xAddress + image * inImage, channels, height * width, xNhwc);
            conv.convolve(geometry, xNhwc, yNhwc, outChannels, 1, pathWork);
          }
          kernels.f32_transpose(yNhwc, outHeight * outWidth, outChannels, yAddress + image * outImage);
        }
      }
      staging.finish(epilogue.activation);
    },
    dispose: () => conv.dispose(),
  };
}

export const convOps: Record<string, WasmOp> = {
  Conv: { supports: convSupports, prepare: prepareConv },
  'ai.edgerun:FusedConv': { supports: convSupports, prepare: prepareConv },
};
