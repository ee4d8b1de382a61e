import type { Dim, ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { attr, defineOp, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { type Floats, floatsFor, floatsOf, integersOf, product, shapeOf, tensorOf, tensorType } from './common.js';
import { asRank3, spatialAxes, tapsOf, type AxisTaps, type WindowAttrs, type WindowAxis } from '../kernels/window.js';
import { inferWindowed } from './geometry.js';
import { floatOutput } from './outputs.js';

/**
 * Pooling: MaxPool, AveragePool, LpPool over sliding windows (the window geometry is kernels/window.ts'),
 * their global forms, and MaxUnpool. Pools write into the executor's output tensors. Spatial ranks 1 and 2
 * run as rank 3 with leading axes of size 1, so one loop nest serves 1-D, 2-D and 3-D.
 */

// ---------------------------------------------------------------------------------------------------------
// Sliding-window pools

type PoolKind = 'max' | 'average' | 'lp';

interface PoolOptions {
  kind: PoolKind;
  countIncludePad?: boolean;
  p?: number;
  /** Filled with the row-major flat spatial index of each maximum (max pooling only). */
  argmax?: Int32Array;
}

/** Pools every [N·C] plane of x into out, over the rank-3 window `axes`. */
function pool(x: Floats, planes: number, axes: [WindowAxis, WindowAxis, WindowAxis], options: PoolOptions, out: Floats): void {
  const [ad, ah, aw] = axes;
  const [td, th, tw] = axes.map(tapsOf) as [AxisTaps, AxisTaps, AxisTaps];
  const H = ah.input;
  const W = aw.input;
  const inPlane = ad.input * H * W;
  const { kind, argmax } = options;
  const p = options.p ?? 2;
  // count_include_pad divides by the whole kernel, also where ceil_mode lets a window run past the padding
  // (the ONNX reference pads the input far enough for every window).
  const kernelVolume = ad.kernel * ah.kernel * aw.kernel;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * inPlane;
    for (let od = 0; od < ad.output; od++) {
      for (let oh = 0; oh < ah.output; oh++) {
        for (let ow = 0; ow < aw.output; ow++, o++) {
          let accumulator = kind === 'max' ? -Infinity : 0;
          let best = -1;
          for (let kd = td.first[od]!; kd < td.end[od]!; kd++) {
            const id = td.start[od]! + kd * ad.dilation;
            for (let kh = th.first[oh]!; kh < th.end[oh]!; kh++) {
              const row = (id * H + th.start[oh]! + kh * ah.dilation) * W;
              for (let kw = tw.first[ow]!; kw < tw.end[ow]!; kw++) {
                const index = row + tw.start[ow]! + kw * aw.dilation;
                const value = x[base + index]!;
                if (kind === 'max') {
                  if (value > accumulator || best < 0) {
                    accumulator = value;
                    best = index;
                  }
                } else if (kind === 'average') accumulator += value;
                else accumulator += Math.pow(Math.abs(value), p);
              }
            }
          }
          if (kind === 'average') {
            const count = options.countIncludePad
              ? kernelVolume
              : (td.end[od]! - td.first[od]!) * (th.end[oh]! - th.first[oh]!) * (tw.end[ow]! - tw.first[ow]!);
            accumulator /= count;
          } else if (kind === 'lp') accumulator = Math.pow(accumulator, 1 / p);
          out[o] = accumulator;
          if (argmax) argmax[o] = best;
        }
      }
    }
  }
}

interface PoolAttrs extends WindowAttrs {
  kernel_shape?: number[];
  count_include_pad?: number;
  storage_order?: number;
  p?: number;
}

function poolKernel(kind: PoolKind) {
  return (ctx: KernelContext<PoolAttrs>): (Tensor | undefined)[] => {
    const { tensor, attrs, fail, outputWanted } = ctx;
    const x = tensor(0);
    const kernel = attrs.kernel_shape ?? fail('INVALID_ARGUMENT', 'attribute kernel_shape is required');
    const axes = spatialAxes(attrs, x.dims, kernel, fail);
    const rank3 = asRank3(axes, fail);
    const planes = x.dims[0]! * x.dims[1]!;
    const outDims = [x.dims[0]!, x.dims[1]!, ...axes.map((axis) => axis.output)];
    const outCount = elementCount(outDims);
    const y = floatOutput(ctx, 0, x.type, outDims);
    const argmax = kind === 'max' && outputWanted(1) ? new Int32Array(outCount) : undefined;
    pool(floatsOf(x), planes, rank3, { kind, countIncludePad: attrs.count_include_pad === 1, p: attrs.p, argmax }, y.values);
    const indices = argmax && maxPoolIndices(argmax, rank3, outCount / planes, attrs.storage_order === 1);
    return [y.done(), indices && new Tensor('int64', indices, outDims)];
  };
}

/** MaxPool's Indices output: flat indices into X, spatial part row-major or (storage_order 1) column-major. */
function maxPoolIndices(argmax: Int32Array, [ad, ah, aw]: WindowAxis[], outPlane: number, columnMajor: boolean): BigInt64Array {
  const [D, H, W] = [ad!.input, ah!.input, aw!.input];
  const inPlane = D * H * W;
  const indices = new BigInt64Array(argmax.length);
  for (let i = 0; i < argmax.length; i++) {
    let spatial = argmax[i]!;
    if (columnMajor) {
      const w = spatial % W;
      const h = Math.floor(spatial / W) % H;
      const d = Math.floor(spatial / (W * H));
      spatial = d + D * (h + H * w);
    }
    indices[i] = BigInt(Math.floor(i / outPlane) * inPlane + spatial);
  }
  return indices;
}

const POOL_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  ceil_mode: attr.int(0),
  dilations: attr.ints(),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

// ---------------------------------------------------------------------------------------------------------
// Global pools and MaxUnpool

function inferGlobalPool({ inputTypes }: InferContext): (ValueType | undefined)[] {
  const x = inputTypes[0];
  if (x?.kind !== 'tensor') return [undefined];
  const shape = shapeOf(x);
  return [tensorType(x.dtype, shape && [shape[0], shape[1], ...shape.slice(2).map(() => 1)])];
}

/** Global pools: one value per [N, C] plane, kept as size-1 spatial axes. */
function globalPoolKernel(reduce: (values: Floats, from: number, to: number, p: number) => number) {
  return (ctx: KernelContext<{ p?: number }>): Tensor[] => {
    const x = ctx.tensor(0);
    const planes = x.dims[0]! * (x.dims[1] ?? 1);
    const plane = product(x.dims, 2);
    const values = floatsOf(x);
    const y = floatOutput(ctx, 0, x.type, [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)]);
    for (let i = 0; i < planes; i++) y.values[i] = reduce(values, i * plane, (i + 1) * plane, ctx.attrs.p ?? 2);
    return [y.done()];
  };
}

