import assert from 'node:assert/strict';
import type { Attribute, Node, Value, ValueType } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import '../../../src/ops/index.js';
import { resolveAttributes, resolveOp, type OpDef } from '../../../src/ops/registry.js';
import type { Backend, KernelIO, NodeInfo } from '../../../src/backends/backend.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import { compareTensors } from '../../support/compare.js';

/** Kernel tests: NodeInfo objects built by hand, run through a backend's seam, compared with the reference. */

export interface NodeSpec {
  opType: string;
  domain?: string;
  opset?: number;
  /** Raw attributes, as a model would carry them. */
  attributes?: Record<string, Attribute>;
  inputs: (Tensor | undefined)[];
  /** Input indices known at create (weights). */
  constants?: number[];
  /** Leave input shapes out of the static types (dims known only at run). */
  dynamicShapes?: boolean;
}

/** A def for ops the catalogue lacks (fused ops of another branch): attributes pass through as given. */
function passThroughDef(spec: NodeSpec): OpDef {
  return {
    domain: spec.domain ?? '',
    name: spec.opType,
    since: 1,
    inputs: spec.inputs.map((_, i) => `input${i}`),
    outputs: ['Y'],
    attributes: {},
    kernel: () => {
      throw new Error(`no reference kernel for ${spec.opType}`);
    },
  };
}

export function nodeInfo(spec: NodeSpec): NodeInfo {
  const node: Node = {
    name: `test_${spec.opType}`,
    opType: spec.opType,
    domain: spec.domain ?? '',
    inputs: spec.inputs.map((tensor, i) => (tensor ? `input${i}` : '')),
    outputs: ['Y'],
    attributes: spec.attributes ?? {},
  };
  const opset = spec.opset ?? 17;
  const known = resolveOp(node.domain, node.opType, opset);
  const def = known ?? passThroughDef(spec);
  const attributes = known
    ? resolveAttributes(known, node)
    : Object.fromEntries(Object.entries(node.attributes).map(([name, attribute]) => [name, attribute.value]));
  const typeOf = (tensor: Tensor | undefined): ValueType | undefined =>
    tensor && { kind: 'tensor', dtype: tensor.type, shape: spec.dynamicShapes ? tensor.dims.map((_, i) => `d${i}`) : [...tensor.dims] };
  const constants = spec.inputs.map((tensor, i) => (spec.constants?.includes(i) ? tensor : undefined));
  return { node, def, attributes, opset, inputTypes: spec.inputs.map(typeOf), outputTypes: [{ kind: 'tensor', dtype: 'float32' }], constants };
}

/** Where a run's outputs go: fresh host arrays, or a region the backend allocated (the arena). */
export type OutputPlace = 'host' | 'arena';

/** Runs the node on `backend`; with 'arena', inputs and outputs live in the backend's memory. */
export function runNode(backend: Backend, info: NodeInfo, inputs: readonly (Tensor | undefined)[], place: OutputPlace = 'host'): Tensor {
  // Prepared, then the memory grown to hold every region before the first is placed, as a session lays out
  // its arena: growing a private memory detaches the views made before.
  const kernel = backend.prepare(info);
  if (place === 'arena') {
    const inputBytes = inputs.reduce((sum, tensor) => sum + (tensor?.data.length ?? 0) * 4, 0);
    backend.allocate!(4 * inputBytes + (1 << 20)).release();
  }
  const regions: { release(): void }[] = [];
  const inArena = (type: Tensor['type'], dims: readonly number[], values?: Float32Array): Tensor => {
    const length = dims.reduce((a, b) => a * b, 1);
    const region = backend.allocate!(length * 4);
    regions.push(region);
    const data = new Float32Array(region.buffer, region.byteOffset, length);
    if (values) data.set(values);
    return new Tensor(type, data, dims);
  };
  const placed = inputs.map((tensor) => (tensor && place === 'arena' ? inArena(tensor.type, tensor.dims, tensor.data as Float32Array) : tensor));
  let result: Value | undefined;
  const io: KernelIO = {
    inputs: placed,
    output: (_index, dtype, dims) => {
      const tensor = place === 'arena' ? inArena(dtype, dims) : new Tensor(dtype, new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      result = tensor;
      return tensor;
    },
    set: (_index, value) => {
      result = value;
    },
    runGraph: () => {
      throw new Error('no subgraphs here');
    },
  };
  kernel.run(io);
  kernel.dispose?.();
  assert.ok(result instanceof Tensor, 'the kernel produced a tensor');
  const copy = new Tensor(result.type, Float32Array.from(result.data as Float32Array), result.dims);
  for (const region of regions) region.release();
  return copy;
}

export function runReference(info: NodeInfo, inputs: readonly (Tensor | undefined)[]): Tensor {
  return runNode(referenceBackend, info, inputs);
}

export const TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

export function assertClose(actual: Tensor, expected: Tensor, label: string, tolerance = TOLERANCE): void {
  const problem = compareTensors(actual, expected, tolerance, label);
  if (problem !== undefined) assert.fail(problem);
}

/** Deterministic values in [-1, 1). */
export function randomTensor(dims: readonly number[], seed: number): Tensor {
  let state = seed * 2654435761 + 1;
  const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    values[i] = state / 1073741824 - 1;
  }
  return new Tensor('float32', values, dims);
}

export const ints = (value: number[]): Attribute => ({ type: 'ints', value });
export const int = (value: number): Attribute => ({ type: 'int', value });
export const float = (value: number): Attribute => ({ type: 'float', value });
export const str = (value: string): Attribute => ({ type: 'string', value });
export const floats = (value: number[]): Attribute => ({ type: 'floats', value });
