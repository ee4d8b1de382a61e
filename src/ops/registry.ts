import { EdgerunError } from '../core/errors.js';
import { describeNode, normalizeDomain, type Attribute, type Graph, type Node, type Value, type ValueType } from '../core/graph.js';
import type { DataType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';

/**
 * The op catalogue is data: (domain, opType) -> versions, each an OpDef holding the op's schema
 * (inputs, outputs, attributes with the spec's defaults), optional type/shape inference and its reference
 * kernel. A model with opset N uses the highest `since` <= N.
 */

type AttrKind = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings' | 'tensor' | 'sparse_tensor' | 'tensors' | 'graph' | 'graphs' | 'type_proto';

export interface AttrSpec<T> {
  kind: AttrKind;
  defaultValue: T;
}

type AttrValueOf = {
  int: number;
  float: number;
  string: string;
  ints: number[];
  floats: number[];
  strings: string[];
  tensor: Tensor;
  sparse_tensor: Tensor;
  tensors: Tensor[];
  graph: Graph;
  graphs: Graph[];
  type_proto: ValueType;
};

function spec<K extends AttrKind>(kind: K) {
  function make(): AttrSpec<AttrValueOf[K] | undefined>;
  function make(defaultValue: AttrValueOf[K]): AttrSpec<AttrValueOf[K]>;
  function make(defaultValue?: AttrValueOf[K]): AttrSpec<AttrValueOf[K] | undefined> {
    return { kind, defaultValue };
  }
  return make;
}

/** Attribute specs: `attr.int(0)` has the spec default 0; `attr.int()` is absent unless the node sets it. */
export const attr = {
  int: spec('int'),
  float: spec('float'),
  string: spec('string'),
  ints: spec('ints'),
  floats: spec('floats'),
  strings: spec('strings'),
  tensor: spec('tensor'),
  sparseTensor: spec('sparse_tensor'),
  tensors: spec('tensors'),
  graph: spec('graph'),
  graphs: spec('graphs'),
  typeProto: spec('type_proto'),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AttrSpecs = Record<string, AttrSpec<any>>;
export type ResolvedAttrs<A extends AttrSpecs> = { readonly [K in keyof A]: A[K] extends AttrSpec<infer T> ? T : never };

export interface KernelContext<A = Record<string, unknown>> {
  readonly node: Node;
  readonly attrs: A;
  /** The opset the model imports for this op's domain. */
  readonly opset: number;
  /** Inputs in node order; `undefined` where an optional input is omitted. */
  readonly inputs: readonly (Value | undefined)[];
  /** Input `index` as a tensor; a typed error naming the input when it is absent or not a tensor. */
  tensor(index: number): Tensor;
  /** Input `index` as a tensor, or undefined when omitted (or an empty optional). */
  optionalTensor(index: number): Tensor | undefined;
  readonly outputCount: number;
  /**
   * The tensor to write output `index` into: the arena slot the planner reserved when `dims` match the
   * planned shape, so a kernel that writes into it allocates nothing per run. Return it as the output.
   */
  output(index: number, dtype: DataType, dims: readonly number[]): Tensor;
  /** Whether output `index` exists and is consumed by name (not ''). */
  outputWanted(index: number): boolean;
  /** Runs a subgraph attribute, binding its inputs positionally; outer-scope values stay visible. */
  runGraph(graph: Graph, inputs: readonly Value[]): Value[];
  /** A typed error naming this node. */
  fail(code: EdgerunError['code'], detail: string): never;
}

export interface InferContext<A = Record<string, unknown>> {
  readonly node: Node;
  readonly attrs: A;
  readonly opset: number;
  readonly inputTypes: readonly (ValueType | undefined)[];
  /** The value of input `index` when it is known before running (an initializer or constant). */
  constant(index: number): Tensor | undefined;
}

export interface OpSchema<A extends AttrSpecs> {
  /** '' (the default) is the ONNX domain. */
  domain?: string;
  name: string;
  /** First opset version these semantics apply to. */
  since: number;
  /** Input names; 'X?' marks an optional input, 'inputs...' a variadic tail. */
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: A;
  /** Output types from input types, where they can be told before running. */
  infer?(context: InferContext<ResolvedAttrs<A>>): (ValueType | undefined)[];
  /** Output values known before running from the input types alone (Shape of a fully known shape). */
  fold?(context: InferContext<ResolvedAttrs<A>>): (Tensor | undefined)[];
  kernel(context: KernelContext<ResolvedAttrs<A>>): (Value | undefined)[];
}

export interface OpDef {
  readonly domain: string;
  readonly name: string;
  readonly since: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: AttrSpecs;
  infer?(context: InferContext): (ValueType | undefined)[];
  fold?(context: InferContext): (Tensor | undefined)[];
  kernel(context: KernelContext): (Value | undefined)[];
}

export function defineOp<A extends AttrSpecs = Record<string, never>>(schema: OpSchema<A>): OpDef {
  return {
    domain: normalizeDomain(schema.domain),
    name: schema.name,
    since: schema.since,
    inputs: schema.inputs,
    outputs: schema.outputs,
    attributes: schema.attributes ?? {},
    infer: schema.infer as OpDef['infer'],
    fold: schema.fold as OpDef['fold'],
    kernel: schema.kernel as OpDef['kernel'],
  };
}

const catalogue = new Map<string, OpDef[]>();

function keyOf(domain: string, name: string): string {
  return `${normalizeDomain(domain)}:${name}`;
}

/** Adds ops to the catalogue; a definition with the same domain, name and `since` replaces the old one. */
export function registerOp(...defs: readonly OpDef[]): void {
  for (const def of defs) {
    const key = keyOf(def.domain, def.name);
    const versions = catalogue.get(key) ?? [];
    const others = versions.filter((existing) => existing.since !== def.since);
    others.push(def);
    others.sort((a, b) => a.since - b.since);
    catalogue.set(key, others);
  }
}

/** The definition in force at `opset`: the highest `since` that is <= opset. */
export function resolveOp(domain: string, name: string, opset: number): OpDef | undefined {
  const versions = catalogue.get(keyOf(domain, name));
  if (!versions) return undefined;
  let found: OpDef | undefined;
  for (const def of versions) if (def.since <= opset) found = def;
  return found;
}

/** Every op in the catalogue: domain ('ai.onnx' for the default), name, and the opsets where its versions start. */
export function supportedOps(): { domain: string; name: string; versions: number[] }[] {
  return [...catalogue.values()]
    .map((versions) => ({ domain: versions[0]!.domain || 'ai.onnx', name: versions[0]!.name, versions: versions.map((def) => def.since) }))
    .sort((a, b) => a.domain.localeCompare(b.domain) || a.name.localeCompare(b.name));
}

/** Resolves a node's attributes against the schema: spec defaults filled in, kinds checked. */
export function resolveAttributes(def: OpDef, node: Node): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [name, specOf] of Object.entries(def.attributes)) {
    const given = node.attributes[name];
    resolved[name] = given === undefined ? specOf.defaultValue : coerceAttribute(given, specOf.kind, name, node);
  }
  return resolved;
}

