import { describeType, type Graph, type Model, type ValueInfo, type ValueType } from '../core/graph.js';
import { DATA_TYPES, type DataType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { tryInfer } from '../ops/common.js';
import { inferModelTypes, loadModel, unsupportedNodes, type SessionOptions } from './session.js';

export interface ModelReport {
  format: Model['format'];
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: ReportedValue[];
  /** `inferred`: the model leaves the type undeclared and the ops' own inference supplied it. */
  outputs: (ReportedValue & { inferred?: true })[];
  nodeCount: number;
  /** op type -> node count, subgraphs included. */
  opHistogram: Record<string, number>;
  /** Elements of the initializers and of the tensors held by Constant nodes, subgraphs included. */
  parameterCount: number;
  parameterBytes: number;
  /** Every node no backend can run, with the reason. */
  unsupported: { node: string; op: string; reason: string }[];
}

/** A graph input or output: its type as data (null when unknown) and as text, e.g. `float32[batch, 3]`. */
export interface ReportedValue {
  name: string;
  type: ReportedType | null;
  description: string;
}

/** A value type as plain data; a dim is a size, a symbolic name, or null when unknown (shape null: rank unknown). */
export type ReportedType =
  | { dtype: DataType; shape: (number | string | null)[] | null; sparse?: true }
  | { sequence: ReportedType | null }
  | { optional: ReportedType | null }
  | { map: { key: DataType; value: ReportedType | null } };

/** What `edgerun inspect` prints: a model's interface, its ops and whether every op has a kernel. */
export function inspectModel(bytes: Uint8Array, options: SessionOptions = {}): ModelReport {
  return reportOf(loadModel(bytes, options));
}

export function reportOf(model: Model): ModelReport {
  const graph = model.graph;
  const histogram: Record<string, number> = {};
  let nodeCount = 0;
  let parameterCount = 0;
  let parameterBytes = 0;
  const countParameters = (tensor: Tensor) => {
    parameterCount += tensor.size;
    parameterBytes += Math.ceil((tensor.size * DATA_TYPES[tensor.type].bits) / 8);
  };
  const visit = (g: Graph) => {
    g.initializers.forEach(countParameters);
    for (const node of g.nodes) {
      nodeCount++;
      const op = node.domain ? `${node.domain}:${node.opType}` : node.opType;
      histogram[op] = (histogram[op] ?? 0) + 1;
      for (const attribute of Object.values(node.attributes)) {
        // Exporters often store weights as Constant nodes instead of initializers (silero VAD does).
        const constantTensor = node.opType === 'Constant' && !node.domain && (attribute.type === 'tensor' || attribute.type === 'sparse_tensor');
        if (constantTensor) countParameters(attribute.value);
        if (attribute.type === 'graph') visit(attribute.value);
        if (attribute.type === 'graphs') attribute.value.forEach(visit);
      }
    }
  };
  visit(graph);
  const fed = graph.inputs.filter((info) => !graph.initializers.has(info.name));
  const inferred = graph.outputs.some((info) => !info.type) ? inferredTypes(model) : new Map<string, ValueType>();
  const reportOutput = (info: ValueInfo): ReportedValue & { inferred?: true } => {
    const type = info.type ?? inferred.get(info.name);
    const reported = reportValue(info.name, type);
    return info.type || !type ? reported : { ...reported, description: `${reported.description} (inferred)`, inferred: true };
  };
  return {
    format: model.format,
    irVersion: model.irVersion,
    opsets: model.opsetImports.map((entry) => ({ domain: entry.domain || 'ai.onnx', version: entry.version })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: fed.map((info) => reportValue(info.name, info.type)),
    outputs: graph.outputs.map(reportOutput),
    nodeCount,
    opHistogram: Object.fromEntries(Object.entries(histogram).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameterCount,
    parameterBytes,
    unsupported: unsupportedNodes(model).map(({ node, reason }) => ({ node: node.name, op: node.opType, reason })),
  };
}

function reportValue(name: string, type: ValueType | undefined): ReportedValue {
  return { name, type: reportType(type), description: describeType(type) };
}

function reportType(type: ValueType | undefined): ReportedType | null {
  if (!type) return null;
  switch (type.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const shape = type.shape ? type.shape.map((dim) => dim ?? null) : null;
      return type.kind === 'sparse_tensor' ? { dtype: type.dtype, shape, sparse: true } : { dtype: type.dtype, shape };
    }
    case 'sequence':
      return { sequence: reportType(type.elem) };
    case 'optional':
      return { optional: reportType(type.elem) };
    case 'map':
      return { map: { key: type.key, value: reportType(type.value) } };
  }
}

/** Output types the model leaves undeclared, from the ops' own inference (none when the model cannot be planned). */
function inferredTypes(model: Model): ReadonlyMap<string, ValueType> {
  return tryInfer(() => inferModelTypes(model)) ?? new Map<string, ValueType>();
}
