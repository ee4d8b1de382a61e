import type { DataType } from '../../src/core/dtype.js';
import type { AttributeWithDoc } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { float, floats, int, int64s, ints, Random, repeat, singleNodeCase, string, type NodeInput, type SingleNodeModel, type OpCase, type OpGenerator } from './harness.js';

/**
 * Tensor-manipulation, indexing, image and recurrent ops: random spec-valid shapes and attributes, with
 * shape-like inputs (shape, axes, pads, indices, scales) sometimes fed and sometimes given as initializers.
 */



function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A random permutation of 0..n-1. */
function permutation(random: Random, n: number): number[] {
  const items = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `count` distinct axes of a rank-`rank` tensor in random order, each written negative half the time. */
function randomAxes(random: Random, rank: number, count: number): number[] {
  return permutation(random, rank)
    .slice(0, count)
    .map((axis) => (random.bool() ? axis - rank : axis));
}

/** An input that is an initializer half the time. */
function maybeConstant(random: Random, name: string, value: Tensor): NodeInput {
  return { name, value, constant: random.bool() };
}

function int32s(values: number[], dims: number[] = [values.length]): Tensor {
  return new Tensor('int32', Int32Array.from(values), dims);
}

function indexTensor(dtype: 'int32' | 'int64', values: number[], dims: number[]): Tensor {
  return dtype === 'int64' ? int64s(values, dims) : int32s(values, dims);
}

/** Element types for the data-movement ops: mostly float32, with the integer, double and bool paths too. */
const DATA_TYPES: DataType[] = ['float32', 'float32', 'float32', 'int32', 'int64', 'float64', 'float16', 'int8', 'uint8', 'bool'];

/** Random data of any DATA_TYPES type (unsigned and bool kept in range). */
function data(random: Random, dtype: DataType, dims: readonly number[]): Tensor {
  if (dtype === 'bool') return random.tensor(dtype, dims, 0, 1);
  if (dtype === 'uint8') return random.tensor(dtype, dims, 0, 9);
  if (dtype === 'int64' && random.bool(0.3)) return bigInt64s(random, dims);
  return random.tensor(dtype, dims);
}

/** int64 values near +-2^60, beyond a double's exact integers: they catch int64 data passed through numbers. */
function bigInt64s(random: Random, dims: readonly number[]): Tensor {
  const count = product(dims);
  const values = BigInt64Array.from({ length: count }, () => (random.bool() ? 1n : -1n) * (2n ** 60n + BigInt(random.int(0, 999))));
  return new Tensor('int64', values, dims);
}

/**
 * Drops trailing omitted inputs: onnxruntime treats a trailing '' as present for some ops (Squeeze reads a
 * null axes tensor, Split sees a 'split' input beside num_outputs), though the spec reads '' as omitted.
 */
function trimmed(inputs: (NodeInput | undefined)[]): (NodeInput | undefined)[] {
  const kept = [...inputs];
  while (kept.length > 0 && kept[kept.length - 1] === undefined) kept.pop();
  return kept;
}

function nodeCase(label: string, spec: SingleNodeModel): OpCase {
  return singleNodeCase(label, { ...spec, inputs: trimmed(spec.inputs) });
}


/** Reshape: 0 (copy dim), -1 (infer), allowzero with empty tensors. */
const reshape: OpGenerator = {
  op: 'Reshape',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const empty = random.bool(0.15);
      const dims = random.dims(rank, 1, 4);
      if (empty) dims[random.int(0, rank - 1)] = 0;
      const allowzero = random.bool() ? 1 : 0;
      let shape: number[];
      if (empty && allowzero === 0) {
        // allowzero=0: a 0 copies the input dim at its index, here the empty one; -1 cannot be inferred from 0 elements.
        const zeroAt = dims.indexOf(0);
        shape = [...dims.slice(0, zeroAt).map(() => random.int(1, 3)), 0, ...random.dims(random.int(0, 2), 1, 3)];
      } else if (empty && allowzero === 1) {
        // allowzero=1: a 0 in the shape is a real zero dimension; -1 may not appear beside it.
        shape = random.dims(random.int(1, 4), 1, 3);
        shape[random.int(0, shape.length - 1)] = 0;
      } else {
        // Factor the element count into a random number of dims, then copy some with 0 and infer one with -1.
        const total = product(dims);
        shape = [];
        let rest = total;
        const outRank = random.int(1, 5);
        for (let i = 0; i < outRank - 1; i++) {
          const d = random.pick(Array.from({ length: rest }, (_, k) => k + 1).filter((k) => rest % k === 0));
          shape.push(d);
          rest /= d;
        }
        shape.push(rest);
        // One element may also become a scalar: an empty shape.
        if (total === 1 && random.bool(0.3)) shape = [];
        // A 0 copies the input dim at that index (allowzero=0): use it only where the dims agree.
        for (let i = 0; i < shape.length; i++) if (i < rank && shape[i] === dims[i] && allowzero === 0 && random.bool(0.4)) shape[i] = 0;
        if (shape.length > 0 && random.bool(0.6)) {
          const i = random.int(0, shape.length - 1);
          if (shape[i] !== 0) shape[i] = -1;
        }
      }
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Reshape x[${dims}] shape=[${shape}] allowzero=${allowzero} ${dtype}`, {
        opType: 'Reshape',
        opset: 14,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'shape', int64s(shape))],
        outputs: ['y'],
        attributes: { allowzero: int(allowzero) },
      });
    }),
};

const transpose: OpGenerator = {
  op: 'Transpose',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 5);
      const dims = random.sometimesEmpty(random.dims(rank, 1, 4));
      const perm = random.bool(0.2) ? undefined : permutation(random, rank);
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Transpose x[${dims}] perm=${perm ? `[${perm}]` : 'default'} ${dtype}`, {
        opType: 'Transpose',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes: perm ? { perm: ints(perm) } : {},
      });
    }),
};

/** Slice: negative steps, negative and out-of-range starts/ends, huge int64 sentinels, omitted axes/steps. */
const slice: OpGenerator = {
  op: 'Slice',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.sometimesEmpty(random.dims(rank, 1, 6));
      const withAxes = random.bool(0.7);
      const axes = withAxes ? randomAxes(random, rank, random.int(1, rank)) : Array.from({ length: rank }, (_, i) => i);
      // starts, ends, axes and steps share one index type, int32 or int64.
      const indexType = random.pick(['int32', 'int64'] as const);
      const indices = (values: number[]): Tensor => indexTensor(indexType, values, [values.length]);
      const withSteps = random.bool(0.7);
      const steps = axes.map(() => (withSteps ? random.pick([1, 1, 2, 3, -1, -1, -2, -3]) : 1));
      // Huge values stand for "past the end": INT32_MAX / INT32_MIN with int32 indices, 2^62 with int64.
      // An end of INT_MAX with a negative step clamps to dim - 1 per the spec (and numpy, onnx's reference);
      // onnxruntime reads it as numpy's None, slicing to the front. So INT_MAX ends only step forward.
      const bound = (dim: number, step: number, isEnd: boolean): number => {
        const choice = random.int(0, 9);
        if (choice === 0 && !(isEnd && step < 0 && indexType === 'int32')) return indexType === 'int64' ? 2 ** 62 : 2 ** 31 - 1;
        if (choice === 1) return indexType === 'int64' ? -(2 ** 62) : -(2 ** 31);
        return random.int(-dim - 3, dim + 3);
      };
      const dimOf = (axis: number): number => dims[axis < 0 ? axis + rank : axis]!;
      const starts = axes.map((axis, i) => bound(dimOf(axis), steps[i]!, false));
      const ends = axes.map((axis, i) => bound(dimOf(axis), steps[i]!, true));
      const dtype = random.pick(DATA_TYPES);
      const inputs: (NodeInput | undefined)[] = [
        { name: 'x', value: data(random, dtype, dims) },
        maybeConstant(random, 'starts', indices(starts)),
        maybeConstant(random, 'ends', indices(ends)),
        withAxes || withSteps ? maybeConstant(random, 'axes', indices(axes)) : undefined,
        withSteps ? maybeConstant(random, 'steps', indices(steps)) : undefined,
      ];
      return nodeCase(
        `Slice x[${dims}] starts=[${starts}] ends=[${ends}] axes=${withAxes || withSteps ? `[${axes}]` : '-'} steps=${withSteps ? `[${steps}]` : '-'} ${indexType} ${dtype}`,
        { opType: 'Slice', opset: 13, inputs, outputs: ['y'] },
      );
    }),
};

