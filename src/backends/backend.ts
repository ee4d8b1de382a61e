import type { DataType } from '../core/dtype.js';
import type { Graph, Node, TensorLayout, Value, ValueType } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import type { OpDef } from '../ops/registry.js';

/**
 * The seam between planning and execution. The planner asks each backend, in the session's priority
 * order, whether it can run a node given everything known about it at create (resolved attributes, opset,
 * input and output types, constant inputs); the first that says yes prepares a kernel once (choosing a
 * variant, packing weights); the reference backend takes every node no other backend takes, so a model
 * always runs. A backend never parses, infers shapes or rewrites the graph.
 */
export interface NodeInfo {
  readonly node: Node;
  readonly def: OpDef;
  /** Attributes resolved against the op's schema, spec defaults filled in. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The opset the model imports for the node's domain. */
  readonly opset: number;
  /** Static types from inference: dims are numbers where known, names where symbolic, undefined where unknown. */
  readonly inputTypes: readonly (ValueType | undefined)[];
  readonly outputTypes: readonly (ValueType | undefined)[];
  /** Inputs whose values are known at create (initializers, Constant outputs, folded values), by input index. */
  readonly constants: readonly (Tensor | undefined)[];
}

/** What a kernel reads and where it writes, handed to it by the executor on every run. */
export interface KernelIO {
  /** Inputs in node order; undefined where an optional input is omitted. */
  readonly inputs: readonly (Value | undefined)[];
  /**
   * The tensor to write output `index` into: the slot the planner reserved in the arena when `dims` match
   * the planned shape (no allocation), else memory from the executor's pool. Contents are undefined.
   */
  output(index: number, dtype: DataType, dims: readonly number[]): Tensor;
  /** Sets output `index` to a value the kernel made itself (a sequence, an optional, a view of an input). */
  set(index: number, value: Value): void;
  /** Runs a subgraph attribute (If / Loop / Scan bodies), binding its inputs positionally. */
  runGraph(graph: Graph, inputs: readonly Value[]): Value[];
}

export interface Kernel {
  /** Runs the node. Synchronous backends return nothing; a GPU backend may return a promise. */
  run(io: KernelIO): void | Promise<void>;
  /**
   * Output index -> input index whose buffer the output may share: an element-wise kernel that reads each
   * element before writing the same position can run in place when the input dies at this node.
   */
  readonly inPlace?: ReadonlyMap<number, number>;
  /** Frees what prepare made (packed weights in the backend's memory). */
  dispose?(): void;
}

/** A block of memory in a backend's address space, where the arena places a session's tensors. */
export interface MemoryRegion {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Returns the region to the backend. */
  release(): void;
}

/** A run of consecutive nodes (in plan order) that a backend runs as one kernel. */
export interface ClaimedRun {
  /** Index of the first node of the run in the list the backend was shown, and how many nodes. */
  readonly start: number;
  readonly count: number;
}

export interface BackendOptions {
  /** Threads a threaded backend may use (onnxruntime's intraOpNumThreads). */
  readonly threads: number;
}

export interface Backend {
  readonly name: string;
  /**
   * Where the backend's tensors live. Backends with the same device read each other's tensors directly;
   * where a value crosses devices, the planner inserts a copy step (`download` / `upload`).
   */
  readonly device: string;
  /**
   * The layout the backend's convolution kernels run fastest in; 'NHWC' lets the optimizer move
   * convolution chains to NHWC (with transposes at their edges) when this backend comes first.
   */
  readonly preferredLayout?: TensorLayout;
  /** Called once per session before any other method (compiles modules, starts worker threads). */
  init?(options: BackendOptions): Promise<void> | void;
  supports(info: NodeInfo): boolean;
  prepare(info: NodeInfo): Kernel;
  /**
   * Runs of nodes this backend wants to run as one kernel (shown every node, in plan order). Each claimed
   * run is then prepared by `prepareRun` instead of node by node. A value made inside a run and read after
   * it, or one of the `kept` values (graph outputs, values a subgraph reads), stays an output of the run
   * that its kernel must write; others are the kernel's own.
   */
  claim?(infos: readonly NodeInfo[], kept: ReadonlySet<string>): readonly ClaimedRun[];
  prepareRun?(infos: readonly NodeInfo[]): Kernel;
  /**
   * Called as a session's run starts, before its first step: a threaded backend wakes its workers here so
   * they are up by its first split kernel (a GPU backend could open its command encoder).
   */
  beginRun?(): void;
  /** Memory for the arena when this backend owns its device's tensors (wasm linear memory, GPU buffers). */
  allocate?(byteLength: number): MemoryRegion;
  /** Copies a tensor of this backend's device into host memory and back, for values that cross devices. */
  download?(tensor: Tensor): Promise<Tensor> | Tensor;
  upload?(tensor: Tensor): Promise<Tensor> | Tensor;
  /** Frees everything the backend holds for the session (memory, workers). */
  dispose?(): void;
}

/** The device of plain JavaScript memory: the reference backend's, and wasm's (its memory is an ArrayBuffer). */
export const HOST_DEVICE = 'cpu';
