import { createWasmBackend, type WasmBackend } from '../../src/backends/wasm/index.js';
import { registerBackend } from '../../src/runtime/backends.js';

/**
 * The browser test's bundle entry: the browser API as shipped, plus what the pages need to check how the
 * wasm backend ran: the host's capabilities and the thread count of each wasm backend a session made (the
 * 'wasm' provider is registered again with the same factory, keeping a handle on what it makes).
 */
export * from '../../src/index.js';
export { wasmCapabilities } from '../../src/backends/wasm/index.js';

const made: WasmBackend[] = [];

registerBackend('wasm', async () => {
  const backend = await createWasmBackend();
  made.push(backend);
  return backend;
});

/** Threads the most recently made wasm backend runs its kernels on (after its session was created). */
export function lastWasmBackendThreads(): number | undefined {
  return made.at(-1)?.threads;
}
