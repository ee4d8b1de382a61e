import { EdgerunError } from '../core/errors.js';
import { describeType, type Dim, type Graph, type Model, type Value, type ValueInfo, type ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { detectFormat } from '../formats/detect.js';
import { decodeOnnx } from '../formats/onnx/decode.js';
import type { ExternalDataReader } from '../formats/onnx/tensor-proto.js';
import { referenceBackend } from '../backends/reference/index.js';
import type { Backend } from '../backends/backend.js';
import '../ops/index.js';
import { createBackends } from './backends.js';
import { executePlan, executePlanAsync, type ExecuteLimits } from './execute.js';
import { inlineFunctions } from './inline-functions.js';
import { encodeOnnx } from '../formats/onnx/encode.js';
import { OPTIMIZATION_LEVELS, computeFloat16LikeOnnxruntime, optimizeGraph, type OptimizationLevel } from '../optimize/index.js';
import { findUnsupported, planModelGraph, type Plan, type PlanContext, type UnsupportedNode } from './plan.js';
import { Profiler, type TraceEvent } from './profile.js';
import type { RunResult } from './values.js';
export type GraphOptimizationLevel = OptimizationLevel;

export interface SessionOptions {
  /** Backends to use, in priority order ('wasm', 'reference'); the reference backend always completes the list. */
  executionProviders?: string[];
  /** Threads for a threaded backend (the reference backend runs on the calling thread). */
  intraOpNumThreads?: number;
  /** Graph rewrites at create, as onnxruntime names the levels; 'all' (the default) as in onnxruntime. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Saves the optimized graph as ONNX to this path (the Node entry point writes files). */
  optimizedModelFilePath?: string;
  /** Time every node of every run; `endProfiling()` returns the trace. */
  enableProfiling?: boolean;
  /** The profile file's name starts with this (Node writes it; default 'edgerun_profile'). */
  profileFilePrefix?: string;
  /** External tensor data by location, for models loaded from bytes. */
  externalData?: Record<string, Uint8Array>;
  /** The largest tensor a node may produce; a larger one stops the run with LIMIT_EXCEEDED. Default 4 GiB. */
  maxTensorBytes?: number;
}

const DEFAULT_MAX_TENSOR_BYTES = 4 * 2 ** 30;

export interface RunOptions {
  /** Stop with LIMIT_EXCEEDED when a run takes longer than this. */
  timeoutMs?: number;
  /** Called after each node of the main graph, e.g. to drive a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

export interface ValueMetadata {
  name: string;
  isTensor: boolean;
  /** Element type for tensors, else 'sequence' | 'optional' | 'map' | 'unknown'. */
  type: string;
  /** Dims for tensors: sizes, or symbolic names as strings ('?' when unnamed). */
  shape: (number | string)[];
  /** The full type, e.g. `sequence<float32[?]>`. */
  description: string;
}

/** Loading steps that depend on the environment (files, external data) are injected by the entry point. */
export interface LoadEnvironment {
  readExternal?: ExternalDataReader;
  /** The model bytes belong to the loader (it read them from a file): tensor data may be realigned inside them. */
  ownsBytes?: boolean;
  /** Stores a profile when profiling ends and returns its name (Node writes a file). */
  saveProfile?: (fileName: string, trace: readonly TraceEvent[]) => string;
  /** Writes bytes to a path (the optimized model); only the Node entry point can. */
  writeFile?: (path: string, bytes: Uint8Array) => void;
}

function disposeAll(backends: readonly Backend[]): void {
  for (const backend of backends) backend.dispose?.();
}

export function loadModel(bytes: Uint8Array, options: SessionOptions, environment: LoadEnvironment = {}): Model {
  const format = detectFormat(bytes);
  if (format !== 'onnx') {
    throw new EdgerunError('UNSUPPORTED_FORMAT', `${format === 'tflite' ? 'TFLite' : 'PyTorch Mobile'} models are not supported by this version yet`);
  }
  const readExternal = environment.readExternal ?? externalFromOptions(options);
  return decodeOnnx(bytes, { ...(readExternal ? { readExternal } : {}), ownsBytes: environment.ownsBytes ?? false });
}

function externalFromOptions(options: SessionOptions): ExternalDataReader | undefined {
  const files = options.externalData;
  if (!files) return undefined;
  return (location, offset, length) => {
    const file = files[location];
    if (!file) throw new EdgerunError('EXTERNAL_DATA', `no external data named '${location}' was given`);
    const end = length === undefined ? file.length : offset + length;
    if (end > file.length) throw new EdgerunError('EXTERNAL_DATA', `'${location}' has ${file.length} bytes, need ${end}`);
    return file.subarray(offset, end);
  };
}

/** Nodes of `model` no op definition covers (empty when every op has a kernel). */
export function unsupportedNodes(model: Model): UnsupportedNode[] {
  return findUnsupported(model.graph, { opsets: model.opsetImports, functions: model.functions });
}

/** Static types of a model's values, from its graph inputs' declared types and each op's inference. */
export function inferModelTypes(model: Model): ReadonlyMap<string, ValueType> {
  const plan = planModelGraph(inlineFunctions(model).graph, planContext(model, [referenceBackend], DEFAULT_MAX_TENSOR_BYTES), false);
  return plan.types;
}

function planContext(model: Model, backends: readonly Backend[], maxTensorBytes: number): PlanContext {
  return { opsets: model.opsetImports, irVersion: model.irVersion, functions: model.functions, backends, maxTensorBytes, subplans: new Map() };
}

export class InferenceSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: ValueMetadata[];
  readonly outputMetadata: ValueMetadata[];
  private plan: Plan | undefined;
  private backends: readonly Backend[];
  private readonly graphInputs: Map<string, ValueInfo>;
  private readonly optionalInputs: Set<string>;
  private profiler: Profiler | undefined;
  /** Runs wait for the one before: they share the arena. */
  private lastRun: Promise<unknown> = Promise.resolve();
  protected readonly profileFilePrefix: string;

  protected constructor(readonly model: Model, plan: Plan, backends: readonly Backend[], options: SessionOptions, profiler: Profiler | undefined) {
    this.plan = plan;
    this.backends = backends;
    this.profiler = profiler;
    this.profileFilePrefix = options.profileFilePrefix ?? 'edgerun_profile';
    const graph = model.graph;
    const fedInputs = graph.inputs.filter((info) => !graph.initializers.has(info.name));
    this.inputNames = fedInputs.map((info) => info.name);
    this.outputNames = graph.outputs.map((info) => info.name);
    this.inputMetadata = fedInputs.map(metadataOf);
    // Converted models often leave output types undeclared; the ops' own inference fills them in.
    this.outputMetadata = graph.outputs.map((info) => metadataOf(info.type ? info : { ...info, type: plan.types.get(info.name) }));
    this.graphInputs = new Map(graph.inputs.map((info) => [info.name, info]));
    this.optionalInputs = new Set(graph.inputs.filter((info) => graph.initializers.has(info.name) || info.type?.kind === 'optional').map((info) => info.name));
  }

  /** A session from model bytes. Paths need the Node entry point (`edgerun` under Node). */
  static async create(source: string | Uint8Array | ArrayBuffer, options: SessionOptions = {}): Promise<InferenceSession> {
    if (typeof source === 'string') {
      throw new EdgerunError('INVALID_ARGUMENT', `cannot open '${source}' here: this build reads no files; pass the model bytes`);
    }
    return InferenceSession.fromBytes(source instanceof Uint8Array ? source : new Uint8Array(source), options);
  }

  /**
   * `bytes` may still be arriving (Node reads a file asynchronously): V8's wasm compile needs the main thread
   * between its background steps, so a synchronous read of mobilenet_v2 (10 ms) only delayed it.
   */
  protected static async fromBytes(bytes: Uint8Array | Promise<Uint8Array>, options: SessionOptions, environment: LoadEnvironment = {}): Promise<InferenceSession> {
    const profiler = options.enableProfiling ? new Profiler() : undefined;
    // Backends start first: the wasm modules compile on background threads while the model is read and decoded.
    const backends = createBackends(options);
    // Its failure (an unknown provider) is reported where it is awaited, after the bytes: not unhandled meanwhile.
    backends.catch(() => undefined);
    let model: Model;
    let started: number;
    try {
      const arrived = await bytes;
      started = performance.now();
      model = loadModel(arrived, options, environment);
    } catch (error) {
      void backends.then(disposeAll, () => undefined);
      throw error;
    }
    profiler?.recordSession('model_loading', started, performance.now());
    const session = await InferenceSession.fromModel(model, options, profiler, environment.writeFile, backends);
    if (environment.saveProfile) session.saveProfile = environment.saveProfile;
    return session;
  }

  /**
   * A session from a model already in the IR. Everything is decided here, once: functions inlined, the
   * graph optimized, a backend chosen and a kernel prepared for every node, the arena laid out.
   */
  static async fromModel(
    model: Model,
    options: SessionOptions = {},
    profiler?: Profiler,
    writeFile?: LoadEnvironment['writeFile'],
    backendsStarted?: Promise<Backend[]>,
  ): Promise<InferenceSession> {
    const started = performance.now();
    const maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
    const level = options.graphOptimizationLevel ?? 'all';
    if (!OPTIMIZATION_LEVELS.includes(level)) {
      void backendsStarted?.then(disposeAll, () => undefined);
      throw new EdgerunError('INVALID_ARGUMENT', `graphOptimizationLevel '${String(level)}' is not one of ${OPTIMIZATION_LEVELS.join(', ')}`);
    }
    const backends = await (backendsStarted ?? createBackends(options));
    try {
      // float16 nodes compute in float32 as onnxruntime's CPU provider runs them, at every level: the
      // optimizer's first pass does it, so only an unoptimized graph needs it on its own.
      const inlined = inlineFunctions(model);
      const prepared =
        level === 'disabled' ? computeFloat16LikeOnnxruntime(inlined) : optimizeGraph(inlined, { level, preferNhwc: backends[0]?.preferredLayout === 'NHWC' });
      if (options.optimizedModelFilePath !== undefined) {
        if (!writeFile) throw new EdgerunError('INVALID_ARGUMENT', 'optimizedModelFilePath needs the Node entry point, which writes files');
        writeFile(options.optimizedModelFilePath, encodeOnnx(prepared));
      }
      const plan = planModelGraph(prepared.graph, planContext(prepared, backends, maxTensorBytes), true);
      const session = new InferenceSession(model, plan, backends, options, profiler ?? (options.enableProfiling ? new Profiler() : undefined));
      session.profiler?.recordSession('session_initialization', started, performance.now());
      return session;
    } catch (error) {
      disposeAll(backends);
      throw error;
    }
  }

  /** Runs the model. Sequence outputs come back as arrays of tensors, an empty optional as null. */
  async run(feeds: Record<string, Value>, fetches?: readonly string[] | RunOptions, options?: RunOptions): Promise<RunResult> {
    const previous = this.lastRun;
    const current = previous.then(
      () => this.execute(feeds, fetches, options, 'async'),
      () => this.execute(feeds, fetches, options, 'async'),
    );
    this.lastRun = current.catch(() => undefined);
    return current;
  }

  /** `run` on the calling thread, for callers that cannot await (every backend but a GPU one is synchronous). */
  runSync(feeds: Record<string, Value>, fetchesOrOptions?: readonly string[] | RunOptions, runOptions?: RunOptions): RunResult {
    return this.execute(feeds, fetchesOrOptions, runOptions, 'sync');
  }

  private execute(feeds: Record<string, Value>, fetches: readonly string[] | RunOptions | undefined, runOptions: RunOptions | undefined, mode: 'sync'): RunResult;
  private execute(feeds: Record<string, Value>, fetches: readonly string[] | RunOptions | undefined, runOptions: RunOptions | undefined, mode: 'async'): Promise<RunResult>;
  private execute(
    feeds: Record<string, Value>,
    fetchesOrOptions: readonly string[] | RunOptions | undefined,
    runOptions: RunOptions | undefined,
    mode: 'sync' | 'async',
  ): RunResult | Promise<RunResult> {
    // onnxruntime's run(feeds, options) form: options in second place.
    const fetches = Array.isArray(fetchesOrOptions) ? (fetchesOrOptions as readonly string[]) : undefined;
    const options: RunOptions = runOptions ?? (Array.isArray(fetchesOrOptions) ? {} : ((fetchesOrOptions as RunOptions | undefined) ?? {}));
    const plan = this.plan;
    if (!plan) throw new EdgerunError('SESSION_RELEASED', 'this session was released');
    const wanted = fetches ?? this.outputNames;
    for (const name of wanted) {
      if (!this.outputNames.includes(name)) {
        throw new EdgerunError('OUTPUT_NAME_UNKNOWN', `no output named '${name}'; outputs: ${this.outputNames.join(', ')}`);
      }
    }
    const checked = this.checkFeeds(feeds);
    const limits: ExecuteLimits = { onProgress: options.onProgress, profiler: this.profiler };
    if (options.timeoutMs !== undefined) limits.deadline = Date.now() + options.timeoutMs;
    const started = performance.now();
    const pick = (results: Map<string, Value>) => {
      this.profiler?.recordRun(started, performance.now());
      const outputs: Record<string, Value> = {};
      for (const name of wanted) outputs[name] = results.get(name)!;
      return outputs as RunResult;
    };
    return mode === 'sync' ? pick(executePlan(plan, checked, limits)) : executePlanAsync(plan, checked, limits).then(pick);
  }

  /**
   * Stops profiling and returns the trace's file name; the trace itself is `profileTrace`. The Node entry
   * point writes the file; in a browser the name only labels the trace.
   */
  endProfiling(): string {
    const profiler = this.profiler;
    if (!profiler) throw new EdgerunError('INVALID_ARGUMENT', 'profiling is off: create the session with { enableProfiling: true }');
    this.profiler = undefined;
    this.profileTrace = profiler.trace();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
    return this.saveProfile(`${this.profileFilePrefix}_${stamp}.json`, this.profileTrace);
  }

  /** The trace `endProfiling()` ended (Chrome trace events: one per node per run, one per run). */
  profileTrace: TraceEvent[] = [];

  /** Where a trace goes when profiling ends; the Node entry point writes it to a file. */
  private saveProfile: (fileName: string, trace: readonly TraceEvent[]) => string = (fileName) => fileName;

  /** Frees everything the session holds: plan, weights, packed kernels, the arena and backend memory. */
  async release(): Promise<void> {
    const plan = this.plan;
    this.plan = undefined;
    await this.lastRun;
    if (plan) disposePlan(plan);
    for (const backend of this.backends) backend.dispose?.();
    this.backends = [];
    this.model.graph = emptyGraph();
    this.model.functions = [];
  }

  private checkFeeds(feeds: Record<string, Value>): Map<string, Value> {
    if (typeof feeds !== 'object' || feeds === null) throw new EdgerunError('INVALID_ARGUMENT', 'feeds must be an object of name -> tensor');
    const checked = new Map<string, Value>();
    const symbols = new Map<string, { size: number; input: string }>();
    for (const [name, value] of Object.entries(feeds)) {
      const info = this.graphInputs.get(name);
      if (!info) {
        throw new EdgerunError('INPUT_NAME_UNKNOWN', `no input named '${name}'; inputs: ${this.inputNames.join(', ') || '(none)'}`);
      }
      const adopted = adoptTensors(value);
      checkValue(adopted, info.type, `input '${name}'`);
      checkSymbols(adopted, info.type, name, symbols);
      checked.set(name, adopted);
    }
    for (const name of this.inputNames) {
      if (!checked.has(name) && !this.optionalInputs.has(name)) {
        const info = this.graphInputs.get(name)!;
        throw new EdgerunError('INPUT_MISSING', `input '${name}' (${describeType(info.type)}) was not fed`);
      }
    }
    return checked;
  }
}

