import { describeType, type Graph, type Model, type ValueInfo, type ValueType } from '../core/graph.js';
import { DATA_TYPES } from '../core/dtype.js';
import { tryInfer } from '../ops/common.js';
import { inferGraphTypes } from '../optimize/infer.js';
import { catalogueResolver } from '../optimize/resolve.js';
import { loadModel, unsupportedNodes, type SessionOptions } from './session.js';

export interface ModelReport {
  format: Model['format'];
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  nodeCount: number;
  /** op type -> node count, subgraphs included. */
  opHistogram: Record<string, number>;
  parameterCount: number;
  parameterBytes: number;
  /** Every node no backend can run, with the reason. */
  unsupported: { node: string; op: string; reason: string }[];
}

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
  const visit = (g: Graph) => {
    for (const tensor of g.initializers.values()) {
      parameterCount += tensor.size;
      parameterBytes += Math.ceil((tensor.size * DATA_TYPES[tensor.type].bits) / 8);
    }
    for (const node of g.nodes) {
      nodeCount++;
      const op = node.domain ? `${node.domain}:${node.opType}` : node.opType;
      histogram[op] = (histogram[op] ?? 0) + 1;
      for (const attribute of Object.values(node.attributes)) {
        if (attribute.type === 'graph') visit(attribute.value);
        if (attribute.type === 'graphs') attribute.value.forEach(visit);
      }
    }
  };
  visit(graph);
  const fed = graph.inputs.filter((info) => !graph.initializers.has(info.name));
  const inferred = graph.outputs.some((info) => !info.type) ? inferredTypes(model) : new Map<string, ValueType>();
  const outputType = (info: ValueInfo) =>
    info.type ? describeType(info.type) : inferred.has(info.name) ? `${describeType(inferred.get(info.name))} (inferred)` : 'unknown';
  return {
    format: model.format,
    irVersion: model.irVersion,
    opsets: model.opsetImports.map((entry) => ({ domain: entry.domain || 'ai.onnx', version: entry.version })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: fed.map((info) => ({ name: info.name, type: describeType(info.type) })),
    outputs: graph.outputs.map((info) => ({ name: info.name, type: outputType(info) })),
    nodeCount,
    opHistogram: Object.fromEntries(Object.entries(histogram).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameterCount,
    parameterBytes,
    unsupported: unsupportedNodes(model).map(({ node, reason }) => ({ node: node.name, op: node.opType, reason })),
  };
}

/** Output types the model leaves undeclared, from the ops' own inference (none when the model cannot be planned). */
function inferredTypes(model: Model): Map<string, ValueType> {
  return tryInfer(() => inferGraphTypes(model.graph, catalogueResolver(model.opsetImports, model.functions)).types) ?? new Map();
}
