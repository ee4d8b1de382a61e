import { fromBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AttrType,
  ModelProtoSchema,
  type AttributeProto,
  type FunctionProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TypeProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { EdgerunError, asEdgerunError } from '../../core/errors.js';
import { dataTypeFromOnnx } from '../../core/dtype.js';
import {
  normalizeDomain,
  type AttributeWithDoc,
  type Dim,
  type Graph,
  type Model,
  type ModelFunction,
  type Node,
  type ValueInfo,
  type ValueType,
} from '../../core/graph.js';
import type { Tensor } from '../../core/tensor.js';
import { tensorFromProto, tensorFromSparseProto, type ExternalDataReader, type TensorSource } from './tensor-proto.js';

export interface OnnxDecodeOptions {
  readExternal?: ExternalDataReader;
  /** The bytes are the loader's own (read from a file): tensor data may be realigned inside them. */
  ownsBytes?: boolean;
}

const utf8 = new TextDecoder('utf-8');

/** ONNX bytes -> IR. Protobuf failures become MODEL_TRUNCATED / MODEL_INVALID with the reason. */
export function decodeOnnx(bytes: Uint8Array, options: OnnxDecodeOptions = {}): Model {
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false });
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const truncated = /premature|EOF|out of range|index out of range/i.test(message);
    throw new EdgerunError(
      truncated ? 'MODEL_TRUNCATED' : 'MODEL_INVALID',
      `not a readable ONNX model (${bytes.length} bytes): protobuf decoding failed: ${message}`,
    );
  }
  if (!proto.graph) throw new EdgerunError('MODEL_INVALID', 'ONNX model has no graph');
  try {
    return translateModel(proto, { readExternal: options.readExternal, ownedBuffer: options.ownsBytes ? bytes.buffer : undefined });
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new EdgerunError('MODEL_INVALID', 'ONNX model nests subgraphs too deeply');
    }
    throw asEdgerunError(error, 'MODEL_INVALID');
  }
}

function translateModel(proto: ModelProto, options: TensorSource): Model {
  const model: Model = {
    format: 'onnx',
    irVersion: Number(proto.irVersion),
    opsetImports: proto.opsetImport.map((entry) => ({ domain: entry.domain, version: Number(entry.version) })),
    metadata: Object.fromEntries(proto.metadataProps.map((entry) => [entry.key, entry.value])),
    graph: translateGraph(proto.graph!, options),
    functions: proto.functions.map((fn) => translateFunction(fn, options)),
  };
  if (proto.producerName) model.producerName = proto.producerName;
  if (proto.producerVersion) model.producerVersion = proto.producerVersion;
  if (proto.domain) model.domain = proto.domain;
  if (proto.modelVersion) model.modelVersion = Number(proto.modelVersion);
  if (proto.docString) model.docString = proto.docString;
  return model;
}

export function translateGraph(proto: GraphProto, options: TensorSource): Graph {
  const where = `graph '${proto.name}'`;
  const initializers = new Map<string, Tensor>();
  for (const tensor of proto.initializer) {
    try {
      initializers.set(tensor.name, tensorFromProto(tensor, options));
    } catch (error) {
      throw asEdgerunError(error, 'MODEL_INVALID').withContext(`${where}, initializer '${tensor.name}'`);
    }
  }
  // Sparse initializers are held dense: kernels see ordinary tensors (and a re-encoded model stores them dense).
  for (const sparse of proto.sparseInitializer) {
    const name = sparse.values?.name ?? '';
    try {
      initializers.set(name, tensorFromSparseProto(sparse, options));
    } catch (error) {
      throw asEdgerunError(error, 'MODEL_INVALID').withContext(`${where}, sparse initializer '${name}'`);
    }
  }
  const graph: Graph = {
    name: proto.name,
    nodes: proto.node.map((node) => translateNode(node, options)),
    inputs: proto.input.map(translateValueInfo),
    outputs: proto.output.map(translateValueInfo),
    initializers,
    valueInfo: proto.valueInfo.map(translateValueInfo),
  };
  if (proto.docString) graph.docString = proto.docString;
  return graph;
}

function translateNode(proto: NodeProto, options: TensorSource): Node {
  const node: Node = {
    name: proto.name,
    opType: proto.opType,
    domain: normalizeDomain(proto.domain),
    inputs: [...proto.input],
    outputs: [...proto.output],
    attributes: {},
  };
  for (const attribute of proto.attribute) {
    try {
      node.attributes[attribute.name] = translateAttribute(attribute, options);
    } catch (error) {
      const label = proto.name ? `node '${proto.name}' (${proto.opType})` : `${proto.opType} node`;
      throw asEdgerunError(error, 'MODEL_INVALID').withContext(`${label}, attribute '${attribute.name}'`);
    }
  }
  if (proto.docString) node.docString = proto.docString;
  return node;
}

