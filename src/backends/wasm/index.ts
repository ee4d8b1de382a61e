import { HOST_DEVICE, type Backend, type Kernel, type MemoryRegion, type NodeInfo } from '../backend.js';
import type { WasmOp } from './common.js';
import { convOps } from './conv.js';
import { gemmOps } from './gemm.js';
import { chooseVariant, WasmRuntime, type WasmVariant } from './runtime.js';

export { wasmCapabilities, type Capabilities, type WasmVariant } from './runtime.js';

/**
 * The WebAssembly backend ('wasm', as onnxruntime-web names it): SIMD kernels written in AssemblyScript
 * (assembly/), compiled by the project's build and embedded in the JavaScript module. Its tensors are views
 * into its WebAssembly.Memory, so it shares the host device with the reference backend, which reads them
 * directly and takes every node this backend does not support.
 */

/** Op table: `opType` for the ONNX domain, `domain:opType` for others. */
const OPS: Record<string, WasmOp> = { ...gemmOps, ...convOps };

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

let warnedNoSimd = false;

/**
 * A wasm backend for one session: compiles (once per process) and instantiates the kernel modules on a
 * fresh memory. Without WebAssembly SIMD it supports nothing, so the reference backend runs every node,
 * and says so once.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const variant = options.variant ?? chooseVariant();
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (!variant) {
    if (!warnedNoSimd) warn('edgerun: this host has no WebAssembly SIMD; the wasm backend is off and the reference kernels run every node');
    warnedNoSimd = true;
    return { name: 'wasm', device: HOST_DEVICE, supports: () => false, prepare: () => { throw new Error('unreachable'); } };
  }
  const runtime = await WasmRuntime.create(variant);
  const kernels = new Set<Kernel>();
  return {
    name: 'wasm',
    device: HOST_DEVICE,
    supports: (info) => opOf(info)?.supports(info) ?? false,
    prepare(info) {
      const kernel = opOf(info)!.prepare(runtime, info);
      kernels.add(kernel);
      return kernel;
    },
    allocate(byteLength): MemoryRegion {
      const block = runtime.alloc(byteLength);
      return { buffer: runtime.buffer, byteOffset: block.pointer, byteLength, release: () => block.release() };
    },
    dispose() {
      for (const kernel of kernels) kernel.dispose?.();
      kernels.clear();
      runtime.dispose();
    },
  };
}