/** A named dim ('batch') must have one size across all the tensor inputs that use it. */
function checkSymbols(value: Value, type: ValueType | undefined, input: string, symbols: Map<string, { size: number; input: string }>): void {
  if (!(value instanceof Tensor) || type?.kind !== 'tensor' || !type.shape) return;
  type.shape.forEach((dim, axis) => {
    if (typeof dim !== 'string') return;
    const size = value.dims[axis]!;
    const seen = symbols.get(dim);
    if (!seen) symbols.set(dim, { size, input });
    else if (seen.size !== size) {
      throw new EdgerunError(
        'INPUT_SHAPE_MISMATCH',
        `input '${input}': dim '${dim}' (axis ${axis}) is ${size}, but input '${seen.input}' gave '${dim}' = ${seen.size}`,
      );
    }
  });
}

function checkValue(value: Value, type: ValueType | undefined, label: string): void {
  if (!type) return;
  if (type.kind === 'optional') {
    if (value !== null) checkValue(value, type.elem, label);
    return;
  }
  if (type.kind === 'sequence') {
    if (!Array.isArray(value)) throw new EdgerunError('INPUT_TYPE_MISMATCH', `${label}: expected ${describeType(type)}, got ${kindOf(value)}`);
    value.forEach((item, index) => checkValue(item, type.elem, `${label}[${index}]`));
    return;
  }
  if (type.kind !== 'tensor') return;
  if (!(value instanceof Tensor)) {
    throw new EdgerunError('INPUT_TYPE_MISMATCH', `${label}: expected ${describeType(type)}, got ${kindOf(value)}`);
  }
  if (value.type !== type.dtype) {
    throw new EdgerunError('INPUT_TYPE_MISMATCH', `${label}: expected ${type.dtype}, got ${value.type}`);
  }
  const shape = type.shape;
  if (!shape) return;
  const mismatch =
    shape.length !== value.dims.length || shape.some((dim, axis) => typeof dim === 'number' && dim !== value.dims[axis]);
  if (mismatch) {
    throw new EdgerunError(
      'INPUT_SHAPE_MISMATCH',
      `${label}: expected dims [${shape.map((dim) => dim ?? '?').join(', ')}], got [${value.dims.join(', ')}]`,
    );
  }
}