/** Pad (opsets 13, 18, 19): all four modes, negative pads, the axes input, constant_value omitted or given. */
const pad: OpGenerator = {
  op: 'Pad',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 5);
      const mode = random.pick(['constant', 'reflect', 'edge', 'wrap']);
      const withAxes = random.bool(0.4);
      // wrap came with opset 19, the axes input with 18 (13 is 11's schema plus bool).
      const opset = mode === 'wrap' ? 19 : withAxes ? random.pick([18, 19]) : random.pick([13, 18, 19]);
      const axes = withAxes ? randomAxes(random, rank, random.int(1, rank)) : Array.from({ length: rank }, (_, i) => i);
      const axisDims = axes.map((axis) => dims[axis < 0 ? axis + rank : axis]!);
      // Each axis: begin and end pads, negative ones crop; the output dim stays at least 1 (0 for constant).
      const begins: number[] = [];
      const ends: number[] = [];
      for (const dim of axisDims) {
        // reflect needs pads below the dim (it mirrors without repeating the edge); wrap up to the dim.
        const most = mode === 'reflect' ? dim - 1 : mode === 'wrap' ? dim : 3;
        let begin = random.int(-(dim - 1), most);
        let end = random.int(-(dim - 1), most);
        // constant mode may crop an axis away entirely.
        while (dim + begin + end < (mode === 'constant' ? 0 : 1)) {
          if (begin < 0) begin++;
          else end++;
        }
        // Negative pads beside positive ones on one axis are open in the spec (onnx's reference, np.pad, rejects
        // negative pads): onnxruntime crops first and reflects/wraps the cropped axis; keep one sign per axis.
        if ((mode === 'reflect' || mode === 'wrap') && begin * end < 0) {
          if (begin < 0) begin = 0;
          else end = 0;
        }
        begins.push(begin);
        ends.push(end);
      }
      const pads = [...begins, ...ends];
      const dtype = random.pick(DATA_TYPES);
      const withValue = mode === 'constant' && random.bool(0.6);
      const value = dtype === 'float32' ? 0.5 : 7;
      const inputs: (NodeInput | undefined)[] = [
        { name: 'x', value: data(random, dtype, dims) },
        maybeConstant(random, 'pads', int64s(pads)),
        withValue ? maybeConstant(random, 'value', new Tensor(dtype, dtype === 'int64' ? [BigInt(value)] : [value], [])) : undefined,
        withAxes ? maybeConstant(random, 'axes', int64s(axes)) : undefined,
      ];
      return nodeCase(
        `Pad opset=${opset} x[${dims}] mode=${mode} pads=[${pads}] axes=${withAxes ? `[${axes}]` : '-'} value=${withValue ? value : '-'} ${dtype}`,
        { opType: 'Pad', opset, inputs, outputs: ['y'], attributes: { mode: string(mode) } },
      );
    }),
};

const concat: OpGenerator = {
  op: 'Concat',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 4);
      const axis = random.int(-rank, rank - 1);
      const n = random.int(1, 4);
      const dtype = random.pick(DATA_TYPES);
      const shapes = Array.from({ length: n }, () => {
        const shape = [...dims];
        shape[axis < 0 ? axis + rank : axis] = random.int(0, 3);
        return shape;
      });
      return nodeCase(`Concat axis=${axis} ${shapes.map((s) => `[${s}]`).join(' ')} ${dtype}`, {
        opType: 'Concat',
        opset: 13,
        inputs: shapes.map((shape, i) => maybeConstant(random, `x${i}`, data(random, dtype, shape))),
        outputs: ['y'],
        attributes: { axis: int(axis) },
      });
    }),
};

/** Split: the split input (zero-length parts allowed), num_outputs (uneven last part), and the even default. */
const split: OpGenerator = {
  op: 'Split',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 3);
      const dims = random.dims(rank, 1, 6);
      const axis = random.int(-rank, rank - 1);
      const dim = dims[axis < 0 ? axis + rank : axis]!;
      const dtype = random.pick(DATA_TYPES);
      const form = random.pick(['split', 'num_outputs', 'even']);
      let outputs: number;
      let splitSizes: number[] | undefined;
      let opset = 18;
      const attributes: Record<string, AttributeWithDoc> = { axis: int(axis) };
      if (form === 'split') {
        outputs = random.int(1, 4);
        splitSizes = Array.from({ length: outputs }, () => 0);
        for (let left = dim; left > 0; left--) splitSizes[random.int(0, outputs - 1)]!++;
        // Before opset 13 the sizes were an attribute.
        if (random.bool(0.3)) {
          opset = 11;
          attributes['split'] = ints(splitSizes);
        }
      } else if (form === 'num_outputs') {
        // ceil(dim / n) per part, the last smaller. Where that leaves no room for the last part (dim 4, n 3:
        // 2 2 0; dim 5, n 4: 2 2 2 -1) the spec is silent and onnxruntime rejects the model: only n that fit.
        const filling = Array.from({ length: dim }, (_, i) => i + 1).filter((n) => dim - Math.ceil(dim / n) * (n - 1) >= 1);
        outputs = random.pick(filling);
        attributes['num_outputs'] = int(outputs);
      } else {
        const divisors = Array.from({ length: dim }, (_, d) => d + 1).filter((d) => dim % d === 0);
        outputs = random.pick(divisors);
        opset = 13;
      }
      const names = Array.from({ length: outputs }, (_, i) => `y${i}`);
      return nodeCase(`Split x[${dims}] axis=${axis} ${form} outputs=${outputs} split=${splitSizes ? `[${splitSizes}]` : '-'} opset=${opset}`, {
        opType: 'Split',
        opset,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, splitSizes && opset > 11 ? maybeConstant(random, 'split', int64s(splitSizes)) : undefined],
        outputs: names,
        attributes,
      });
    }),
};

const squeeze: OpGenerator = {
  op: 'Squeeze',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 5);
      const dims = random.dims(rank, 1, 3).map((d) => (random.bool(0.4) ? 1 : d));
      const ones = dims.flatMap((d, i) => (d === 1 ? [i] : []));
      const withAxes = ones.length > 0 && random.bool(0.7);
      const axes = withAxes
        ? permutation(random, ones.length)
            .slice(0, random.int(1, ones.length))
            .map((i) => (random.bool() ? ones[i]! - rank : ones[i]!))
        : [];
      const dtype = random.pick(DATA_TYPES);
      // Opset 11 takes the axes as an attribute, 13 as an input.
      const opset = random.pick([11, 13]);
      return nodeCase(`Squeeze x[${dims}] axes=${withAxes ? `[${axes}]` : '-'} opset=${opset}`, {
        opType: 'Squeeze',
        opset,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, withAxes && opset === 13 ? maybeConstant(random, 'axes', int64s(axes)) : undefined],
        outputs: ['y'],
        attributes: withAxes && opset === 11 ? { axes: ints(axes) } : {},
      });
    }),
};

