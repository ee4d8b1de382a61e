import { describeNode, type ValueType } from '../../core/graph.js';
import { EdgerunError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { activationFromAttributes, applyActivation, type Activation } from '../../kernels/activation.js';
import type { Kernel, KernelIO, NodeInfo } from '../backend.js';
import type { WasmRuntime } from './runtime.js';

/** One op family's entry in the backend's table: what it takes, and how it prepares a kernel. */
export interface WasmOp {
  supports(info: NodeInfo): boolean;
  prepare(runtime: WasmRuntime, info: NodeInfo): Kernel;
}

/** Whether every present input and every output is float32 (unknown types are refused: prepare must know). */
export function allFloat32(info: NodeInfo): boolean {
  const isFloat = (type: ValueType | undefined) => type?.kind === 'tensor' && type.dtype === 'float32';
  return info.node.inputs.every((name, index) => name === '' || isFloat(info.inputTypes[index])) && info.outputTypes.every(isFloat);
}

/** The input's static dims when all are numbers. */
export function staticDims(info: NodeInfo, index: number): number[] | undefined {
  const type = info.inputTypes[index];
  const shape = type?.kind === 'tensor' ? type.shape : undefined;
  return shape?.every((dim): dim is number => typeof dim === 'number') ? shape : undefined;
}

/** The input's rank when its type records a shape. */
export function rankOf(info: NodeInfo, index: number): number | undefined {
  const type = info.inputTypes[index];
  return type?.kind === 'tensor' ? type.shape?.length : undefined;
}

/**
 * What a kernel applies to its output: a clamp to [low, high] in the wasm output loop (none, Relu and Clip
 * are exactly that), then `activation` on the host for the other fused activations.
 */
export interface Epilogue {
  low: number;
  high: number;
  activation?: Activation;
}

/** The epilogue of a node's `activation` / `activation_params` attributes; undefined when the name is unknown. */
export function epilogueOf(attributes: Readonly<Record<string, unknown>>): Epilogue | undefined {
  let activation: Activation;
  try {
    activation = activationFromAttributes((attributes.activation as string | undefined) ?? '', (attributes.activation_params as number[] | undefined) ?? []);
  } catch {
    return undefined;
  }
  switch (activation.kind) {
    case 'none':
      return { low: -Infinity, high: Infinity };
    case 'Relu':
      return { low: 0, high: Infinity };
    case 'Clip':
      return { low: activation.min, high: activation.max };
    default:
      return { low: -Infinity, high: Infinity, activation };
  }
}

/** The float32 tensor input `index`, or a typed error naming the node. */
export function floatInput(info: NodeInfo, io: KernelIO, index: number): Tensor {
  const value = io.inputs[index];
  if (!value || Array.isArray(value) || value.type !== 'float32') {
    throw new EdgerunError('INVALID_ARGUMENT', `input #${index} ('${info.node.inputs[index] ?? ''}') must be a float32 tensor`, [describeNode(info.node)]);
  }
  return value;
}

/** Throws the shape error a kernel reports for input dims it cannot run. */
export function shapeError(info: NodeInfo, detail: string): never {
  throw new EdgerunError('SHAPE_MISMATCH', detail, [describeNode(info.node)]);
}

/** The bytes of a tensor's typed array (float32 and the 8-bit and 32-bit integer types the kernels take). */
function bytesOf(tensor: Tensor): Uint8Array {
  const data = tensor.data as Float32Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const ROUND = 64;
const roundUp = (bytes: number) => Math.ceil(bytes / ROUND) * ROUND;

/**
 * One run's view of its tensors in wasm memory: inputs and outputs already in the memory (the arena) are
 * used in place; others are staged in scratch (inputs copied in now, outputs copied out by `finish`).
 * `extra` byte lengths are the kernel's own work buffers, addressed by `work(i)`.
 */
export class Staging {
  private readonly addresses = new Map<Tensor, number>();
  private readonly works: number[];
  private readonly outputs: { tensor: Tensor; address: number; staged: boolean }[];

  constructor(private readonly runtime: WasmRuntime, inputs: readonly Tensor[], outputs: readonly Tensor[], extra: readonly number[] = []) {
    let total = 0;
    const offsets = new Map<Tensor, number>();
    for (const tensor of [...inputs, ...outputs]) {
      if (runtime.addressOf(tensor) !== undefined || offsets.has(tensor)) continue;
      offsets.set(tensor, total);
      total += roundUp(bytesOf(tensor).byteLength);
    }
    const workOffsets = extra.map((bytes) => {
      const offset = total;
      total += roundUp(bytes);
      return offset;
    });
    const base = total > 0 ? runtime.scratch(total) : 0;
    for (const tensor of [...inputs, ...outputs]) this.addresses.set(tensor, runtime.addressOf(tensor) ?? base + offsets.get(tensor)!);
    for (const tensor of inputs) {
      if (offsets.has(tensor)) new Uint8Array(runtime.buffer, this.address(tensor), bytesOf(tensor).byteLength).set(bytesOf(tensor));
    }
    this.outputs = outputs.map((tensor) => ({ tensor, address: this.address(tensor), staged: offsets.has(tensor) }));
    this.works = workOffsets.map((offset) => base + offset);
  }

  /** Bytes of scratch a run of these sizes needs at most (every tensor staged): for reserveScratch at prepare. */
  static bytesFor(tensorBytes: readonly number[], extra: readonly number[] = []): number {
    return [...tensorBytes, ...extra].reduce((sum, bytes) => sum + roundUp(bytes), 0);
  }

  address(tensor: Tensor): number {
    return this.addresses.get(tensor)!;
  }

  work(index: number): number {
    return this.works[index]!;
  }

  /** Applies a host-side activation to the outputs and copies staged outputs out of wasm memory. */
  finish(activation?: Activation): void {
    for (const { tensor, address, staged } of this.outputs) {
      if (activation) applyActivation(this.runtime.f32(address, tensor.data.length), 0, tensor.data.length, activation);
      if (staged) bytesOf(tensor).set(new Uint8Array(this.runtime.buffer, address, bytesOf(tensor).byteLength));
    }
  }
}
