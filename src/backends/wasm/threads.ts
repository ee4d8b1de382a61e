import { ARGUMENT_SLOTS, CONTROL_DONE, CONTROL_SEQUENCE, CONTROL_TASK, CONTROL_THREADS, runTask, TASK_STOP, type WorkerInit } from './tasks.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * The wasm backend's thread pool: workers that instantiate the kernel modules on the session's shared
 * memory. A task is posted through a control block in that memory (sequence number, task, thread count,
 * done counter) and its arguments; the calling thread takes share 0 and spins until every worker is done
 * (a browser's main thread may not block in Atomics.wait). Workers start as module workers from
 * `new URL('./worker.js', import.meta.url)` (the form bundlers recognise), or worker_threads in Node.
 */

interface WorkerHandle {
  postMessage(message: unknown): void;
  terminate(): void;
}

function isNode(): boolean {
  const host = globalThis as { process?: { versions?: { node?: string } }; window?: unknown };
  return host.process?.versions?.node !== undefined && host.window === undefined;
}

/** Starts one worker running worker.js and resolves when it has instantiated the modules. */
async function startWorker(init: WorkerInit): Promise<WorkerHandle> {
  const url = new URL('./worker.js', import.meta.url);
  if (isNode()) {
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(specifier)) as { Worker: new (url: URL) => WorkerHandle & { once(event: string, handler: (value: unknown) => void): void; unref(): void } };
    const worker = new Worker(url);
    worker.unref();
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.postMessage(init);
    });
    return worker;
  }
  const worker = new Worker(url, { type: 'module' });
  await new Promise<void>((resolve, reject) => {
    worker.addEventListener('message', () => resolve(), { once: true });
    worker.addEventListener('error', (event) => reject(new Error(event.message || 'the worker script failed to load')), { once: true });
    worker.postMessage(init);
  });
  return worker;
}

export class ThreadPool {
  private sequence = 0;

  private constructor(
    private readonly runtime: WasmRuntime,
    private readonly workers: WorkerHandle[],
    private readonly block: WasmBlock,
  ) {}

  /** A pool of `threads` threads in all (the caller and threads - 1 workers) on the runtime's shared memory. */
  static async start(runtime: WasmRuntime, modules: WebAssembly.Module[], threads: number): Promise<ThreadPool> {
    const block = runtime.alloc(16 + ARGUMENT_SLOTS * 8);
    const control = block.pointer;
    const args = block.pointer + 16;
    new Int32Array(runtime.buffer, control, 4).fill(0);
    const workers = await Promise.all(
      Array.from({ length: threads - 1 }, (_, i) => startWorker({ modules, memory: runtime.memory, control, args, index: i + 1 })),
    );
    return new ThreadPool(runtime, workers, block);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Runs `task` with `args` on every thread, each on its share, and returns when all are done. */
  run(task: number, args: readonly number[]): void {
    const buffer = this.runtime.buffer;
    const control = new Int32Array(buffer, this.block.pointer, 4);
    const slots = new Float64Array(buffer, this.block.pointer + 16, ARGUMENT_SLOTS);
    slots.set(args);
    Atomics.store(control, CONTROL_TASK, task);
    Atomics.store(control, CONTROL_THREADS, this.threads);
    Atomics.store(control, CONTROL_DONE, 0);
    Atomics.store(control, CONTROL_SEQUENCE, ++this.sequence);
    Atomics.notify(control, CONTROL_SEQUENCE);
    runTask(this.runtime.kernels, task, slots, 0, this.threads);
    while (Atomics.load(control, CONTROL_DONE) < this.workers.length);
  }

  dispose(): void {
    const control = new Int32Array(this.runtime.buffer, this.block.pointer, 4);
    Atomics.store(control, CONTROL_TASK, TASK_STOP);
    Atomics.store(control, CONTROL_SEQUENCE, ++this.sequence);
    Atomics.notify(control, CONTROL_SEQUENCE);
    for (const worker of this.workers) worker.terminate();
    this.block.release();
  }
}