const unsqueeze: OpGenerator = {
  op: 'Unsqueeze',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(0, 3);
      const dims = random.dims(rank, 1, 4);
      const added = random.int(1, 3);
      const outRank = rank + added;
      const axes = randomAxes(random, outRank, added);
      const dtype = random.pick(DATA_TYPES);
      const opset = random.pick([11, 13]);
      return nodeCase(`Unsqueeze x[${dims}] axes=[${axes}] opset=${opset}`, {
        opType: 'Unsqueeze',
        opset,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, opset === 13 ? maybeConstant(random, 'axes', int64s(axes)) : undefined],
        outputs: ['y'],
        attributes: opset === 11 ? { axes: ints(axes) } : {},
      });
    }),
};

/** Expand: the shape may be shorter or longer than the input, with 1s on either side. */
const expand: OpGenerator = {
  op: 'Expand',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(0, 4);
      const dims = random.dims(rank, 1, 4).map((d) => (random.bool(0.4) ? 1 : d));
      const shapeRank = random.int(0, 5);
      const shape: number[] = [];
      for (let i = 0; i < shapeRank; i++) {
        const inputIndex = rank - shapeRank + i;
        const inputDim = inputIndex >= 0 ? dims[inputIndex]! : 1;
        shape.push(inputDim === 1 ? random.pick([0, 1, 1, 2, 2, 3, 3]) : random.pick([1, inputDim]));
      }
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Expand x[${dims}] shape=[${shape}] ${dtype}`, {
        opType: 'Expand',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'shape', int64s(shape))],
        outputs: ['y'],
      });
    }),
};

const tile: OpGenerator = {
  op: 'Tile',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.sometimesEmpty(random.dims(rank, 1, 4));
      const repeats = dims.map(() => (random.bool(0.1) ? 0 : random.int(1, 3)));
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Tile x[${dims}] repeats=[${repeats}] ${dtype}`, {
        opType: 'Tile',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'repeats', int64s(repeats))],
        outputs: ['y'],
      });
    }),
};

const depthToSpace: OpGenerator = {
  op: 'DepthToSpace',
  cases: (random, count) =>
    repeat(count, () => {
      const blocksize = random.int(1, 3);
      const dims = [random.int(1, 2), blocksize * blocksize * random.int(1, 3), random.int(1, 4), random.int(1, 4)];
      const mode = random.pick(['DCR', 'CRD']);
      // onnxruntime registers DepthToSpace/SpaceToDepth for floating types only.
      const dtype = random.pick(['float32', 'float64'] as const);
      return nodeCase(`DepthToSpace x[${dims}] blocksize=${blocksize} mode=${mode} ${dtype}`, {
        opType: 'DepthToSpace',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes: { blocksize: int(blocksize), mode: string(mode) },
      });
    }),
};

const spaceToDepth: OpGenerator = {
  op: 'SpaceToDepth',
  cases: (random, count) =>
    repeat(count, () => {
      const blocksize = random.int(1, 3);
      const dims = [random.int(1, 2), random.int(1, 3), blocksize * random.int(1, 3), blocksize * random.int(1, 3)];
      // onnxruntime registers DepthToSpace/SpaceToDepth for floating types only.
      const dtype = random.pick(['float32', 'float64'] as const);
      return nodeCase(`SpaceToDepth x[${dims}] blocksize=${blocksize} ${dtype}`, {
        opType: 'SpaceToDepth',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes: { blocksize: int(blocksize) },
      });
    }),
};

