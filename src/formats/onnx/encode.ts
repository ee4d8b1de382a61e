import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttrType,
  FunctionProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_MapSchema,
  TypeProto_OptionalSchema,
  TypeProto_SequenceSchema,
  TypeProto_SparseTensorSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type OperatorSetIdProto,
  type TypeProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { onnxCodeOf } from '../../core/dtype.js';
import type { AttributeWithDoc, Dim, Graph, Model, ModelFunction, Node, OpsetImport, ValueInfo, ValueType } from '../../core/graph.js';
import { sparseProtoFromTensor, tensorToProto } from './tensor-proto.js';

const utf8 = new TextEncoder();
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** IR -> ONNX bytes: the inverse of decodeOnnx (decode(encode(m)) equals m). */
export function encodeOnnx(model: Model): Uint8Array {
  const proto = create(ModelProtoSchema, {
    irVersion: BigInt(model.irVersion),
    opsetImport: model.opsetImports.map(opsetProto),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    domain: model.domain ?? '',
    modelVersion: BigInt(model.modelVersion ?? 0),
    docString: model.docString ?? '',
    graph: graphProto(model.graph),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    functions: model.functions.map(functionProto),
  });
  return toBinary(ModelProtoSchema, proto);
}

function opsetProto(entry: OpsetImport): OperatorSetIdProto {
  return create(OperatorSetIdProtoSchema, { domain: entry.domain, version: BigInt(entry.version) });
}

function graphProto(graph: Graph): GraphProto {
  return create(GraphProtoSchema, {
    name: graph.name,
    node: graph.nodes.map(nodeProto),
    initializer: [...graph.initializers].map(([name, tensor]) => tensorToProto(tensor, name)),
    input: graph.inputs.map(valueInfoProto),
    output: graph.outputs.map(valueInfoProto),
    valueInfo: graph.valueInfo.map(valueInfoProto),
    docString: graph.docString ?? '',
  });
}

function nodeProto(node: Node): NodeProto {
  return create(NodeProtoSchema, {
    name: node.name,
    opType: node.opType,
    domain: node.domain,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, attribute]) => attributeProto(name, attribute)),
    docString: node.docString ?? '',
  });
}

/** Int attributes were decoded to numbers; +-2^63 (beyond int64 once rounded to a double) is clamped back. */
function int64Of(value: number): bigint {
  const big = BigInt(Math.trunc(value));
  return big > INT64_MAX ? INT64_MAX : big < INT64_MIN ? INT64_MIN : big;
}

function attributeProto(name: string, attribute: AttributeWithDoc): AttributeProto {
  const proto = create(AttributeProtoSchema, { name, docString: attribute.docString ?? '' });
  switch (attribute.type) {
    case 'float':
      proto.type = AttrType.FLOAT;
      proto.f = attribute.value;
      break;
    case 'int':
      proto.type = AttrType.INT;
      proto.i = int64Of(attribute.value);
      break;
    case 'string':
      proto.type = AttrType.STRING;
      proto.s = utf8.encode(attribute.value);
      break;
    case 'tensor':
      proto.type = AttrType.TENSOR;
      proto.t = tensorToProto(attribute.value);
      break;
    case 'sparse_tensor':
      proto.type = AttrType.SPARSE_TENSOR;
      proto.sparseTensor = sparseProtoFromTensor(attribute.value);
      break;
    case 'graph':
      proto.type = AttrType.GRAPH;
      proto.g = graphProto(attribute.value);
      break;
    case 'floats':
      proto.type = AttrType.FLOATS;
      proto.floats = attribute.value;
      break;
    case 'ints':
      proto.type = AttrType.INTS;
      proto.ints = attribute.value.map(int64Of);
      break;
    case 'strings':
      proto.type = AttrType.STRINGS;
      proto.strings = attribute.value.map((text) => utf8.encode(text));
      break;
    case 'tensors':
      proto.type = AttrType.TENSORS;
      proto.tensors = attribute.value.map((tensor) => tensorToProto(tensor));
      break;
    case 'graphs':
      proto.type = AttrType.GRAPHS;
      proto.graphs = attribute.value.map(graphProto);
      break;
    case 'type_proto':
      proto.type = AttrType.TYPE_PROTO;
      proto.tp = typeProto(attribute.value);
      break;
    case 'type_protos':
      proto.type = AttrType.TYPE_PROTOS;
      proto.typeProtos = attribute.value.map(typeProto);
      break;
    case 'ref':
      proto.refAttrName = attribute.value;
      proto.type = AttrType[attribute.refType as keyof typeof AttrType] ?? AttrType.UNDEFINED;
      break;
  }
  return proto;
}

function valueInfoProto(info: ValueInfo): ValueInfoProto {
  const proto = create(ValueInfoProtoSchema, { name: info.name, docString: info.docString ?? '' });
  if (info.type) proto.type = typeProto(info.type);
  return proto;
}

function shapeProto(shape: Dim[]) {
  return create(TensorShapeProtoSchema, {
    dim: shape.map((dim) =>
      create(TensorShapeProto_DimensionSchema, {
        value:
          typeof dim === 'number'
            ? { case: 'dimValue', value: BigInt(dim) }
            : typeof dim === 'string'
              ? { case: 'dimParam', value: dim }
              : { case: undefined },
      }),
    ),
  });
}

function typeProto(type: ValueType): TypeProto {
  switch (type.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const shape = type.shape ? { shape: shapeProto(type.shape) } : {};
      const elemType = onnxCodeOf(type.dtype);
      return create(TypeProtoSchema, {
        value:
          type.kind === 'tensor'
            ? { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, ...shape }) }
            : { case: 'sparseTensorType', value: create(TypeProto_SparseTensorSchema, { elemType, ...shape }) },
      });
    }
    case 'sequence': {
      const sequence = create(TypeProto_SequenceSchema, {});
      if (type.elem) sequence.elemType = typeProto(type.elem);
      return create(TypeProtoSchema, { value: { case: 'sequenceType', value: sequence } });
    }
    case 'optional': {
      const optional = create(TypeProto_OptionalSchema, {});
      if (type.elem) optional.elemType = typeProto(type.elem);
      return create(TypeProtoSchema, { value: { case: 'optionalType', value: optional } });
    }
    case 'map': {
      const map = create(TypeProto_MapSchema, { keyType: onnxCodeOf(type.key) });
      if (type.value) map.valueType = typeProto(type.value);
      return create(TypeProtoSchema, { value: { case: 'mapType', value: map } });
    }
  }
}

function functionProto(fn: ModelFunction) {
  return create(FunctionProtoSchema, {
    name: fn.name,
    domain: fn.domain,
    input: fn.inputs,
    output: fn.outputs,
    attribute: fn.attributes,
    attributeProto: Object.entries(fn.attributeDefaults).map(([name, attribute]) => attributeProto(name, attribute)),
    node: fn.nodes.map(nodeProto),
    opsetImport: fn.opsetImports.map(opsetProto),
    docString: fn.docString ?? '',
  });
}
