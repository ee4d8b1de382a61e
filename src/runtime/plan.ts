import { EdgerunError } from '../core/errors.js';
import { DATA_TYPES, arrayLengthFor, type DataType, type TensorData, type TypedArrayConstructor } from '../core/dtype.js';
import {
  describeNode,
  normalizeDomain,
  opsetVersion,
  type Graph,
  type ModelFunction,
  type Node,
  type OpsetImport,
  type ValueType,
} from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { checkArity, defineOp, resolveAttributes, resolveOp, type OpDef } from '../ops/registry.js';
import { HOST_DEVICE, type Backend, type Kernel, type MemoryRegion, type NodeInfo } from '../backends/backend.js';
import { planArena } from './arena.js';
import { bindAttributeRefs } from './inline-functions.js';
import { inferGraphTypes } from '../optimize/infer.js';

/**
 * Planning happens once, in `create`: every node's op is resolved at the model's opset and its attributes
 * against the schema, static types are inferred, each node is placed on the first backend that supports it
 * and its kernel prepared (weights packed), copies are inserted where a value crosses devices, and the
 * lifetimes of values give the arena its layout. Everything wrong with a model is found here; running a
 * plan only moves data through prepared kernels (execute.ts).
 */
export interface PlanContext {
  readonly opsets: readonly OpsetImport[];
  /** The model's IR version: from 4 on, an initializer listed as a graph input may be fed. */
  readonly irVersion: number;
  readonly functions: readonly ModelFunction[];
  readonly backends: readonly Backend[];
  readonly maxTensorBytes: number;
  /** The plans of every subgraph (If / Loop / Scan bodies, function bodies), made with their parent. */
  readonly subplans: Map<Graph, Plan>;
}

/** One unit of execution: a node, a run of nodes a backend claimed, or a copy between devices. */
export interface Step {
  readonly nodes: readonly Node[];
  /** The node as people read it, for errors and profiles. */
  readonly label: string;
  readonly opType: string;
  readonly backend: Backend;
  readonly kernel: Kernel;
  readonly info: NodeInfo;
  /** Value ids read and written, in the kernel's input / output order; -1 where omitted. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** The arena tensor planned for each output, where its shape is static. */
  readonly slots: (Tensor | undefined)[];
  /** Values whose last reader is this step: dropped after it so their memory can go. */
  readonly release: readonly number[];
  /** A static output over maxTensorBytes: raised when the step is reached, before anything is allocated. */
  readonly overLimit?: EdgerunError;
  /** Some output's size is only known at run time: the op's inference checks it against the limit first. */
  readonly checkSizes: boolean;
}

export interface Plan {
  readonly graph: Graph;
  readonly context: PlanContext;
  /** Value name -> id; ids index the frame's value array. */
  readonly ids: ReadonlyMap<string, number>;
  readonly names: readonly string[];
  readonly steps: readonly Step[];
  /** Initializers, set into the frame before the first step. */
  readonly constants: readonly (readonly [number, Tensor])[];
  readonly outputIds: readonly number[];
  /** Names of enclosing-scope values the graph (or its subgraphs) reads, with the id they take here. */
  readonly outerReads: ReadonlyMap<string, number>;
  /** Static types from inference ('inputs-only': from the graph inputs' declared types). */
  readonly types: ReadonlyMap<string, ValueType>;
  /** The memory the arena lives in (its `buffer` is current even after the backend's memory grew). */
  readonly arena?: Arena;
}

export interface UnsupportedNode {
  node: Node;
  reason: string;
}

/** Ops whose output is the input's data under another shape: the output may share the input's buffer. */
const VIEW_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/** Nodes no op definition covers, in the graph, its subgraphs and the functions it calls. */
export function findUnsupported(graph: Graph, context: Pick<PlanContext, 'opsets' | 'functions'>): UnsupportedNode[] {
  const missing: UnsupportedNode[] = [];
  const visitedFunctions = new Set<ModelFunction>();
  const visit = (nodes: readonly Node[], opsets: readonly OpsetImport[]) => {
    for (const node of nodes) {
      const fn = functionFor(node, context.functions);
      if (fn) {
        if (!visitedFunctions.has(fn)) {
          visitedFunctions.add(fn);
          visit(fn.nodes, functionOpsets(fn, opsets));
        }
      } else {
        const found = lookupOp(node, opsets);
        if (typeof found === 'string') missing.push({ node, reason: found });
      }
      for (const attribute of Object.values(node.attributes)) {
        if (attribute.type === 'graph') visit(attribute.value.nodes, opsets);
        if (attribute.type === 'graphs') attribute.value.forEach((sub) => visit(sub.nodes, opsets));
      }
    }
  };
  visit(graph.nodes, context.opsets);
  return missing;
}

