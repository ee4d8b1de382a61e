import { EdgerunError } from '../../core/errors.js';
import { describeNode } from '../../core/graph.js';
import { HOST_DEVICE, type Backend, type BackendOptions, type Kernel, type MemoryRegion, type NodeInfo } from '../backend.js';
import { epilogueKernels, type WasmOp } from './common.js';
import { activationOps } from './activation.js';
import { convOps } from './conv.js';
import { claimConvConcats, prepareConvConcat } from './conv-concat.js';
import { claimPlanarConvs, preparePlanarConv } from './planar-conv.js';
import { copyOps } from './copy.js';
import { elementwiseOps } from './elementwise.js';
import { castOps } from './cast.js';
import { gatherOps } from './gather.js';
import { gemmOps } from './gemm.js';
import { normalizeOps } from './normalize.js';
import { poolOps } from './pool.js';
import { transposeOps } from './transpose.js';
import { recurrentOps } from './recurrent.js';
import { reshapeOps } from './reshape.js';
import { reduceOps } from './reduce.js';
import { quantizedOps } from './quantized.js';
import { chooseVariant, isSharedVariant, WasmRuntime, type WasmVariant } from './runtime.js';

export { wasmCapabilities, type Capabilities, type WasmVariant } from './runtime.js';

/**
 * The WebAssembly backend ('wasm', as onnxruntime-web names it): SIMD kernels written in AssemblyScript
 * (assembly/), compiled by the project's build and embedded in the JavaScript module. Its tensors are views
 * into its WebAssembly.Memory, so it shares the host device with the reference backend, which reads them
 * directly and takes every node this backend does not support.
 */

/** Op table: `opType` for the ONNX domain, `domain:opType` for others. */
const OPS: Record<string, WasmOp> = { ...gemmOps, ...convOps, ...poolOps, ...elementwiseOps, ...transposeOps, ...activationOps, ...recurrentOps, ...reduceOps, ...copyOps, ...quantizedOps, ...normalizeOps, ...gatherOps, ...reshapeOps, ...castOps };

function opOf(info: NodeInfo): WasmOp | undefined {
  const { domain, opType } = info.node;
  return OPS[domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`];
}

export interface WasmBackendOptions {
  /** Forces a build (tests, benchmarks); by default the best one the host validates. */
  variant?: WasmVariant;
  /** Where the one-time notices go (no SIMD); console.warn by default. */
  warn?: (message: string) => void;
}

export interface WasmBackend extends Backend {
  /** Threads its kernels run on: 1 until init starts workers (and when they cannot start). */
  readonly threads: number;
}

function refuse(info: NodeInfo, why: string): never {
  throw new EdgerunError('UNSUPPORTED_OP', why, [describeNode(info.node)]);
}

let warnedNoSimd = false;
let warnedOneThread = false;

/** Why this runtime cannot have worker threads, or undefined when it can. */
function threadsUnavailable(runtime: WasmRuntime): string | undefined {
  if (isSharedVariant(runtime.variant)) return undefined;
  // First: a page that is not isolated has no SharedArrayBuffer either, and this says what to change.
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available here';
  return `the ${runtime.variant} build in use has no shared memory`;
}

/**
 * A wasm backend for one session: compiles (once per process) and instantiates the kernel modules on a
 * fresh memory. Without WebAssembly SIMD it supports nothing, so the reference backend runs every node,
 * and says so once.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const variant = options.variant ?? chooseVariant();
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (!variant) {
    if (!warnedNoSimd) warn('edgerun: this host has no WebAssembly SIMD; the wasm backend is off and the reference kernels run every node');
    warnedNoSimd = true;
    return { name: 'wasm', device: HOST_DEVICE, threads: 1, supports: () => false, prepare: (info) => refuse(info, 'the wasm backend is off on this host (no WebAssembly SIMD)') };
  }
  const runtime = await WasmRuntime.create(variant);
  const kernels = new Set<Kernel>();
  const oneThread = (why: string) => {
    if (!warnedOneThread) warn(`edgerun: the wasm backend runs on one thread: ${why}`);
    warnedOneThread = true;
  };
  return {
    name: 'wasm',
    device: HOST_DEVICE,
    preferredLayout: 'NHWC',
    get threads() {
      return runtime.threads;
    },
    /** `threads` > 1 starts threads - 1 workers on the shared memory, or warns once why it cannot. */
    async init(options: BackendOptions) {
      if (options.threads <= 1) return;
      const why = threadsUnavailable(runtime);
      if (why) return oneThread(why);
      try {
        await runtime.startThreads(options.threads);
      } catch (error) {
        oneThread(`its workers could not start (${(error as Error).message})`);
      }
    },
    supports: (info) => opOf(info)?.supports(info) ?? false,
    beginRun: () => runtime.beginInference(),
    // The two kinds of run cannot overlap: a concatenated convolution writes a channel slice, which the
    // direct path (the only one a planar run takes) does not.
    claim: (infos, kept) => [...claimConvConcats(infos, kept), ...claimPlanarConvs(infos, kept)],
    prepareRun(infos) {
      for (const info of infos) runtime.warmUp(...epilogueKernels(info));
      const kernel = infos[0]!.node.opType === 'Transpose' ? preparePlanarConv(runtime, infos) : prepareConvConcat(runtime, infos);
      kernels.add(kernel);
      return kernel;
    },
    prepare(info) {
      const op = opOf(info);
      if (!op?.supports(info)) refuse(info, 'the wasm backend does not support this node; ask supports() first');
      runtime.warmUp(...epilogueKernels(info));
      const kernel = op!.prepare(runtime, info);
      kernels.add(kernel);
      return kernel;
    },
    /**
     * A region of the wasm memory (for the session's arena). `buffer` is read fresh each time: a private
     * (non-shared) memory's ArrayBuffer is replaced when it grows, detaching views made before.
     */
    allocate(byteLength): MemoryRegion {
      const block = runtime.alloc(byteLength);
      return {
        get buffer() {
          return runtime.buffer;
        },
        byteOffset: block.pointer,
        byteLength,
        release: () => block.release(),
      };
    },
    dispose() {
      for (const kernel of kernels) kernel.dispose?.();
      kernels.clear();
      runtime.dispose();
    },
  };
}