function meanOf(values: Floats, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return sum / (to - from);
}

function maxOf(values: Floats, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

function lpNormOf(values: Floats, from: number, to: number, p: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.pow(Math.abs(values[i]!), p);
  return Math.pow(sum, 1 / p);
}

interface MaxUnpoolAttrs {
  kernel_shape?: number[];
  pads?: number[];
  strides?: number[];
}

/** The shape MaxPool's input had, from its output X [N, C, spatial...]: (in - 1)·stride + kernel - pads per axis. */
function unpooledDims(xDims: readonly Dim[], kernel: readonly number[], attrs: MaxUnpoolAttrs): Dim[] {
  const rank = xDims.length - 2;
  return [xDims[0], xDims[1], ...xDims.slice(2).map((input, i) => {
    if (typeof input !== 'number') return undefined;
    const stride = attrs.strides?.[i] ?? 1;
    return (input - 1) * stride + kernel[i]! - (attrs.pads?.[i] ?? 0) - (attrs.pads?.[i + rank] ?? 0);
  })];
}

/** MaxUnpool's output: output_shape when it is a constant, else the unpooled shape. */
function inferMaxUnpool({ node, inputTypes, attrs, constant }: InferContext<MaxUnpoolAttrs>): (ValueType | undefined)[] {
  const x = inputTypes[0];
  if (x?.kind !== 'tensor') return [undefined];
  const shape = shapeOf(x);
  if ((node.inputs[2] ?? '') !== '') {
    const outputShape = constant(2);
    return [tensorType(x.dtype, outputShape ? integersOf(outputShape) : shape?.map(() => undefined))];
  }
  if (!shape || shape.length < 3 || !attrs.kernel_shape) return [tensorType(x.dtype)];
  return [tensorType(x.dtype, unpooledDims(shape, attrs.kernel_shape, attrs))];
}

/**
 * MaxUnpool: X's values written at their Indices into a zero tensor of the unpooled shape. Indices address
 * that inferred shape; a larger output_shape keeps the result in its leading corner, as the ONNX reference does.
 */
function maxUnpoolKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<MaxUnpoolAttrs>): Tensor[] {
  const x = tensor(0);
  const indices = integersOf(tensor(1));
  const shapeInput = optionalTensor(2);
  const kernel = attrs.kernel_shape ?? fail('INVALID_ARGUMENT', 'attribute kernel_shape is required');
  const inferredDims = unpooledDims(x.dims, kernel, attrs) as number[];
  const values = floatsOf(x);
  const unpooled = floatsFor(x.type, elementCount(inferredDims));
  for (let i = 0; i < indices.length; i++) {
    const target = indices[i]!;
    if (target < 0 || target >= unpooled.length) fail('INVALID_ARGUMENT', `input I holds index ${target}, outside the ${unpooled.length} unpooled elements`);
    unpooled[target] = values[i]!;
  }
  if (!shapeInput) return [tensorOf(x.type, inferredDims, unpooled)];
  const outDims = integersOf(shapeInput);
  if (outDims.length !== inferredDims.length || outDims.some((dim, i) => dim < inferredDims[i]!)) {
    fail('INVALID_ARGUMENT', `output_shape [${outDims.join(', ')}] must be at least the unpooled shape [${inferredDims.join(', ')}]`);
  }
  return [tensorOf(x.type, outDims, placeInCorner(unpooled, inferredDims, outDims))];
}

