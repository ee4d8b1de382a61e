import type { Graph, ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import type { Plan } from './plan.js';

/**
 * Static types of a graph's values, propagated in plan order with each op's own `infer` (where it has
 * one). Declared types (graph inputs/outputs, value_info) win over inferred ones unless only the inputs
 * are to be trusted (to check inference itself); unknown stays unknown.
 */
export function inferValueTypes(plan: Plan, trust: 'declared' | 'inputs-only' = 'declared'): Map<string, ValueType> {
  const graph = plan.graph;
  const types = new Map<string, ValueType>();
  const constants = new Map<string, Tensor>(graph.initializers);
  for (const [name, tensor] of graph.initializers) types.set(name, { kind: 'tensor', dtype: tensor.type, shape: [...tensor.dims] });
  for (const info of trust === 'declared' ? declaredValues(graph) : graph.inputs) if (info.type) types.set(info.name, info.type);
  for (const step of plan.steps) {
    const { node, def } = step;
    if (node.opType === 'Constant' && node.domain === '') {
      const value = node.attributes.value;
      if (value?.type === 'tensor') constants.set(node.outputs[0]!, value.value);
    }
    if (!def.infer) continue;
    let inferred: (ValueType | undefined)[];
    try {
      inferred = def.infer({
        node,
        attrs: step.attrs,
        opset: step.opset,
        inputTypes: node.inputs.map((name) => (name === '' ? undefined : types.get(name))),
        constant: (index) => constants.get(node.inputs[index] ?? ''),
      });
    } catch {
      // Inference is advisory: an op that cannot tell its output type statically leaves it unknown.
      continue;
    }
    node.outputs.forEach((name, index) => {
      const type = inferred[index];
      if (name !== '' && type && !types.has(name)) types.set(name, type);
    });
  }
  return types;
}

function declaredValues(graph: Graph) {
  return [...graph.inputs, ...graph.valueInfo, ...graph.outputs];
}
