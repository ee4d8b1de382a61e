import { EdgerunError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import { referenceBackend } from '../backends/reference/index.js';
import { createWasmBackend } from '../backends/wasm/index.js';

/** A backend for one session: made, and initialised, when the session is created. */
export type BackendFactory = () => Backend | Promise<Backend>;

const factories = new Map<string, BackendFactory>([
  ['reference', () => referenceBackend],
  // onnxruntime's name for its CPU provider; here the reference kernels.
  ['cpu', () => referenceBackend],
]);

/** Execution providers tried, in order, when the session options name none. */
const defaultProviders: string[] = ['wasm'];

// onnxruntime-web's name for its WebAssembly provider; the default wherever the host has WebAssembly.
factories.set('wasm', () => createWasmBackend());

/** Makes an execution provider available by name; `preferred` puts it first in the default list. */
export function registerBackend(name: string, factory: BackendFactory, preferred = false): void {
  factories.set(name, factory);
  if (preferred && !defaultProviders.includes(name)) defaultProviders.unshift(name);
}

export function availableBackends(): string[] {
  return [...factories.keys()];
}

/** The session's backends in priority order, each initialised; the reference backend always closes the list. */
export async function createBackends(options: { executionProviders?: string[]; intraOpNumThreads?: number }): Promise<Backend[]> {
  const names = options.executionProviders ?? defaultProviders;
  const threads = Math.max(1, Math.floor(options.intraOpNumThreads ?? 1));
  const backends: Backend[] = [];
  for (const name of names) {
    const factory = factories.get(name);
    if (!factory) {
      throw new EdgerunError('INVALID_ARGUMENT', `unknown execution provider '${name}'; available: ${availableBackends().join(', ')}`);
    }
    const backend = await factory();
    await backend.init?.({ threads });
    if (!backends.includes(backend)) backends.push(backend);
  }
  if (!backends.includes(referenceBackend)) backends.push(referenceBackend);
  if (threads > 1 && backends.every((backend) => backend === referenceBackend)) warnSingleThreaded(threads);
  return backends;
}

/** Asking for threads that cannot be had is said out loud, once, rather than silently ignored. */
let threadWarningGiven = false;
function warnSingleThreaded(threads: number): void {
  if (threadWarningGiven) return;
  threadWarningGiven = true;
  console.warn(`edgerun: intraOpNumThreads=${threads} was requested, but the reference backend runs on the calling thread only; running on 1 thread`);
}
