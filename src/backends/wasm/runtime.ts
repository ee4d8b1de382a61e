import { EdgerunError } from '../../core/errors.js';
import { Tensor } from '../../core/tensor.js';
import { MAXIMUM_PAGES, WASM_MODULES } from './modules.generated.js';
import { TASK_DIRECT_CONV, TASK_DWCONV, TASK_GEMM, TASK_GEMM_BATCH, TASK_POOL, TASK_WINOGRAD_INPUT, TASK_WINOGRAD_OUTPUT } from './tasks.js';
import { ThreadPool } from './threads.js';

/**
 * The wasm side of the backend: one WebAssembly.Memory per session, the kernel modules instantiated on it,
 * and an allocator over it. The TypeScript side owns every buffer (packed weights, arena, scratch); kernels
 * get byte pointers and allocate nothing.
 */

/**
 * simd: SIMD128; relaxed: + relaxed SIMD; threads: SIMD128 on shared memory (growth never detaches it);
 * relaxed-threads: relaxed SIMD on shared memory.
 */
export type WasmVariant = 'simd' | 'relaxed' | 'threads' | 'relaxed-threads';

/** Whether the build runs on a shared memory (and so can have a worker pool). */
export const isSharedVariant = (variant: WasmVariant): boolean => variant === 'threads' || variant === 'relaxed-threads';

const PAGE_BYTES = 65536;
/** Blocks start on a cache line; each gets 16 spare bytes so a kernel may read a vector past a tensor's end. */
const ALIGNMENT = 64;
const READ_SLACK = 16;
/** Calls per hot kernel at create: enough for V8's dynamic tiering to optimize it. */
const WARM_UP_CALLS = 200;
/**
 * Multiply-adds below which a GEMM runs on the calling thread alone: about 40 µs of work, where handing
 * chunks to a worker (a wake, its cold caches, the caller waiting for its last chunk) costs 10-30 µs.
 */
const PARALLEL_WORK = 1 << 20;
/** Transformed values (36 per tile and channel) from which a Winograd transform is split (a few µs of work). */
const PARALLEL_TRANSFORM_VALUES = 1 << 15;
const WINOGRAD_POINTS = 36;
/** Depthwise multiply-adds (pooling taps) below which the calling thread runs it alone: it reads each input once,
 * so a small layer gains less from a second core than the handover and the cross-core reads of its input cost. */
const PARALLEL_DEPTHWISE_WORK = 1 << 18;

interface GemmExports {
  f32_gemm_packed_size(n: number, k: number): number;
  f32_gemm_pack(n: number, k: number, b: number, rowStride: number, colStride: number, bias: number, packed: number): void;
  f32_gemm_minmax(m: number, n: number, k: number, a: number, lda: number, packed: number, c: number, ldc: number, low: number, high: number): void;
}

interface ConvExports {
  f32_im2col_nhwc(
    x: number, h: number, w: number, channels: number, first: number, count: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
    oh: number, ow: number, out: number,
  ): void;
  f32_dwconv_packed_size(channels: number, kh: number, kw: number): number;
  f32_dwconv_pack(channels: number, kh: number, kw: number, weights: number, bias: number, packed: number): void;
  f32_dwconv_minmax_nhwc(
    x: number, h: number, w: number, channels: number, kh: number, kw: number,
    strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
    oh: number, ow: number, packed: number, y: number, low: number, high: number,
  ): void;
  f32_transpose(src: number, rows: number, cols: number, dst: number): void;
}

interface DirectConvExports {
  f32_conv_direct_scratch_size(channels: number, kh: number, kw: number, strideW: number, ow: number): number;
  f32_conv_direct_minmax(
    x: number, h: number, w: number, channels: number, planar: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number,
    oh: number, ow: number, packed: number, m: number, y: number, low: number, high: number, scratch: number,
  ): void;
}

