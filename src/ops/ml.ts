import { EdgerunError } from '../core/errors.js';
import { allocate, type DataType, type TensorData } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { integersOf, numbersOf, product, sameShapeAs, shapeOf, tensorFromNumbers, tensorType } from './common.js';
import { attr, defineOp, type AttrSpecs, type OpDef } from './registry.js';

/** Classic-ML ops of the ai.onnx.ml domain. */

const DOMAIN = 'ai.onnx.ml';

// ---------------------------------------------------------------------------------------------------------
// LabelEncoder: a lookup table from keys to values, with a default for keys not in the table.

type Label = string | number;

/** Reads a tensor's elements as lookup keys: strings stay strings, every numeric type becomes a number. */
function labelsOf(tensor: Tensor): Label[] {
  if (tensor.type === 'string') return tensor.data as string[];
  return Array.from(numbersOf(tensor));
}

function tensorOfLabels(type: DataType, dims: readonly number[], labels: readonly Label[]): Tensor {
  if (type === 'string') return new Tensor('string', labels.map(String), dims);
  return tensorFromNumbers(type, dims, labels as number[]);
}

interface LabelEncoderAttrs {
  keys_strings: string[] | undefined;
  keys_int64s: number[] | undefined;
  keys_floats: number[] | undefined;
  keys_tensor?: Tensor | undefined;
  values_strings: string[] | undefined;
  values_int64s: number[] | undefined;
  values_floats: number[] | undefined;
  values_tensor?: Tensor | undefined;
  default_string: string;
  default_int64: number;
  default_float: number;
  default_tensor?: Tensor | undefined;
}

/** The element type of the table's values, from whichever values attribute is set (also the output's). */
function labelValueType(attrs: LabelEncoderAttrs): DataType {
  if (attrs.values_strings) return 'string';
  if (attrs.values_int64s) return 'int64';
  if (attrs.values_floats) return 'float32';
  if (attrs.values_tensor) return attrs.values_tensor.type;
  throw new EdgerunError('INVALID_ATTRIBUTE', 'LabelEncoder needs one of values_strings, values_int64s, values_floats, values_tensor');
}

/** The table's keys, values (with their element type) and default, from whichever attribute form is set. */
function labelTable(attrs: LabelEncoderAttrs): { table: Map<Label, Label>; valueType: DataType; fallback: Label } {
  const keys: Label[] | undefined =
    attrs.keys_strings ?? attrs.keys_int64s ?? attrs.keys_floats ?? (attrs.keys_tensor && labelsOf(attrs.keys_tensor));
  const valueType = labelValueType(attrs);
  const values: Label[] = attrs.values_strings ?? attrs.values_int64s ?? attrs.values_floats ?? labelsOf(attrs.values_tensor!);
  let fallback: Label = valueType === 'string' ? attrs.default_string : valueType === 'int64' ? attrs.default_int64 : attrs.default_float;
  if (!keys || keys.length !== values.length) {
    throw new EdgerunError('INVALID_ATTRIBUTE', `LabelEncoder needs as many keys as values (${values.length})`);
  }
  if (attrs.default_tensor) fallback = labelsOf(attrs.default_tensor)[0]!;
  // A Map compares keys with SameValueZero, so NaN keys match NaN inputs as opset 4 requires.
  return { table: new Map(keys.map((key, i) => [key, values[i]!])), valueType, fallback };
}

const labelEncoder2Attrs = {
  keys_strings: attr.strings(),
  keys_int64s: attr.ints(),
  keys_floats: attr.floats(),
  values_strings: attr.strings(),
  values_int64s: attr.ints(),
  values_floats: attr.floats(),
  default_string: attr.string('_Unused'),
  default_int64: attr.int(-1),
  default_float: attr.float(-0),
};

