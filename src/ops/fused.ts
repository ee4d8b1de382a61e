import { EdgerunError } from '../core/errors.js';
import type { ValueType, Value } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { activationFromAttributes, applyActivation } from '../kernels/activation.js';
import { attr, defineOp, type AttrSpecs, type InferContext, type KernelContext, type OpDef } from './registry.js';
import { broadcastOffsets, floatsOf, shapeOf, tensorOf } from './common.js';
import { ops as convOps } from './conv.js';
import { CONV_ATTRIBUTES } from './geometry.js';
import { ops as matmulOps } from './matmul.js';
import { ops as mathBinaryOps } from './math-binary.js';
import { ops as mathUnaryOps } from './math-unary.js';
import { ops as normalizationOps } from './normalization.js';
import { ops as poolOps } from './pool.js';

/**
 * Fused ops of the `ai.edgerun` domain, written by the graph optimizer: a producer with the activation that
 * followed it (FusedConv, FusedGemm, FusedMatMul, FusedAdd, as onnxruntime's com.microsoft FusedConv names
 * them: `activation` + `activation_params`), NHWC forms of convolution and pooling for the layout pass
 * (X and Y are [N, spatial..., C]; convolution weights keep ONNX's [M, C/group, kernel...]), and the ONNX
 * ops newer than a model's opset that the optimizer finds written out as smaller ops
 * (LayerNormalization-17, Gelu-20), with the newer op's semantics.
 *
 * Each reference kernel is the ONNX op's reference kernel followed by the activation, in the layout the op
 * names: the living definition of what the fused graph means.
 */

export const EDGERUN_DOMAIN = 'ai.edgerun';

const ACTIVATION_ATTRIBUTES = { activation: attr.string(''), activation_params: attr.floats([]) };

interface ActivationAttrs {
  activation: string;
  activation_params: number[];
}

type Layout = 'NCHW' | 'NHWC';

/** The ONNX op definition a fused op builds on (the newest version in its family's catalogue). */
function baseOp(family: readonly OpDef[], name: string): OpDef {
  const versions = family.filter((def) => def.name === name && def.domain === '');
  const newest = versions[versions.length - 1];
  if (!newest) throw new EdgerunError('UNSUPPORTED_OP', `no ONNX ${name} to build a fused op on`);
  return newest;
}

const CONV = baseOp(convOps, 'Conv');
const GEMM = baseOp(matmulOps, 'Gemm');
const MATMUL = baseOp(matmulOps, 'MatMul');
const ADD = baseOp(mathBinaryOps, 'Add');

/** The context of a fused kernel with other inputs, for running the base op's kernel on them. */
function withInputs(context: KernelContext, inputs: readonly (Value | undefined)[]): KernelContext {
  const derived: KernelContext = {
    ...context,
    inputs,
    tensor(index) {
      const value = inputs[index];
      if (value instanceof Tensor) return value;
      return context.fail('INVALID_ARGUMENT', `input #${index} ('${context.node.inputs[index] ?? ''}') must be a tensor`);
    },
    optionalTensor(index) {
      const value = inputs[index];
      return value === undefined || value === null ? undefined : derived.tensor(index);
    },
  };
  return derived;
}

/** Output 0 of `base` with the node's fused activation applied. */
function activated(output: Value | undefined, attrs: ActivationAttrs, context: KernelContext): Tensor {
  if (!(output instanceof Tensor)) return context.fail('INVALID_ARGUMENT', 'the fused op produced no tensor');
  const activation = activationFromAttributes(attrs.activation, attrs.activation_params);
  if (activation.kind === 'none') return output;
  const values = floatsOf(output);
  applyActivation(values, 0, values.length, activation);
  return tensorOf(output.type, output.dims, values);
}

