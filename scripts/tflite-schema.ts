import { Builder } from 'flatbuffers';

/**
 * The part of TFLite's flatbuffer schema (tflite/schema.fbs, file identifier "TFL3", schema version 3) that
 * scripts/onnx-to-tflite.ts writes: Model, SubGraph, Tensor, Buffer, Operator, OperatorCode and the builtin
 * options of the ops it emits. Enum values, union indices and field slots are the schema's own (a field's
 * slot is its position in its table; a union field takes two slots, its type and then its value), so the
 * files read in every TFLite runtime.
 */

export const TensorType = { FLOAT32: 0, INT32: 2 } as const;

export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17,
  MUL: 18,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  PAD: 34,
  GATHER: 36,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  UNIDIRECTIONAL_SEQUENCE_LSTM: 44,
  CAST: 53,
  SQRT: 75,
  POW: 78,
  BATCH_MATMUL: 126,
  GELU: 150,
} as const;

/** OperatorCode.deprecated_builtin_code holds codes up to 127; larger ones say 127 there and the real code in builtin_code. */
const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export const Padding = { SAME: 0, VALID: 1 } as const;

export const ActivationFunction = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;

/** A builtin options table: its index in the BuiltinOptions union and how to write it. */
export interface BuiltinOptions {
  union: number;
  write(builder: Builder): number;
}

type FieldWriter = (builder: Builder) => void;
const int8 = (slot: number, value: number, fallback = 0): FieldWriter => (builder) => builder.addFieldInt8(slot, value, fallback);
const int32 = (slot: number, value: number, fallback = 0): FieldWriter => (builder) => builder.addFieldInt32(slot, value, fallback);
const float32 = (slot: number, value: number, fallback = 0): FieldWriter => (builder) => builder.addFieldFloat32(slot, value, fallback);
const offset = (slot: number, value: number): FieldWriter => (builder) => builder.addFieldOffset(slot, value, 0);

function table(builder: Builder, slots: number, fields: readonly FieldWriter[]): number {
  builder.startObject(slots);
  for (const field of fields) field(builder);
  return builder.endObject();
}

const options = (union: number, slots: number, fields: (builder: Builder) => FieldWriter[]): BuiltinOptions => ({
  union,
  write: (builder) => table(builder, slots, fields(builder)),
});

export interface WindowOptions {
  padding: number;
  strideW: number;
  strideH: number;
  activation: number;
}

/** Conv2DOptions (union member 1): padding, stride_w, stride_h, fused_activation_function, dilation_w_factor, dilation_h_factor. */
export const conv2dOptions = (o: WindowOptions & { dilationW: number; dilationH: number }) =>
  options(1, 6, () => [int8(0, o.padding), int32(1, o.strideW), int32(2, o.strideH), int8(3, o.activation), int32(4, o.dilationW, 1), int32(5, o.dilationH, 1)]);

/** DepthwiseConv2DOptions (2): padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w_factor, dilation_h_factor. */
export const depthwiseConv2dOptions = (o: WindowOptions & { depthMultiplier: number; dilationW: number; dilationH: number }) =>
  options(2, 7, () => [int8(0, o.padding), int32(1, o.strideW), int32(2, o.strideH), int32(3, o.depthMultiplier), int8(4, o.activation), int32(5, o.dilationW, 1), int32(6, o.dilationH, 1)]);

/** Pool2DOptions (5): padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function. */
export const pool2dOptions = (o: WindowOptions & { filterW: number; filterH: number }) =>
  options(5, 6, () => [int8(0, o.padding), int32(1, o.strideW), int32(2, o.strideH), int32(3, o.filterW), int32(4, o.filterH), int8(5, o.activation)]);

/** FullyConnectedOptions (8): fused_activation_function, weights_format (left DEFAULT), keep_num_dims (operator version 5). */
export const fullyConnectedOptions = (activation: number, keepNumDims: boolean) => options(8, 3, () => [int8(0, activation), int8(2, keepNumDims ? 1 : 0)]);

/** SoftmaxOptions (9): beta. */
export const softmaxOptions = (beta: number) => options(9, 1, () => [float32(0, beta)]);

/** ConcatenationOptions (10): axis, fused_activation_function. */
export const concatenationOptions = (axis: number) => options(10, 2, () => [int32(0, axis)]);

/** AddOptions (11): fused_activation_function. */
export const addOptions = (activation: number) => options(11, 1, () => [int8(0, activation)]);

/** MulOptions (21), SubOptions (28), DivOptions (29): fused_activation_function. */
export const mulOptions = (activation: number) => options(21, 1, () => [int8(0, activation)]);
export const subOptions = (activation: number) => options(28, 1, () => [int8(0, activation)]);
export const divOptions = (activation: number) => options(29, 1, () => [int8(0, activation)]);

/** GatherOptions (23): axis. */
export const gatherOptions = (axis: number) => options(23, 1, () => [int32(0, axis)]);

/** CastOptions (37): in_data_type, out_data_type. */
export const castOptions = (from: number, to: number) => options(37, 2, () => [int8(0, from), int8(1, to)]);

/** PowOptions (56): no fields. */
export const powOptions = () => options(56, 0, () => []);

/** BatchMatMulOptions (101): adj_x, adj_y. */
export const batchMatMulOptions = () => options(101, 2, () => []);

/** GeluOptions (116): approximate (false: the erf form). */
export const geluOptions = () => options(116, 1, () => []);

