import { describeNode, type ValueType } from '../../core/graph.js';
import { EdgerunError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { activationFromAttributes, applyActivation, type Activation } from '../../kernels/activation.js';
import type { Kernel, KernelIO, NodeInfo } from '../backend.js';
import type { WarmUpKernel, WasmBlock, WasmRuntime } from './runtime.js';

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
  return knownDims(info.inputTypes[index]);
}

/** Output `index`'s dims when inference knows every one of them. */
export function staticOutputDims(info: NodeInfo, index: number): number[] | undefined {
  return knownDims(info.outputTypes[index]);
}

function knownDims(type: ValueType | undefined): number[] | undefined {
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

/** The kernels Staging.finish runs for the node's fused activation: a Tanh runs f32_unary. */
export function epilogueKernels(info: NodeInfo): WarmUpKernel[] {
  return epilogueOf(info.attributes)?.activation?.kind === 'Tanh' ? ['f32_unary'] : [];
}

/** The float32 tensor input `index`, or a typed error naming the node. */
export function floatInput(info: NodeInfo, io: KernelIO, index: number): Tensor {
  return floatValue(info, io.inputs[index], index);
}

/** `value`, the node's input `index`, as a float32 tensor, or a typed error naming the node. */
export function floatValue(info: NodeInfo, value: KernelIO['inputs'][number], index: number): Tensor {
  if (!value || Array.isArray(value) || value.type !== 'float32') {
    throw new EdgerunError('INVALID_ARGUMENT', `input #${index} ('${info.node.inputs[index] ?? ''}') must be a float32 tensor`, [describeNode(info.node)]);
  }
  return value;
}

/** Throws the shape error a kernel reports for input dims it cannot run. */
export function shapeError(info: NodeInfo, detail: string): never {
  throw new EdgerunError('SHAPE_MISMATCH', detail, [describeNode(info.node)]);
}

/** A run planned for static dims refuses an input of other dims, naming the node. */
export function checkPlannedDims(info: NodeInfo, x: Tensor, planned: readonly number[]): void {
  if (x.dims.length !== planned.length || x.dims.some((dim, axis) => dim !== planned[axis])) {
    shapeError(info, `input X has dims [${x.dims.join(', ')}]; this run was planned for [${planned.join(', ')}]`);
  }
}

/** The bytes of a tensor's typed array (float32 and the 8-bit and 32-bit integer types the kernels take). */
function bytesOf(tensor: Tensor): Uint8Array {
  const data = tensor.data as Float32Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The node's constant float32 inputs copied into wasm memory once, at prepare, by input index (undefined
 * for the others): a kernel passes their addresses instead of staging them on every run.
 */
export function residentConstants(runtime: WasmRuntime, info: NodeInfo): (WasmBlock | undefined)[] {
  return info.constants.map((constant) => (constant?.type === 'float32' ? runtime.upload(constant.data as Float32Array) : undefined));
}

const ROUND = 64;
const roundUp = (bytes: number) => Math.ceil(bytes / ROUND) * ROUND;

/** The op codes of f32_unary. */
export const UNARY_OPS: Readonly<Record<string, number>> = { Tanh: 0, Erf: 1, Sqrt: 2, Gelu: 3 };

/**
 * One run's view of its tensors in wasm memory: inputs and outputs already in the memory (the arena) are
 * used in place; others are staged in scratch (inputs copied in now, outputs copied out by `finish`).
 * `extra` byte lengths are the kernel's own work buffers, addressed by `work(i)`. Built on every run of
 * every wasm kernel, so it keeps to small arrays searched linearly (a kernel has a handful of tensors):
 * no maps, and each tensor's address is asked of the runtime once.
 */
export class Staging {
  private readonly tensors: readonly Tensor[];
  private readonly addresses: number[];
  /** Per tensor: whether it was copied into scratch (an output staged must be copied out). */
  private readonly staged: boolean[];
  private readonly works: number[];
  private readonly inputCount: number;

  constructor(private readonly runtime: WasmRuntime, inputs: readonly Tensor[], outputs: readonly Tensor[], extra: readonly number[] = []) {
    this.tensors = inputs.length === 0 ? outputs : outputs.length === 0 ? inputs : [...inputs, ...outputs];
    this.inputCount = inputs.length;
    const count = this.tensors.length;
    this.addresses = new Array<number>(count);
    this.staged = new Array<boolean>(count).fill(false);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const tensor = this.tensors[i]!;
      const first = this.tensors.indexOf(tensor);
      if (first < i) {
        this.addresses[i] = this.addresses[first]!;
        this.staged[i] = this.staged[first]!;
        continue;
      }
      const address = runtime.addressOf(tensor);
      if (address !== undefined) {
        this.addresses[i] = address;
      } else {
        // An offset into scratch for now; the scratch block's address is added below.
        this.addresses[i] = total;
        this.staged[i] = true;
        total += roundUp(bytesOf(tensor).byteLength);
      }
    }
    this.works = extra.map((bytes) => {
      const offset = total;
      total += roundUp(bytes);
      return offset;
    });
    if (total === 0) return;
    const base = runtime.scratch(total);
    for (let i = 0; i < count; i++) {
      if (!this.staged[i]) continue;
      this.addresses[i]! += base;
      const tensor = this.tensors[i]!;
      if (i < this.inputCount && this.tensors.indexOf(tensor) === i) new Uint8Array(runtime.buffer, this.addresses[i]!, bytesOf(tensor).byteLength).set(bytesOf(tensor));
    }
    for (let i = 0; i < this.works.length; i++) this.works[i]! += base;
  }

  /** Bytes of scratch a run of these sizes needs at most (every tensor staged): for reserveScratch at prepare. */
  static bytesFor(tensorBytes: readonly number[], extra: readonly number[] = []): number {
    return [...tensorBytes, ...extra].reduce((sum, bytes) => sum + roundUp(bytes), 0);
  }

  address(tensor: Tensor): number {
    return this.addresses[this.tensors.indexOf(tensor)]!;
  }

  work(index: number): number {
    return this.works[index]!;
  }

  /**
   * Applies a fused activation to the outputs (Tanh by the wasm kernel, the rest on the host) and copies
   * staged outputs out of wasm memory.
   */
  finish(activation?: Activation): void {
    for (let i = this.inputCount; i < this.tensors.length; i++) {
      if (!activation && !this.staged[i]) continue;
      const tensor = this.tensors[i]!;
      // A fused Tanh runs the lone Tanh's vector code (the host's Math.tanh costs ~20 ns an element).
      if (activation?.kind === 'Tanh') this.runtime.kernels.f32_unary(UNARY_OPS.Tanh!, this.addresses[i]!, tensor.data.length, this.addresses[i]!);
      else if (activation) applyActivation(this.runtime.f32(this.addresses[i]!, tensor.data.length), 0, tensor.data.length, activation);
      if (this.staged[i]) bytesOf(tensor).set(new Uint8Array(this.runtime.buffer, this.addresses[i]!, bytesOf(tensor).byteLength));
    }
  }
}
