import type { WasmKernels } from './runtime.js';

/**
 * Kernel calls the thread pool splits across threads, shared by the calling thread and the workers: each
 * thread runs share `index` of `count`. Arguments travel as float64 slots in shared memory.
 */
export const TASK_GEMM = 1;
export const TASK_DWCONV = 2;
export const TASK_STOP = 3;

/** Int32 slots of the control block. */
export const CONTROL_SEQUENCE = 0;
export const CONTROL_TASK = 1;
export const CONTROL_THREADS = 2;
export const CONTROL_DONE = 3;

/** What a worker is sent once: the compiled modules, the shared memory, and where the control block is. */
export interface WorkerInit {
  modules: WebAssembly.Module[];
  memory: WebAssembly.Memory;
  control: number;
  args: number;
  index: number;
}

/** Slots of the argument block (the longest task's argument list). */
export const ARGUMENT_SLOTS = 18;

/** [begin, end) of part `index` of `count` over `total` items, boundaries on multiples of `align`. */
export function share(total: number, count: number, index: number, align: number): [number, number] {
  const blocks = Math.ceil(total / align);
  const begin = Math.min(total, Math.floor((blocks * index) / count) * align);
  const end = Math.min(total, Math.floor((blocks * (index + 1)) / count) * align);
  return [begin, end];
}

/** Runs this thread's share of a task on rows of the output (GEMM: rows of C in fours; depthwise: output rows). */
export function runTask(kernels: WasmKernels, task: number, args: Float64Array, index: number, count: number): void {
  if (task === TASK_GEMM) {
    const [m, n, k, a, lda, packed, c, ldc, low, high] = args as unknown as number[];
    const [begin, end] = share(m!, count, index, 4);
    if (begin < end) kernels.f32_gemm_minmax_4x8(end - begin, n!, k!, a! + begin * lda! * 4, lda!, packed!, c! + begin * ldc! * 4, ldc!, low!, high!);
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
  }
}