function coerceAttribute(given: Attribute, kind: AttrKind, name: string, node: Node): unknown {
  if (given.type === kind) return given.value;
  // Exporters sometimes write an integral float where an int is specified, or one value for a list.
  if (kind === 'float' && given.type === 'int') return given.value;
  if (kind === 'int' && given.type === 'float' && Number.isInteger(given.value)) return given.value;
  if (kind === 'floats' && given.type === 'ints') return given.value;
  if (kind === 'ints' && given.type === 'int') return [given.value];
  if (kind === 'floats' && given.type === 'float') return [given.value];
  throw new EdgerunError('INVALID_ATTRIBUTE', `attribute '${name}' must be ${kind}, got ${given.type}`, [describeNode(node)]);
}

/** Checks input and output arity against the schema's names ('X?' optional, 'X...' variadic). */
export function checkArity(def: OpDef, node: Node): void {
  const required = def.inputs.filter((name) => !name.endsWith('?') && !name.endsWith('...')).length;
  const variadic = def.inputs.some((name) => name.endsWith('...'));
  const present = node.inputs.length;
  if (present < required || (!variadic && present > def.inputs.length)) {
    throw new EdgerunError(
      'INVALID_GRAPH',
      `expected ${variadic ? `at least ${required}` : required === def.inputs.length ? required : `${required} to ${def.inputs.length}`} inputs (${def.inputs.join(', ')}), got ${present}`,
      [describeNode(node)],
    );
  }
  def.inputs.forEach((name, index) => {
    if (!name.endsWith('?') && !name.endsWith('...') && node.inputs[index] === '') {
      throw new EdgerunError('INVALID_GRAPH', `required input '${name}' (#${index}) is empty`, [describeNode(node)]);
    }
  });
  const variadicOutputs = def.outputs.some((name) => name.endsWith('...'));
  if (!variadicOutputs && node.outputs.length > def.outputs.length) {
    throw new EdgerunError('INVALID_GRAPH', `expected at most ${def.outputs.length} outputs (${def.outputs.join(', ')}), got ${node.outputs.length}`, [describeNode(node)]);
  }
}
