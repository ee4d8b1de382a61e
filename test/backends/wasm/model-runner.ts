import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Value } from '../../../src/core/graph.js';
import { InferenceSession, type SessionOptions } from '../../../src/runtime/session.js';
import { registerBackend } from '../../../src/runtime/backends.js';
import { createWasmBackend, type WasmVariant } from '../../../src/backends/wasm/index.js';
import { nodeTimings } from '../../../src/runtime/profile.js';

/**
 * A whole model through a session whose first backend is one wasm build (or none, for the reference
 * kernels alone), profiled: where each node ran and how long each op type took.
 */
export interface PreparedModel {
  run(feeds: Record<string, Value>): Record<string, Value>;
  /** Ends profiling: milliseconds per `op type (backend)` over every run so far, and op counts per backend. */
  finish(): { profile: Map<string, number>; placement: Record<string, Record<string, number>> };
  dispose(): Promise<void>;
}

let registered = 0;

export async function prepareModel(bytes: Uint8Array, variant: WasmVariant | 'reference', threads = 1, options: SessionOptions = {}): Promise<PreparedModel> {
  const providers: string[] = [];
  if (variant !== 'reference') {
    const name = `wasm-${variant}-${registered++}`;
    registerBackend(name, () => createWasmBackend({ variant }));
    providers.push(name);
  }
  // The trace file endProfiling writes goes to the temporary folder, not the working directory.
  const profileFilePrefix = join(tmpdir(), `edgerun-wasm-model-${process.pid}`);
  const session = await InferenceSession.create(bytes, { ...options, executionProviders: providers, intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix });
  return {
    run: (feeds) => session.runSync(feeds),
    finish() {
      rmSync(session.endProfiling(), { force: true });
      const profile = new Map<string, number>();
      const placement: Record<string, Record<string, number>> = {};
      for (const node of nodeTimings(session.profileTrace)) {
        const backend = node.backend.startsWith('wasm') ? 'wasm' : node.backend;
        const label = `${node.opType} (${backend})`;
        profile.set(label, (profile.get(label) ?? 0) + node.ms);
        const counts = (placement[backend] ??= {});
        counts[node.opType] = (counts[node.opType] ?? 0) + 1;
      }
      return { profile, placement };
    },
    dispose: () => session.release(),
  };
}
