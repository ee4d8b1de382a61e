import { setFlagsFromString } from 'node:v8';
import type { Backend } from '../../../src/backends/backend.js';
import { createWasmBackend, wasmCapabilities, type WasmVariant } from '../../../src/backends/wasm/index.js';
import { relaxedSimdFlags } from '../../../src/cli/relaxed-simd.js';

// Node 20 validates relaxed SIMD only behind a V8 flag (browsers have it on); set before any compile.
for (const flag of relaxedSimdFlags()) setFlagsFromString(flag);

/** Every build this host can run, so each kernel test covers each of them. */
export function hostVariants(): WasmVariant[] {
  const capabilities = wasmCapabilities();
  const variants: WasmVariant[] = ['simd'];
  if (capabilities.relaxedSimd) variants.push('relaxed');
  if (capabilities.sharedMemory) variants.push('threads');
  if (capabilities.sharedMemory && capabilities.relaxedSimd) variants.push('relaxed-threads');
  return variants;
}

export async function backendsByVariant(): Promise<[WasmVariant, Backend][]> {
  return Promise.all(hostVariants().map(async (variant): Promise<[WasmVariant, Backend]> => [variant, await createWasmBackend({ variant })]));
}