/** Gather: scalar to rank-3 indices, negative indices, negative axis, int32 and int64 indices. */
const gather: OpGenerator = {
  op: 'Gather',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 5);
      const axis = random.int(-rank, rank - 1);
      const dim = dims[axis < 0 ? axis + rank : axis]!;
      const indexDims = random.sometimesEmpty(random.dims(random.int(0, 3), 1, 4));
      const indices = Array.from({ length: product(indexDims) }, () => random.int(-dim, dim - 1));
      const indexType = random.pick(['int32', 'int64'] as const);
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Gather x[${dims}] axis=${axis} indices[${indexDims}]=${indices.slice(0, 8)} ${indexType} ${dtype}`, {
        opType: 'Gather',
        opset: 13,
        inputs: [maybeConstant(random, 'x', data(random, dtype, dims)), maybeConstant(random, 'indices', indexTensor(indexType, indices, indexDims))],
        outputs: ['y'],
        attributes: { axis: int(axis) },
      });
    }),
};

const gatherElements: OpGenerator = {
  op: 'GatherElements',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 5);
      const axis = random.int(-rank, rank - 1);
      const positive = axis < 0 ? axis + rank : axis;
      // Indices may be any size along the axis and no larger than the data elsewhere.
      const indexDims = dims.map((d, i) => (i === positive ? random.int(1, 5) : random.int(1, d)));
      const dim = dims[positive]!;
      const indices = Array.from({ length: product(indexDims) }, () => random.int(-dim, dim - 1));
      const indexType = random.pick(['int32', 'int64'] as const);
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`GatherElements x[${dims}] axis=${axis} indices[${indexDims}] ${indexType} ${dtype}`, {
        opType: 'GatherElements',
        opset: 13,
        inputs: [maybeConstant(random, 'x', data(random, dtype, dims)), maybeConstant(random, 'indices', indexTensor(indexType, indices, indexDims))],
        outputs: ['y'],
        attributes: { axis: int(axis) },
      });
    }),
};

const gatherND: OpGenerator = {
  op: 'GatherND',
  cases: (random, count) =>
    repeat(count, () => {
      const batchDims = random.int(0, 2);
      const rank = random.int(batchDims + 1, 4);
      const dims = random.dims(rank, 1, 4);
      const k = random.int(1, rank - batchDims);
      const middle = random.sometimesEmpty(random.dims(random.int(0, 2), 1, 3));
      const indexDims = [...dims.slice(0, batchDims), ...middle, k];
      const tuples = product(indexDims) / k;
      const indices: number[] = [];
      for (let t = 0; t < tuples; t++) {
        for (let j = 0; j < k; j++) {
          const dim = dims[batchDims + j]!;
          indices.push(random.int(-dim, dim - 1));
        }
      }
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`GatherND x[${dims}] indices[${indexDims}] batch_dims=${batchDims} ${dtype}`, {
        opType: 'GatherND',
        opset: 13,
        inputs: [maybeConstant(random, 'x', data(random, dtype, dims)), maybeConstant(random, 'indices', int64s(indices, indexDims))],
        outputs: ['y'],
        attributes: { batch_dims: int(batchDims) },
      });
    }),
};

const REDUCTIONS = ['none', 'add', 'mul', 'max', 'min'];

/** ScatterElements (opset 18): every reduction; with 'none' the indices along the axis never repeat. */
const scatterElements: OpGenerator = {
  op: 'ScatterElements',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 5);
      const axis = random.int(-rank, rank - 1);
      const positive = axis < 0 ? axis + rank : axis;
      const dim = dims[positive]!;
      const reduction = random.pick(REDUCTIONS);
      const indexDims = dims.map((d, i) => (i === positive ? random.int(1, reduction === 'none' ? d : 5) : random.int(1, d)));
      // Fill the indices line by line along the axis: distinct values for 'none' (duplicates are unspecified).
      const length = indexDims[positive]!;
      const inner = product(indexDims.slice(positive + 1));
      const indices = new Array<number>(product(indexDims)).fill(0);
      for (let line = 0; line < product(indexDims) / length; line++) {
        const outer = Math.floor(line / inner);
        const values = reduction === 'none' ? permutation(random, dim) : Array.from({ length }, () => random.int(0, dim - 1));
        for (let j = 0; j < length; j++) {
          const value = values[j]!;
          indices[(outer * length + j) * inner + (line % inner)] = random.bool(0.3) ? value - dim : value;
        }
      }
      // Reductions over bool are not defined; onnxruntime has none over float16 either.
      const dtype = random.pick(DATA_TYPES.filter((type) => reduction === 'none' || (type !== 'bool' && type !== 'float16')));
      return nodeCase(`ScatterElements x[${dims}] axis=${axis} indices[${indexDims}] reduction=${reduction} ${dtype}`, {
        opType: 'ScatterElements',
        opset: 18,
        inputs: [
          maybeConstant(random, 'x', data(random, dtype, dims)),
          maybeConstant(random, 'indices', int64s(indices, indexDims)),
          maybeConstant(random, 'updates', data(random, dtype, indexDims)),
        ],
        outputs: ['y'],
        attributes: { axis: int(axis), reduction: string(reduction) },
      });
    }),
};

/** ScatterND (opset 18): partial-index updates of slices, every reduction, unique indices for 'none'. */
const scatterND: OpGenerator = {
  op: 'ScatterND',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 4);
      const k = random.int(1, rank);
      const reduction = random.pick(REDUCTIONS);
      const positions = product(dims.slice(0, k));
      const tupleCount = reduction === 'none' ? random.int(1, positions) : random.int(1, 6);
      const middle = random.bool() ? [tupleCount] : [1, tupleCount];
      const order = permutation(random, positions);
      const indices: number[] = [];
      for (let t = 0; t < tupleCount; t++) {
        let flat = reduction === 'none' ? order[t]! : random.int(0, positions - 1);
        const tuple: number[] = [];
        for (let j = k - 1; j >= 0; j--) {
          const d = dims[j]!;
          const value = flat % d;
          flat = Math.floor(flat / d);
          tuple.unshift(random.bool(0.3) ? value - d : value);
        }
        indices.push(...tuple);
      }
      const updateDims = [...middle, ...dims.slice(k)];
      // Reductions over bool are not defined; onnxruntime has none over float16 either.
      const dtype = random.pick(DATA_TYPES.filter((type) => reduction === 'none' || (type !== 'bool' && type !== 'float16')));
      return nodeCase(`ScatterND x[${dims}] indices[${middle},${k}] reduction=${reduction} ${dtype}`, {
        opType: 'ScatterND',
        opset: 18,
        inputs: [
          maybeConstant(random, 'x', data(random, dtype, dims)),
          maybeConstant(random, 'indices', int64s(indices, [...middle, k])),
          maybeConstant(random, 'updates', data(random, dtype, updateDims)),
        ],
        outputs: ['y'],
        attributes: { reduction: string(reduction) },
      });
    }),
};

/** OneHot: the (indices, depth, values) type combinations onnxruntime registers, negative and out-of-range indices. */
const oneHot: OpGenerator = {
  op: 'OneHot',
  cases: (random, count) =>
    repeat(count, () => {
      const [indexType, valueType, depthType] = random.pick([
        ['int64', 'int64', 'int64'],
        ['float32', 'int64', 'int64'],
        ['int64', 'float32', 'int64'],
        ['int32', 'float32', 'int32'],
        ['int32', 'float32', 'float32'],
        ['float32', 'float32', 'float32'],
        ['int64', 'float32', 'float32'],
        ['int64', 'int32', 'float32'],
      ] as const);
      const depth = random.int(1, 6);
      // onnx's shape inference for OneHot rejects scalar indices, so onnxruntime cannot load them.
      const indexDims = random.dims(random.int(1, 3), 1, 4);
      const rank = indexDims.length;
      const axis = random.int(-rank - 1, rank);
      const indices = Array.from({ length: product(indexDims) }, () => random.int(-depth - 1, depth));
      const values = valueType === 'int64' ? [BigInt(random.int(-3, 3)), BigInt(random.int(4, 9))] : [random.int(-3, 3), random.int(4, 9) + 0.5];
      const depthValue = depthType === 'int64' ? [BigInt(depth)] : [depth];
      return nodeCase(`OneHot indices[${indexDims}] ${indexType} depth=${depth} ${depthType} axis=${axis} values ${valueType}`, {
        opType: 'OneHot',
        opset: 11,
        inputs: [
          maybeConstant(random, 'indices', new Tensor(indexType, indices, indexDims)),
          maybeConstant(random, 'depth', new Tensor(depthType, depthValue, [])),
          maybeConstant(random, 'values', new Tensor(valueType, values, [2])),
        ],
        outputs: ['y'],
        attributes: { axis: int(axis) },
      });
    }),
};

const trilu: OpGenerator = {
  op: 'Trilu',
  cases: (random, count) =>
    repeat(count, () => {
      const dims = random.dims(random.int(2, 4), 1, 5);
      const upper = random.int(0, 1);
      const withK = random.bool(0.7);
      const k = random.int(-6, 6);
      // onnxruntime has no 8-bit Trilu.
      const dtype = random.pick(DATA_TYPES.filter((type) => type !== 'uint8' && type !== 'int8'));
      return nodeCase(`Trilu x[${dims}] upper=${upper} k=${withK ? k : '-'} ${dtype}`, {
        opType: 'Trilu',
        opset: 14,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, withK ? maybeConstant(random, 'k', int64s([k], [])) : undefined],
        outputs: ['y'],
        attributes: { upper: int(upper) },
      });
    }),
};

/** Range: every numeric type, both signs of delta, empty results; float values are exact quarters. */
const range: OpGenerator = {
  op: 'Range',
  cases: (random, count) =>
    repeat(count, () => {
      const dtype = random.pick(['float32', 'float64', 'int32', 'int64'] as const);
      const floating = dtype === 'float32' || dtype === 'float64';
      const value = (low: number, high: number): number => (floating ? random.int(low * 4, high * 4) / 4 : random.int(low, high));
      const start = value(-10, 10);
      const limit = value(-10, 10);
      let delta = value(-4, 4);
      if (delta === 0) delta = floating ? 0.75 : 3;
      // int64 ranges sometimes start past 2^60, where a double cannot hold every value.
      const offset = dtype === 'int64' && random.bool(0.3) ? 2n ** 60n : 0n;
      const scalar = (v: number): Tensor => new Tensor(dtype, dtype === 'int64' ? [BigInt(v) + offset] : [v], []);
      return nodeCase(`Range ${dtype} start=${start} limit=${limit} delta=${delta} offset=${offset}`, {
        opType: 'Range',
        opset: 11,
        inputs: [maybeConstant(random, 'start', scalar(start)), maybeConstant(random, 'limit', scalar(limit)), maybeConstant(random, 'delta', scalar(delta))],
        outputs: ['y'],
      });
    }),
};

/** Scales exact in float32. */
const EXACT_SCALES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];

const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const COORDINATE_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize'];

/**
 * Resize (opsets 13 and 19): nearest with every nearest_mode at any rank and on integers too; linear and
 * cubic over the layouts onnxruntime's CPU kernel takes; scales or sizes, every coordinate transformation
 * mode, axes, keep_aspect_ratio_policy, cubic_coeff_a, exclude_outside, antialias, extrapolation_value.
 */
const resize: OpGenerator = {
  op: 'Resize',
  cases: (random, count) =>
    repeat(count, () => {
      for (;;) {
        const made = resizeCase(random);
        if (made) return made;
      }
    }),
};

/** One Resize case, or undefined when the draw landed on a corner onnxruntime gets wrong (then draw again). */
function resizeCase(random: Random): OpCase | undefined {
  const mode = random.pick(['nearest', 'linear', 'cubic']);
  const rank = mode === 'nearest' ? random.int(1, 4) : mode === 'linear' ? random.pick([2, 3, 4, 5]) : random.pick([2, 4]);
  const dims = random.dims(rank, 1, rank === 5 ? 4 : 6);
  // The resized axes: any for nearest; for linear and cubic the layouts onnxruntime's CPU kernel takes: all
  // of 2-D, the last two or all three of 3-D, H and W of NCHW (or NHWC, linear only) 4-D, the last three of 5-D.
  const layouts: Record<number, number[][]> = { 2: [[0, 1]], 3: [[1, 2], [0, 1, 2]], 4: mode === 'linear' ? [[2, 3], [1, 2]] : [[2, 3]], 5: [[2, 3, 4]] };
  const resized = mode === 'nearest' ? Array.from({ length: rank }, (_, i) => i).filter(() => random.bool(0.7)) : [...random.pick(layouts[rank]!)];
  if (resized.length === 0) resized.push(rank - 1);
  // Opset 13 has tf_half_pixel_for_nn and lacks half_pixel_symmetric, axes, the policy and antialias.
  const opset = random.pick([13, 19]);
  const opset13Modes = [...COORDINATE_MODES.filter((name) => name !== 'half_pixel_symmetric'), 'tf_half_pixel_for_nn'];
  const coordinate = random.pick(opset === 13 ? opset13Modes : COORDINATE_MODES);
  // With scales, onnx's reference (and its node test data) put the unrounded scale * length into these
  // modes' formulas; onnxruntime uses the integer output length and fails test_resize_downsample_scales_
  // linear_align_corners. So these modes get only scales for which scale * length is a whole number.
  const lengthDependent = ['align_corners', 'pytorch_half_pixel', 'tf_crop_and_resize'].includes(coordinate);
  // pytorch_half_pixel at output length 1: the spec's text says x_original = 0, onnx's reference -0.5; they
  // differ for cubic and antialiased linear, so those keep every output length above 1 there.
  const shortest = mode !== 'nearest' && coordinate === 'pytorch_half_pixel' ? 2 : 1;
  const attributes: Record<string, AttributeWithDoc> = {
    mode: string(mode),
    coordinate_transformation_mode: string(coordinate),
  };
  if (mode === 'nearest') attributes['nearest_mode'] = string(random.pick(NEAREST_MODES));
  if (mode === 'cubic') {
    attributes['cubic_coeff_a'] = float(random.pick([-0.75, -0.5]));
    if (random.bool(0.3)) attributes['exclude_outside'] = int(1);
  }
  if (opset === 19 && mode !== 'nearest' && random.bool(0.3)) attributes['antialias'] = int(1);
  if (coordinate === 'tf_crop_and_resize') attributes['extrapolation_value'] = float(random.pick([0, -1.5]));
  const withAxes = opset === 19 && random.bool(0.4);
  const listed = withAxes ? resized : Array.from({ length: rank }, (_, i) => i);
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  let policy = 'stretch';
  // The scale and output length of every axis, to spot the corners below.
  const axisScale = dims.map(() => 1);
  const outDims = [...dims];
  if (random.bool()) {
    sizes = listed.map((axis) => (resized.includes(axis) ? random.int(shortest, 9) : dims[axis]!));
    // half_pixel_symmetric nearest at a scale like 2/6: the exact coordinate is a whole number, which float32
    // arithmetic (onnxruntime) misses by an ulp and floor/ceil then round away; keep to dyadic scales there.
    const dyadic = (size: number, length: number): boolean => Number.isInteger((size / length) * 64);
    if (mode === 'nearest' && coordinate === 'half_pixel_symmetric' && !listed.every((axis, i) => dyadic(sizes![i]!, dims[axis]!))) return undefined;
    listed.forEach((axis, i) => {
      axisScale[axis] = sizes![i]! / dims[axis]!;
      outDims[axis] = sizes![i]!;
    });
    // The policy takes one scale over all listed axes: keep it to the resized ones.
    if (opset === 19 && listed.length === resized.length && random.bool(0.4)) {
      policy = random.pick(['not_larger', 'not_smaller']);
      const ratios = resized.map((axis) => axisScale[axis]!);
      const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const axis of resized) {
        axisScale[axis] = scale;
        outDims[axis] = Math.floor(scale * dims[axis]! + 0.5);
        // The policy's one scale makes scale * length fractional on some axes: see lengthDependent.
        if (lengthDependent && !Number.isInteger(scale * dims[axis]!)) return undefined;
        if (outDims[axis]! < shortest) return undefined;
      }
      attributes['keep_aspect_ratio_policy'] = string(policy);
    }
  } else {
    scales = listed.map((axis) => {
      if (!resized.includes(axis)) return 1;
      const length = dims[axis]!;
      const fitting = EXACT_SCALES.filter((scale) => (!lengthDependent || Number.isInteger(scale * length)) && Math.floor(scale * length) >= shortest);
      // 0.6 and 1.7 are inexact in float32: fine for the continuous modes, but nearest's floor/round
      // would then hinge on the last bit of float32 vs float64 arithmetic, which the spec leaves open.
      const scale = mode !== 'nearest' && !lengthDependent && random.bool(0.3) ? random.pick([0.6, 1.7]) : random.pick(fitting);
      axisScale[axis] = scale;
      outDims[axis] = Math.floor(scale * length);
      return scale;
    });
    if (scales.some((scale, i) => Math.floor(scale * dims[listed[i]!]!) < shortest)) return undefined;
  }
  // onnxruntime ignores the axes attribute when it is negative and keep_aspect_ratio_policy is set.
  const axes = withAxes ? resized.map((axis) => (policy === 'stretch' && random.bool() ? axis - rank : axis)) : undefined;
  if (axes) attributes['axes'] = ints(axes);
  let roi: number[] | undefined;
  if (coordinate !== 'tf_crop_and_resize' && random.bool(0.15)) {
    // A roi outside tf_crop_and_resize must be ignored.
    roi = [...listed.map(() => 0.25), ...listed.map(() => 0.5)];
  } else if (coordinate === 'tf_crop_and_resize') {
    // Eighths are exact in float32, so nearest's ties fall the same way in float32 and float64. Axes kept
    // at their length get the whole roi: onnxruntime skips them, though the roi still applies per the spec.
    const kept = (axis: number): boolean => outDims[axis] === dims[axis] && axisScale[axis] === 1;
    const starts = listed.map((axis) => (resized.includes(axis) && !kept(axis) ? random.int(0, 3) / 8 : 0));
    const ends = listed.map((axis) => (resized.includes(axis) && !kept(axis) ? random.int(5, 10) / 8 : 1));
    roi = [...starts, ...ends];
  }
  // onnxruntime copies the input whenever the output dims equal the input dims, though a scale other than
  // 1 (say 1.25 on a length of 3) still moves the sampling points.
  if (outDims.every((dim, axis) => dim === dims[axis]) && axisScale.some((scale) => scale !== 1)) return undefined;
  // With antialias it does so per axis, for any axis whose length stays.
  const lengthKept = dims.some((dim, axis) => outDims[axis] === dim && axisScale[axis] !== 1);
  if (attributes['antialias'] && lengthKept) return undefined;
  // Nearest also runs on integers; interpolating modes stay float (the spec does not say how to round).
  const dtype = mode === 'nearest' ? random.pick(['float32', 'float32', 'int32', 'int8', 'uint8'] as const) : 'float32';
  // Before opset 18 sizes came after an empty scales tensor (exporters still write them so).
  const emptyScales = sizes && random.bool(0.3) ? { name: 'scales', value: new Tensor('float32', [], [0]), constant: true } : undefined;
  const inputs: (NodeInput | undefined)[] = [
    { name: 'x', value: data(random, dtype, dims) },
    roi ? maybeConstant(random, 'roi', new Tensor('float32', roi, [roi.length])) : undefined,
    scales ? maybeConstant(random, 'scales', new Tensor('float32', scales, [scales.length])) : emptyScales,
    sizes ? maybeConstant(random, 'sizes', int64s(sizes)) : undefined,
  ];
  const described = Object.entries(attributes)
    .map(([name, attribute]) => `${name}=${JSON.stringify(attribute.value)}`)
    .join(' ');
  const given = `scales=${scales ? `[${scales}]` : '-'} sizes=${sizes ? `[${sizes}]` : '-'} roi=${roi ? `[${roi}]` : '-'}`;
  return nodeCase(`Resize opset=${opset} x[${dims}] ${dtype} ${described} ${given}`, {
    opType: 'Resize',
    opset,
    inputs,
    outputs: ['y'],
    attributes,
  });
}

/** The recurrent ops' activation functions and how many of (alpha, beta) each takes. */
const ACTIVATION_PARAMETERS: Record<string, number> = {
  Relu: 0,
  Tanh: 0,
  Sigmoid: 0,
  Affine: 2,
  LeakyRelu: 1,
  ThresholdedRelu: 1,
  ScaledTanh: 2,
  HardSigmoid: 2,
  Elu: 1,
  Softsign: 0,
  Softplus: 0,
};

/** RNN, GRU and LSTM: every direction, random sizes, optional B / sequence_lens / initial states / peepholes. */
function recurrent(opType: 'RNN' | 'GRU' | 'LSTM'): OpGenerator {
  const gates = opType === 'RNN' ? 1 : opType === 'GRU' ? 3 : 4;
  return {
    op: opType,
    cases: (random, count) =>
      repeat(count, () => {
        const direction = random.pick(['forward', 'reverse', 'bidirectional']);
        const directions = direction === 'bidirectional' ? 2 : 1;
        const seq = random.int(1, 6);
        const batch = random.int(1, 4);
        const inputSize = random.int(1, 6);
        const hidden = random.int(1, 6);
        // layout stays 0: onnxruntime's CPU kernels reject layout 1 (batch first).
        const attributes: Record<string, AttributeWithDoc> = { direction: string(direction), hidden_size: int(hidden) };
        if (opType === 'GRU' && random.bool()) attributes['linear_before_reset'] = int(1);
        if (random.bool(0.2)) attributes['clip'] = float(0.5);
        if (opType === 'LSTM' && random.bool(0.3)) attributes['input_forget'] = int(1);
        if (random.bool(0.4)) {
          // Any spec activation per gate function and direction; the alpha / beta lists hold one value per
          // function that takes one, in order. They are always given: without them onnxruntime uses 0, not the
          // spec's defaults (those of the ONNX ops, e.g. LeakyRelu's 0.01).
          const perDirection = opType === 'RNN' ? 1 : opType === 'GRU' ? 2 : 3;
          const names = Array.from({ length: perDirection * directions }, () => random.pick(Object.keys(ACTIVATION_PARAMETERS)));
          attributes['activations'] = { type: 'strings', value: names };
          const alphas = names.filter((name) => ACTIVATION_PARAMETERS[name]! >= 1).map(() => random.int(1, 8) / 8);
          const betas = names.filter((name) => ACTIVATION_PARAMETERS[name]! >= 2).map(() => random.int(-4, 4) / 8);
          if (alphas.length > 0) attributes['activation_alpha'] = floats(alphas);
          if (betas.length > 0) attributes['activation_beta'] = floats(betas);
          // Unbounded activations can grow the state past float32's range (onnxruntime then gives inf / NaN
          // where double arithmetic stays finite): clip their inputs.
          if (names.some((name) => !['Tanh', 'Sigmoid', 'Softsign', 'HardSigmoid', 'ScaledTanh'].includes(name))) attributes['clip'] = float(2);
        }
        const withB = random.bool(0.7);
        const withLens = random.bool(0.5);
        const withH = random.bool(0.5);
        const withC = opType === 'LSTM' && random.bool(0.5);
        const withP = opType === 'LSTM' && random.bool(0.4);
        // Lengths from 1: for a length of 0 the spec does not say what Y_h / Y_c are (onnxruntime gives zeros,
        // edgerun the initial state).
        const lens = Array.from({ length: batch }, () => random.int(1, seq));
        const inputs: (NodeInput | undefined)[] = [
          { name: 'X', value: random.tensor('float32', [seq, batch, inputSize]) },
          maybeConstant(random, 'W', random.tensor('float32', [directions, gates * hidden, inputSize])),
          maybeConstant(random, 'R', random.tensor('float32', [directions, gates * hidden, hidden])),
          withB ? maybeConstant(random, 'B', random.tensor('float32', [directions, 2 * gates * hidden])) : undefined,
          withLens ? maybeConstant(random, 'sequence_lens', int32s(lens)) : undefined,
          withH ? { name: 'initial_h', value: random.tensor('float32', [directions, batch, hidden]) } : undefined,
        ];
        if (opType === 'LSTM') {
          inputs.push(withC ? { name: 'initial_c', value: random.tensor('float32', [directions, batch, hidden]) } : undefined);
          inputs.push(withP ? maybeConstant(random, 'P', random.tensor('float32', [directions, 3 * hidden])) : undefined);
        }
        const outputs = opType === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
        const described = Object.entries(attributes)
          .map(([name, attribute]) => `${name}=${JSON.stringify(attribute.value)}`)
          .join(' ');
        const optional = [withB && 'B', withLens && `lens=[${lens}]`, withH && 'h0', withC && 'c0', withP && 'P'].filter(Boolean).join(' ');
        return nodeCase(`${opType} seq=${seq} batch=${batch} input=${inputSize} ${described} ${optional}`, {
          opType,
          opset: 14,
          inputs,
          outputs,
          attributes,
        });
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Ops of the same files beyond the brief's list: cheap to cover, and each has its own corners.

const flatten: OpGenerator = {
  op: 'Flatten',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(0, 4);
      const dims = random.sometimesEmpty(random.dims(rank, 1, 4));
      const axis = random.int(-rank, rank);
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Flatten x[${dims}] axis=${axis} ${dtype}`, {
        opType: 'Flatten',
        opset: 13,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes: { axis: int(axis) },
      });
    }),
};

