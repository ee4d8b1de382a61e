import type { WasmKernels } from './runtime.js';

/**
 * Kernel calls the thread pool splits across threads, shared by the calling thread and the workers. A task
 * is cut into chunks that threads claim one at a time, so a thread the OS does not schedule (a shared
 * machine, a phone) delays nothing: the others take its chunks. Arguments travel as float64 slots in shared
 * memory.
 */
export const TASK_GEMM = 1;
export const TASK_DWCONV = 2;
export const TASK_STOP = 3;
export const TASK_GEMM_BATCH = 4;
/** No work: the workers wake and poll for the tasks that follow. */
export const TASK_WAKE = 5;
export const TASK_DIRECT_CONV = 6;
export const TASK_WINOGRAD_INPUT = 7;
export const TASK_WINOGRAD_OUTPUT = 8;
export const TASK_POOL = 9;

/**
 * How long a worker polls for the next task before it sleeps in Atomics.wait. Within an inference the next
 * split kernel mostly comes within a millisecond (nodes on the calling thread between two), and a worker that
 * slept wakes tens of microseconds late, often on the caller's core, where the scheduler leaves it for
 * milliseconds: measured on mobilenet_v2 with two threads, a 0.1 ms poll gave 0.94x-1.1x over one thread, a
 * 5 ms poll 1.3x-1.5x. Between inferences (after this long) it dozes, see DOZE_MS; onnxruntime-web's
 * threads spin about 18 ms.
 */
export const WORKER_POLL_MS = 5;

/** Polls of a spinning thread (a worker for its next task, the caller for the last chunk) between two reads of the clock. */
export const POLLS_PER_CLOCK = 64;

/**
 * After its poll a worker dozes: it sleeps in slices of DOZE_SLICE_MS, woken by its own timer, and the caller
 * posts tasks without notifying it; only after DOZE_MS does it sleep until notified. On a virtual machine a
 * worker notified after an idle spell is put on the notifying thread's core and moved to its own only
 * milliseconds later (its core's vCPU is halted): measured with the same 3.9 ms of work on both threads
 * after 100 ms idle, both finished in 7.9 ms when the worker was notified (it started 3.1 ms late), 4.4 ms
 * when it woke from 0.5 ms slices (0.4 ms late), 4.9 ms from 1 ms slices (0.75 ms late). A slice costs a
 * wake-up: dozing a whole second took 1.6-3.2 % of a core with 1 ms slices, 6-9 % with 0.25 ms ones
 * (onnxruntime-web spins a core for 18 ms after each inference). An application running a model on frames or
 * audio chunks comes back within the window.
 */
export const DOZE_MS = 1000;
export const DOZE_SLICE_MS = 1;

/**
 * Int32 slots of the control block: the task's sequence number, which task, how many chunks, the chunks
 * claimed from the front (bits 8-15) and from the back (bits 0-7), tagged with the sequence number's low 15
 * bits so a late thread cannot claim a later task's chunk with this one's arguments, how many chunks are
 * complete, how many chunks the workers have run since the pool started (a diagnostic: tests check that
 * the work really is shared), and how many workers sleep until notified.
 */
export const CONTROL_SEQUENCE = 0;
export const CONTROL_TASK = 1;
export const CONTROL_CHUNKS = 2;
export const CONTROL_NEXT = 3;
export const CONTROL_COMPLETED = 4;
export const CONTROL_WORKER_CHUNKS = 5;
/** Workers past their doze, asleep until notified. */
export const CONTROL_SLEEPERS = 6;
export const CONTROL_SLOTS = 8;
/** Chunks a task may have: each end's claim count is 8 bits of CONTROL_NEXT. */
export const MAX_CHUNKS = 255;

/** The tag of sequence number `sequence` in CONTROL_NEXT. */
export function epochOf(sequence: number): number {
  return (sequence & 0x7fff) << 16;
}

/** What a worker is sent once: the compiled modules, the shared memory, and where the control block is. */
export interface WorkerInit {
  modules: WebAssembly.Module[];
  memory: WebAssembly.Memory;
  control: number;
  args: number;
}

/** Slots of the argument block (the longest task's argument list). */
export const ARGUMENT_SLOTS = 20;

/** [begin, end) of part `index` of `count` over `total` items, boundaries on multiples of `align`. */
export function share(total: number, count: number, index: number, align: number): [number, number] {
  const blocks = Math.ceil(total / align);
  const begin = Math.min(total, Math.floor((blocks * index) / count) * align);
  const end = Math.min(total, Math.floor((blocks * (index + 1)) / count) * align);
  return [begin, end];
}

/**
 * Claims and runs chunks of the task posted as `sequence` until none is left. Arguments are read before
 * each claim succeeds, so they are that task's: the next task is only posted once every chunk is complete.
 * The calling thread claims from the front and the workers from the back, so from one task to the next each
 * thread mostly works on the same part of the tensors (rows, channels) and reads what it wrote into its own
 * cache; a thread held up still leaves its chunks to the others.
 */
export function claimChunks(control: Int32Array, kernels: WasmKernels, args: Float64Array, sequence: number, byWorker: boolean): void {
  const epoch = epochOf(sequence);
  const task = Atomics.load(control, CONTROL_TASK);
  const chunks = Atomics.load(control, CONTROL_CHUNKS);
  const values = Float64Array.from(args);
  for (;;) {
    const next = Atomics.load(control, CONTROL_NEXT);
    const front = (next >> 8) & 0xff;
    const back = next & 0xff;
    if ((next & ~0xffff) !== epoch || front + back >= chunks) return;
    const claimed = byWorker ? next + 1 : next + 0x100;
    if (Atomics.compareExchange(control, CONTROL_NEXT, next, claimed) !== next) continue;
    runTask(kernels, task, values, byWorker ? chunks - 1 - back : front, chunks);
    if (byWorker) Atomics.add(control, CONTROL_WORKER_CHUNKS, 1);
    Atomics.add(control, CONTROL_COMPLETED, 1);
    Atomics.notify(control, CONTROL_COMPLETED);
  }
}