interface WinogradExports {
  f32_winograd_scratch_size(channels: number): number;
  f32_all_finite(x: number, count: number): number;
  f32_winograd_input_4x4_3x3(
    x: number, h: number, w: number, channels: number, padTop: number, padLeft: number,
    tileRow: number, tileRows: number, tilesW: number, v: number, matrixBytes: number, scratch: number,
  ): void;
  f32_winograd_output_4x4_3x3(
    m: number, matrixBytes: number, tileRow: number, tileRows: number, tilesW: number, outChannels: number, bias: number,
    oh: number, ow: number, y: number, yPixel: number, low: number, high: number, scratch: number,
  ): void;
}

interface ElementwiseExports {
  f32_binary_minmax(op: number, rows: number, cols: number, a: number, aRow: number, aCol: number, b: number, bRow: number, bCol: number, y: number, low: number, high: number): void;
  f32_clamp(x: number, count: number, y: number, low: number, high: number): void;
}

interface PoolExports {
  f32_column_means(x: number, pixels: number, channels: number, y: number): void;
  f32_row_means(x: number, rows: number, cols: number, y: number): void;
  f32_pool_nhwc(
    x: number, h: number, w: number, channels: number, kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number, y: number, isMax: number, countPad: number,
  ): void;
}

interface ActivationExports {
  f32_unary(op: number, x: number, count: number, y: number): void;
}

interface CopyExports {
  copy_rows(rows: number, rowBytes: number, src: number, srcStride: number, dst: number, dstStride: number): void;
}

interface QuantizedExports {
  qs8_gemm_4x8c2(m: number, n: number, k: number, a: number, lda: number, aZeroPoint: number, packed: number, c: number, ldc: number): void;
  qu8_gemm_4x8c2(m: number, n: number, k: number, a: number, lda: number, aZeroPoint: number, packed: number, c: number, ldc: number): void;
  x8_im2col_nhwc(
    x: number, h: number, w: number, channels: number, first: number, count: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
    oh: number, ow: number, padValue: number, out: number,
  ): void;
  x8_transpose(src: number, rows: number, cols: number, dst: number): void;
}

interface QuantizeExports {
  f32_quantize(x: number, outer: number, channels: number, inner: number, scales: number, zeroPoints: number, low: number, high: number, y: number): void;
  s8_dequantize(x: number, outer: number, channels: number, inner: number, scales: number, zeroPoints: number, y: number): void;
  u8_dequantize(x: number, outer: number, channels: number, inner: number, scales: number, zeroPoints: number, y: number): void;
  qs32_requantize_fp32(acc: number, rows: number, cols: number, ldAcc: number, multipliers: number, zeroPoint: number, low: number, high: number, y: number, ldy: number): void;
  qs32_requantize_rndnu(
    acc: number, rows: number, cols: number, ldAcc: number, multipliers: number, shifts: number, zeroPoint: number, low: number, high: number, y: number, ldy: number,
  ): void;
  f32_range(x: number, count: number, out: number): void;
}

interface NormalizeExports {
  f32_softmax(x: number, outer: number, n: number, inner: number, y: number): void;
  f32_layer_norm(x: number, rows: number, cols: number, scale: number, bias: number, epsilon: number, y: number): void;
}

interface LayoutExports {
  f32_permute(x: number, rank: number, table: number, y: number): void;
}

interface RecurrentExports {
  f32_lstm_sequence(
    hidden: number, steps: number, recurrence: number, gates: number, gateStride: number, peepholes: number, clip: number, inputForget: number,
    h: number, cell: number, y: number, yStride: number, zeroStart: number,
  ): void;
  f32_gru_sequence(
    hidden: number, steps: number, recurrence: number, gates: number, gateStride: number, recurrenceBias: number, clip: number, linearBeforeReset: number,
    h: number, hNext: number, reset: number, y: number, yStride: number, zeroStart: number,
  ): void;
}

export type WasmKernels = GemmExports & ConvExports & WinogradExports & DirectConvExports & ElementwiseExports & PoolExports & ActivationExports & CopyExports & QuantizedExports & QuantizeExports & NormalizeExports & LayoutExports & RecurrentExports;

