import type { AttributeWithDoc } from '../../src/core/graph.js';
import type { DataType } from '../../src/core/dtype.js';
import { writeNumbers } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import type { Tolerance } from '../support/compare.js';
import { seededRandom } from '../fuzz/mutate.js';
import { model } from '../support/tiny-models.js';

/**
 * Differential testing against onnxruntime-node: each generator builds seeded random single-op models (random
 * shapes and attributes, all valid per the spec), and the runner checks that edgerun's outputs match ORT's.
 * This reaches the corners the ONNX node tests leave out (odd sizes, strides, groups, broadcasting ranks).
 */
export interface OpCase {
  /** What varies, for the failure report: e.g. `Conv x[1,3,7,9] w[6,1,3,2] group=3 strides=[2,1]`. */
  label: string;
  model: Uint8Array;
  feeds: Record<string, Tensor>;
  tolerance?: Tolerance;
}

export interface OpGenerator {
  /** The op (or op family) the cases exercise. */
  op: string;
  /** `count` cases from the seeded random source. */
  cases(random: Random, count: number): OpCase[];
}

export class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [low, high] (inclusive). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bool(probability = 0.5): boolean {
    return this.next() < probability;
  }

  /** A shape of `rank` dims, each in [low, high]. */
  dims(rank: number, low = 1, high = 5): number[] {
    return Array.from({ length: rank }, () => this.int(low, high));
  }

  /** `shape` with one dim set to 0 a tenth of the time: empty tensors take paths of their own. */
  sometimesEmpty(shape: readonly number[]): number[] {
    const out = [...shape];
    if (out.length > 0 && this.bool(0.1)) out[this.int(0, out.length - 1)] = 0;
    return out;
  }

  /** A tensor of random values: floats in [-1, 1), integers in [low, high]. */
  tensor(dtype: DataType, dims: readonly number[], low = -5, high = 5): Tensor {
    const count = dims.reduce((a, b) => a * b, 1);
    const floating = dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
    const values = Array.from({ length: count }, () => (floating ? this.next() * 2 - 1 : this.int(low, high)));
    return new Tensor(dtype, writeNumbers(dtype, values), dims);
  }
}

/** `count` results of `make`. */
export function repeat<T>(count: number, make: () => T): T[] {
  return Array.from({ length: count }, make);
}

/** A generator whose every case comes from `make`. */
export function generator(op: string, make: (random: Random) => OpCase): OpGenerator {
  return { op, cases: (random: Random, count: number) => repeat(count, () => make(random)) };
}

export interface NodeInput {
  name: string;
  /** A graph input fed at run time, or an initializer when `constant` is set. */
  value: Tensor;
  constant?: boolean;
}

export interface SingleNodeModel {
  opType: string;
  opset: number;
  domain?: string;
  inputs: (NodeInput | undefined)[];
  outputs: string[];
  attributes?: Record<string, AttributeWithDoc>;
}

/** One node in a graph of its own; omitted optional inputs are `undefined` (written as ''). */
export function singleNodeCase(label: string, spec: SingleNodeModel, tolerance?: Tolerance): OpCase {
  const present = spec.inputs.filter((input): input is NodeInput => input !== undefined);
  const initializers = new Map(present.filter((input) => input.constant).map((input) => [input.name, input.value]));
  const fed = present.filter((input) => !input.constant);
  const built = model(
    {
      nodes: [
        {
          name: 'node',
          opType: spec.opType,
          domain: spec.domain ?? '',
          inputs: spec.inputs.map((input) => input?.name ?? ''),
          outputs: spec.outputs,
          attributes: spec.attributes ?? {},
        },
      ],
      inputs: fed.map((input) => ({ name: input.name, type: { kind: 'tensor', dtype: input.value.type, shape: [...input.value.dims] } })),
      outputs: spec.outputs.map((name) => ({ name })),
      initializers,
    },
    spec.opset,
  );
  const feeds = Object.fromEntries(fed.map((input) => [input.name, input.value]));
  return { label, model: encodeOnnx(built), feeds, ...(tolerance ? { tolerance } : {}) };
}

/** Attribute helpers, spelled as the ONNX attribute kinds. */
export const ints = (value: number[]): AttributeWithDoc => ({ type: 'ints', value });
export const int = (value: number): AttributeWithDoc => ({ type: 'int', value });
export const float = (value: number): AttributeWithDoc => ({ type: 'float', value });
export const floats = (value: number[]): AttributeWithDoc => ({ type: 'floats', value });
export const string = (value: string): AttributeWithDoc => ({ type: 'string', value });

/** An int64 tensor (shapes, axes, pads, indices given as inputs). */
export function int64s(values: number[], dims: number[] = [values.length]): Tensor {
  return new Tensor('int64', BigInt64Array.from(values, (value) => BigInt(value)), dims);
}

/** One node of a multi-node case. */
export interface ChainNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeWithDoc>;
}

export interface ChainModel {
  opset: number;
  inputs: NodeInput[];
  nodes: ChainNode[];
}

/**
 * Several nodes in one graph, every node output also a graph output, so that each intermediate is compared
 * and a difference is reported at the node that made it, not where it surfaces.
 */
export function chainCase(label: string, spec: ChainModel, tolerance?: Tolerance): OpCase {
  const initializers = new Map(spec.inputs.filter((input) => input.constant).map((input) => [input.name, input.value]));
  const fed = spec.inputs.filter((input) => !input.constant);
  const built = model(
    {
      nodes: spec.nodes.map((chainNode, index) => ({ name: `n${index}`, domain: '', attributes: {}, ...chainNode })),
      inputs: fed.map((input) => ({ name: input.name, type: { kind: 'tensor', dtype: input.value.type, shape: [...input.value.dims] } })),
      outputs: spec.nodes.flatMap((chainNode) => chainNode.outputs.filter((name) => name !== '')).map((name) => ({ name })),
      initializers,
    },
    spec.opset,
  );
  const feeds = Object.fromEntries(fed.map((input) => [input.name, input.value]));
  return { label, model: encodeOnnx(built), feeds, ...(tolerance ? { tolerance } : {}) };
}