/**
 * Runs chunk `index` of `count` of a task on part of the output. GEMM: rows of C in fours, or, when C has fewer
 * rows than columns, its panels of 8 columns (each thread then reads its own share of packed B, not all of
 * it); a batch of GEMMs (Winograd's 36 products): whole matrices; Winograd's transforms: tile rows, each
 * chunk with its own scratch; depthwise and direct convolution and pooling: output rows (split by channels,
 * each thread's stores would interleave with the other's in every pixel, and the cache traffic that causes
 * was measured to halve both threads' speed).
 */
export function runTask(kernels: WasmKernels, task: number, args: Float64Array, index: number, count: number): void {
  if (task === TASK_GEMM) {
    const [m, n, k, a, lda, packed, c, ldc, low, high] = args as unknown as number[];
    if (m! < n!) {
      const [begin, end] = share(n!, count, index, 8);
      const panelBytes = (k! + 1) * 32;
      if (begin < end) kernels.f32_gemm_minmax(m!, end - begin, k!, a!, lda!, packed! + (begin / 8) * panelBytes, c! + begin * 4, ldc!, low!, high!);
    } else {
      const [begin, end] = share(m!, count, index, 4);
      if (begin < end) kernels.f32_gemm_minmax(end - begin, n!, k!, a! + begin * lda! * 4, lda!, packed!, c! + begin * ldc! * 4, ldc!, low!, high!);
    }
  } else if (task === TASK_GEMM_BATCH) {
    const [matrices, m, n, k, a, aStride, lda, packed, packedStride, c, cStride, ldc, low, high] = args as unknown as number[];
    const [begin, end] = share(matrices!, count, index, 1);
    for (let matrix = begin; matrix < end; matrix++) {
      kernels.f32_gemm_minmax(m!, n!, k!, a! + matrix * aStride!, lda!, packed! + matrix * packedStride!, c! + matrix * cStride!, ldc!, low!, high!);
    }
  } else if (task === TASK_DWCONV) {
    const [x, h, w, channels, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, oh, ow, packed, y, low, high] = args as unknown as number[];
    const [begin, end] = share(oh!, count, index, 1);
    // Rows [begin, end) are the convolution of the same X with the top padding moved up by begin strides.
    if (begin < end) {
      kernels.f32_dwconv_minmax_nhwc(
        x!, h!, w!, channels!, kh!, kw!, strideH!, strideW!, dilationH!, dilationW!, padTop! - begin * strideH!, padLeft!,
        end - begin, ow!, packed!, y! + begin * ow! * channels! * 4, low!, high!,
      );
    }
  } else if (task === TASK_POOL) {
    const [x, h, w, channels, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, oh, ow, y, isMax, countPad] = args as unknown as number[];
    const [begin, end] = share(oh!, count, index, 1);
    // As depthwise: rows [begin, end) pool the same X with the top padding moved up by begin strides.
    if (begin < end) {
      kernels.f32_pool_nhwc(
        x!, h!, w!, channels!, kh!, kw!, strideH!, strideW!, dilationH!, dilationW!, padTop! - begin * strideH!, padLeft!, end - begin, ow!,
        y! + begin * ow! * channels! * 4, isMax!, countPad!,
      );
    }
  } else if (task === TASK_WINOGRAD_INPUT) {
    const [x, h, w, channels, padTop, padLeft, tileRow, tileRows, tilesW, v, matrixBytes, scratch, scratchBytes] = args as unknown as number[];
    const [begin, end] = share(tileRows!, count, index, 1);
    if (begin < end) {
      kernels.f32_winograd_input_4x4_3x3(
        x!, h!, w!, channels!, padTop!, padLeft!, tileRow! + begin, end - begin, tilesW!, v! + begin * tilesW! * channels! * 4, matrixBytes!, scratch! + index * scratchBytes!,
      );
    }
  } else if (task === TASK_WINOGRAD_OUTPUT) {
    const [m, matrixBytes, tileRow, tileRows, tilesW, outChannels, bias, oh, ow, y, yPixel, low, high, scratch, scratchBytes] = args as unknown as number[];
    const [begin, end] = share(tileRows!, count, index, 1);
    if (begin < end) {
      kernels.f32_winograd_output_4x4_3x3(
        m! + begin * tilesW! * outChannels! * 4, matrixBytes!, tileRow! + begin, end - begin, tilesW!, outChannels!, bias!, oh!, ow!, y!, yPixel!, low!, high!, scratch! + index * scratchBytes!,
      );
    }
  } else if (task === TASK_DIRECT_CONV) {
    const [x, h, w, channels, planar, kh, kw, strideH, strideW, padTop, padLeft, oh, ow, packed, m, y, low, high, scratch, scratchBytes] = args as unknown as number[];
    const [begin, end] = share(oh!, count, index, 1);
    // As depthwise: rows [begin, end) convolve the same X with the top padding moved up by begin strides.
    if (begin < end) {
      kernels.f32_conv_direct_minmax(
        x!, h!, w!, channels!, planar!, kh!, kw!, strideH!, strideW!, padTop! - begin * strideH!, padLeft!, end - begin, ow!, packed!, m!,
        y! + begin * ow! * m! * 4, low!, high!, scratch! + index * scratchBytes!,
      );
    }
  }
}