/** A copy of `values` (dims `from`) at the start of every axis of a zero tensor of dims `to`. */
function placeInCorner(values: Floats, from: readonly number[], to: readonly number[]): Floats {
  const out = values instanceof Float32Array ? new Float32Array(elementCount(to)) : new Float64Array(elementCount(to));
  const rowLength = from[from.length - 1]!;
  const rows = values.length / rowLength;
  for (let row = 0; row < rows; row++) {
    // Row-major position of this row's first element in the larger tensor.
    let rest = row;
    let target = 0;
    let stride = to[to.length - 1]!;
    for (let axis = from.length - 2; axis >= 0; axis--) {
      target += (rest % from[axis]!) * stride;
      rest = Math.floor(rest / from[axis]!);
      stride *= to[axis]!;
    }
    out.set(values.subarray(row * rowLength, (row + 1) * rowLength), target);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Catalogue

export const ops: OpDef[] = [
  defineOp({ name: 'MaxPool', since: 1, inputs: ['X'], outputs: ['Y'], attributes: POOL_ATTRIBUTES, infer: inferWindowed(), kernel: poolKernel('max') }),
  ...[8, 10, 11, 12].map((since) =>
    defineOp({
      name: 'MaxPool',
      since,
      inputs: ['X'],
      outputs: ['Y', 'Indices?'],
      attributes: { ...POOL_ATTRIBUTES, storage_order: attr.int(0) },
      infer: inferWindowed({ extraOutput: 'int64' }),
      kernel: poolKernel('max'),
    }),
  ),
  ...[1, 7, 10, 11, 19].map((since) =>
    defineOp({
      name: 'AveragePool',
      since,
      inputs: ['X'],
      outputs: ['Y'],
      attributes: { ...POOL_ATTRIBUTES, count_include_pad: attr.int(0) },
      infer: inferWindowed(),
      kernel: poolKernel('average'),
    }),
  ),
  // p is a float in opset 1 and an int from opset 2; the float spec accepts both.
  ...[1, 2, 11, 18].map((since) =>
    defineOp({ name: 'LpPool', since, inputs: ['X'], outputs: ['Y'], attributes: { ...POOL_ATTRIBUTES, p: attr.float(2) }, infer: inferWindowed(), kernel: poolKernel('lp') }),
  ),
  defineOp({ name: 'GlobalAveragePool', since: 1, inputs: ['X'], outputs: ['Y'], infer: inferGlobalPool, kernel: globalPoolKernel(meanOf) }),
  defineOp({ name: 'GlobalMaxPool', since: 1, inputs: ['X'], outputs: ['Y'], infer: inferGlobalPool, kernel: globalPoolKernel(maxOf) }),
  ...[1, 2].map((since) =>
    defineOp({ name: 'GlobalLpPool', since, inputs: ['X'], outputs: ['Y'], attributes: { p: attr.float(2) }, infer: inferGlobalPool, kernel: globalPoolKernel(lpNormOf) }),
  ),
  ...[9, 11].map((since) =>
    defineOp({
      name: 'MaxUnpool',
      since,
      inputs: ['X', 'I', 'output_shape?'],
      outputs: ['output'],
      attributes: { kernel_shape: attr.ints(), pads: attr.ints(), strides: attr.ints() },
      infer: inferMaxUnpool,
      kernel: maxUnpoolKernel,
    }),
  ),
];
