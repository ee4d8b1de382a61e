import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inContext } from '../src/core/errors.js';
import { describeNode, type Graph, type Node } from '../src/core/graph.js';
import { activationFromAttributes } from '../src/kernels/activation.js';
import { spatialAxes, type WindowAttrs, type WindowAxis } from '../src/kernels/window.js';
import { catalogueResolver, inferGraphTypes, type InferredGraph, type NodeResolver } from '../src/optimize/index.js';
import { EDGERUN_DOMAIN } from '../src/ops/fused.js';
import { EdgerunError, Tensor, decodeOnnx, optimizeGraph } from '../src/index.js';
import '../src/ops/index.js';
import {
  ActivationFunction,
  BuiltinOperator,
  Padding,
  TensorType,
  addOptions,
  batchMatMulOptions,
  castOptions,
  concatenationOptions,
  conv2dOptions,
  depthwiseConv2dOptions,
  divOptions,
  fullyConnectedOptions,
  gatherOptions,
  geluOptions,
  mulOptions,
  padOptions,
  pool2dOptions,
  powOptions,
  reducerOptions,
  reshapeOptions,
  sequenceLstmOptions,
  softmaxOptions,
  subOptions,
  transposeOptions,
  writeTfliteModel,
  type BuiltinOptions,
  type TfliteOperator,
  type TfliteTensor,
} from './tflite-schema.js';

/**
 * ONNX -> float32 .tflite, for the benchmark's TFLite peers: the same network, weights and input as the ONNX
 * file, so their times compare like for like with edgerun's. It converts from edgerun's own IR after the
 * optimizer at level 'all' in NHWC layout, where convolutions are already NHWC FusedConv with their Relu /
 * Clip fused and BatchNorm folded; each IR node then maps onto one TFLite builtin (plus a PAD where ONNX
 * pads a convolution in a way TFLite's SAME does not). The model's inputs and outputs keep their ONNX shapes
 * and layout (NCHW in, a TRANSPOSE to NHWC first), so every runtime is fed the same tensors.
 *
 * Covers the ops of convolutional classifiers (Conv, pooling, Add, Concat, Flatten/Reshape, Gemm) and of
 * BERT-style encoders (Gather, MatMul, Softmax, LayerNormalization written out as TFLite arithmetic, Gelu
 * as TFLite's GELU; the optimizer has fused both from their written-out forms) and forward LSTMs (UNIDIRECTIONAL_SEQUENCE_LSTM); any other op is refused with
 * UNSUPPORTED_OP naming it. int64 inputs become int32.
 *
 * `node build/scripts/onnx-to-tflite.js model.onnx [out.tflite]`
 */
export function onnxToTflite(onnxBytes: Uint8Array, description = 'converted from ONNX by edgerun'): Uint8Array {
  const model = optimizeGraph(decodeOnnx(onnxBytes), { level: 'all', preferNhwc: true });
  const resolver = catalogueResolver(model.opsetImports, model.functions);
  const writer = new SubgraphWriter(model.graph, inferGraphTypes(model.graph, resolver));
  for (const node of model.graph.nodes) inContext(describeNode(node), () => writer.convert(node, resolver), 'UNSUPPORTED_OP');
  return writeTfliteModel({
    description,
    tensors: writer.tensors,
    operators: writer.operators,
    inputs: model.graph.inputs.filter((input) => !model.graph.initializers.has(input.name)).map((input) => writer.value(input.name)),
    outputs: model.graph.outputs.map((output) => writer.value(output.name)),
  });
}

type Attributes = Record<string, unknown>;

class SubgraphWriter {
  readonly tensors: TfliteTensor[] = [];
  readonly operators: TfliteOperator[] = [];
  private readonly indexOf = new Map<string, number>();

  constructor(
    private readonly graph: Graph,
    private readonly inferred: InferredGraph,
  ) {}