function labelEncoder(since: number, attributes: AttrSpecs): OpDef {
  return defineOp({
    domain: DOMAIN,
    name: 'LabelEncoder',
    since,
    inputs: ['X'],
    outputs: ['Y'],
    attributes,
    infer: ({ attrs, inputTypes }) => [tensorType(labelValueType(attrs as unknown as LabelEncoderAttrs), copiedShape(inputTypes[0]))],
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      const { table, valueType, fallback } = labelTable(ctx.attrs as unknown as LabelEncoderAttrs);
      const mapped = labelsOf(input).map((key) => table.get(key) ?? fallback);
      return [tensorOfLabels(valueType, input.dims, mapped)];
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// TreeEnsemble (opset 5): trees stored as parallel node arrays; a node's true/false successor is either
// another node or, when the matching *leafs flag is set, a leaf index.

const enum Mode {
  LessOrEqual = 0,
  Less = 1,
  GreaterOrEqual = 2,
  Greater = 3,
  Equal = 4,
  NotEqual = 5,
  Member = 6,
}

interface Forest {
  roots: number[];
  modes: ArrayLike<number>;
  splits: ArrayLike<number>;
  features: number[];
  trueIds: number[];
  falseIds: number[];
  trueIsLeaf: number[];
  falseIsLeaf: number[];
  missingTracksTrue: number[];
  /** Member sets of the BRANCH_MEMBER nodes, by node index. */
  members: Map<number, Set<number>>;
  leafTargets: number[];
  leafWeights: ArrayLike<number>;
}

/** membership_values lists each MEMBER node's set, in node order, each set ended by a NaN. */
function memberSets(modes: ArrayLike<number>, membership: ArrayLike<number> | undefined): Map<number, Set<number>> {
  const sets = new Map<number, Set<number>>();
  let cursor = 0;
  for (let node = 0; node < modes.length; node++) {
    if (modes[node] !== Mode.Member) continue;
    if (!membership) throw new EdgerunError('INVALID_ATTRIBUTE', 'BRANCH_MEMBER nodes need membership_values');
    const members = new Set<number>();
    while (cursor < membership.length && !Number.isNaN(membership[cursor]!)) members.add(membership[cursor++]!);
    cursor++;
    sets.set(node, members);
  }
  return sets;
}

function goesTrue(forest: Forest, node: number, value: number): boolean {
  if (Number.isNaN(value) && forest.missingTracksTrue[node]) return true;
  const split = forest.splits[node]!;
  switch (forest.modes[node]) {
    case Mode.LessOrEqual:
      return value <= split;
    case Mode.Less:
      return value < split;
    case Mode.GreaterOrEqual:
      return value >= split;
    case Mode.Greater:
      return value > split;
    case Mode.Equal:
      return value === split;
    case Mode.NotEqual:
      return value !== split;
    case Mode.Member:
      return forest.members.get(node)!.has(value);
    default:
      throw new EdgerunError('INVALID_ATTRIBUTE', `unknown node mode ${forest.modes[node]}`);
  }
}

/** Walks one tree for the sample whose features start at `row`; returns the leaf index reached. */
function leafReached(forest: Forest, root: number, features: ArrayLike<number>, row: number): number {
  // A root whose both successors are the same leaf is a one-leaf tree.
  if (forest.trueIsLeaf[root] && forest.falseIsLeaf[root] && forest.trueIds[root] === forest.falseIds[root]) return root;
  let node = root;
  for (;;) {
    const isTrue = goesTrue(forest, node, features[row + forest.features[node]!]!);
    const next = isTrue ? forest.trueIds[node]! : forest.falseIds[node]!;
    if (isTrue ? forest.trueIsLeaf[node] : forest.falseIsLeaf[node]) return next;
    node = next;
  }
}

const enum Aggregate {
  Average = 0,
  Sum = 1,
  Min = 2,
  Max = 3,
}

function aggregateScores(forest: Forest, aggregate: number, features: ArrayLike<number>, rows: number, columns: number, targets: number): Float64Array {
  const initial = aggregate === Aggregate.Min ? Infinity : aggregate === Aggregate.Max ? -Infinity : 0;
  const scores = new Float64Array(rows * targets).fill(initial);
  for (let r = 0; r < rows; r++) {
    for (const root of forest.roots) {
      const leaf = leafReached(forest, root, features, r * columns);
      const slot = r * targets + forest.leafTargets[leaf]!;
      const weight = forest.leafWeights[leaf]!;
      if (aggregate === Aggregate.Min) scores[slot] = Math.min(scores[slot]!, weight);
      else if (aggregate === Aggregate.Max) scores[slot] = Math.max(scores[slot]!, weight);
      else scores[slot] += aggregate === Aggregate.Average ? weight / forest.roots.length : weight;
    }
  }
  return scores;
}

/** Inverse error function (Giles' single-precision approximation), for the PROBIT post-transform. */
function erfInverse(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
  }
  return p * x;
}

/** Applies post_transform to each row of `targets` scores in place. */
function postTransform(scores: Float64Array, targets: number, transform: number): void {
  for (let start = 0; start < scores.length; start += targets) {
    const row = scores.subarray(start, start + targets);
    switch (transform) {
      case 0:
        break;
      case 1:
      case 3: {
        // SOFTMAX_ZERO leaves zero scores at zero and normalizes over the others.
        const skipZeros = transform === 3;
        const max = Math.max(...row);
        let total = 0;
        row.forEach((value, i) => {
          row[i] = skipZeros && value === 0 ? 0 : Math.exp(value - max);
          total += row[i]!;
        });
        row.forEach((value, i) => (row[i] = value / total));
        break;
      }
      case 2:
        row.forEach((value, i) => (row[i] = 1 / (1 + Math.exp(-value))));
        break;
      case 4:
        row.forEach((value, i) => (row[i] = Math.SQRT2 * erfInverse(2 * value - 1)));
        break;
      default:
        throw new EdgerunError('INVALID_ATTRIBUTE', `unknown post_transform ${transform}`);
    }
  }
}

function requiredAttr<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new EdgerunError('INVALID_ATTRIBUTE', `attribute '${name}' is required`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// ArrayFeatureExtractor: picks columns of the last axis.

/** ArrayFeatureExtractor's output: the last axis holds the `count` picked columns; a 1-D input gives one row. */
function extractedShape(data: readonly Dim[], count: Dim): Dim[] {
  return data.length <= 1 ? [1, count] : [...data.slice(0, -1), count];
}

/** TreeEnsemble's output [rows, targets]: a batch of rows, or one row for a 1-D input. */
function ensembleShape(input: readonly Dim[], targets: number): Dim[] {
  return [input.length > 1 ? input[0] : 1, targets];
}

/** A copy of a tensor type's shape (element-wise lookups keep it), undefined when unknown. */
function copiedShape(type: ValueType | undefined): Dim[] | undefined {
  const shape = shapeOf(type);
  return shape && [...shape];
}

function copyElement(source: TensorData, from: number, target: TensorData, to: number): void {
  (target as unknown[])[to] = (source as unknown[])[from];
}

export const ops: OpDef[] = [
  defineOp({
    domain: DOMAIN,
    name: 'ArrayFeatureExtractor',
    since: 1,
    inputs: ['X', 'Y'],
    outputs: ['Z'],
    infer: ({ inputTypes }) => {
      const [data, indices] = inputTypes;
      if (data?.kind !== 'tensor') return [undefined];
      const dataShape = shapeOf(data);
      const indexShape = shapeOf(indices);
      // Every element of Y picks one column, whatever Y's shape.
      const count = indexShape?.every((dim) => typeof dim === 'number') ? product(indexShape as number[]) : undefined;
      return [tensorType(data.dtype, dataShape && extractedShape(dataShape, count))];
    },
    kernel: (ctx) => {
      const data = ctx.tensor(0);
      const indices = integersOf(ctx.tensor(1));
      const columns = data.dims[data.dims.length - 1] ?? 1;
      for (const index of indices) {
        if (index < 0 || index >= columns) ctx.fail('INVALID_ARGUMENT', `index ${index} of input 'Y' is out of range for ${columns} columns`);
      }
      const rows = data.size / columns;
      const out = allocate(data.type, rows * indices.length);
      for (let r = 0; r < rows; r++) {
        indices.forEach((column, k) => copyElement(data.data, r * columns + column, out, r * indices.length + k));
      }
      // A 1-D input still gives a one-row matrix, as onnxruntime does.
      return [new Tensor(data.type, out, extractedShape(data.dims, indices.length) as number[])];
    },
  }),

  defineOp({
    domain: DOMAIN,
    name: 'Binarizer',
    since: 1,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: { threshold: attr.float(0) },
    infer: sameShapeAs(0),
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      const values = Array.from(numbersOf(input), (value) => (value > ctx.attrs.threshold ? 1 : 0));
      return [tensorFromNumbers(input.type, input.dims, values)];
    },
  }),

  // Opset 1: one list of classes; strings map to their index, integers to the class at that index.
  defineOp({
    domain: DOMAIN,
    name: 'LabelEncoder',
    since: 1,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: { classes_strings: attr.strings([]), default_int64: attr.int(-1), default_string: attr.string('_Unused') },
    infer: ({ inputTypes }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor') return [undefined];
      return [tensorType(input.dtype === 'string' ? 'int64' : 'string', copiedShape(input))];
    },
    kernel: (ctx) => {
      const input = ctx.tensor(0);
      const classes = ctx.attrs.classes_strings;
      if (input.type === 'string') {
        const indexOf = new Map(classes.map((name, index) => [name, index]));
        const mapped = (input.data as string[]).map((name) => indexOf.get(name) ?? ctx.attrs.default_int64);
        return [tensorOfLabels('int64', input.dims, mapped)];
      }
      const mapped = integersOf(input).map((index) => classes[index] ?? ctx.attrs.default_string);
      return [tensorOfLabels('string', input.dims, mapped)];
    },
  }),

  labelEncoder(2, labelEncoder2Attrs),
  labelEncoder(4, { ...labelEncoder2Attrs, keys_tensor: attr.tensor(), values_tensor: attr.tensor(), default_tensor: attr.tensor() }),

  defineOp({
    domain: DOMAIN,
    name: 'TreeEnsemble',
    since: 5,
    inputs: ['X'],
    outputs: ['Y'],
    attributes: {
      aggregate_function: attr.int(1),
      leaf_targetids: attr.ints(),
      leaf_weights: attr.tensor(),
      membership_values: attr.tensor(),
      n_targets: attr.int(),
      nodes_falseleafs: attr.ints(),
      nodes_falsenodeids: attr.ints(),
      nodes_featureids: attr.ints(),
      nodes_hitrates: attr.tensor(),
      nodes_missing_value_tracks_true: attr.ints(),
      nodes_modes: attr.tensor(),
      nodes_splits: attr.tensor(),
      nodes_trueleafs: attr.ints(),
      nodes_truenodeids: attr.ints(),
      post_transform: attr.int(0),
      tree_roots: attr.ints(),
    },
    infer: ({ attrs, inputTypes }) => {
      const input = inputTypes[0];
      if (input?.kind !== 'tensor') return [undefined];
      const shape = shapeOf(input);
      return [tensorType(input.dtype, shape && attrs.n_targets !== undefined ? ensembleShape(shape, attrs.n_targets) : undefined)];
    },
    kernel: (ctx) => {
      const a = ctx.attrs;
      const input = ctx.tensor(0);
      const modes = numbersOf(requiredAttr(a.nodes_modes, 'nodes_modes'));
      const membership = a.membership_values && numbersOf(a.membership_values);
      const forest: Forest = {
        roots: requiredAttr(a.tree_roots, 'tree_roots'),
        modes,
        splits: numbersOf(requiredAttr(a.nodes_splits, 'nodes_splits')),
        features: requiredAttr(a.nodes_featureids, 'nodes_featureids'),
        trueIds: requiredAttr(a.nodes_truenodeids, 'nodes_truenodeids'),
        falseIds: requiredAttr(a.nodes_falsenodeids, 'nodes_falsenodeids'),
        trueIsLeaf: requiredAttr(a.nodes_trueleafs, 'nodes_trueleafs'),
        falseIsLeaf: requiredAttr(a.nodes_falseleafs, 'nodes_falseleafs'),
        missingTracksTrue: a.nodes_missing_value_tracks_true ?? [],
        members: memberSets(modes, membership),
        leafTargets: requiredAttr(a.leaf_targetids, 'leaf_targetids'),
        leafWeights: numbersOf(requiredAttr(a.leaf_weights, 'leaf_weights')),
      };
      const targets = requiredAttr(a.n_targets, 'n_targets');
      const dims = ensembleShape(input.dims, targets) as number[];
      const rows = dims[0]!;
      const columns = input.size / Math.max(rows, 1);
      const scores = aggregateScores(forest, a.aggregate_function, numbersOf(input), rows, columns, targets);
      postTransform(scores, targets, a.post_transform);
      return [tensorFromNumbers(input.type, dims, scores)];
    },
  }),
];
