import {
  ARGUMENT_SLOTS, claimChunks, CONTROL_SEQUENCE, CONTROL_SLEEPERS, CONTROL_SLOTS, CONTROL_TASK, DOZE_MS, DOZE_SLICE_MS, POLLS_PER_CLOCK, TASK_STOP, WORKER_POLL_MS, type WorkerInit,
} from './tasks.js';
import type { WasmKernels } from './runtime.js';

/**
 * A thread of the wasm backend's pool (a Web Worker, or a worker_threads worker in Node): instantiates the
 * kernel modules on the session's shared memory, then claims chunks of each task the calling thread posts
 * in the control block, until told to stop.
 */

interface Port {
  onMessage(handler: (data: WorkerInit) => void): void;
  post(message: unknown): void;
}

/** The message port of this worker: the global scope in browsers, worker_threads' parentPort in Node. */
async function parentPort(): Promise<Port> {
  const scope = globalThis as unknown as { postMessage?: (message: unknown) => void; addEventListener?: (type: string, handler: (event: MessageEvent) => void) => void };
  if (typeof scope.postMessage === 'function' && scope.addEventListener) {
    return { onMessage: (handler) => scope.addEventListener!('message', (event) => handler(event.data as WorkerInit)), post: (message) => scope.postMessage!(message) };
  }
  // Node: a specifier in a variable, so browser bundlers leave it alone; this path never runs in a browser.
  const specifier = 'node:worker_threads';
  const { parentPort: port } = (await import(specifier)) as { parentPort: { on(event: 'message', handler: (data: WorkerInit) => void): void; postMessage(message: unknown): void } };
  return { onMessage: (handler) => port.on('message', handler), post: (message) => port.postMessage(message) };
}


async function serve(): Promise<void> {
  const port = await parentPort();
  port.onMessage(async (init) => {
    const instances = await Promise.all(init.modules.map((module) => WebAssembly.instantiate(module, { env: { memory: init.memory } })));
    const kernels = Object.assign({}, ...instances.map((instance) => instance.exports)) as WasmKernels;
    const control = new Int32Array(init.memory.buffer, init.control, CONTROL_SLOTS);
    const args = new Float64Array(init.memory.buffer, init.args, ARGUMENT_SLOTS);
    port.post('ready');
    let seen = Atomics.load(control, CONTROL_SEQUENCE);
    for (;;) {
      seen = nextTask(control, seen);
      if (Atomics.load(control, CONTROL_TASK) === TASK_STOP) return;
      claimChunks(control, kernels, args, seen, true);
    }
  });
}

/**
 * The sequence number of the first task posted after `seen`: polled for WORKER_POLL_MS, then dozed for in
 * slices (the caller does not notify a dozing worker, see DOZE_MS), then slept for until notified.
 */
function nextTask(control: Int32Array, seen: number): number {
  const spinUntil = performance.now() + WORKER_POLL_MS;
  for (let poll = 1; Atomics.load(control, CONTROL_SEQUENCE) === seen; poll++) {
    if (poll % POLLS_PER_CLOCK === 0 && performance.now() > spinUntil) break;
  }
  const dozeUntil = performance.now() + DOZE_MS;
  while (Atomics.load(control, CONTROL_SEQUENCE) === seen && performance.now() < dozeUntil) Atomics.wait(control, CONTROL_SEQUENCE, seen, DOZE_SLICE_MS);
  if (Atomics.load(control, CONTROL_SEQUENCE) === seen) {
    // Counted before the sequence is read again: a task posted meanwhile is either seen here or notified.
    Atomics.add(control, CONTROL_SLEEPERS, 1);
    while (Atomics.load(control, CONTROL_SEQUENCE) === seen) Atomics.wait(control, CONTROL_SEQUENCE, seen);
    Atomics.sub(control, CONTROL_SLEEPERS, 1);
  }
  return Atomics.load(control, CONTROL_SEQUENCE);
}

void serve();