  /** The tensor of an IR value: a graph input, a value an earlier node produced, or a float constant as it is. */
  value(name: string): number {
    const known = this.indexOf.get(name);
    if (known !== undefined) return known;
    const constant = this.inferred.constants.get(name);
    if (constant) return this.constant(name, constant);
    if (this.graph.inputs.some((input) => input.name === name)) return this.activation(name);
    throw new EdgerunError('INVALID_GRAPH', `value '${name}' is used before any node produces it`);
  }

  /**
   * A new activation tensor for `name`, shaped and typed as inference says. int64 values (token ids) become
   * int32: LiteRT.js has no int64 tensors, and TFLite's GATHER and CAST take int32 alike.
   */
  activation(name: string): number {
    const type = this.inferred.types.get(name);
    const dtype = type?.kind === 'tensor' ? type.dtype : undefined;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'int64') {
      throw new EdgerunError('UNSUPPORTED_TYPE', `value '${name}' is ${dtype ?? 'of unknown type'}; the converter writes float32 and int32 tensors`);
    }
    return this.add(name, { name, shape: this.shapeOf(name), type: dtype === 'float32' ? TensorType.FLOAT32 : TensorType.INT32 });
  }

  constant(name: string, tensor: Tensor): number {
    // int64 constants are indices and shapes here; TFLite takes them as int32, as it takes the graph's int64 inputs.
    const data = tensor.data instanceof BigInt64Array ? Int32Array.from(tensor.data, Number) : tensor.data;
    if (!(data instanceof Float32Array || data instanceof Int32Array)) {
      throw new EdgerunError('UNSUPPORTED_TYPE', `constant '${name}' is ${tensor.type}; the converter writes float32 and int32 constants`);
    }
    const type = data instanceof Float32Array ? TensorType.FLOAT32 : TensorType.INT32;
    return this.add(name, { name, shape: [...tensor.dims], type, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }

  /** An int32 constant operand (a permutation, axes, a shape, paddings) that has no IR value of its own. */
  int32(name: string, values: readonly number[], dims = [values.length]): number {
    return this.constant(name, new Tensor('int32', Int32Array.from(values), dims));
  }

  shapeOf(name: string): number[] {
    const type = this.inferred.types.get(name);
    const shape = type?.kind === 'tensor' ? type.shape : undefined;
    if (!shape?.every((dim): dim is number => typeof dim === 'number')) {
      throw new EdgerunError('INVALID_GRAPH', `value '${name}' has no static shape; TFLite tensors here need one`);
    }
    return shape;
  }

  emit(opcode: number, inputs: readonly number[], output: string, options?: BuiltinOptions, version = 1): void {
    this.emitInto(opcode, inputs, this.activation(output), options, version);
  }

  /** An operator writing a tensor that has no IR value (a step of an op written as several TFLite ops). */
  emitInto(opcode: number, inputs: readonly number[], output: number, options?: BuiltinOptions, version = 1): number {
    this.operators.push({ opcode, version, inputs, outputs: [output], options });
    return output;
  }

  /** A float32 tensor of `shape` between the TFLite ops that one IR node becomes. */
  intermediate(name: string, shape: readonly number[]): number {
    return this.add(name, { name, shape, type: TensorType.FLOAT32 });
  }

  /**
   * LayerNormalization (the ONNX op, or edgerun's form of it for older opsets) as the arithmetic exporters
   * write it out: mean, centre, mean of squares, add epsilon, square root, divide, scale, shift.
   */
  private layerNormalization(node: Node, attributes: Attributes): void {
    const [x, scale, bias] = node.inputs;
    const y = node.outputs[0]!;
    const dims = this.shapeOf(x!);
    const axis = (((attributes.axis as number | undefined) ?? -1) + dims.length) % dims.length;
    const axes = this.int32(`${y}_axes`, dims.map((_, d) => d).slice(axis));
    const reduced = dims.map((dim, d) => (d >= axis ? 1 : dim));
    const input = this.value(x!);
    const mean = this.emitInto(BuiltinOperator.MEAN, [input, axes], this.intermediate(`${y}_mean`, reduced), reducerOptions(true));
    const centred = this.emitInto(BuiltinOperator.SUB, [input, mean], this.intermediate(`${y}_centred`, dims), subOptions(ActivationFunction.NONE));
    const squares = this.emitInto(BuiltinOperator.MUL, [centred, centred], this.intermediate(`${y}_squares`, dims), mulOptions(ActivationFunction.NONE));
    const variance = this.emitInto(BuiltinOperator.MEAN, [squares, axes], this.intermediate(`${y}_variance`, reduced), reducerOptions(true));
    const epsilon = this.constant(`${y}_epsilon`, new Tensor('float32', Float32Array.of((attributes.epsilon as number | undefined) ?? 1e-5), []));
    const shifted = this.emitInto(BuiltinOperator.ADD, [variance, epsilon], this.intermediate(`${y}_shifted`, reduced), addOptions(ActivationFunction.NONE));
    const deviation = this.emitInto(BuiltinOperator.SQRT, [shifted], this.intermediate(`${y}_deviation`, reduced));
    const normalized = this.emitInto(BuiltinOperator.DIV, [centred, deviation], this.intermediate(`${y}_normalized`, dims), divOptions(ActivationFunction.NONE));
    const hasBias = (bias ?? '') !== '';
    const scaled = hasBias ? this.intermediate(`${y}_scaled`, dims) : this.activation(y);
    this.emitInto(BuiltinOperator.MUL, [normalized, this.value(scale!)], scaled, mulOptions(ActivationFunction.NONE));
    if (hasBias) this.emit(BuiltinOperator.ADD, [scaled, this.value(bias!)], y, addOptions(ActivationFunction.NONE));
  }

  private add(name: string, tensor: TfliteTensor): number {
    const index = this.tensors.push(tensor) - 1;
    this.indexOf.set(name, index);
    return index;
  }

  convert(node: Node, resolve: NodeResolver): void {
    const resolved = resolve(node);
    if (!resolved) throw new EdgerunError('UNSUPPORTED_OP', `no definition of ${node.domain || 'ai.onnx'}:${node.opType}`);
    const attributes = resolved.attributes;
    const op = node.domain === EDGERUN_DOMAIN ? `edgerun:${node.opType}` : node.domain === '' ? node.opType : `${node.domain}:${node.opType}`;
    const [x, ...rest] = node.inputs;
    const y = node.outputs[0]!;
    switch (op) {
      case 'Gelu':
      case 'edgerun:Gelu':
        if ((attributes.approximate ?? 'none') !== 'none') throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'only the erf Gelu is written');
        return this.emit(BuiltinOperator.GELU, [this.value(x!)], y, geluOptions());
      case 'LayerNormalization':
      case 'edgerun:LayerNormalization':
        return this.layerNormalization(node, attributes);
      case 'Transpose':
        return this.emit(BuiltinOperator.TRANSPOSE, [this.value(x!), this.int32(`${y}_perm`, attributes.perm as number[])], y, transposeOptions());
      case 'edgerun:FusedConv':
        return this.convolution(node, attributes);
      case 'edgerun:NhwcMaxPool':
      case 'edgerun:NhwcAveragePool':
        return this.pool(node, attributes);
      case 'edgerun:NhwcGlobalAveragePool':
        return this.emit(BuiltinOperator.MEAN, [this.value(x!), this.int32(`${y}_axes`, [1, 2])], y, reducerOptions(true));
      case 'Add':
      case 'edgerun:FusedAdd':
        return this.emit(BuiltinOperator.ADD, [this.value(x!), this.value(rest[0]!)], y, addOptions(fusedActivation(attributes)));
      case 'Sub':
        return this.emit(BuiltinOperator.SUB, [this.value(x!), this.value(rest[0]!)], y, subOptions(ActivationFunction.NONE));
      case 'Mul':
        return this.emit(BuiltinOperator.MUL, [this.value(x!), this.value(rest[0]!)], y, mulOptions(ActivationFunction.NONE));
      case 'Div':
        return this.emit(BuiltinOperator.DIV, [this.value(x!), this.value(rest[0]!)], y, divOptions(ActivationFunction.NONE));
      case 'Pow':
        return this.emit(BuiltinOperator.POW, [this.value(x!), this.value(rest[0]!)], y, powOptions());
      case 'Sqrt':
        return this.emit(BuiltinOperator.SQRT, [this.value(x!)], y);
      case 'Cast': {
        const input = this.value(x!);
        const output = this.activation(y);
        const types = [this.tensors[input]!.type, this.tensors[output]!.type] as const;
        this.operators.push({ opcode: BuiltinOperator.CAST, version: 1, inputs: [input], outputs: [output], options: castOptions(...types) });
        return;
      }
      case 'Gather': {
        const dims = this.shapeOf(x!);
        const axis = ((attributes.axis as number) + dims.length) % dims.length;
        // TFLite's GATHER takes no negative indices: constant ones count from the end here.
        const constantIndices = this.inferred.constants.get(rest[0]!);
        const indices = constantIndices
          ? this.int32(`${rest[0]}_from_start`, [...constantIndices.data].map((index) => (Number(index) + dims[axis]!) % dims[axis]!), [...constantIndices.dims])
          : this.value(rest[0]!);
        return this.emit(BuiltinOperator.GATHER, [this.value(x!), indices], y, gatherOptions(axis));
      }
      case 'ReduceMean': {
        const rank = this.shapeOf(x!).length;
        const axes = ((attributes.axes as number[] | undefined) ?? [...(this.inferred.constants.get(rest[0] ?? '')?.data ?? [])].map(Number)).map((axis) => (axis + rank) % rank);
        if (axes.length === 0) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'ReduceMean over every axis: give the axes');
        return this.emit(BuiltinOperator.MEAN, [this.value(x!), this.int32(`${y}_axes`, axes)], y, reducerOptions(attributes.keepdims !== 0));
      }
      case 'Softmax': {
        const rank = this.shapeOf(x!).length;
        if (((attributes.axis as number) + rank) % rank !== rank - 1) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'TFLite SOFTMAX works on the last axis only');
        return this.emit(BuiltinOperator.SOFTMAX, [this.value(x!)], y, softmaxOptions(1));
      }
      case 'MatMul':
      case 'edgerun:FusedMatMul':
        return this.matMul(node, attributes);
      case 'LSTM':
        return this.lstm(node, attributes);
      case 'Concat': {
        const rank = this.shapeOf(y).length;
        const axis = ((attributes.axis as number) + rank) % rank;
        return this.emit(BuiltinOperator.CONCATENATION, node.inputs.map((input) => this.value(input)), y, concatenationOptions(axis));
      }
      case 'Flatten':
      case 'Reshape':
      case 'Unsqueeze':
      case 'Squeeze': {
        const shape = this.shapeOf(y);
        return this.emit(BuiltinOperator.RESHAPE, [this.value(x!), this.int32(`${y}_shape`, shape)], y, reshapeOptions(shape));
      }
      case 'Gemm':
      case 'edgerun:FusedGemm':
        return this.fullyConnected(node, attributes);
      default:
        throw new EdgerunError('UNSUPPORTED_OP', `${op} has no TFLite form in this converter (it writes the ops of convolutional classifiers, BERT-style encoders and LSTMs)`);
    }
  }

  /** FusedConv in NHWC: CONV_2D with OHWI weights, or DEPTHWISE_CONV_2D with 1HWO weights when each group is one channel. */
  private convolution(node: Node, attributes: Attributes): void {
    if (attributes.layout !== 'NHWC') throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `layout ${String(attributes.layout)}: the converter expects the NHWC layout pass to have run`);
    const [xName, wName, biasName] = node.inputs;
    const y = node.outputs[0]!;
    const weights = this.constantInput(wName!, 'weights');
    const [outChannels, groupChannels, kernelH, kernelW] = weights.dims as [number, number, number, number];
    const [, , , inChannels] = this.shapeOf(xName!) as [number, number, number, number];
    const group = attributes.group as number;
    const bias = biasName ? this.constantInput(biasName, 'bias') : new Tensor('float32', new Float32Array(outChannels), [outChannels]);
    const { input, padding, axes } = this.padded(xName!, attributes, [kernelH, kernelW], 'zeros');
    const window = { padding, strideH: axes[0].stride, strideW: axes[1].stride, activation: fusedActivation(attributes), dilationH: axes[0].dilation, dilationW: axes[1].dilation };
    const version = window.dilationH > 1 || window.dilationW > 1 ? 2 : 1;
    if (group === 1) {
      const ohwi = transposeConstant(weights, [0, 2, 3, 1]);
      this.emit(BuiltinOperator.CONV_2D, [input, this.constant(`${wName}_ohwi`, ohwi), this.constant(`${y}_bias`, bias)], y, conv2dOptions(window));
    } else if (group === inChannels && groupChannels === 1) {
      const oneHwo = transposeConstant(weights, [1, 2, 3, 0]);
      const depthMultiplier = outChannels / inChannels;
      this.emit(BuiltinOperator.DEPTHWISE_CONV_2D, [input, this.constant(`${wName}_1hwo`, oneHwo), this.constant(`${y}_bias`, bias)], y, depthwiseConv2dOptions({ ...window, depthMultiplier }), version);
    } else {
      throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `group ${group} over ${inChannels} channels: TFLite has ordinary and depthwise convolutions only`);
    }
  }

  private pool(node: Node, attributes: Attributes): void {
    const y = node.outputs[0]!;
    const [kernelH, kernelW] = attributes.kernel_shape as [number, number];
    if ((attributes.dilations as number[] | undefined)?.some((dilation) => dilation !== 1)) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'TFLite pools have no dilation');
    const average = node.opType === 'NhwcAveragePool';
    // TFLite's SAME average leaves the padding out of the count, as count_include_pad 0 does.
    if (average && attributes.count_include_pad === 1) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'count_include_pad 1 has no TFLite pool');
    const { input, padding, axes } = this.padded(node.inputs[0]!, attributes, [kernelH, kernelW], 'none');
    const options = pool2dOptions({ padding, strideH: axes[0].stride, strideW: axes[1].stride, filterH: kernelH, filterW: kernelW, activation: ActivationFunction.NONE });
    this.emit(average ? BuiltinOperator.AVERAGE_POOL_2D : BuiltinOperator.MAX_POOL_2D, [input], y, options);
  }

  /**
   * The window's padding as TFLite says it: VALID when the window never reads padding, SAME when ONNX's
   * pads are the ones SAME computes, else (convolutions only: their padding is zeros) an explicit PAD then VALID.
   */
  private padded(xName: string, attributes: Attributes, kernel: readonly number[], explicit: 'zeros' | 'none') {
    const [n, h, w, c] = this.shapeOf(xName) as [number, number, number, number];
    const fail = (code: EdgerunError['code'], detail: string): never => {
      throw new EdgerunError(code, detail);
    };
    const axes = spatialAxes(attributes as WindowAttrs, [n, c, h, w], kernel, fail) as [WindowAxis, WindowAxis];
    const span = (axis: WindowAxis) => (axis.kernel - 1) * axis.dilation + 1;
    const input = this.value(xName);
    if (axes.every((axis) => axis.padBegin === 0 && axis.output === Math.floor((axis.input - span(axis)) / axis.stride) + 1)) return { input, padding: Padding.VALID, axes };
    const sameBegin = (axis: WindowAxis) => Math.floor(Math.max(0, (axis.output - 1) * axis.stride + span(axis) - axis.input) / 2);
    if (axes.every((axis) => axis.output === Math.ceil(axis.input / axis.stride) && axis.padBegin === sameBegin(axis))) return { input, padding: Padding.SAME, axes };
    if (explicit === 'none') throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `pads [${String(attributes.pads)}] are neither TFLite's SAME nor VALID`);
    // The end padding the last window actually reaches (ceil_mode may need more than pads give, floor less).
    const padEnd = (axis: WindowAxis) => Math.max(0, (axis.output - 1) * axis.stride + span(axis) - axis.input - axis.padBegin);
    const paddings = [0, 0, axes[0].padBegin, padEnd(axes[0]), axes[1].padBegin, padEnd(axes[1]), 0, 0];
    const paddedName = `${xName}_padded_${this.tensors.length}`;
    const paddedShape = [n, h + paddings[2]! + paddings[3]!, w + paddings[4]! + paddings[5]!, c];
    const padded = this.add(paddedName, { name: paddedName, shape: paddedShape, type: TensorType.FLOAT32 });
    this.operators.push({ opcode: BuiltinOperator.PAD, version: 1, inputs: [input, this.int32(`${paddedName}_paddings`, paddings, [4, 2])], outputs: [padded], options: padOptions() });
    return { input: padded, padding: Padding.VALID, axes };
  }

  /** Gemm A·B' + C as FULLY_CONNECTED: weights [out, in] (B as is when transB, else transposed), alpha and beta folded in. */
  private fullyConnected(node: Node, attributes: Attributes): void {
    const [aName, bName, cName] = node.inputs;
    const y = node.outputs[0]!;
    if (attributes.transA === 1) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'transA 1: FULLY_CONNECTED takes its input untransposed');
    const b = this.constantInput(bName!, 'B');
    const weights = scaled(attributes.transB === 1 ? b : transposeConstant(b, [1, 0]), attributes.alpha as number);
    const outputs = weights.dims[0]!;
    let bias = new Tensor('float32', new Float32Array(outputs), [outputs]);
    if (cName) {
      const c = this.constantInput(cName, 'C');
      if (c.data.length !== outputs) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `C of dims [${c.dims.join(', ')}]: FULLY_CONNECTED takes one bias per output`);
      bias = scaled(new Tensor('float32', c.data as Float32Array, [outputs]), attributes.beta as number);
    }
    this.fullyConnectedOp(aName!, weights, bias, y, fusedActivation(attributes, true));
  }

  /**
   * MatMul of two activations as BATCH_MATMUL; with a constant 2-D B (plus FusedMatMul's bias and
   * activation) as FULLY_CONNECTED over the last axis, weights B transposed to [out, in].
   */
  private matMul(node: Node, attributes: Attributes): void {
    const [aName, bName, biasName] = node.inputs;
    const y = node.outputs[0]!;
    const b = this.inferred.constants.get(bName!);
    if (!b) {
      if (biasName || fusedActivation(attributes) !== ActivationFunction.NONE) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'a bias or activation on a product of two activations');
      return this.emit(BuiltinOperator.BATCH_MATMUL, [this.value(aName!), this.value(bName!)], y, batchMatMulOptions());
    }
    if (b.dims.length !== 2) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `constant B of dims [${b.dims.join(', ')}]: FULLY_CONNECTED takes 2-D weights`);
    const weights = transposeConstant(this.constantInput(bName!, 'B'), [1, 0]);
    const outputs = weights.dims[0]!;
    const bias = biasName ? this.constantInput(biasName, 'bias') : new Tensor('float32', new Float32Array(outputs), [outputs]);
    if (bias.data.length !== outputs) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `bias of dims [${bias.dims.join(', ')}]: FULLY_CONNECTED takes one bias per output`);
    this.fullyConnectedOp(aName!, weights, new Tensor('float32', bias.data as Float32Array, [outputs]), y, fusedActivation(attributes, true));
  }

  /**
   * A forward, single-direction ONNX LSTM with zero initial state as UNIDIRECTIONAL_SEQUENCE_LSTM (time
   * major): W, R and B are split per gate (ONNX stacks them i, o, f, c; TFLite takes each on its own, the
   * two biases summed), the state lives in variable tensors, and Y gets back its direction axis by RESHAPE.
   */
  private lstm(node: Node, attributes: Attributes): void {
    const [xName, wName, rName, bName, sequenceLens, initialH, initialC, peepholes] = node.inputs;
    const [y, yH, yC] = node.outputs;
    const activations = (attributes.activations as string[] | undefined) ?? ['Sigmoid', 'Tanh', 'Tanh'];
    const zeros = (name: string | undefined) => !name || (this.inferred.constants.get(name)?.data as Float32Array | undefined)?.every((value) => value === 0) === true;
    if ((attributes.direction ?? 'forward') !== 'forward' || attributes.layout === 1 || attributes.input_forget === 1 || attributes.clip !== undefined || activations.join() !== 'Sigmoid,Tanh,Tanh') {
      throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'the converter writes forward, time-major LSTMs with the default activations, no clip, no input_forget');
    }
    if (sequenceLens || peepholes) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'sequence_lens and peepholes have no place in the converter\'s LSTM');
    if (!zeros(initialH) || !zeros(initialC)) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'the initial state must be zeros (TFLite starts its state tensors at zero)');
    const used = (name: string | undefined) => !!name && (this.graph.nodes.some((other) => other.inputs.includes(name)) || this.graph.outputs.some((output) => output.name === name));
    if (used(yH) || used(yC)) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', 'Y_h and Y_c are used; the converter writes Y only');
    const hidden = attributes.hidden_size as number;
    const w = this.constantInput(wName!, 'W');
    const r = this.constantInput(rName!, 'R');
    const b = bName ? this.constantInput(bName, 'B') : new Tensor('float32', new Float32Array(8 * hidden), [1, 8 * hidden]);
    const [steps, batch] = this.shapeOf(xName!) as [number, number];
    // Gate blocks in ONNX order i, o, f, c; TFLite's inputs come in order i, f, c, o.
    const gates = [0, 2, 3, 1];
    const rows = (tensor: Tensor, gate: number) => {
      const columns = tensor.dims[2]!;
      return new Tensor('float32', (tensor.data as Float32Array).slice(gate * hidden * columns, (gate + 1) * hidden * columns), [hidden, columns]);
    };
    const bias = (gate: number) => {
      const values = b.data as Float32Array;
      return new Tensor('float32', values.slice(gate * hidden, (gate + 1) * hidden).map((value, j) => value + values[(4 + gate) * hidden + j]!), [hidden]);
    };
    const state = (suffix: string, size: number) => this.add(`${y}_${suffix}`, { name: `${y}_${suffix}`, shape: [batch, size], type: TensorType.FLOAT32, isVariable: true });
    const absent = -1;
    const inputs = [
      this.value(xName!),
      ...gates.map((gate) => this.constant(`${wName}_${gate}`, rows(w, gate))),
      ...gates.map((gate) => this.constant(`${rName}_${gate}`, rows(r, gate))),
      absent, absent, absent,
      ...gates.map((gate) => this.constant(`${y}_bias_${gate}`, bias(gate))),
      absent, absent,
      state('output_state', hidden),
      state('cell_state', hidden),
      absent, absent, absent, absent,
    ];
    const sequence = this.add(`${y}_sequence`, { name: `${y}_sequence`, shape: [steps, batch, hidden], type: TensorType.FLOAT32 });
    this.operators.push({ opcode: BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, version: 1, inputs, outputs: [sequence], options: sequenceLstmOptions(ActivationFunction.TANH, true) });
    this.emit(BuiltinOperator.RESHAPE, [sequence, this.int32(`${y}_shape`, this.shapeOf(y!))], y!, reshapeOptions(this.shapeOf(y!)));
  }

  /** FULLY_CONNECTED keeping the input's leading axes (keep_num_dims, operator version 5) when it has more than two. */
  private fullyConnectedOp(aName: string, weights: Tensor, bias: Tensor, y: string, activation: number): void {
    const keepNumDims = this.shapeOf(aName).length > 2;
    const inputs = [this.value(aName), this.constant(`${y}_weights`, weights), this.constant(`${y}_bias`, bias)];
    const version = keepNumDims ? 5 : 1;
    if (activation !== ActivationFunction.TANH) return this.emit(BuiltinOperator.FULLY_CONNECTED, inputs, y, fullyConnectedOptions(activation, keepNumDims), version);
    // TFLite fuses clamps only; a tanh is an op of its own.
    const product = this.add(`${y}_before_tanh`, { name: `${y}_before_tanh`, shape: this.shapeOf(y), type: TensorType.FLOAT32 });
    this.operators.push({ opcode: BuiltinOperator.FULLY_CONNECTED, version, inputs, outputs: [product], options: fullyConnectedOptions(ActivationFunction.NONE, keepNumDims) });
    this.emit(BuiltinOperator.TANH, [product], y);
  }

  private constantInput(name: string, role: string): Tensor {
    const tensor = this.inferred.constants.get(name);
    if (!tensor || !(tensor.data instanceof Float32Array)) throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `${role} '${name}' must be a float32 constant`);
    return tensor;
  }
}