type ModuleName = keyof typeof WASM_MODULES;

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The embedded modules' bytes: with `atob` where the host has it (ten times faster than a JavaScript loop that
 * has not been optimized yet, which is what a fresh process runs), else decoded here for hosts without it
 * (embedded engines, bare V8 contexts).
 */
export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const host = globalThis as { atob?: (text: string) => string };
  if (typeof host.atob === 'function') {
    const binary = host.atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  const digits = new Uint8Array(128);
  for (let i = 0; i < BASE64_DIGITS.length; i++) digits[BASE64_DIGITS.charCodeAt(i)] = i;
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((base64.length / 4) * 3 - padding);
  let out = 0;
  for (let i = 0; i < base64.length; i += 4) {
    const group =
      (digits[base64.charCodeAt(i)]! << 18) | (digits[base64.charCodeAt(i + 1)]! << 12) | (digits[base64.charCodeAt(i + 2)]! << 6) | digits[base64.charCodeAt(i + 3)]!;
    if (out < bytes.length) bytes[out++] = group >> 16;
    if (out < bytes.length) bytes[out++] = (group >> 8) & 255;
    if (out < bytes.length) bytes[out++] = group & 255;
  }
  return bytes;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** Each module is compiled once per process and instantiated once per session. */
function compiledModule(name: ModuleName, variant: WasmVariant): Promise<WebAssembly.Module> {
  const key = `${name}/${variant}`;
  let module = compiled.get(key);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(WASM_MODULES[name][variant]));
    compiled.set(key, module);
  }
  return module;
}

function validates(variant: WasmVariant): boolean {
  return WebAssembly.validate(decodeBase64(WASM_MODULES.gemm[variant]));
}

/** Whether a shared WebAssembly.Memory can be made here (browsers: only on a cross-origin-isolated page). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

export interface Capabilities {
  simd: boolean;
  relaxedSimd: boolean;
  sharedMemory: boolean;
}

/** What this host's WebAssembly offers the backend. */
export function wasmCapabilities(): Capabilities {
  return { simd: validates('simd'), relaxedSimd: validates('relaxed'), sharedMemory: validates('threads') && sharedMemoryAvailable() };
}

/**
 * The build to load: shared memory where it can be had (threads, and tensors in wasm memory stay valid when
 * it grows), with relaxed SIMD where the host validates it (fused multiply-adds: GEMM 35 -> 42 GFLOP/s on
 * an Intel Xeon host, no gain on AMD Zen); undefined without SIMD.
 */
export function chooseVariant(capabilities: Capabilities = wasmCapabilities()): WasmVariant | undefined {
  if (!capabilities.simd) return undefined;
  if (capabilities.sharedMemory) return capabilities.relaxedSimd ? 'relaxed-threads' : 'threads';
  return capabilities.relaxedSimd ? 'relaxed' : 'simd';
}

interface Block {
  start: number;
  size: number;
}

