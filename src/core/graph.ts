import type { DataType } from './dtype.js';
import type { Tensor } from './tensor.js';

/**
 * The one graph IR every format translates into. Op semantics are ONNX's, versioned by the opsets the
 * model imports; a value is named by a string, '' marking an omitted optional input or output.
 */

/** A dimension: a size, a symbolic name, or unknown. */
export type Dim = number | string | undefined;

/**
 * The order of a tensor's axes where a format or a pass fixes it. ONNX's convolution ops are NCHW; TFLite's
 * tensors are NHWC, and the layout pass may move convolution chains to NHWC. Absent means the op's default.
 */
export type TensorLayout = 'NCHW' | 'NHWC';

/**
 * Affine quantization of an integer tensor, real = scale * (q - zeroPoint): one entry per tensor, or one per
 * channel along `axis` (TFLite's per-axis int8 weights). A fact about the value, so translators, passes and
 * kernels read it from one place instead of tracing QuantizeLinear nodes.
 */
export interface QuantParams {
  scale: readonly number[];
  zeroPoint: readonly number[];
  axis?: number;
}

export type ValueType =
  | { kind: 'tensor'; dtype: DataType; shape?: Dim[]; layout?: TensorLayout; quantization?: QuantParams }
  | { kind: 'sparse_tensor'; dtype: DataType; shape?: Dim[] }
  /** `elements`: each element's type, when inference knows them one by one (not part of ONNX's type system). */
  | { kind: 'sequence'; elem?: ValueType; elements?: (ValueType | undefined)[] }
  | { kind: 'optional'; elem?: ValueType }
  | { kind: 'map'; key: DataType; value?: ValueType };

export interface ValueInfo {
  name: string;
  type?: ValueType;
  docString?: string;
}

/** A runtime value: a tensor, a sequence (or optional holding a sequence), or an empty optional. */
export type Value = Tensor | Value[] | null;

export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  /** A sparse tensor attribute (Constant's sparse_value), held dense. */
  | { type: 'sparse_tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'type_proto'; value: ValueType }
  | { type: 'type_protos'; value: ValueType[] }
  | { type: 'ref'; value: string; refType: string };

export type AttributeWithDoc = Attribute & { docString?: string };

export interface Node {
  name: string;
  opType: string;
  /** '' is the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeWithDoc>;
  docString?: string;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  valueInfo: ValueInfo[];
  docString?: string;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** A model-local function (ONNX FunctionProto): its body runs as a subgraph. */
export interface ModelFunction {
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: string[];
  attributeDefaults: Record<string, AttributeWithDoc>;
  nodes: Node[];
  opsetImports: OpsetImport[];
  docString?: string;
}

export interface Model {
  format: 'onnx' | 'tflite' | 'ptl';
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadata: Record<string, string>;
  graph: Graph;
  functions: ModelFunction[];
}

/** The default ONNX domain is spelled '' or 'ai.onnx'; the IR always uses ''. */
export function normalizeDomain(domain: string | undefined): string {
  return domain === undefined || domain === 'ai.onnx' ? '' : domain;
}

export function opsetVersion(opsets: readonly OpsetImport[], domain: string): number | undefined {
  const wanted = normalizeDomain(domain);
  return opsets.find((entry) => normalizeDomain(entry.domain) === wanted)?.version;
}

export function describeNode(node: Node): string {
  const op = node.domain ? `${node.domain}:${node.opType}` : node.opType;
  return node.name ? `node '${node.name}' (${op})` : `${op} node producing '${node.outputs[0] ?? '?'}'`;
}

export function describeType(type: ValueType | undefined): string {
  if (!type) return 'unknown';
  switch (type.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const shape = type.shape ? `[${type.shape.map((dim) => dim ?? '?').join(', ')}]` : '[?]';
      return `${type.kind === 'sparse_tensor' ? 'sparse ' : ''}${type.dtype}${shape}`;
    }
    case 'sequence':
      return `sequence<${describeType(type.elem)}>`;
    case 'optional':
      return `optional<${describeType(type.elem)}>`;
    case 'map':
      return `map<${type.key}, ${describeType(type.value)}>`;
  }
}