/** The activation kernels accept: a fused op of a non-float type is a graph the optimizer never writes. */
function checkFloat(context: KernelContext, index: number): void {
  const type = context.tensor(index).type;
  if (type !== 'float32' && type !== 'float64' && type !== 'float16') {
    context.fail('UNSUPPORTED_TYPE', `fused ops take float tensors, input #${index} is ${type}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// NHWC <-> NCHW: the channel axis moves between last and second.

/** perm taking [N, C, spatial...] to [N, spatial..., C]. */
export function toNhwcPerm(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** perm taking [N, spatial..., C] to [N, C, spatial...]. */
export function toNchwPerm(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

function permuteDims<T>(dims: readonly T[], perm: readonly number[]): T[] {
  return perm.map((axis) => dims[axis]!);
}

/** A copy of `tensor` with its axes moved by `perm` (channel moves only, so the middle axes stay in order). */
function permuted(tensor: Tensor, perm: readonly number[]): Tensor {
  const dims = tensor.dims;
  const outDims = permuteDims(dims, perm);
  const source = floatsOf(tensor);
  const out = source instanceof Float32Array ? new Float32Array(source.length) : new Float64Array(source.length);
  const strides: number[] = [];
  let stride = 1;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= dims[axis]!;
  }
  const outStrides = perm.map((axis) => strides[axis]!);
  const counter = new Array<number>(outDims.length).fill(0);
  let offset = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = source[offset]!;
    for (let axis = outDims.length - 1; axis >= 0; axis--) {
      counter[axis]! += 1;
      offset += outStrides[axis]!;
      if (counter[axis]! < outDims[axis]!) break;
      offset -= outStrides[axis]! * outDims[axis]!;
      counter[axis] = 0;
    }
  }
  return tensorOf(tensor.type, outDims, out);
}

/** An NHWC type's NCHW twin (and back): the shape permuted, everything else kept. */
function permutedType(type: ValueType | undefined, toNchw: boolean): ValueType | undefined {
  const shape = shapeOf(type);
  if (type?.kind !== 'tensor' || !shape || shape.length < 3) return type;
  const perm = toNchw ? toNchwPerm(shape.length) : toNhwcPerm(shape.length);
  const { layout: _layout, ...rest } = type;
  return { ...rest, shape: permuteDims(shape, perm) };
}

/**
 * Runs an NCHW op in the NHWC layout when the node says so: input 0 is moved to NCHW, the op runs, output 0
 * is moved back to NHWC. The NCHW layout passes straight through.
 */
function inLayout(layout: Layout, context: KernelContext, run: (context: KernelContext) => (Value | undefined)[]): (Value | undefined)[] {
  if (layout === 'NCHW') return run(context);
  const x = context.tensor(0);
  if (x.dims.length < 3) context.fail('INVALID_ARGUMENT', `NHWC input X must be [N, spatial..., C], got [${x.dims.join(', ')}]`);
  const inputs = [permuted(x, toNchwPerm(x.dims.length)), ...context.inputs.slice(1)];
  const [y, ...rest] = run(withInputs(context, inputs));
  if (!(y instanceof Tensor)) return context.fail('INVALID_ARGUMENT', 'the op produced no tensor');
  return [permuted(y, toNhwcPerm(y.dims.length)), ...rest];
}

/** The base op's inference, seen through the layout: input 0 and output 0 permuted for NHWC. */
function inferInLayout(layout: (context: InferContext) => Layout, base: OpDef) {
  return (context: InferContext): (ValueType | undefined)[] => {
    if (layout(context) === 'NCHW') return base.infer?.(context) ?? [];
    const inputTypes = [permutedType(context.inputTypes[0], true), ...context.inputTypes.slice(1)];
    const [y, ...rest] = base.infer?.({ ...context, inputTypes }) ?? [];
    const nhwc = permutedType(y, false);
    return [nhwc?.kind === 'tensor' ? { ...nhwc, layout: 'NHWC' } : nhwc, ...rest];
  };
}

function checkLayout(layout: string, context: KernelContext): Layout {
  if (layout !== 'NCHW' && layout !== 'NHWC') context.fail('INVALID_ATTRIBUTE', `layout must be NCHW or NHWC, got '${layout}'`);
  return layout as Layout;
}

// ---------------------------------------------------------------------------------------------------------
// Producer + activation

interface ActivatedOpParts {
  name: string;
  inputs: readonly string[];
  /** The ONNX op computing the value the activation is applied to. */
  base: OpDef;
  attributes: AttrSpecs;
  infer?: OpDef['infer'];
  /** The value before the activation (default: the base op's output). */
  compute?: (context: KernelContext) => Value | undefined;
}

/** An ai.edgerun op: the base op's result, then the node's activation. */
function activatedOp({ name, inputs, base, attributes, infer, compute }: ActivatedOpParts): OpDef {
  return defineOp({
    domain: EDGERUN_DOMAIN,
    name,
    since: 1,
    inputs,
    outputs: ['Y'],
    attributes: { ...attributes, ...ACTIVATION_ATTRIBUTES },
    infer: infer ?? ((context) => base.infer?.(context) ?? []),
    kernel: (context) => {
      checkFloat(context, 0);
      const value = compute ? compute(context) : base.kernel(context)[0];
      return [activated(value, context.attrs as unknown as ActivationAttrs, context)];
    },
  });
}

const fusedConv = activatedOp({
  name: 'FusedConv',
  inputs: ['X', 'W', 'B?'],
  base: CONV,
  attributes: { ...CONV_ATTRIBUTES, layout: attr.string('NCHW') },
  infer: inferInLayout((context) => (context.attrs as { layout: Layout }).layout, CONV),
  compute: (context) => inLayout(checkLayout(context.attrs.layout as string, context), context, (nchw) => CONV.kernel(nchw))[0],
});

const fusedGemm = activatedOp({
  name: 'FusedGemm',
  inputs: ['A', 'B', 'C?'],
  base: GEMM,
  attributes: { alpha: attr.float(1), beta: attr.float(1), transA: attr.int(0), transB: attr.int(0) },
});

/** MatMul (numpy rules), plus Bias broadcast onto the product when given, then the activation. */
const fusedMatMul = activatedOp({
  name: 'FusedMatMul',
  inputs: ['A', 'B', 'Bias?'],
  base: MATMUL,
  attributes: {},
  compute: (context) => {
    const [product] = MATMUL.kernel(context);
    const bias = context.optionalTensor(2);
    return bias ? withBias(product as Tensor, bias, context) : product;
  },
});

/** y + bias, where bias broadcasts to y's dims without growing them. */
function withBias(y: Tensor, bias: Tensor, context: KernelContext): Tensor {
  const fits = bias.dims.length <= y.dims.length && bias.dims.every((dim, i) => dim === 1 || dim === y.dims[y.dims.length - bias.dims.length + i]);
  if (!fits) context.fail('SHAPE_MISMATCH', `Bias [${bias.dims.join(', ')}] does not broadcast to the product's [${y.dims.join(', ')}]`);
  const values = floatsOf(y);
  const biasValues = floatsOf(bias);
  const offsets = broadcastOffsets(y.dims, bias.dims);
  for (let i = 0; i < values.length; i++) values[i]! += biasValues[offsets ? offsets[i]! : i]!;
  return tensorOf(y.type, y.dims, values);
}

const fusedAdd = activatedOp({ name: 'FusedAdd', inputs: ['A', 'B'], base: ADD, attributes: {} });

// ---------------------------------------------------------------------------------------------------------
// NHWC pooling

/** An NHWC pool: the ONNX pool's attributes and kernel, X and Y in [N, spatial..., C]. */
function nhwcPool(name: string, base: OpDef): OpDef {
  return defineOp({
    domain: EDGERUN_DOMAIN,
    name,
    since: 1,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: Object.fromEntries(Object.entries(base.attributes).filter(([attribute]) => attribute !== 'storage_order')),
    infer: (context) => inferInLayout(() => 'NHWC', base)(context).slice(0, 1),
    kernel: (context) => inLayout('NHWC', context, (nchw) => base.kernel(nchw).slice(0, 1)),
  });
}

// ---------------------------------------------------------------------------------------------------------
// ONNX ops from newer opsets, for models importing an older one

/** The ONNX op `base` in the ai.edgerun domain since version 1: its schema, inference and kernel. */
function backported(base: OpDef): OpDef {
  return { ...base, domain: EDGERUN_DOMAIN, since: 1 };
}

export const ops: OpDef[] = [
  backported(baseOp(normalizationOps, 'LayerNormalization')),
  backported(baseOp(mathUnaryOps, 'Gelu')),
  fusedConv,
  fusedGemm,
  fusedMatMul,
  fusedAdd,
  nhwcPool('NhwcMaxPool', baseOp(poolOps, 'MaxPool')),
  nhwcPool('NhwcAveragePool', baseOp(poolOps, 'AveragePool')),
  nhwcPool('NhwcGlobalAveragePool', baseOp(poolOps, 'GlobalAveragePool')),
];
