import { EdgerunError } from '../core/errors.js';
import {
  describeNode,
  normalizeDomain,
  opsetVersion,
  type AttributeWithDoc,
  type Graph,
  type ModelFunction,
  type Node,
  type OpsetImport,
} from '../core/graph.js';
import { checkArity, defineOp, resolveAttributes, resolveOp, type OpDef } from '../ops/registry.js';
import type { Backend, Kernel, NodeInfo } from '../backends/backend.js';
import { executePlan } from './execute.js';

/**
 * Planning turns a graph into an ordered list of ready-to-run steps: every node's op resolved at the
 * model's opset, attributes resolved, a backend chosen, nodes sorted so producers come first, and the
 * step after which each value is no longer needed (so execution frees it).
 */
export interface PlannedStep {
  node: Node;
  def: OpDef;
  attrs: Record<string, unknown>;
  opset: number;
  kernel: Kernel;
  /** Values whose last use is this step and that are not graph outputs. */
  release: string[];
}

export interface Plan {
  graph: Graph;
  steps: PlannedStep[];
  /** Names of outer-scope values the graph (or its subgraphs) reads. */
  outerReads: Set<string>;
  context: PlanContext;
}

export interface PlanContext {
  opsets: readonly OpsetImport[];
  functions: readonly ModelFunction[];
  backends: readonly Backend[];
  /** Subgraph plans, compiled once per Graph object. */
  subplans: WeakMap<Graph, Plan>;
}

export interface UnsupportedNode {
  node: Node;
  reason: string;
}

/** Nodes no backend can run, for `inspect` and for a single UNSUPPORTED_OP error naming them all. */
export function findUnsupported(graph: Graph, context: PlanContext): UnsupportedNode[] {
  const missing: UnsupportedNode[] = [];
  const visit = (g: Graph) => {
    for (const node of g.nodes) {
      const found = lookupOp(node, context);
      if (typeof found === 'string') missing.push({ node, reason: found });
      for (const attribute of Object.values(node.attributes)) {
        if (attribute.type === 'graph') visit(attribute.value);
        if (attribute.type === 'graphs') attribute.value.forEach(visit);
      }
    }
  };
  visit(graph);
  return missing;
}

function lookupOp(node: Node, context: PlanContext): { def: OpDef; opset: number } | string {
  const domain = normalizeDomain(node.domain);
  const fn = context.functions.find((candidate) => candidate.name === node.opType && normalizeDomain(candidate.domain) === domain);
  if (fn) return { def: functionOp(fn, context), opset: 1 };
  const opset = opsetVersion(context.opsets, domain);
  if (opset === undefined) return `the model imports no opset for domain '${domain || 'ai.onnx'}'`;
  const def = resolveOp(domain, node.opType, opset);
  if (!def) {
    const later = resolveOp(domain, node.opType, Number.MAX_SAFE_INTEGER);
    return later
      ? `no kernel for ${node.opType} at opset ${opset} (edgerun has it from opset ${later.since})`
      : `no kernel for ${domain ? `${domain}:` : ''}${node.opType}`;
  }
  return { def, opset };
}

export function planGraph(graph: Graph, context: PlanContext, outerScope: ReadonlySet<string> = new Set()): Plan {
  const unsupported = findUnsupported(graph, context);
  if (unsupported.length > 0) {
    const listed = unsupported.slice(0, 20).map(({ node, reason }) => `${describeNode(node)}: ${reason}`);
    const more = unsupported.length > 20 ? `; and ${unsupported.length - 20} more` : '';
    throw new EdgerunError('UNSUPPORTED_OP', `${unsupported.length} node(s) have no kernel: ${listed.join('; ')}${more}`);
  }
  const available = new Set<string>([...graph.inputs.map((info) => info.name), ...graph.initializers.keys()]);
  const producers = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    for (const output of node.outputs) {
      if (output === '') continue;
      if (producers.has(output) || available.has(output)) {
        throw new EdgerunError('INVALID_GRAPH', `value '${output}' is produced more than once`, [describeNode(node)]);
      }
      producers.set(output, index);
    }
  });
  const outerReads = new Set<string>();
  const reads = graph.nodes.map((node) => {
    const names = new Set(node.inputs.filter((name) => name !== ''));
    for (const name of subgraphOuterReads(node, context, new Set([...available, ...producers.keys(), ...outerScope]))) names.add(name);
    for (const name of names) {
      if (!available.has(name) && !producers.has(name)) {
        if (outerScope.has(name)) outerReads.add(name);
        else throw new EdgerunError('INVALID_GRAPH', `input '${name}' is not a graph input, an initializer or any node's output`, [describeNode(node)]);
      }
    }
    return names;
  });
  const order = topologicalOrder(graph, reads, producers);
  const lastUse = new Map<string, number>();
  order.forEach((nodeIndex, step) => {
    for (const name of reads[nodeIndex]!) lastUse.set(name, step);
  });
  const keep = new Set(graph.outputs.map((info) => info.name));
  const releaseAt: string[][] = order.map(() => []);
  for (const [name, step] of lastUse) {
    if (!keep.has(name) && !outerReads.has(name)) releaseAt[step]!.push(name);
  }
  const steps = order.map((nodeIndex, step): PlannedStep => {
    const node = graph.nodes[nodeIndex]!;
    const found = lookupOp(node, context) as { def: OpDef; opset: number };
    checkArity(found.def, node);
    const attrs = resolveAttributes(found.def, node);
    const info: NodeInfo = {
      node,
      def: found.def,
      attributes: attrs,
      opset: found.opset,
      inputTypes: [],
      outputTypes: [],
      constants: node.inputs.map((name) => graph.initializers.get(name)),
    };
    const backend = context.backends.find((candidate) => candidate.supports(info));
    if (!backend) throw new EdgerunError('UNSUPPORTED_OP', 'no backend supports this node', [describeNode(node)]);
    return {
      node,
      def: found.def,
      attrs,
      opset: found.opset,
      kernel: backend.prepare(info),
      release: releaseAt[step]!,
    };
  });
  return { graph, steps, outerReads, context };
}

