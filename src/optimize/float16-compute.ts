import { readNumbers, type DataType } from '../core/dtype.js';
import type { AttributeWithDoc, Graph, Node, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { analyze, constantInitializers, namer, type GraphPass } from './pass.js';
import { consumersOf, outerReadsOf, producersOf, subgraphsOf, topologicalNodes } from './topology.js';

/**
 * float16 compute as onnxruntime's CPU provider does it, so that float16 models give onnxruntime's numbers.
 *
 * That provider has float16 kernels only for the ops below (on x86; a session on a one-node float16 model
 * of each op, saved after its graph transforms, keeps the node in float16 for these and casts around every
 * other). Every other node with a float16 input is left without a kernel, and onnxruntime's cast insertion
 * runs it through its float32 kernel: Casts to float32 before it, Casts back to float16 after it. A node
 * that has a float16 kernel but sits between such nodes on all sides is moved to float32 as well. Then Cast
 * pairs that cancel are removed, so a chain of float16 nodes computes in float32 from end to end and is
 * rounded to float16 only where a value must stay float16: graph inputs and outputs and the inputs and
 * outputs of the nodes that keep their float16 kernels. Even the model's own Cast to float16 at the input
 * goes when all its readers were cast back.
 *
 * This pass makes the same rewrite, with the same rules in the same order, so the same roundings remain.
 * float16 initializers the float32 nodes read are upcast once here instead of by a Cast at every run.
 */
export const FLOAT16_KERNEL_OPS: ReadonlySet<string> = new Set([
  'Cast', 'Clip', 'Concat', 'Expand', 'Flatten', 'Gather', 'GatherElements', 'Identity', 'IsNaN', 'LayerNormalization',
  'Max', 'Min', 'Reshape', 'Round', 'Shape', 'Size', 'Slice', 'Split', 'Squeeze', 'Transpose', 'Unsqueeze',
]);

/** Ops whose inputs (or outputs) are one variadic parameter: onnxruntime looks at the first value only. */
const VARIADIC_INPUTS = new Set(['Concat', 'Max', 'Min']);
const VARIADIC_OUTPUTS = new Set(['Split']);

const FLOAT32 = 1;
const FLOAT16 = 10;

/** A node of the rewritten graph: `order` is the order onnxruntime visits nodes in when removing Casts. */
interface Entry {
  node: Node;
  order: number;
  inserted: boolean;
  removed: boolean;
}

export const float16Compute: GraphPass = {
  name: 'float16-compute',
  run(graph, context) {
    // Type inference costs as much as the rest of the optimizer: skip it where no value can be float16.
    if (!mayHoldFloat16(graph)) return graph;
    const dtypes = new Map<string, DataType>();
    for (const [name, type] of analyze(graph, context).types) if (type.kind === 'tensor') dtypes.set(name, type.dtype);
    const isHalf = (name: string) => name !== '' && dtypes.get(name) === 'float16';

    const inFloat32 = new Set(graph.nodes.filter((node) => !hasFloat16Kernel(node) && subgraphsOf(node).length === 0 && node.inputs.some(isHalf)));
    const graphOutputs = new Set(graph.outputs.map((info) => info.name));
    const producers = producersOf(graph);
    const consumers = consumersOf(graph);
    // In graph order, as onnxruntime does, so a node moved to float32 counts for the nodes after it.
    for (const node of graph.nodes) {
      if (isolatedFloat16Node(node, { isHalf, inFloat32, graphOutputs, producers, consumers })) inFloat32.add(node);
    }
    const entries = insertCasts(graph, inFloat32, isHalf, dtypes, namer(graph));
    // onnxruntime removes Cast pairs in every graph, float16 or not.
    const removed = removeCancellingCasts(graph, entries, dtypes);
    if (inFloat32.size === 0 && !removed) return graph;
    return upcastInitializers(graph, constantInitializers(graph, context), entries, dtypes);
  },
};

/** Attributes that name an output element type (Cast's `to`, RandomNormal's `dtype`, ...). */
const TYPE_ATTRIBUTES = new Set(['to', 'dtype', 'output_dtype']);

function typeMentionsFloat16(type: ValueType | undefined): boolean {
  if (!type) return false;
  switch (type.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return type.dtype === 'float16';
    case 'sequence':
      return typeMentionsFloat16(type.elem) || (type.elements ?? []).some(typeMentionsFloat16);
    case 'optional':
      return typeMentionsFloat16(type.elem);
    case 'map':
      return typeMentionsFloat16(type.value);
  }
}

function attributeMayMakeFloat16(name: string, attribute: AttributeWithDoc): boolean {
  switch (attribute.type) {
    case 'tensor':
    case 'sparse_tensor':
      return attribute.value.type === 'float16';
    case 'tensors':
      return attribute.value.some((tensor) => tensor.type === 'float16');
    case 'int':
      return TYPE_ATTRIBUTES.has(name) && attribute.value === FLOAT16;
    case 'graph':
      return mayHoldFloat16(attribute.value);
    case 'graphs':
      return attribute.value.some(mayHoldFloat16);
    case 'type_proto':
      return typeMentionsFloat16(attribute.value);
    case 'type_protos':
      return attribute.value.some(typeMentionsFloat16);
    default:
      return false;
  }
}

/**
 * False only when no value of the graph can be float16 and it has no Cast to remove: no float16 initializer,
 * declared type or attribute, and every node an ONNX op (a custom op's output types are not known here).
 */
function mayHoldFloat16(graph: Graph): boolean {
  if ([...graph.initializers.values()].some((tensor) => tensor.type === 'float16')) return true;
  if ([...graph.inputs, ...graph.outputs, ...graph.valueInfo].some((info) => typeMentionsFloat16(info.type))) return true;
  return graph.nodes.some(
    (node) =>
      node.domain !== '' ||
      node.opType === 'Cast' ||
      node.opType === 'CastLike' ||
      Object.entries(node.attributes).some(([name, attribute]) => attributeMayMakeFloat16(name, attribute)),
  );
}

function hasFloat16Kernel(node: Node): boolean {
  return node.domain === '' && FLOAT16_KERNEL_OPS.has(node.opType);
}

interface Wiring {
  isHalf: (name: string) => boolean;
  inFloat32: Set<Node>;
  graphOutputs: Set<string>;
  producers: Map<string, Node>;
  consumers: Map<string, Node[]>;
}

/**
 * A node with a float16 kernel whose float16 inputs all come from nodes run in float32 and whose float16
 * outputs all go to such nodes: running it in float32 too saves the Casts around it (exact for these ops).
 */
function isolatedFloat16Node(node: Node, wiring: Wiring): boolean {
  const { isHalf, inFloat32, graphOutputs, producers, consumers } = wiring;
  // A Cast's output type is its attribute: it cannot be moved to float32 by rewiring.
  if (!hasFloat16Kernel(node) || node.opType === 'Cast' || subgraphsOf(node).length > 0) return false;
  if (!node.inputs.some((name) => producers.has(name)) || node.outputs.some((name) => graphOutputs.has(name))) return false;
  const halfInputs = (VARIADIC_INPUTS.has(node.opType) ? node.inputs.slice(0, 1) : node.inputs).filter(isHalf);
  if (halfInputs.length === 0) return false;
  for (const name of halfInputs) {
    const producer = producers.get(name);
    if (producer && !inFloat32.has(producer)) return false;
  }
  const halfOutputs = (VARIADIC_OUTPUTS.has(node.opType) ? node.outputs.slice(0, 1) : node.outputs).filter(isHalf);
  if (halfOutputs.length === 0) return false;
  return halfOutputs.every((name) => (consumers.get(name) ?? []).every((reader) => inFloat32.has(reader)));
}

function castNode(name: string, input: string, output: string, to: number): Node {
  return { name, opType: 'Cast', domain: '', inputs: [input], outputs: [output], attributes: { to: { type: 'int', value: to } } };
}

/**
 * Every float32 node reads a float32 copy of each float16 input (one Cast per value, shared by its readers)
 * and writes float32 values that a Cast turns back into the float16 values the graph names.
 */
function insertCasts(graph: Graph, inFloat32: Set<Node>, isHalf: (name: string) => boolean, dtypes: Map<string, DataType>, fresh: (base: string) => string): Entry[] {
  const order = new Map(graph.nodes.map((node, index) => [node, index]));
  let insertedCount = 0;
  const inserted = (node: Node): Entry => ({ node, order: graph.nodes.length + insertedCount++, inserted: true, removed: false });
  const upcasts = new Map<string, string>();
  const entries: Entry[] = [];
  for (const original of topologicalNodes(graph)) {
    if (!inFloat32.has(original)) {
      entries.push({ node: { ...original, inputs: [...original.inputs] }, order: order.get(original)!, inserted: false, removed: false });
      continue;
    }
    const inputs = original.inputs.map((name) => {
      if (!isHalf(name)) return name;
      let upcast = upcasts.get(name);
      if (upcast === undefined) {
        upcast = fresh(`${name}_float32`);
        upcasts.set(name, upcast);
        dtypes.set(upcast, 'float32');
        entries.push(inserted(castNode(fresh(`${name}_to_float32`), name, upcast, FLOAT32)));
      }
      return upcast;
    });
    const downcasts: Entry[] = [];
    const outputs = original.outputs.map((name) => {
      if (!isHalf(name)) return name;
      const computed = fresh(`${name}_float32`);
      dtypes.set(computed, 'float32');
      downcasts.push(inserted(castNode(fresh(`${name}_to_float16`), computed, name, FLOAT16)));
      return computed;
    });
    entries.push({ node: { ...original, inputs, outputs, attributes: float32Attributes(original.attributes) }, order: order.get(original)!, inserted: false, removed: false });
    entries.push(...downcasts);
  }
  return entries;
}

/** Ops that make a tensor of the type in their `dtype` attribute (RandomNormalLike, EyeLike) make float32 now. */
function float32Attributes(attributes: Record<string, AttributeWithDoc>): Record<string, AttributeWithDoc> {
  const dtype = attributes.dtype;
  return dtype?.type === 'int' && dtype.value === FLOAT16 ? { ...attributes, dtype: { ...dtype, value: FLOAT32 } } : attributes;
}

/**
 * onnxruntime's removal of duplicate Casts, rule for rule. For each Cast in node order: a Cast reading it
 * that casts back to its input type goes (its readers read the first Cast's input), unless it writes a graph
 * output; the first Cast goes too when all its readers are Casts and it writes no graph output. Neither
 * happens when the first Cast loses information (a narrowing the model wrote, not one inserted above) and
 * undoing a reader's cast would as well.
 */
/** Whether any Cast was removed. */
function removeCancellingCasts(graph: Graph, entries: Entry[], dtypes: Map<string, DataType>): boolean {
  const graphOutputs = new Set(graph.outputs.map((info) => info.name));
  const subgraphReads = new Set<string>();
  for (const { node } of entries) for (const sub of subgraphsOf(node)) for (const name of outerReadsOf(sub)) subgraphReads.add(name);
  const readers = new Map<string, Entry[]>();
  const addReader = (name: string, entry: Entry) => (readers.get(name) ?? readers.set(name, []).get(name)!).push(entry);
  for (const entry of entries) for (const name of entry.node.inputs) if (name !== '') addReader(name, entry);
  const rewire = (from: string, to: string) => {
    for (const entry of readers.get(from) ?? []) {
      entry.node.inputs = entry.node.inputs.map((name) => (name === from ? to : name));
      addReader(to, entry);
    }
    readers.delete(from);
  };
  const remove = (entry: Entry) => {
    entry.removed = true;
    const input = entry.node.inputs[0]!;
    readers.set(input, (readers.get(input) ?? []).filter((reader) => reader !== entry));
  };

  for (const cast of [...entries].sort((a, b) => a.order - b.order)) {
    if (cast.removed || !isCast(cast.node)) continue;
    const [input, output] = [cast.node.inputs[0]!, cast.node.outputs[0]!];
    const [from, to] = [dtypes.get(input), dtypes.get(output)];
    if (!from || !to) continue;
    const lossy = unsafeCast(from, to, cast.inserted);
    const children = readers.get(output) ?? [];
    const edges = children.length + (subgraphReads.has(output) ? 1 : 0);
    const removable: Entry[] = [];
    let kept = 0;
    let inconsistent = false;
    for (const child of children) {
      if (!isCast(child.node)) continue;
      const [childFrom, childTo] = [dtypes.get(child.node.inputs[0]!), dtypes.get(child.node.outputs[0]!)];
      if (lossy && (!childFrom || !childTo || unsafeCast(childTo, childFrom, child.inserted))) {
        inconsistent = true;
        break;
      }
      const childOutput = child.node.outputs[0]!;
      if (!graphOutputs.has(childOutput) && !subgraphReads.has(childOutput) && from === childTo && childFrom === to) removable.push(child);
      else kept++;
    }
    if (inconsistent) continue;
    for (const child of removable) {
      remove(child);
      rewire(child.node.outputs[0]!, input);
    }
    if (edges > 0 && removable.length + kept === edges && !graphOutputs.has(output)) {
      remove(cast);
      rewire(output, input);
    }
  }
  return entries.some((entry) => entry.removed);
}

function isCast(node: Node): boolean {
  return node.opType === 'Cast' && node.domain === '';
}

type TypeGroup = 'bool' | 'signed' | 'unsigned' | 'float';

const TYPE_GROUPS: Partial<Record<DataType, [TypeGroup, number]>> = {
  bool: ['bool', 1],
  int8: ['signed', 8], int16: ['signed', 16], int32: ['signed', 32], int64: ['signed', 64],
  uint8: ['unsigned', 8], uint16: ['unsigned', 16], uint32: ['unsigned', 32], uint64: ['unsigned', 64],
  float16: ['float', 16], bfloat16: ['float', 16], float32: ['float', 32], float64: ['float', 64],
};

/** Whether a Cast from `from` to `to` may lose information (onnxruntime's test: a Cast it inserted never does). */
function unsafeCast(from: DataType, to: DataType, inserted: boolean): boolean {
  const [source, target] = [TYPE_GROUPS[from], TYPE_GROUPS[to]];
  if (!source || !target) return true;
  const [[fromGroup, fromBits], [toGroup, toBits]] = [source, target];
  if (fromGroup !== 'bool' && fromGroup !== 'unsigned' && toGroup === 'unsigned') return true;
  if (fromGroup === 'float' && toGroup !== 'float') return true;
  if (fromGroup === 'unsigned' && toGroup === 'signed') return toBits <= fromBits;
  if ((fromGroup === 'signed' || fromGroup === 'unsigned') && toGroup === 'float') return toBits <= fromBits;
  if (fromGroup === 'float' && toGroup === 'float' && fromBits === 16 && toBits === 16 && from !== to) return true;
  return fromBits > toBits && !inserted;
}

/** The rewritten graph: inserted Casts of constant float16 initializers become float32 initializers. */
function upcastInitializers(graph: Graph, constants: Map<string, Tensor>, entries: Entry[], dtypes: Map<string, DataType>): Graph {
  const initializers = new Map(graph.initializers);
  const upcast = new Set<string>();
  const nodes: Node[] = [];
  for (const entry of entries) {
    if (entry.removed) continue;
    const source = entry.inserted && isCast(entry.node) ? constants.get(entry.node.inputs[0]!) : undefined;
    if (source?.type === 'float16' && dtypes.get(entry.node.outputs[0]!) === 'float32') {
      initializers.set(entry.node.outputs[0]!, new Tensor('float32', Float32Array.from(readNumbers('float16', source.data)), source.dims));
      upcast.add(entry.node.inputs[0]!);
    } else {
      nodes.push(entry.node);
    }
  }
  const read = new Set([...nodes.flatMap((node) => node.inputs), ...graph.outputs.map((info) => info.name)]);
  for (const node of nodes) for (const sub of subgraphsOf(node)) for (const name of outerReadsOf(sub)) read.add(name);
  for (const name of upcast) if (!read.has(name)) initializers.delete(name);
  const fed = new Set(graph.inputs.map((info) => info.name));
  const present = new Set([...fed, ...initializers.keys(), ...nodes.flatMap((node) => node.outputs)]);
  return { ...graph, nodes, initializers, valueInfo: graph.valueInfo.filter((info) => present.has(info.name)) };
}
