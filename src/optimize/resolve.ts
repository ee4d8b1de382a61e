import { normalizeDomain, opsetVersion, type ModelFunction, type Node, type OpsetImport } from '../core/graph.js';
import { resolveAttributes, resolveOp } from '../ops/registry.js';
import type { NodeResolver, ResolvedNode } from './infer.js';

/**
 * Resolves nodes against the op catalogue at the opsets a model imports. Model-local functions and ops the
 * catalogue lacks resolve to undefined: passes leave such nodes alone and their outputs' types unknown.
 */
export function catalogueResolver(opsets: readonly OpsetImport[], functions: readonly ModelFunction[] = []): NodeResolver {
  // Passes replace nodes and never edit one, so a node resolves the same way in every pass: once is enough.
  const resolved = new WeakMap<Node, ResolvedNode | undefined>();
  return (node) => {
    if (resolved.has(node)) return resolved.get(node);
    const result = resolve(node);
    resolved.set(node, result);
    return result;
  };
  function resolve(node: Node): ResolvedNode | undefined {
    const domain = normalizeDomain(node.domain);
    // A model-local function shadows a catalogue op of the same name.
    if (functions.some((fn) => fn.name === node.opType && normalizeDomain(fn.domain) === domain)) return undefined;
    const opset = opsetVersion(opsets, domain);
    if (opset === undefined) return undefined;
    const def = resolveOp(domain, node.opType, opset);
    if (!def) return undefined;
    try {
      return { def, opset, attributes: resolveAttributes(def, node) };
    } catch {
      return undefined;
    }
  }
}
