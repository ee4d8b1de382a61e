import { normalizeDomain, type AttributeWithDoc, type Model, type ModelFunction, type Node } from '../core/graph.js';

/**
 * Model-local functions are expanded into the calling graph at create, so every later stage (the optimizer,
 * backend choice, the arena) sees plain nodes. A call is inlined when the function body's opset imports
 * agree with the model's for every domain both import; otherwise the body would mean something else in
 * the model's opsets, and the call stays a function op planned as a subgraph.
 */
export function inlineFunctions(model: Model): Model {
  if (model.functions.length === 0) return model;
  let counter = 0;
  const expand = (nodes: readonly Node[], depth: number): Node[] => {
    const result: Node[] = [];
    for (const node of nodes) {
      const fn = inlinable(model, node);
      // Recursive functions are refused by the planner; depth only stops an expansion that would not end.
      if (!fn || depth > 32) {
        result.push(node);
        continue;
      }
      const prefix = `${node.name || fn.name}/${counter++}/`;
      const renamed = new Map<string, string>();
      fn.inputs.forEach((name, index) => renamed.set(name, node.inputs[index] ?? ''));
      fn.outputs.forEach((name, index) => {
        // An output the caller leaves unnamed keeps a private name: other body nodes may still read it.
        const outer = node.outputs[index];
        if (outer) renamed.set(name, outer);
      });
      const rename = (name: string) => (name === '' ? '' : (renamed.get(name) ?? `${prefix}${name}`));
      const body = fn.nodes.map(
        (inner): Node => ({
          ...inner,
          name: `${prefix}${inner.name}`,
          inputs: inner.inputs.map(rename),
          outputs: inner.outputs.map(rename),
          attributes: bindAttributeRefs(inner, node, fn),
        }),
      );
      result.push(...expand(body, depth + 1));
    }
    return result;
  };
  return { ...model, graph: { ...model.graph, nodes: expand(model.graph.nodes, 0) } };
}

function inlinable(model: Model, node: Node): ModelFunction | undefined {
  const domain = normalizeDomain(node.domain);
  const fn = model.functions.find((candidate) => candidate.name === node.opType && normalizeDomain(candidate.domain) === domain);
  if (!fn) return undefined;
  const agrees = fn.opsetImports.every((own) => {
    const outer = model.opsetImports.find((entry) => normalizeDomain(entry.domain) === normalizeDomain(own.domain));
    return !outer || outer.version === own.version;
  });
  // A body node's subgraphs may read names of the body's scope; inlining renames those, so keep such calls whole.
  const hasSubgraphs = fn.nodes.some((inner) => Object.values(inner.attributes).some((a) => a.type === 'graph' || a.type === 'graphs'));
  return agrees && !hasSubgraphs ? fn : undefined;
}

/** A body node's attribute references (`ref_attr_name`) bound to the caller's attributes or the function's defaults. */
export function bindAttributeRefs(inner: Node, caller: Node, fn: ModelFunction): Record<string, AttributeWithDoc> {
  const attributes: Record<string, AttributeWithDoc> = {};
  for (const [name, attribute] of Object.entries(inner.attributes)) {
    if (attribute.type !== 'ref') {
      attributes[name] = attribute;
      continue;
    }
    const bound = caller.attributes[attribute.value] ?? fn.attributeDefaults[attribute.value];
    if (bound) attributes[name] = bound;
  }
  return attributes;
}