function functionFor(node: Node, functions: readonly ModelFunction[]): ModelFunction | undefined {
  const domain = normalizeDomain(node.domain);
  return functions.find((candidate) => candidate.name === node.opType && normalizeDomain(candidate.domain) === domain);
}

/** A function body uses its own opset imports, and the caller's for domains it does not import. */
function functionOpsets(fn: ModelFunction, outer: readonly OpsetImport[]): OpsetImport[] {
  const inherited = outer.filter((entry) => !fn.opsetImports.some((own) => normalizeDomain(own.domain) === normalizeDomain(entry.domain)));
  return [...fn.opsetImports, ...inherited];
}

function lookupOp(node: Node, opsets: readonly OpsetImport[]): { def: OpDef; opset: number } | string {
  const domain = normalizeDomain(node.domain);
  const opset = opsetVersion(opsets, domain);
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

function throwUnsupported(unsupported: UnsupportedNode[]): void {
  if (unsupported.length === 0) return;
  const listed = unsupported.slice(0, 20).map(({ node, reason }) => `${describeNode(node)}: ${reason}`);
  const more = unsupported.length > 20 ? `; and ${unsupported.length - 20} more` : '';
  throw new EdgerunError('UNSUPPORTED_OP', `${unsupported.length} node(s) have no kernel: ${listed.join('; ')}${more}`);
}

/** Plans `graph` and, recursively, every subgraph and function body it holds. */
export function planModelGraph(graph: Graph, context: PlanContext, allocateArena: boolean): Plan {
  throwUnsupported(findUnsupported(graph, context));
  return planGraph(graph, context, new Set(), allocateArena);
}

interface ResolvedStep {
  node: Node;
  def: OpDef;
  attrs: Record<string, unknown>;
  opset: number;
}

function planGraph(graph: Graph, context: PlanContext, outerScope: ReadonlySet<string>, allocateArena: boolean): Plan {
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
  const visible = new Set([...available, ...producers.keys(), ...outerScope]);
  const outerReads = new Set<string>();
  const reads = graph.nodes.map((node) => {
    const names = new Set(node.inputs.filter((name) => name !== ''));
    for (const name of planSubgraphs(node, context, visible)) names.add(name);
    for (const name of names) {
      if (available.has(name) || producers.has(name)) continue;
      if (outerScope.has(name)) outerReads.add(name);
      else throw new EdgerunError('INVALID_GRAPH', `input '${name}' is not a graph input, an initializer or any node's output`, [describeNode(node)]);
    }
    return names;
  });
  const order = topologicalOrder(graph, reads, producers);
  const resolved = order.map((index) => resolveStep(graph.nodes[index]!, context));
  const byNode = new Map(resolved.map((step) => [step.node, { def: step.def, opset: step.opset, attributes: step.attrs }]));
  // An initializer that is also a graph input (IR 4 on) is a default the caller may feed: not a constant.
  const fixed = context.irVersion >= 4 ? new Map([...graph.initializers].filter(([name]) => !graph.inputs.some((info) => info.name === name))) : graph.initializers;
  const { types, constants: known } = inferGraphTypes({ ...graph, initializers: fixed }, (node) => byNode.get(node), 'inputs-only');
  for (const [name, tensor] of graph.initializers) if (!types.has(name)) types.set(name, { kind: 'tensor', dtype: tensor.type, shape: [...tensor.dims] });
  // Inference folds only small values; a Constant node's tensor is known whatever its size (weights, often).
  for (const node of graph.nodes) {
    const value = node.attributes['value'];
    if (node.opType === 'Constant' && node.domain === '' && value?.type === 'tensor' && node.outputs[0]) known.set(node.outputs[0], value.value);
  }

  const ids = new Map<string, number>();
  const idOf = (name: string) => {
    if (name === '') return -1;
    let id = ids.get(name);
    if (id === undefined) ids.set(name, (id = ids.size));
    return id;
  };
  for (const info of graph.inputs) idOf(info.name);
  for (const name of graph.initializers.keys()) idOf(name);
  for (const name of outerReads) idOf(name);

  const typeOf = (name: string) => (name === '' ? undefined : types.get(name));
  const infos = resolved.map(
    ({ node, def, attrs, opset }): NodeInfo => ({
      node,
      def,
      attributes: attrs,
      opset,
      inputTypes: node.inputs.map(typeOf),
      outputTypes: node.outputs.map(typeOf),
      constants: node.inputs.map((name) => known.get(name)),
    }),
  );
  const steps = placeSteps(infos, context, idOf, new Set(graph.outputs.map((info) => info.name)));
  const placedSteps = insertTransfers(steps, graph.outputs.map((info) => idOf(info.name)), ids, idOf);
  const outputIds = placedSteps.outputIds;
  const memory = planMemory(placedSteps.steps, ids, types, outputIds, context, allocateArena);
  return {
    graph,
    context,
    ids,
    names: [...ids.keys()],
    steps: placedSteps.steps.map((step, index) => ({ ...step, release: memory.release[index]!, slots: memory.slots[index]! })),
    constants: [...graph.initializers].map(([name, tensor]) => [ids.get(name)!, tensor] as const),
    outputIds,
    outerReads: new Map([...outerReads].map((name) => [name, ids.get(name)!])),
    types,
    ...(memory.arena ? { arena: memory.arena } : {}),
  };
}

type PlacedStep = Omit<Step, 'release' | 'slots'>;

/**
 * Each node goes to the first backend (in the session's order) that supports it, after backends that run
 * several nodes as one kernel have claimed their runs (of nodes no backend ranked above them supports). A claimed run's kernel reads the inputs and writes
 * the outputs of all its nodes, in node order; values made and used only inside the run are left out
 * (id -1), so the kernel may keep them to itself.
 */
function placeSteps(infos: readonly NodeInfo[], context: PlanContext, idOf: (name: string) => number, graphOutputs: ReadonlySet<string>): PlacedStep[] {
  const claimedBy = new Map<number, { backend: Backend; count: number }>();
  const kept = new Set([...graphOutputs, ...infos.flatMap((info) => subgraphReads(info.node, context))]);
  context.backends.forEach((backend, order) => {
    if (!backend.claim || !backend.prepareRun) return;
    const before = context.backends.slice(0, order);
    for (const run of backend.claim(infos, kept)) {
      const indices = Array.from({ length: run.count }, (_, offset) => run.start + offset);
      if (run.count < 1 || indices.some((index) => index >= infos.length || claimedBy.has(index) || [...claimedBy].some(([start, claim]) => index >= start && index < start + claim.count))) {
        throw new EdgerunError('INVALID_ARGUMENT', `backend '${backend.name}' claimed nodes ${run.start}..${run.start + run.count - 1}, which are out of range or already claimed`);
      }
      // A backend the session ranks higher keeps the nodes it runs.
      if (indices.some((index) => before.some((other) => other.supports(infos[index]!)))) continue;
      claimedBy.set(run.start, { backend, count: run.count });
    }
  });
  const steps: PlacedStep[] = [];
  for (let index = 0; index < infos.length; index++) {
    const claim = claimedBy.get(index);
    if (claim) {
      steps.push(claimedStep(infos.slice(index, index + claim.count), infos.slice(index + claim.count), graphOutputs, claim.backend, context, idOf));
      index += claim.count - 1;
      continue;
    }
    const info = infos[index]!;
    const backend = context.backends.find((candidate) => candidate.supports(info));
    if (!backend) throw new EdgerunError('UNSUPPORTED_OP', 'no backend supports this node', [describeNode(info.node)]);
    const kernel = prepared(backend, [info], () => backend.prepare(info));
    const sizes = staticSizes(info.outputTypes);
    steps.push({
      nodes: [info.node],
      label: describeNode(info.node),
      opType: info.node.domain ? `${info.node.domain}:${info.node.opType}` : info.node.opType,
      backend,
      kernel,
      info,
      inputs: info.node.inputs.map(idOf),
      outputs: info.node.outputs.map(idOf),
      overLimit: outputLimitError(info.node, info.outputTypes, context.maxTensorBytes),
      checkSizes: sizes.some((size, index) => size === undefined && info.node.outputs[index] !== ''),
    });
  }
  return steps;
}

function claimedStep(
  run: readonly NodeInfo[],
  later: readonly NodeInfo[],
  graphOutputs: ReadonlySet<string>,
  backend: Backend,
  context: PlanContext,
  idOf: (name: string) => number,
): PlacedStep {
  const madeInside = new Set(run.flatMap((info) => info.node.outputs));
  const readLater = new Set([...graphOutputs, ...later.flatMap((info) => [...info.node.inputs, ...subgraphReads(info.node, context)])]);
  const first = run[0]!;
  const kernel = prepared(backend, run, () => backend.prepareRun!(run));
  return {
    nodes: run.map((info) => info.node),
    label: `${run.length} nodes from ${describeNode(first.node)} run as one kernel by ${backend.name}`,
    opType: run.map((info) => info.node.opType).join('+'),
    backend,
    kernel,
    info: first,
    inputs: run.flatMap((info) => info.node.inputs.map((name) => (madeInside.has(name) ? -1 : idOf(name)))),
    outputs: run.flatMap((info) => info.node.outputs.map((name) => (name !== '' && (readLater.has(name) || !consumedInside(run, name)) ? idOf(name) : -1))),
    overLimit: run.map((info) => outputLimitError(info.node, info.outputTypes, context.maxTensorBytes)).find((error) => error),
    checkSizes: false,
  };
}

function consumedInside(run: readonly NodeInfo[], name: string): boolean {
  return run.some((info) => info.node.inputs.includes(name));
}

function subgraphReads(node: Node, context: PlanContext): string[] {
  const names: string[] = [];
  for (const attribute of Object.values(node.attributes)) {
    const graphs = attribute.type === 'graph' ? [attribute.value] : attribute.type === 'graphs' ? attribute.value : [];
    for (const sub of graphs) names.push(...(context.subplans.get(sub)?.outerReads.keys() ?? []));
  }
  return names;
}

function prepared(backend: Backend, infos: readonly NodeInfo[], prepare: () => Kernel): Kernel {
  try {
    return prepare();
  } catch (error) {
    const where = `${describeNode(infos[0]!.node)} on ${backend.name}`;
    throw (error instanceof EdgerunError ? error : new EdgerunError('KERNEL_FAILED', String(error))).withContext(where);
  }
}

/**
 * Where a value produced on one device is read on another (a GPU backend's tensor read by a reference
 * kernel), a copy step moves it: downloaded to host memory by the backend that holds it, uploaded by the
 * one that reads it. One copy per value and device, shared by every reader; graph outputs end on the host.
 */
function insertTransfers(
  steps: readonly PlacedStep[],
  graphOutputs: number[],
  ids: ReadonlyMap<string, number>,
  idOf: (name: string) => number,
): { steps: PlacedStep[]; outputIds: number[] } {
  const names = () => [...ids.keys()];
  const holder = new Map<number, Backend>();
  const copies = new Map<string, number>();
  const result: PlacedStep[] = [];
  const onDevice = (id: number, reader: Backend | undefined): number => {
    const source = holder.get(id);
    const targetDevice = reader?.device ?? HOST_DEVICE;
    if (id < 0 || (source?.device ?? HOST_DEVICE) === targetDevice) return id;
    const key = `${id}@${targetDevice}`;
    const existing = copies.get(key);
    if (existing !== undefined) return existing;
    const name = names()[id]!;
    const copyId = idOf(`${name}@${targetDevice}`);
    copies.set(key, copyId);
    result.push(transferStep(name, source, reader, id, copyId));
    if (reader) holder.set(copyId, reader);
    return copyId;
  };
  for (const step of steps) {
    const inputs = step.inputs.map((id) => onDevice(id, step.backend));
    result.push({ ...step, inputs });
    for (const id of step.outputs) if (id >= 0) holder.set(id, step.backend);
  }
  return { steps: result, outputIds: graphOutputs.map((id) => onDevice(id, undefined)) };
}

function transferStep(name: string, source: Backend | undefined, target: Backend | undefined, from: number, to: number): PlacedStep {
  const fromDevice = source?.device ?? HOST_DEVICE;
  const toDevice = target?.device ?? HOST_DEVICE;
  const node: Node = { name: `copy '${name}' ${fromDevice} -> ${toDevice}`, opType: 'MemcpyTransfer', domain: 'ai.edgerun', inputs: [name], outputs: [`${name}@${toDevice}`], attributes: {} };
  const def = defineOp({ domain: 'ai.edgerun', name: 'MemcpyTransfer', since: 1, inputs: ['X'], outputs: ['Y'], kernel: ({ inputs }) => [inputs[0]] });
  const upload = (tensor: Tensor) => (target?.upload ? target.upload(tensor) : tensor);
  const kernel: Kernel = {
    run(io) {
      const value = io.inputs[0] as Tensor;
      const onHost = source?.download ? source.download(value) : value;
      const moved = onHost instanceof Promise ? onHost.then(upload) : upload(onHost);
      if (moved instanceof Promise) return moved.then((tensor) => io.set(0, tensor));
      io.set(0, moved);
      return undefined;
    },
  };
  return {
    nodes: [node],
    label: describeNode(node),
    opType: 'ai.edgerun:MemcpyTransfer',
    backend: target ?? source!,
    kernel,
    info: { node, def, attributes: {}, opset: 1, inputTypes: [], outputTypes: [], constants: [] },
    inputs: [from],
    outputs: [to],
    checkSizes: false,
  };
}

function resolveStep(node: Node, context: PlanContext): ResolvedStep {
  const fn = functionFor(node, context.functions);
  if (fn) return { node, def: functionOp(fn, node, context), attrs: {}, opset: 1 };
  const found = lookupOp(node, context.opsets);
  if (typeof found === 'string') throw new EdgerunError('UNSUPPORTED_OP', found, [describeNode(node)]);
  checkArity(found.def, node);
  return { node, def: found.def, attrs: resolveAttributes(found.def, node), opset: found.opset };
}

/** Plans a node's subgraph attributes now; returns the enclosing-scope names they read. */
function planSubgraphs(node: Node, context: PlanContext, scope: ReadonlySet<string>): Set<string> {
  const names = new Set<string>();
  for (const attribute of Object.values(node.attributes)) {
    const graphs = attribute.type === 'graph' ? [attribute.value] : attribute.type === 'graphs' ? attribute.value : [];
    for (const sub of graphs) {
      let plan = context.subplans.get(sub);
      if (!plan) {
        plan = planGraph(sub, context, scope, false);
        context.subplans.set(sub, plan);
      }
      for (const name of plan.outerReads.keys()) names.add(name);
    }
  }
  return names;
}

/**
 * A call of a model-local function that could not be inlined (its body's opsets differ from the model's):
 * the body is planned now as a subgraph of its own, with the call's attributes bound.
 */
function functionOp(fn: ModelFunction, call: Node, context: PlanContext): OpDef {
  const body: Graph = {
    name: fn.name,
    nodes: fn.nodes.map((inner) => ({ ...inner, attributes: bindAttributeRefs(inner, call, fn) })),
    inputs: fn.inputs.map((name) => ({ name })),
    outputs: fn.outputs.map((name) => ({ name })),
    initializers: new Map(),
    valueInfo: [],
  };
  const bodyContext: PlanContext = { ...context, opsets: functionOpsets(fn, context.opsets) };
  // A function body sees only its own inputs, never the caller's scope.
  const plan = planGraph(body, bodyContext, new Set(), false);
  context.subplans.set(body, plan);
  return defineOp({
    domain: fn.domain,
    name: fn.name,
    since: 1,
    inputs: fn.inputs.map((name) => `${name}?`),
    outputs: fn.outputs,
    kernel: ({ inputs, runGraph }) => runGraph(body, inputs.map((value) => value ?? null)),
  });
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

/** Bytes of each output whose type is a tensor of fully known dims (undefined otherwise). */
function staticSizes(types: readonly (ValueType | undefined)[]): (number | undefined)[] {
  return types.map((type) => {
    const dims = staticDims(type);
    if (!dims || type?.kind !== 'tensor') return undefined;
    return (elementCount(dims) * DATA_TYPES[type.dtype].bits) / 8;
  });
}

function staticDims(type: ValueType | undefined): number[] | undefined {
  if (type?.kind !== 'tensor' || !type.shape) return undefined;
  return type.shape.every((dim) => typeof dim === 'number') ? (type.shape as number[]) : undefined;
}

/**
 * The error for the first output whose type is a tensor of known dims larger than `maxBytes`, naming the
 * node, the output and its size; undefined when every known output fits. Planning checks the static types;
 * the executor checks the types an op's inference gives for the actual inputs.
 */
export function outputLimitError(node: Node, types: readonly (ValueType | undefined)[], maxBytes: number): EdgerunError | undefined {
  const sizes = staticSizes(types);
  const index = sizes.findIndex((bytes) => bytes !== undefined && bytes > maxBytes);
  if (index < 0) return undefined;
  const type = types[index] as { dtype: string; shape: number[] };
  const gib = (value: number) => `${(value / 2 ** 30).toFixed(2)} GiB`;
  return new EdgerunError(
    'LIMIT_EXCEEDED',
    `output '${node.outputs[index]}' would be ${type.dtype}[${type.shape.join(', ')}] (${gib(sizes[index]!)}), over the ${gib(maxBytes)} limit (SessionOptions.maxTensorBytes)`,
    [describeNode(node)],
  );
}

interface MemoryPlan {
  release: number[][];
  slots: (Tensor | undefined)[][];
  arena?: Arena;
}

/** Where one planned output lives in the arena. */
interface SlotPlacement {
  step: number;
  output: number;
  offset: number;
  dtype: DataType;
  dims: readonly number[];
}

/**
 * The arena's memory and the tensor views into it. A backend's memory may grow (a wasm memory that is not
 * shared replaces its ArrayBuffer when it grows, detaching every view): `refresh` re-creates the views then.
 */
export class Arena {
  private viewsOf: ArrayBufferLike;

  constructor(
    readonly region: MemoryRegion,
    readonly bytes: number,
    private readonly slots: (Tensor | undefined)[][],
    private readonly placements: readonly SlotPlacement[],
  ) {
    this.viewsOf = region.buffer;
    this.makeViews();
  }

  get buffer(): ArrayBufferLike {
    return this.region.buffer;
  }

  /** Re-creates the slot views when the region's buffer changed since they were made. */
  refresh(): void {
    if (this.region.buffer === this.viewsOf) return;
    this.viewsOf = this.region.buffer;
    this.makeViews();
  }

  private makeViews(): void {
    for (const { step, output, offset, dtype, dims } of this.placements) {
      const Array = DATA_TYPES[dtype].array as TypedArrayConstructor;
      const data = new Array(this.region.buffer as ArrayBuffer, this.region.byteOffset + offset, arrayLengthFor(dtype, elementCount(dims)));
      this.slots[step]![output] = new Tensor(dtype, data as TensorData, dims);
    }
  }
}

/**
 * Lifetimes of values give each step the values it is the last reader of, and, for the static-shape
 * tensors of the top-level graph, one arena buffer each (shared with the input where a kernel runs in
 * place or the op is a view), placed by the greedy arena planner.
 */
function planMemory(
  steps: readonly Omit<Step, 'release' | 'slots'>[],
  ids: ReadonlyMap<string, number>,
  types: ReadonlyMap<string, ValueType>,
  outputIds: readonly number[],
  context: PlanContext,
  allocateArena: boolean,
): MemoryPlan {
  const end = steps.length;
  const lastUse = new Map<number, number>();
  steps.forEach((step, index) => {
    for (const id of step.inputs) if (id >= 0) lastUse.set(id, index);
    // Subgraphs read outer values by name; the node holding them keeps those values alive.
    for (const node of step.nodes) {
      for (const attribute of Object.values(node.attributes)) {
        const graphs = attribute.type === 'graph' ? [attribute.value] : attribute.type === 'graphs' ? attribute.value : [];
        for (const sub of graphs) for (const name of context.subplans.get(sub)?.outerReads.keys() ?? []) lastUse.set(ids.get(name)!, index);
      }
    }
  });
  for (const id of outputIds) lastUse.set(id, end);
  const release: number[][] = steps.map(() => []);
  const kept = new Set(outputIds);
  for (const [id, step] of lastUse) if (step < end && !kept.has(id)) release[step]!.push(id);
  const slots: (Tensor | undefined)[][] = steps.map((step) => step.outputs.map(() => undefined));
  if (!allocateArena) return { release, slots };

  // Buffers: one per static numeric tensor produced by a step, shared where the kernel allows.
  const names = [...ids.keys()];
  const bufferOf = new Map<number, number>();
  const buffers: { bytes: number; first: number; last: number; dtype: DataType; dims: number[] }[] = [];
  steps.forEach((step, index) => {
    step.outputs.forEach((id, outputIndex) => {
      if (id < 0) return;
      const type = types.get(names[id]!);
      const dims = staticDims(type);
      // The arena is host memory; a value a GPU backend produces lives in that backend's memory.
      if (!dims || type?.kind !== 'tensor' || step.overLimit || !arenaType(type.dtype) || step.backend.device !== HOST_DEVICE) return;
      const bytes = arrayLengthFor(type.dtype, elementCount(dims)) * bytesPerElement(type.dtype);
      const last = lastUse.get(id) ?? index;
      const shareWith = sharedInput(step, outputIndex, index, bytes, bufferOf, buffers);
      if (shareWith !== undefined) {
        const buffer = buffers[shareWith]!;
        buffer.last = Math.max(buffer.last, last);
        bufferOf.set(id, shareWith);
        return;
      }
      bufferOf.set(id, buffers.length);
      buffers.push({ bytes, first: index, last, dtype: type.dtype, dims });
    });
  });
  const layout = planArena(buffers);
  if (buffers.length === 0 || layout.size > context.maxTensorBytes) return { release, slots };
  const owner = context.backends.find((backend) => backend.device === HOST_DEVICE && backend.allocate);
  const region = owner?.allocate ? owner.allocate(layout.size) : hostRegion(layout.size);
  const placements: SlotPlacement[] = [];
  steps.forEach((step, index) => {
    step.outputs.forEach((id, outputIndex) => {
      const buffer = id >= 0 ? bufferOf.get(id) : undefined;
      if (buffer === undefined) return;
      // A value sharing a buffer (in place, or a view) takes the buffer's bytes with its own type and dims.
      const type = types.get(names[id]!) as { dtype: DataType; shape: number[] };
      placements.push({ step: index, output: outputIndex, offset: layout.offsets[buffer]!, dtype: type.dtype, dims: type.shape });
    });
  });
  return { release, slots, arena: new Arena(region, layout.size, slots, placements) };
}

/** The buffer an output may share: its input's, when the kernel runs in place or the op only reshapes. */
function sharedInput(
  step: Omit<Step, 'release' | 'slots'>,
  outputIndex: number,
  stepIndex: number,
  bytes: number,
  bufferOf: ReadonlyMap<number, number>,
  buffers: readonly { bytes: number; last: number }[],
): number | undefined {
  const view = VIEW_OPS.has(step.info.node.opType) && step.info.node.domain === '' && outputIndex === 0;
  const inPlaceInput = step.kernel.inPlace?.get(outputIndex);
  const inputIndex = view ? 0 : inPlaceInput;
  if (inputIndex === undefined) return undefined;
  const buffer = bufferOf.get(step.inputs[inputIndex] ?? -1);
  if (buffer === undefined || buffers[buffer]!.bytes !== bytes) return undefined;
  // Writing in place is safe only when nothing reads the buffer after this step; a view only reads.
  if (!view && buffers[buffer]!.last !== stepIndex) return undefined;
  return buffer;
}

function arenaType(dtype: DataType): boolean {
  return dtype !== 'string';
}

function bytesPerElement(dtype: DataType): number {
  return (DATA_TYPES[dtype].array as TypedArrayConstructor).BYTES_PER_ELEMENT;
}

function hostRegion(byteLength: number): MemoryRegion {
  return { buffer: new ArrayBuffer(byteLength), byteOffset: 0, byteLength, release: () => {} };
}
