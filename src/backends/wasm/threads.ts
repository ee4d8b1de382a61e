import {
  ARGUMENT_SLOTS, claimChunks, CONTROL_CHUNKS, CONTROL_COMPLETED, CONTROL_NEXT, CONTROL_SEQUENCE, CONTROL_SLEEPERS, CONTROL_SLOTS, CONTROL_TASK,
  CONTROL_WORKER_CHUNKS, epochOf, MAX_CHUNKS, POLLS_PER_CLOCK, runTask, TASK_STOP, TASK_WAKE, type WorkerInit,
} from './tasks.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * The wasm backend's thread pool: workers that instantiate the kernel modules on the session's shared memory.
 * A task is posted through a control block in that memory and its arguments (workers between inferences doze
 * and find it on their own, see DOZE_MS); every thread, the calling one too, claims chunks of it; the caller
 * then waits for the last chunk (spinning, then blocking where it may: a browser's main thread may not block
 * in Atomics.wait). Workers start as module workers from `new URL('./worker.js', import.meta.url)` (the form
 * bundlers recognise), or worker_threads in Node.
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

/** Chunks per thread a task is cut into: enough for a thread to take over a descheduled one's share. */
const CHUNKS_PER_THREAD = 4;
/**
 * How long the caller polls for the last chunks before it blocks. A wake from Atomics.wait costs tens of
 * microseconds (more in a virtual machine), as much as a whole small task: the caller has nothing else to do,
 * so it spins through a chunk's worth of time and blocks only when a worker is held up for longer.
 */
const SPIN_MS = 0.5;
/**
 * Split kernels an inference needs for waking the workers to pay. A woken worker polls a core for 5 ms (and
 * one past its doze costs the caller a system call and may land on the caller's core, see DOZE_MS); an
 * inference of a few split kernels (an LSTM's one, a small transformer's four) ran slower on two threads
 * than on one.
 */
const SHARED_INFERENCE_TASKS = 8;

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(control: Int32Array): boolean {
  try {
    Atomics.wait(control, CONTROL_COMPLETED, -1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  private sequence = 0;
  private readonly blocking: boolean;
  /** Split kernels in the current inference and in the one before; whether the workers were woken in this one. */
  private inferenceTasks = SHARED_INFERENCE_TASKS;
  private previousInferenceTasks = 0;
  private woken = false;

  private constructor(
    private readonly runtime: WasmRuntime,
    private readonly workers: WorkerHandle[],
    private readonly block: WasmBlock,
  ) {
    this.blocking = canBlock(this.control());
  }

  private control(): Int32Array {
    return new Int32Array(this.runtime.buffer, this.block.pointer, CONTROL_SLOTS);
  }

  /** A pool of `threads` threads in all (the caller and threads - 1 workers) on the runtime's shared memory. */
  static async start(runtime: WasmRuntime, modules: WebAssembly.Module[], threads: number): Promise<ThreadPool> {
    const block = runtime.alloc(CONTROL_SLOTS * 4 + ARGUMENT_SLOTS * 8);
    const control = block.pointer;
    const args = block.pointer + CONTROL_SLOTS * 4;
    new Int32Array(runtime.buffer, control, CONTROL_SLOTS).fill(0);
    const workers = await Promise.all(Array.from({ length: threads - 1 }, () => startWorker({ modules, memory: runtime.memory, control, args })));
    return new ThreadPool(runtime, workers, block);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Chunks a task is cut into. */
  get chunks(): number {
    return Math.min(MAX_CHUNKS, this.threads * CHUNKS_PER_THREAD);
  }

  /** Chunks of split kernels the workers have run since the pool started. */
  get workerChunks(): number {
    return Atomics.load(this.control(), CONTROL_WORKER_CHUNKS);
  }

  /** Workers past their doze, asleep until a task notifies them. */
  get sleepingWorkers(): number {
    return Atomics.load(this.control(), CONTROL_SLEEPERS);
  }

  /**
   * An inference starts: when the last one split enough kernels, the workers are woken now, so they are up
   * by the first split kernel; otherwise its kernels run on the calling thread until enough have come.
   */
  beginInference(): void {
    this.previousInferenceTasks = this.inferenceTasks;
    this.inferenceTasks = 0;
    this.woken = false;
    if (this.previousInferenceTasks >= SHARED_INFERENCE_TASKS) this.wake();
  }

  private wake(): void {
    this.post(TASK_WAKE, [], 0);
    this.woken = true;
  }

  /**
   * Runs `task` with `args` on every thread, chunk by chunk, and returns when every chunk is done. Until the
   * workers are woken (an inference too short to pay for a wake, so far) it runs on the calling thread; the
   * kernel that reaches SHARED_INFERENCE_TASKS wakes them for the ones that follow.
   */
  run(task: number, args: readonly number[]): void {
    this.inferenceTasks++;
    if (!this.woken) {
      if (this.inferenceTasks >= SHARED_INFERENCE_TASKS) this.wake();
      runTask(this.runtime.kernels, task, Float64Array.from(args), 0, 1);
      return;
    }
    const chunks = this.chunks;
    const { control, slots, sequence } = this.post(task, args, chunks);
    claimChunks(control, this.runtime.kernels, slots, sequence, false);
    const spinUntil = performance.now() + SPIN_MS;
    let spinning = true;
    for (let poll = 1; Atomics.load(control, CONTROL_COMPLETED) < chunks; poll++) {
      if (spinning && poll % POLLS_PER_CLOCK === 0) spinning = performance.now() < spinUntil;
      const completed = Atomics.load(control, CONTROL_COMPLETED);
      if (this.blocking && !spinning && completed < chunks) Atomics.wait(control, CONTROL_COMPLETED, completed);
    }
  }

  /** Publishes a task of `chunks` chunks (none: the workers only wake) and notifies the workers past their doze. */
  private post(task: number, args: readonly number[], chunks: number): { control: Int32Array; slots: Float64Array; sequence: number } {
    const control = this.control();
    const slots = new Float64Array(this.runtime.buffer, this.block.pointer + CONTROL_SLOTS * 4, ARGUMENT_SLOTS);
    const sequence = ++this.sequence;
    slots.set(args);
    Atomics.store(control, CONTROL_TASK, task);
    Atomics.store(control, CONTROL_CHUNKS, chunks);
    Atomics.store(control, CONTROL_COMPLETED, 0);
    Atomics.store(control, CONTROL_NEXT, epochOf(sequence));
    Atomics.store(control, CONTROL_SEQUENCE, sequence);
    // A dozing worker finds the task on its next slice, on its own core (see DOZE_MS).
    if (Atomics.load(control, CONTROL_SLEEPERS) > 0) Atomics.notify(control, CONTROL_SEQUENCE);
    return { control, slots, sequence };
  }

  dispose(): void {
    const control = this.control();
    Atomics.store(control, CONTROL_TASK, TASK_STOP);
    Atomics.store(control, CONTROL_SEQUENCE, ++this.sequence);
    Atomics.notify(control, CONTROL_SEQUENCE);
    for (const worker of this.workers) worker.terminate();
    this.block.release();
  }
}
