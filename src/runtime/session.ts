import { EdgerunError } from '../core/errors.js';
import { describeType, type Dim, type Graph, type Model, type Value, type ValueInfo, type ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { detectFormat } from '../formats/detect.js';
import { decodeOnnx } from '../formats/onnx/decode.js';
import type { ExternalDataReader } from '../formats/onnx/tensor-proto.js';
import { referenceBackend } from '../backends/reference/index.js';
import type { Backend } from '../backends/backend.js';
import '../ops/index.js';
import { executePlan, type ExecuteLimits } from './execute.js';
import { inferGraphTypes } from '../optimize/infer.js';
import { catalogueResolver } from '../optimize/resolve.js';
import { findUnsupported, planGraph, type Plan, type PlanContext, type UnsupportedNode } from './plan.js';

export interface SessionOptions {
  /** Backends to use, in priority order; the reference backend always completes the list. */
  executionProviders?: string[];
  /** Threads for a threaded backend (the reference backend runs on the calling thread). */
  intraOpNumThreads?: number;
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

const BACKENDS: Record<string, Backend> = { reference: referenceBackend, cpu: referenceBackend };

/** Loading steps that depend on the environment (files, external data) are injected by the entry point. */
export interface LoadEnvironment {
  readExternal?: ExternalDataReader;
}

export function loadModel(bytes: Uint8Array, options: SessionOptions, environment: LoadEnvironment = {}): Model {
  const format = detectFormat(bytes);
  if (format !== 'onnx') {
    throw new EdgerunError('UNSUPPORTED_FORMAT', `${format === 'tflite' ? 'TFLite' : 'PyTorch Mobile'} models are not supported by this version yet`);
  }
  const readExternal = environment.readExternal ?? externalFromOptions(options);
  return decodeOnnx(bytes, readExternal ? { readExternal } : {});
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

export function planContextFor(model: Model, options: SessionOptions): PlanContext {
  const names = options.executionProviders ?? ['reference'];
  const backends = names.map((name) => {
    const backend = BACKENDS[name];
    if (!backend) {
      throw new EdgerunError('INVALID_ARGUMENT', `unknown execution provider '${name}'; available: ${Object.keys(BACKENDS).join(', ')}`);
    }
    return backend;
  });
  if (!backends.includes(referenceBackend)) backends.push(referenceBackend);
  return { opsets: model.opsetImports, functions: model.functions, backends, subplans: new WeakMap() };
}

/** Nodes of `model` no backend can run (empty when every op has a kernel). */
export function unsupportedNodes(model: Model): UnsupportedNode[] {
  return findUnsupported(model.graph, planContextFor(model, {}));
}

export class InferenceSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: ValueMetadata[];
  readonly outputMetadata: ValueMetadata[];
  private plan: Plan | undefined;
  private readonly graphInputs: Map<string, ValueInfo>;
  private readonly optionalInputs: Set<string>;

  private readonly maxTensorBytes: number;

  protected constructor(readonly model: Model, plan: Plan, options: SessionOptions) {
    this.plan = plan;
    this.maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
    const graph = model.graph;
    const fedInputs = graph.inputs.filter((info) => !graph.initializers.has(info.name));
    this.inputNames = fedInputs.map((info) => info.name);
    this.outputNames = graph.outputs.map((info) => info.name);
    this.inputMetadata = fedInputs.map(metadataOf);
    // Converted models often leave output types undeclared; the ops' own inference fills them in.
    const inferred = graph.outputs.some((info) => !info.type) ? inferGraphTypes(graph, catalogueResolver(model.opsetImports, model.functions)).types : new Map<string, ValueType>();
    this.outputMetadata = graph.outputs.map((info) => metadataOf(info.type ? info : { ...info, type: inferred.get(info.name) }));
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

  protected static fromBytes(bytes: Uint8Array, options: SessionOptions, environment: LoadEnvironment = {}): InferenceSession {
    const model = loadModel(bytes, options, environment);
    return InferenceSession.fromModel(model, options);
  }

  static fromModel(model: Model, options: SessionOptions = {}): InferenceSession {
    const plan = planGraph(model.graph, planContextFor(model, options));
    warnAboutThreads(options);
    return new InferenceSession(model, plan, options);
  }

  /** Runs the model. Sequence outputs come back as arrays of tensors, an empty optional as null. */
  async run(feeds: Record<string, Value>, fetches?: readonly string[] | RunOptions, options?: RunOptions): Promise<Record<string, Value>> {
    return this.runSync(feeds, fetches, options);
  }

  /** `run` on the calling thread, for callers that cannot await (the kernels are synchronous anyway). */
  runSync(feeds: Record<string, Value>, fetchesOrOptions?: readonly string[] | RunOptions, runOptions?: RunOptions): Record<string, Value> {
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
    const limits: ExecuteLimits = { onProgress: options.onProgress, maxTensorBytes: this.maxTensorBytes };
    if (options.timeoutMs !== undefined) limits.deadline = Date.now() + options.timeoutMs;
    const results = executePlan(plan, checked, undefined, limits);
    const outputs: Record<string, Value> = {};
    for (const name of wanted) outputs[name] = results.get(name)!;
    return outputs;
  }

  /** Drops the graph, weights and plan so their memory can be reclaimed; later runs fail. */
  async release(): Promise<void> {
    this.plan = undefined;
    this.model.graph = emptyGraph();
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

/** Asking for threads that cannot be had is said out loud, once, rather than silently ignored. */
let threadWarningGiven = false;
function warnAboutThreads(options: SessionOptions): void {
  const threads = options.intraOpNumThreads;
  if (threads === undefined || threads <= 1 || threadWarningGiven) return;
  threadWarningGiven = true;
  console.warn(
    `edgerun: intraOpNumThreads=${threads} was requested, but this version has only the single-threaded reference backend; running on 1 thread`,
  );
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