/** CenterCropPad: crop, pad or both on each axis, odd differences (which side gets the extra element). */
const centerCropPad: OpGenerator = {
  op: 'CenterCropPad',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 6);
      const withAxes = random.bool(0.5);
      const axes = withAxes ? randomAxes(random, rank, random.int(1, rank)) : Array.from({ length: rank }, (_, i) => i);
      const shape = axes.map(() => random.int(1, 8));
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`CenterCropPad x[${dims}] shape=[${shape}] axes=${withAxes ? `[${axes}]` : '-'} ${dtype}`, {
        opType: 'CenterCropPad',
        opset: 18,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'shape', int64s(shape))],
        outputs: ['y'],
        attributes: withAxes ? { axes: ints(axes) } : {},
      });
    }),
};

/** ReverseSequence: time and batch axes either way round, lengths from 1 to the whole sequence. */
const reverseSequence: OpGenerator = {
  op: 'ReverseSequence',
  cases: (random, count) =>
    repeat(count, () => {
      const timeAxis = random.int(0, 1);
      const batchAxis = 1 - timeAxis;
      const seq = random.int(1, 6);
      const batch = random.int(1, 4);
      const dims = [0, 0, ...random.dims(random.int(0, 2), 1, 3)];
      dims[timeAxis] = seq;
      dims[batchAxis] = batch;
      const lens = Array.from({ length: batch }, () => random.int(1, seq));
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`ReverseSequence x[${dims}] time_axis=${timeAxis} lens=[${lens}] ${dtype}`, {
        opType: 'ReverseSequence',
        opset: 10,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'sequence_lens', int64s(lens))],
        outputs: ['y'],
        attributes: { time_axis: int(timeAxis), batch_axis: int(batchAxis) },
      });
    }),
};