/** A fused op's activation as TFLite's fused_activation_function (TANH only where the caller writes it as an op). */
function fusedActivation(attributes: Attributes, tanhAllowed = false): number {
  const activation = activationFromAttributes((attributes.activation as string | undefined) ?? '', (attributes.activation_params as number[] | undefined) ?? []);
  if (activation.kind === 'none') return ActivationFunction.NONE;
  if (activation.kind === 'Relu' || (activation.kind === 'Clip' && activation.min === 0 && activation.max === Infinity)) return ActivationFunction.RELU;
  if (activation.kind === 'Clip' && activation.min === 0 && activation.max === 6) return ActivationFunction.RELU6;
  if (activation.kind === 'Clip' && activation.min === -1 && activation.max === 1) return ActivationFunction.RELU_N1_TO_1;
  if (activation.kind === 'Tanh' && tanhAllowed) return ActivationFunction.TANH;
  throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `fused activation ${activation.kind} has no TFLite fused form here (RELU, RELU6, RELU_N1_TO_1; TANH after a product)`);
}

/** A float32 constant with its axes reordered: output axis i is input axis perm[i]. */
function transposeConstant(tensor: Tensor, perm: readonly number[]): Tensor {
  const dims = tensor.dims;
  const source = tensor.data as Float32Array;
  const strides = dims.map((_, axis) => dims.slice(axis + 1).reduce((product, dim) => product * dim, 1));
  const outDims = perm.map((axis) => dims[axis]!);
  const out = new Float32Array(source.length);
  const index = new Array<number>(outDims.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = source[perm.reduce((offset, axis, position) => offset + index[position]! * strides[axis]!, 0)]!;
    for (let position = outDims.length - 1; position >= 0 && ++index[position]! === outDims[position]; position--) index[position] = 0;
  }
  return new Tensor('float32', out, outDims);
}

function scaled(tensor: Tensor, factor: number): Tensor {
  return factor === 1 ? tensor : new Tensor('float32', (tensor.data as Float32Array).map((value) => value * factor), tensor.dims);
}

/** Converts `onnxPath` into `tflitePath` (folders made as needed); returns the path written. */
export function convertFile(onnxPath: string, tflitePath: string): string {
  const bytes = onnxToTflite(readFileSync(onnxPath), `${basename(dirname(resolve(onnxPath)))}: converted from ONNX by edgerun`);
  mkdirSync(dirname(tflitePath), { recursive: true });
  writeFileSync(tflitePath, bytes);
  return tflitePath;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [onnxPath, tflitePath] = process.argv.slice(2);
  if (!onnxPath) {
    console.error('usage: node build/scripts/onnx-to-tflite.js model.onnx [out.tflite]');
    process.exit(2);
  }
  console.log(convertFile(onnxPath, tflitePath ?? onnxPath.replace(/\.onnx$/, '') + '.tflite'));
}