/**
 * Tensors made by another copy of edgerun (another bundle, realm or package version) have the same shape
 * but fail `instanceof`; any { type, data, dims } object is taken as the tensor it describes.
 */
function adoptTensors(value: Value): Value {
  if (value === null || value instanceof Tensor) return value;
  if (Array.isArray(value)) return value.map(adoptTensors);
  const like = value as { type?: unknown; data?: unknown; dims?: unknown };
  if (typeof like === 'object' && typeof like.type === 'string' && like.data !== undefined && Array.isArray(like.dims)) {
    return new Tensor(like.type as Tensor['type'], like.data as Tensor['data'], like.dims as number[]);
  }
  return value;
}

function kindOf(value: Value): string {
  if (value === null) return 'an empty optional';
  const plain = value as unknown;
  if (Array.isArray(plain) && plain.some((item) => typeof item === 'number' || typeof item === 'bigint')) {
    return "a plain array of numbers (wrap it: new Tensor('float32', data, dims))";
  }
  if (ArrayBuffer.isView(plain)) return `a bare ${plain.constructor.name} (wrap it: new Tensor(type, data, dims))`;
  if (Array.isArray(value)) return 'a sequence';
  if (value instanceof Tensor) return `a ${value.type} tensor`;
  return typeof value;
}

function metadataOf(info: ValueInfo): ValueMetadata {
  const type = info.type;
  const isTensor = type?.kind === 'tensor';
  return {
    name: info.name,
    isTensor,
    type: !type ? 'unknown' : type.kind === 'tensor' || type.kind === 'sparse_tensor' ? type.dtype : type.kind,
    shape: isTensor ? (type.shape ?? []).map((dim: Dim) => dim ?? '?') : [],
    description: describeType(type),
  };
}

function emptyGraph(): Graph {
  return { name: '', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
}

/** Frees the kernels' prepared state (packed weights) and the arena, subplans included. */
function disposePlan(plan: Plan): void {
  for (const step of plan.steps) step.kernel.dispose?.();
  for (const subplan of plan.context.subplans.values()) for (const step of subplan.steps) step.kernel.dispose?.();
  plan.context.subplans.clear();
  plan.arena?.region.release();
}