/** Compress: with and without an axis (then over the flattened input), conditions shorter than the axis. */
const compress: OpGenerator = {
  op: 'Compress',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 4);
      const dims = random.dims(rank, 1, 4);
      const withAxis = random.bool(0.7);
      const axis = random.int(-rank, rank - 1);
      const length = withAxis ? dims[axis < 0 ? axis + rank : axis]! : product(dims);
      const condition = Array.from({ length: random.int(0, length) }, () => random.bool());
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Compress x[${dims}] axis=${withAxis ? axis : '-'} condition=[${condition.map(Number)}] ${dtype}`, {
        opType: 'Compress',
        opset: 11,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'condition', new Tensor('bool', condition, [condition.length]))],
        outputs: ['y'],
        attributes: withAxis ? { axis: int(axis) } : {},
      });
    }),
};

const eyeLike: OpGenerator = {
  op: 'EyeLike',
  cases: (random, count) =>
    repeat(count, () => {
      const dims = random.dims(2, 1, 6);
      const k = random.int(-7, 7);
      const dtype = random.pick(['float32', 'int32', 'int64', 'float64'] as const);
      // dtype: 1 float, 6 int32, 7 int64, 11 double.
      const outType = random.pick([undefined, 1, 6, 7, 11]);
      return nodeCase(`EyeLike x[${dims}] ${dtype} k=${k} dtype=${outType ?? '-'}`, {
        opType: 'EyeLike',
        opset: 9,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes: { k: int(k), ...(outType !== undefined ? { dtype: int(outType) } : {}) },
      });
    }),
};

const nonZero: OpGenerator = {
  op: 'NonZero',
  cases: (random, count) =>
    repeat(count, () => {
      const dims = random.sometimesEmpty(random.dims(random.int(0, 4), 1, 4));
      const dtype = random.pick(['float32', 'int32', 'int64', 'uint8', 'bool'] as const);
      return nodeCase(`NonZero x[${dims}] ${dtype}`, {
        opType: 'NonZero',
        opset: 13,
        inputs: [maybeConstant(random, 'x', random.tensor(dtype, dims, dtype === 'bool' ? 0 : -1, 1))],
        outputs: ['y'],
      });
    }),
};

/** Unique: sorted or in order of first occurrence, flattened or along an axis, with all four outputs. */
const unique: OpGenerator = {
  op: 'Unique',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(1, 3);
      const dims = random.dims(rank, 1, 4);
      const withAxis = random.bool(0.5);
      const axis = random.int(-rank, rank - 1);
      const sorted = random.int(0, 1);
      const dtype = random.pick(['float32', 'int64', 'int8'] as const);
      // Few distinct values, so repeats (and repeated slices along an axis) are common.
      const x = random.tensor(dtype, dims, -1, 1);
      const values = dtype === 'float32' ? Float32Array.from(x.data as Float32Array, (v) => Math.round(v * 2) / 2) : x.data;
      return nodeCase(`Unique x[${dims}] ${dtype} axis=${withAxis ? axis : '-'} sorted=${sorted}`, {
        opType: 'Unique',
        opset: 11,
        inputs: [{ name: 'x', value: new Tensor(dtype, values, dims) }],
        outputs: ['y', 'indices', 'inverse_indices', 'counts'],
        attributes: { sorted: int(sorted), ...(withAxis ? { axis: int(axis) } : {}) },
      });
    }),
};

/** GridSample (opset 16 and 20, 4-D and 5-D): every mode, padding mode and align_corners, grids reaching outside. */
const gridSample: OpGenerator = {
  op: 'GridSample',
  cases: (random, count) =>
    repeat(count, () => {
      const opset = random.pick([16, 20]);
      const n = random.int(1, 2);
      // Opset 20 also samples volumes (5-D X), with linear or nearest.
      const volume = opset === 20 && random.bool(0.3);
      const spatial = volume ? 3 : 2;
      const dims = [n, random.int(1, 3), ...random.dims(spatial, 1, volume ? 4 : 5)];
      const gridDims = [n, ...random.dims(spatial, 1, volume ? 3 : 4), spatial];
      const modes = opset === 16 ? ['bilinear', 'nearest', 'bicubic'] : volume ? ['linear', 'nearest'] : ['linear', 'nearest', 'cubic'];
      const mode = random.pick(modes);
      const paddingMode = random.pick(['zeros', 'border', 'reflection']);
      const alignCorners = random.int(0, 1);
      const grid = random.tensor('float32', gridDims);
      // Grids reach past [-1, 1], except for cubic with border padding: there onnx's reference clamps the
      // sample point to the border before taking taps, while onnxruntime (as PyTorch) clamps each tap; the
      // spec does not say which.
      const reach = (mode === 'bicubic' || mode === 'cubic') && paddingMode === 'border' ? 1 : 1.3;
      // Quarter steps put nearest samples on exact ties (x.5), where rounding half to even matters.
      const quarters = random.bool(0.3);
      const gridValues = Float32Array.from(grid.data as Float32Array, (v) => (quarters ? Math.round(v * 4) / 4 : v * reach));
      return nodeCase(`GridSample opset=${opset} x[${dims}] grid[${gridDims}]${quarters ? ' quarters' : ''} mode=${mode} padding=${paddingMode} align_corners=${alignCorners}`, {
        opType: 'GridSample',
        opset,
        inputs: [{ name: 'x', value: random.tensor('float32', dims) }, maybeConstant(random, 'grid', new Tensor('float32', gridValues, gridDims))],
        outputs: ['y'],
        attributes: { mode: string(mode), padding_mode: string(paddingMode), align_corners: int(alignCorners) },
      });
    }),
};

/** Shape (opset 15): start and end, negative and past either end. */
const shape: OpGenerator = {
  op: 'Shape',
  cases: (random, count) =>
    repeat(count, () => {
      const rank = random.int(0, 5);
      const dims = random.sometimesEmpty(random.dims(rank, 1, 3));
      const attributes: Record<string, AttributeWithDoc> = {};
      if (random.bool(0.6)) attributes['start'] = int(random.int(-rank - 2, rank + 2));
      if (random.bool(0.6)) attributes['end'] = int(random.int(-rank - 2, rank + 2));
      const dtype = random.pick(DATA_TYPES);
      return nodeCase(`Shape x[${dims}] start=${attributes['start']?.value ?? '-'} end=${attributes['end']?.value ?? '-'}`, {
        opType: 'Shape',
        opset: 15,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }],
        outputs: ['y'],
        attributes,
      });
    }),
};

const constantOfShape: OpGenerator = {
  op: 'ConstantOfShape',
  cases: (random, count) =>
    repeat(count, () => {
      const dims = random.sometimesEmpty(random.dims(random.int(0, 4), 1, 4));
      const dtype = random.pick(['float32', 'int32', 'int64', 'float64', 'bool', undefined] as const);
      const number = dtype === 'bool' ? 1 : random.int(-9, 9) / 2;
      const value = dtype === undefined ? undefined : new Tensor(dtype, dtype === 'int64' ? [BigInt(Math.trunc(number))] : [number], [1]);
      return nodeCase(`ConstantOfShape shape=[${dims}] value=${dtype ?? '-'}`, {
        opType: 'ConstantOfShape',
        opset: 20,
        inputs: [maybeConstant(random, 'shape', int64s(dims))],
        outputs: ['y'],
        attributes: value ? { value: { type: 'tensor', value } } : {},
      });
    }),
};

/** AffineGrid (opset 20): 2-D and 3-D, align_corners either way. */
const affineGrid: OpGenerator = {
  op: 'AffineGrid',
  cases: (random, count) =>
    repeat(count, () => {
      const volume = random.bool(0.4);
      const n = random.int(1, 2);
      const size = [n, random.int(1, 3), ...random.dims(volume ? 3 : 2, 1, 5)];
      const thetaDims = volume ? [n, 3, 4] : [n, 2, 3];
      // A one-pixel axis with align_corners sits at 0 (PyTorch's affine_grid, which the spec names; onnx's
      // reference divides by zero), where onnxruntime puts it at 1: no align_corners with such an axis.
      const alignCorners = size.slice(2).includes(1) ? 0 : random.int(0, 1);
      return nodeCase(`AffineGrid size=[${size}] align_corners=${alignCorners}`, {
        opType: 'AffineGrid',
        opset: 20,
        inputs: [maybeConstant(random, 'theta', random.tensor('float32', thetaDims)), maybeConstant(random, 'size', int64s(size))],
        outputs: ['grid'],
        attributes: { align_corners: int(alignCorners) },
      });
    }),
};

/** RoiAlign (opset 16): avg and max pooling, both coordinate modes, fixed and adaptive sampling, boxes off the edge. */
const roiAlign: OpGenerator = {
  op: 'RoiAlign',
  cases: (random, count) =>
    repeat(count, () => {
      const n = random.int(1, 2);
      const dims = [n, random.int(1, 3), random.int(2, 8), random.int(2, 8)];
      const scale = random.pick([1, 0.5, 0.25]);
      const roiCount = random.int(1, 4);
      const rois: number[] = [];
      for (let r = 0; r < roiCount; r++) {
        // Off the half-pixel grid by a little, so no sample lands exactly on the -1 / H / W cut-offs, where
        // float32 (onnxruntime) and float64 arithmetic fall on different sides.
        const x1 = random.int(-2, dims[3]! * 2) / (2 * scale) + 0.013;
        const y1 = random.int(-2, dims[2]! * 2) / (2 * scale) + 0.011;
        // Sizes off the grid too: adaptive sampling takes ceil(size / output size), which must not sit on a
        // whole number either.
        rois.push(x1, y1, x1 + random.int(0, 8) / (2 * scale) + 0.007, y1 + random.int(0, 8) / (2 * scale) + 0.005);
      }
      const batchIndices = Array.from({ length: roiCount }, () => random.int(0, n - 1));
      const attributes: Record<string, AttributeWithDoc> = {
        mode: string(random.pick(['avg', 'max'])),
        output_height: int(random.int(1, 4)),
        output_width: int(random.int(1, 4)),
        sampling_ratio: int(random.int(0, 3)),
        spatial_scale: float(scale),
        coordinate_transformation_mode: string(random.pick(['half_pixel', 'output_half_pixel'])),
      };
      const described = Object.entries(attributes)
        .map(([name, attribute]) => `${name}=${JSON.stringify(attribute.value)}`)
        .join(' ');
      return nodeCase(`RoiAlign x[${dims}] rois=[${rois}] batch=[${batchIndices}] ${described}`, {
        opType: 'RoiAlign',
        opset: 16,
        inputs: [
          { name: 'x', value: random.tensor('float32', dims) },
          maybeConstant(random, 'rois', new Tensor('float32', rois, [roiCount, 4])),
          maybeConstant(random, 'batch_indices', int64s(batchIndices)),
        ],
        outputs: ['y'],
        attributes,
      });
    }),
};

/** NonMaxSuppression: corner and center boxes (corners in either order), thresholds, per-class limits. */
const nonMaxSuppression: OpGenerator = {
  op: 'NonMaxSuppression',
  cases: (random, count) =>
    repeat(count, () => {
      const batches = random.int(1, 2);
      const classes = random.int(1, 3);
      const boxCount = random.int(1, 8);
      const boxes: number[] = [];
      for (let i = 0; i < batches * boxCount; i++) {
        const a = random.int(0, 10);
        const b = random.int(0, 10);
        boxes.push(a, b, a + random.int(-4, 6), b + random.int(-4, 6));
      }
      // Distinct scores: equal ones leave the order of selection open.
      const scores = permutation(random, batches * classes * boxCount).map((i) => (i + 1) / (batches * classes * boxCount + 1));
      const centerPointBox = random.int(0, 1);
      const inputs: (NodeInput | undefined)[] = [
        { name: 'boxes', value: new Tensor('float32', boxes, [batches, boxCount, 4]) },
        { name: 'scores', value: new Tensor('float32', scores, [batches, classes, boxCount]) },
      ];
      const maxOutput = random.int(0, boxCount + 1);
      const iou = random.pick([0, 0.2, 0.5, 0.9]);
      const scoreThreshold = random.pick([0, 0.3, 0.7]);
      const extras = random.int(0, 3);
      if (extras >= 1) inputs.push(maybeConstant(random, 'max_output', int64s([maxOutput], [])));
      if (extras >= 2) inputs.push(maybeConstant(random, 'iou', new Tensor('float32', [iou], [])));
      if (extras >= 3) inputs.push(maybeConstant(random, 'score', new Tensor('float32', [scoreThreshold], [])));
      const limits = `max=${extras >= 1 ? maxOutput : '-'} iou=${extras >= 2 ? iou : '-'} score=${extras >= 3 ? scoreThreshold : '-'}`;
      return nodeCase(`NonMaxSuppression boxes[${batches},${boxCount}] classes=${classes} center=${centerPointBox} ${limits}`, {
        opType: 'NonMaxSuppression',
        opset: 11,
        inputs,
        outputs: ['selected'],
        attributes: { center_point_box: int(centerPointBox) },
      });
    }),
};

/** Upsample-9 and Resize-10: scales only, asymmetric coordinates, nearest or linear. */
const resize10: OpGenerator = {
  op: 'Resize-10/Upsample',
  cases: (random, count) =>
    repeat(count, () => {
      const opType = random.pick(['Resize', 'Upsample']);
      const mode = random.pick(['nearest', 'linear']);
      const rank = mode === 'nearest' ? random.int(1, 4) : random.pick([2, 4]);
      const dims = random.dims(rank, 1, 5);
      // Linear on the last two axes only (onnxruntime's layouts); scales exact in float32.
      const choices = EXACT_SCALES.filter((scale) => scale >= 1 || opType === 'Resize');
      const scales = dims.map((_, axis) => (mode === 'nearest' || axis >= rank - 2 ? random.pick(choices) : 1));
      scales.forEach((scale, axis) => {
        if (Math.floor(scale * dims[axis]!) < 1) scales[axis] = 1;
      });
      // onnxruntime copies the input when the output dims equal the input dims, whatever the scales.
      if (scales.every((scale, axis) => Math.floor(scale * dims[axis]!) === dims[axis])) scales[rank - 1] = 2;
      const dtype = mode === 'nearest' ? random.pick(['float32', 'int32'] as const) : 'float32';
      return nodeCase(`${opType} x[${dims}] ${dtype} mode=${mode} scales=[${scales}]`, {
        opType,
        opset: opType === 'Resize' ? 10 : 9,
        inputs: [{ name: 'x', value: data(random, dtype, dims) }, maybeConstant(random, 'scales', new Tensor('float32', scales, [rank]))],
        outputs: ['y'],
        attributes: { mode: string(mode) },
      });
    }),
};

export const generators: OpGenerator[] = [
  reshape,
  transpose,
  slice,
  pad,
  concat,
  split,
  squeeze,
  unsqueeze,
  expand,
  tile,
  depthToSpace,
  spaceToDepth,
  gather,
  gatherElements,
  gatherND,
  scatterElements,
  scatterND,
  oneHot,
  trilu,
  range,
  resize,
  resize10,
  recurrent('RNN'),
  recurrent('GRU'),
  recurrent('LSTM'),
  flatten,
  centerCropPad,
  reverseSequence,
  compress,
  eyeLike,
  nonZero,
  unique,
  gridSample,
  shape,
  constantOfShape,
  affineGrid,
  roiAlign,
  nonMaxSuppression,
];