/** Int attributes are JS numbers; int64 extremes (used as "to the end") keep their meaning as +-2^63. */
function translateAttribute(proto: AttributeProto, options: TensorSource): AttributeWithDoc {
  const withDoc = (attribute: AttributeWithDoc): AttributeWithDoc =>
    proto.docString ? { ...attribute, docString: proto.docString } : attribute;
  if (proto.refAttrName) return withDoc({ type: 'ref', value: proto.refAttrName, refType: AttrType[proto.type] ?? 'UNDEFINED' });
  switch (proto.type) {
    case AttrType.FLOAT:
      return withDoc({ type: 'float', value: proto.f });
    case AttrType.INT:
      return withDoc({ type: 'int', value: Number(proto.i) });
    case AttrType.STRING:
      return withDoc({ type: 'string', value: utf8.decode(proto.s) });
    case AttrType.TENSOR:
      return withDoc({ type: 'tensor', value: tensorFromProto(required(proto.t, 't'), options) });
    case AttrType.SPARSE_TENSOR:
      return withDoc({ type: 'sparse_tensor', value: tensorFromSparseProto(required(proto.sparseTensor, 'sparse_tensor'), options) });
    case AttrType.GRAPH:
      return withDoc({ type: 'graph', value: translateGraph(required(proto.g, 'g'), options) });
    case AttrType.FLOATS:
      return withDoc({ type: 'floats', value: [...proto.floats] });
    case AttrType.INTS:
      return withDoc({ type: 'ints', value: proto.ints.map(Number) });
    case AttrType.STRINGS:
      return withDoc({ type: 'strings', value: proto.strings.map((bytes) => utf8.decode(bytes)) });
    case AttrType.TENSORS:
      return withDoc({ type: 'tensors', value: proto.tensors.map((tensor) => tensorFromProto(tensor, options)) });
    case AttrType.GRAPHS:
      return withDoc({ type: 'graphs', value: proto.graphs.map((graph) => translateGraph(graph, options)) });
    case AttrType.TYPE_PROTO:
      return withDoc({ type: 'type_proto', value: required(translateType(proto.tp), 'tp') });
    case AttrType.TYPE_PROTOS:
      return withDoc({ type: 'type_protos', value: proto.typeProtos.map((tp) => required(translateType(tp), 'type_protos')) });
    default:
      throw new EdgerunError('UNSUPPORTED_ATTRIBUTE', `attribute type ${AttrType[proto.type] ?? proto.type} is not supported`);
  }
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new EdgerunError('MODEL_INVALID', `attribute field '${field}' is missing`);
  return value;
}

function translateValueInfo(proto: ValueInfoProto): ValueInfo {
  const info: ValueInfo = { name: proto.name };
  const type = translateType(proto.type);
  if (type) info.type = type;
  if (proto.docString) info.docString = proto.docString;
  return info;
}

export function translateType(proto: TypeProto | undefined): ValueType | undefined {
  const value = proto?.value;
  if (!value || value.case === undefined) return undefined;
  const where = 'value type';
  switch (value.case) {
    case 'tensorType':
    case 'sparseTensorType': {
      const dtype = dataTypeFromOnnx(value.value.elemType, where);
      const kind = value.case === 'tensorType' ? 'tensor' : 'sparse_tensor';
      const shape = value.value.shape?.dim.map((dim): Dim => {
        if (dim.value.case === 'dimValue') return Number(dim.value.value);
        if (dim.value.case === 'dimParam') return dim.value.value;
        return undefined;
      });
      return shape ? { kind, dtype, shape } : { kind, dtype };
    }
    case 'sequenceType': {
      const elem = translateType(value.value.elemType);
      return elem ? { kind: 'sequence', elem } : { kind: 'sequence' };
    }
    case 'optionalType': {
      const elem = translateType(value.value.elemType);
      return elem ? { kind: 'optional', elem } : { kind: 'optional' };
    }
    case 'mapType': {
      const valueType = translateType(value.value.valueType);
      const key = dataTypeFromOnnx(value.value.keyType, where);
      return valueType ? { kind: 'map', key, value: valueType } : { kind: 'map', key };
    }
  }
}

function translateFunction(proto: FunctionProto, options: TensorSource): ModelFunction {
  const attributeDefaults: Record<string, AttributeWithDoc> = {};
  for (const attribute of proto.attributeProto) attributeDefaults[attribute.name] = translateAttribute(attribute, options);
  const fn: ModelFunction = {
    name: proto.name,
    domain: proto.domain,
    inputs: [...proto.input],
    outputs: [...proto.output],
    attributes: [...proto.attribute],
    attributeDefaults,
    nodes: proto.node.map((node) => translateNode(node, options)),
    opsetImports: proto.opsetImport.map((entry) => ({ domain: entry.domain, version: Number(entry.version) })),
  };
  if (proto.docString) fn.docString = proto.docString;
  return fn;
}