/** UnidirectionalSequenceLSTMOptions (71): fused_activation_function (the cell and output activation), cell_clip, proj_clip, time_major. */
export const sequenceLstmOptions = (activation: number, timeMajor: boolean) => options(71, 4, () => [int8(0, activation), int8(3, timeMajor ? 1 : 0)]);

/** ReshapeOptions (17): new_shape. */
export const reshapeOptions = (newShape: readonly number[]) => options(17, 1, (builder) => [offset(0, int32Vector(builder, newShape))]);

/** PadOptions (22): no fields. */
export const padOptions = () => options(22, 0, () => []);

/** TransposeOptions (26): no fields. */
export const transposeOptions = () => options(26, 0, () => []);

/** ReducerOptions (27): keep_dims. */
export const reducerOptions = (keepDims: boolean) => options(27, 1, () => [int8(0, keepDims ? 1 : 0)]);

export interface TfliteTensor {
  name: string;
  shape: readonly number[];
  type: number;
  /** Constant contents, little-endian; absent for activations. */
  data?: Uint8Array;
  /** State an op keeps across time steps (an LSTM's), zeros when the interpreter starts. */
  isVariable?: boolean;
}

export interface TfliteOperator {
  opcode: number;
  /** Operator version: 1 unless the op uses a parameter a later version added. */
  version: number;
  inputs: readonly number[];
  outputs: readonly number[];
  options?: BuiltinOptions;
}

export interface TfliteModel {
  description: string;
  tensors: readonly TfliteTensor[];
  operators: readonly TfliteOperator[];
  inputs: readonly number[];
  outputs: readonly number[];
}

function int32Vector(builder: Builder, values: readonly number[]): number {
  builder.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) builder.addInt32(values[i]!);
  return builder.endVector();
}

function offsetVector(builder: Builder, offsets: readonly number[]): number {
  builder.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) builder.addOffset(offsets[i]!);
  return builder.endVector();
}

/** Buffer.data is `[ubyte] (force_align: 16)`: runtimes map weights in place, so the bytes start 16-aligned. */
function alignedBytes(builder: Builder, bytes: Uint8Array): number {
  builder.prep(16, bytes.length);
  return builder.createByteVector(bytes);
}

/** The model as a .tflite file: one subgraph, buffer 0 the empty sentinel, one buffer per constant tensor. */
export function writeTfliteModel(model: TfliteModel): Uint8Array {
  const weightBytes = model.tensors.reduce((total, tensor) => total + (tensor.data?.length ?? 0) + 16, 0);
  const builder = new Builder(weightBytes + 65536);

  const bufferOffsets = [table(builder, 1, [])];
  const bufferOf = model.tensors.map((tensor) => {
    if (!tensor.data) return 0;
    const data = alignedBytes(builder, tensor.data);
    bufferOffsets.push(table(builder, 1, [offset(0, data)]));
    return bufferOffsets.length - 1;
  });

  const tensorOffsets = model.tensors.map((tensor, index) => {
    const name = builder.createString(tensor.name);
    const shape = int32Vector(builder, tensor.shape);
    // Tensor: shape, type, buffer, name, quantization, is_variable.
    return table(builder, 6, [offset(0, shape), int8(1, tensor.type), int32(2, bufferOf[index]!), offset(3, name), int8(5, tensor.isVariable ? 1 : 0)]);
  });

  const codes: { opcode: number; version: number }[] = [];
  const codeIndex = (operator: TfliteOperator) => {
    let index = codes.findIndex((code) => code.opcode === operator.opcode && code.version === operator.version);
    if (index < 0) index = codes.push({ opcode: operator.opcode, version: operator.version }) - 1;
    return index;
  };
  const operatorOffsets = model.operators.map((operator) => {
    const inputs = int32Vector(builder, operator.inputs);
    const outputs = int32Vector(builder, operator.outputs);
    const builtinOptions = operator.options?.write(builder);
    // Operator: opcode_index, inputs, outputs, builtin_options_type, builtin_options.
    const fields = [int32(0, codeIndex(operator)), offset(1, inputs), offset(2, outputs)];
    if (operator.options && builtinOptions !== undefined) fields.push(int8(3, operator.options.union), offset(4, builtinOptions));
    return table(builder, 5, fields);
  });
  // OperatorCode: deprecated_builtin_code (the byte every reader knows), custom_code, version, builtin_code.
  const codeOffsets = codes.map((code) => table(builder, 4, [int8(0, Math.min(code.opcode, PLACEHOLDER_FOR_GREATER_OP_CODES)), int32(2, code.version, 1), int32(3, code.opcode)]));

  const subgraphName = builder.createString('main');
  const subgraph = table(builder, 5, [
    offset(0, offsetVector(builder, tensorOffsets)),
    offset(1, int32Vector(builder, model.inputs)),
    offset(2, int32Vector(builder, model.outputs)),
    offset(3, offsetVector(builder, operatorOffsets)),
    offset(4, subgraphName),
  ]);
  const description = builder.createString(model.description);
  // Model: version, operator_codes, subgraphs, description, buffers.
  const root = table(builder, 5, [
    int32(0, 3),
    offset(1, offsetVector(builder, codeOffsets)),
    offset(2, offsetVector(builder, [subgraph])),
    offset(3, description),
    offset(4, offsetVector(builder, bufferOffsets)),
  ]);
  builder.finish(root, 'TFL3');
  return builder.asUint8Array();
}