/** First-fit allocator over the memory, coalescing freed neighbours; grows the memory when nothing fits. */
class Allocator {
  private readonly free: Block[] = [];
  private top: number;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = base;
  }

  alloc(byteLength: number): number {
    const size = Math.ceil((byteLength + READ_SLACK) / ALIGNMENT) * ALIGNMENT;
    const index = this.free.findIndex((block) => block.size >= size);
    if (index >= 0) {
      const block = this.free[index]!;
      const start = block.start;
      if (block.size === size) this.free.splice(index, 1);
      else Object.assign(block, { start: start + size, size: block.size - size });
      return start;
    }
    const start = this.top;
    const end = start + size;
    const current = this.memory.buffer.byteLength / PAGE_BYTES;
    const pages = Math.ceil(end / PAGE_BYTES) - current;
    if (pages > 0) {
      try {
        // Geometric growth: a private memory may be copied on every grow.
        this.memory.grow(Math.max(pages, Math.min(current >> 1, MAXIMUM_PAGES - current)));
      } catch (cause) {
        throw new EdgerunError('LIMIT_EXCEEDED', `wasm backend: cannot grow its memory to ${end} bytes`, [], { cause });
      }
    }
    this.top = end;
    return start;
  }

  release(start: number, byteLength: number): void {
    const size = Math.ceil((byteLength + READ_SLACK) / ALIGNMENT) * ALIGNMENT;
    let index = this.free.findIndex((block) => block.start > start);
    if (index < 0) index = this.free.length;
    this.free.splice(index, 0, { start, size });
    const next = this.free[index + 1];
    if (next && start + size === next.start) {
      this.free[index]!.size += next.size;
      this.free.splice(index + 1, 1);
    }
    const previous = this.free[index - 1];
    if (previous && previous.start + previous.size === start) {
      previous.size += this.free[index]!.size;
      this.free.splice(index, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

/**
 * Tiny calls of each kernel (or family of kernels called together) that WasmRuntime.warmUp repeats: 4 KB of
 * zeros at `a`, 4 KB at `packed`, then 8 KB at `out`.
 */
const WARM_UPS = {
  f32_gemm_minmax: (kernels, a, packed, out) => {
    kernels.f32_gemm_pack(16, 16, a, 16, 1, 0, packed);
    kernels.f32_gemm_minmax(5, 13, 16, a, 16, packed, out, 16, 0, 6);
    kernels.f32_gemm_minmax(1, 13, 16, a, 16, packed, out, 16, 0, 6);
  },
  f32_dwconv_minmax_nhwc: (kernels, a, packed, out) =>
    kernels.f32_dwconv_minmax_nhwc(a, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 6, 6, packed, out, 0, 6),
  f32_im2col_nhwc: (kernels, a, _packed, out) => kernels.f32_im2col_nhwc(a, 6, 6, 3, 0, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, out),
  f32_pool_nhwc: (kernels, a, _packed, out) => kernels.f32_pool_nhwc(a, 6, 6, 8, 3, 3, 2, 2, 1, 1, 0, 0, 2, 2, out, 1, 0),
  f32_conv_direct_minmax: (kernels, a, packed, out) =>
    kernels.f32_conv_direct_minmax(a, 6, 6, 3, 0, 3, 3, 2, 2, 1, 1, 3, 3, packed, 8, out, 0, 6, a + 2048),
  f32_winograd: (kernels, a, packed, out) => {
    kernels.f32_all_finite(a, 64);
    kernels.f32_winograd_input_4x4_3x3(a, 6, 6, 4, 1, 1, 0, 2, 2, packed, 64, out);
    kernels.f32_winograd_output_4x4_3x3(packed, 64, 0, 2, 2, 4, a, 6, 6, out, 4, 0, 6, out + 4096);
  },
  f32_transpose: (kernels, a, _packed, out) => kernels.f32_transpose(a, 8, 36, out),
  f32_binary_minmax: (kernels, a, packed, out) => kernels.f32_binary_minmax(0, 4, 64, a, 64, 1, packed, 0, 1, out, -Infinity, Infinity),
  f32_clamp: (kernels, a, _packed, out) => kernels.f32_clamp(a, 256, out, 0, 6),
  f32_unary: (kernels, a, _packed, out) => kernels.f32_unary(3, a, 256, out),
  qu8_gemm: (kernels, a, packed, out) => {
    kernels.qu8_gemm_4x8c2(8, 16, 16, a, 16, 0, packed, out, 16);
    kernels.qs32_requantize_fp32(a, 8, 16, 16, packed, 0, 0, 255, out, 16);
  },
  f32_softmax: (kernels, a, _packed, out) => kernels.f32_softmax(a, 8, 32, 1, out),
  f32_layer_norm: (kernels, a, packed, out) => kernels.f32_layer_norm(a, 8, 32, packed, packed, 1e-5, out),
  f32_lstm_sequence: (kernels, a, packed, out) =>
    kernels.f32_lstm_sequence(8, 2, packed, a, 128, 0, Infinity, 0, out, out + 64, out + 192, 32, 0),
  f32_gru_sequence: (kernels, a, packed, out) => {
    kernels.f32_gru_sequence(8, 2, packed, a, 96, out + 256, Infinity, 0, out, out + 64, out + 128, out + 224, 32, 0);
    kernels.f32_gru_sequence(8, 2, packed, a, 96, out + 256, Infinity, 1, out, out + 64, out + 128, out + 224, 32, 0);
  },
} satisfies Record<string, (kernels: WasmKernels, a: number, packed: number, out: number) => void>;

/** A kernel (or a kernel family) WasmRuntime.warmUp can tier up. */
export type WarmUpKernel = keyof typeof WARM_UPS;

/** A block of wasm memory handed out by the runtime; `release` returns it. */
export interface WasmBlock {
  readonly pointer: number;
  readonly byteLength: number;
  release(): void;
}

/** One session's wasm memory, kernels and buffers. */
export class WasmRuntime {
  private readonly allocator: Allocator;
  /** Every ArrayBuffer the memory has had: a shared memory's views made before a grow stay valid. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private scratchBlock: WasmBlock | undefined;
  private pool: ThreadPool | undefined;
  /** Kernels warmUp has tiered up. */
  private readonly warmed = new Set<WarmUpKernel>();

  private constructor(
    readonly variant: WasmVariant,
    readonly memory: WebAssembly.Memory,
    readonly kernels: WasmKernels,
    private readonly modules: WebAssembly.Module[],
  ) {
    // Address 0 stays unused: kernels read a 0 pointer as "no bias".
    this.allocator = new Allocator(memory, ALIGNMENT);
  }

  static async create(variant: WasmVariant): Promise<WasmRuntime> {
    const shared = isSharedVariant(variant);
    const memory = new WebAssembly.Memory(shared ? { initial: 16, maximum: MAXIMUM_PAGES, shared: true } : { initial: 16 });
    const names = Object.keys(WASM_MODULES) as ModuleName[];
    const modules = await Promise.all(names.map((name) => compiledModule(name, variant)));
    const instances = await Promise.all(modules.map((module) => WebAssembly.instantiate(module, { env: { memory } })));
    const kernels = Object.assign({}, ...instances.map((instance) => instance.exports)) as WasmKernels;
    return new WasmRuntime(variant, memory, kernels, modules);
  }

  /** The kernels warmUp has tiered up so far. */
  get warmedKernels(): ReadonlySet<WarmUpKernel> {
    return this.warmed;
  }

  /**
   * Calls the named kernels many times on tiny sizes, so V8 tiers them up before the first inference (a
   * wasm function stays in the baseline tier for the whole of a long call). Each op's prepare asks for the
   * kernels its node will call: warming every kernel took 5 ms of mobilenet_v2's session create, and the
   * optimizing compiles of kernels no node calls, on background threads, slowed the rest of it on a
   * two-core machine (create 110 -> 94 ms, medians of 20).
   */
  warmUp(...names: WarmUpKernel[]): void {
    const cold = names.filter((name) => !this.warmed.has(name));
    if (cold.length === 0) return;
    const floats = 4096;
    const block = this.alloc(floats * 4);
    this.f32(block.pointer, floats).fill(0);
    for (const name of cold) {
      this.warmed.add(name);
      for (let i = 0; i < WARM_UP_CALLS; i++) WARM_UPS[name](this.kernels, block.pointer, block.pointer + 4096, block.pointer + 8192);
    }
    block.release();
  }

  /** Starts workers so kernels run on `threads` threads in all; only a shared-memory build can. */
  async startThreads(threads: number): Promise<void> {
    if (!isSharedVariant(this.variant) || threads <= 1 || this.pool) return;
    this.pool = await ThreadPool.start(this, this.modules, threads);
  }

  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** An inference starts: the pool wakes its workers if the last inference split enough kernels to pay. */
  beginInference(): void {
    this.pool?.beginInference();
  }

  /** Chunks the pool cuts a task into (1 without a pool): kernels that need scratch of their own need this many. */
  get chunks(): number {
    return this.pool?.chunks ?? 1;
  }

  /** Chunks of split kernels the workers have run (0 without a pool). */
  get workerChunks(): number {
    return this.pool?.workerChunks ?? 0;
  }

  /** Workers asleep until notified (0 without a pool). */
  get sleepingWorkers(): number {
    return this.pool?.sleepingWorkers ?? 0;
  }

  /**
   * f32_gemm_pack one panel of 8 columns per call: V8 runs a wasm function in its baseline tier until the
   * call returns (no on-stack replacement), so one long first call would pack a whole layer slowly.
   */
  packPanels(n: number, k: number, b: number, rowStride: number, colStride: number, bias: number, packed: number): void {
    const panelBytes = (k + 1) * 32;
    for (let col = 0; col < n; col += 8) {
      const panel = col / 8;
      this.kernels.f32_gemm_pack(Math.min(8, n - col), k, b + col * colStride * 4, rowStride, colStride, bias === 0 ? 0 : bias + col * 4, packed + panel * panelBytes);
    }
  }

  /**
   * `matrices` products of the same sizes, matrix i at a + i * aStride, packed + i * packedStride and
   * c + i * cStride (bytes): whole products go to the pool's threads, where one alone would be too small to split.
   */
  gemmBatch(
    matrices: number, m: number, n: number, k: number, a: number, aStride: number, lda: number, packed: number, packedStride: number, c: number, cStride: number,
    ldc: number, low: number, high: number,
  ): void {
    if (this.pool && matrices * m * n * k >= PARALLEL_WORK) {
      this.pool.run(TASK_GEMM_BATCH, [matrices, m, n, k, a, aStride, lda, packed, packedStride, c, cStride, ldc, low, high]);
      return;
    }
    for (let matrix = 0; matrix < matrices; matrix++) {
      this.kernels.f32_gemm_minmax(m, n, k, a + matrix * aStride, lda, packed + matrix * packedStride, c + matrix * cStride, ldc, low, high);
    }
  }

  /** f32_gemm_minmax over the pool's threads, split by rows of C or, when m < n, by its panels of 8 columns. */
  gemm(m: number, n: number, k: number, a: number, lda: number, packed: number, c: number, ldc: number, low: number, high: number): void {
    if (this.pool && m * n * k >= PARALLEL_WORK) this.pool.run(TASK_GEMM, [m, n, k, a, lda, packed, c, ldc, low, high]);
    else this.kernels.f32_gemm_minmax(m, n, k, a, lda, packed, c, ldc, low, high);
  }

  /** f32_dwconv_minmax_nhwc over the pool's threads, split by output rows (arguments in its order). */
  dwconv(...args: Parameters<WasmKernels['f32_dwconv_minmax_nhwc']>): void {
    const [, , , channels, kh, kw, , , , , , , oh, ow] = args;
    if (this.pool && oh * ow * channels * kh * kw >= PARALLEL_DEPTHWISE_WORK) this.pool.run(TASK_DWCONV, args);
    else this.kernels.f32_dwconv_minmax_nhwc(...args);
  }

  /**
   * f32_winograd_input_4x4_3x3 over the pool's threads, split by tile rows (arguments in its order, then
   * the bytes of one chunk's scratch: `scratch` holds `chunks` of them).
   */
  winogradInput(...args: [...Parameters<WasmKernels['f32_winograd_input_4x4_3x3']>, scratchBytes: number]): void {
    const [, , , channels, , , , tileRows, tilesW] = args;
    if (this.pool && tileRows * tilesW * channels * WINOGRAD_POINTS >= PARALLEL_TRANSFORM_VALUES) this.pool.run(TASK_WINOGRAD_INPUT, args);
    else this.kernels.f32_winograd_input_4x4_3x3(...(args.slice(0, -1) as Parameters<WasmKernels['f32_winograd_input_4x4_3x3']>));
  }

  /** f32_winograd_output_4x4_3x3 over the pool's threads, split by tile rows (as winogradInput). */
  winogradOutput(...args: [...Parameters<WasmKernels['f32_winograd_output_4x4_3x3']>, scratchBytes: number]): void {
    const [, , , tileRows, tilesW, outChannels] = args;
    if (this.pool && tileRows * tilesW * outChannels * WINOGRAD_POINTS >= PARALLEL_TRANSFORM_VALUES) this.pool.run(TASK_WINOGRAD_OUTPUT, args);
    else this.kernels.f32_winograd_output_4x4_3x3(...(args.slice(0, -1) as Parameters<WasmKernels['f32_winograd_output_4x4_3x3']>));
  }

  /** f32_pool_nhwc over the pool's threads, split by output rows as depthwise convolution is (arguments in its order). */
  poolNhwc(...args: Parameters<WasmKernels['f32_pool_nhwc']>): void {
    const [, , , channels, kh, kw, , , , , , , oh, ow] = args;
    if (this.pool && oh * ow * channels * kh * kw >= PARALLEL_DEPTHWISE_WORK) this.pool.run(TASK_POOL, args);
    else this.kernels.f32_pool_nhwc(...args);
  }

  /**
   * f32_conv_direct_minmax over the pool's threads, split by output rows (arguments in its order, then the
   * bytes of one chunk's scratch: `scratch` holds `chunks` of them).
   */
  directConv(...args: [...Parameters<WasmKernels['f32_conv_direct_minmax']>, scratchBytes: number]): void {
    const [, , , channels, , kh, kw, , , , , oh, ow, , m] = args;
    if (this.pool && oh * ow * m * channels * kh * kw >= PARALLEL_WORK) this.pool.run(TASK_DIRECT_CONV, args);
    else this.kernels.f32_conv_direct_minmax(...(args.slice(0, -1) as Parameters<WasmKernels['f32_conv_direct_minmax']>));
  }

  alloc(byteLength: number): WasmBlock {
    const pointer = this.allocator.alloc(byteLength);
    let released = false;
    return {
      pointer,
      byteLength,
      release: () => {
        if (released) return;
        released = true;
        this.allocator.release(pointer, byteLength);
      },
    };
  }

  /** The memory's current buffer (a new object after every grow). */
  get buffer(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return buffer;
  }

  f32(pointer: number, length: number): Float32Array {
    return new Float32Array(this.buffer, pointer, length);
  }

  /** The byte address of a float32 tensor that lives in this memory, else undefined. */
  addressOf(tensor: Tensor): number | undefined {
    const data = tensor.data as Float32Array;
    // The set first: reading memory.buffer is a call into the engine, and this runs for every tensor of every kernel.
    if (this.buffers.has(data.buffer) || data.buffer === this.buffer) return data.byteOffset;
    return undefined;
  }

  /** The tensor's address, copying it to `scratch` first when it lives outside this memory. */
  place(tensor: Tensor, scratch: number): number {
    const address = this.addressOf(tensor);
    if (address !== undefined) return address;
    this.f32(scratch, tensor.data.length).set(tensor.data as Float32Array);
    return scratch;
  }

  /** Copies host floats into a new block. */
  upload(values: Float32Array): WasmBlock {
    const block = this.alloc(values.byteLength);
    this.f32(block.pointer, values.length).set(values);
    return block;
  }

  /**
   * Makes sure the scratch block holds `byteLength` bytes; kernels call this in prepare with the sizes their
   * static shapes need, so runs do not grow the memory (which detaches a private memory's views).
   */
  reserveScratch(byteLength: number): void {
    if (this.scratchBlock && this.scratchBlock.byteLength >= byteLength) return;
    this.scratchBlock?.release();
    this.scratchBlock = this.alloc(byteLength);
  }

  /** The scratch block's address, at least `byteLength` bytes, valid until the next kernel runs. */
  scratch(byteLength: number): number {
    this.reserveScratch(byteLength);
    return this.scratchBlock!.pointer;
  }

  dispose(): void {
    this.pool?.dispose();
    this.pool = undefined;
    this.scratchBlock?.release();
    this.scratchBlock = undefined;
    this.buffers.clear();
  }
}