/** Outer-scope names a node's subgraphs read (the implicit inputs that keep outer values alive). */
function subgraphOuterReads(node: Node, context: PlanContext, scope: ReadonlySet<string>): Set<string> {
  const names = new Set<string>();
  for (const attribute of Object.values(node.attributes)) {
    const graphs = attribute.type === 'graph' ? [attribute.value] : attribute.type === 'graphs' ? attribute.value : [];
    for (const sub of graphs) {
      let plan = context.subplans.get(sub);
      if (!plan) {
        plan = planGraph(sub, context, scope);
        context.subplans.set(sub, plan);
      }
      for (const name of plan.outerReads) names.add(name);
    }
  }
  return names;
}

function topologicalOrder(graph: Graph, reads: Set<string>[], producers: Map<string, number>): number[] {
  const pending = graph.nodes.map(() => 0);
  const consumers = graph.nodes.map((): number[] => []);
  reads.forEach((names, index) => {
    for (const name of names) {
      const producer = producers.get(name);
      if (producer === undefined) continue;
      pending[index]! += 1;
      consumers[producer]!.push(index);
    }
  });
  const ready = graph.nodes.map((_, index) => index).filter((index) => pending[index] === 0);
  const order: number[] = [];
  // Keep the file's order among ready nodes: most exporters already write a valid order.
  for (let cursor = 0; cursor < ready.length; cursor++) {
    const index = ready[cursor]!;
    order.push(index);
    for (const consumer of consumers[index]!) {
      pending[consumer]! -= 1;
      if (pending[consumer] === 0) ready.push(consumer);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.filter((_, index) => pending[index]! > 0).slice(0, 5).map(describeNode);
    throw new EdgerunError('GRAPH_CYCLE', `graph '${graph.name}' has a cycle through ${stuck.join(', ')}`);
  }
  return order;
}

/** A model-local function called as an op: its body runs as a subgraph with attribute references bound. */
function functionOp(fn: ModelFunction, context: PlanContext): OpDef {
  const bodies = new Map<Node, Plan>();
  return defineOp({
    domain: fn.domain,
    name: fn.name,
    since: 1,
    inputs: fn.inputs.map((name) => `${name}?`),
    outputs: fn.outputs,
    kernel: ({ node, inputs }) => {
      let plan = bodies.get(node);
      if (!plan) {
        const body: Graph = {
          name: fn.name,
          nodes: fn.nodes.map((inner) => bindAttributeRefs(inner, node, fn)),
          inputs: fn.inputs.map((name) => ({ name })),
          outputs: fn.outputs.map((name) => ({ name })),
          initializers: new Map(),
          valueInfo: [],
        };
        const inherited = context.opsets.filter(
          (entry) => !fn.opsetImports.some((own) => normalizeDomain(own.domain) === normalizeDomain(entry.domain)),
        );
        plan = planGraph(body, { ...context, opsets: [...fn.opsetImports, ...inherited], subplans: new WeakMap() });
        bodies.set(node, plan);
      }
      // A function body sees only its own inputs, never the caller's scope.
      const feeds = new Map(fn.inputs.map((name, index) => [name, inputs[index] ?? null]));
      const results = executePlan(plan, feeds);
      return fn.outputs.map((name) => results.get(name));
    },
  });
}

function bindAttributeRefs(inner: Node, caller: Node, fn: ModelFunction): Node {
  const attributes: Record<string, AttributeWithDoc> = {};
  for (const [name, attribute] of Object.entries(inner.attributes)) {
    if (attribute.type !== 'ref') {
      attributes[name] = attribute;
      continue;
    }
    const bound = caller.attributes[attribute.value] ?? fn.attributeDefaults[attribute.value];
    if (bound) attributes[name] = bound;
  }
  return { ...inner, attributes };
}
