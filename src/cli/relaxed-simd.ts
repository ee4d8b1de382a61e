/**
 * Node 20 and 21 keep WebAssembly relaxed SIMD (fused multiply-adds: a 20 % faster GEMM on Intel cores)
 * behind this V8 flag; Chromium (since 114) and Node 22 have it on. The command line and the bench's runtime
 * processes are applications of their own, so they turn it on; a library leaves the process's flags alone.
 * This module imports nothing else, so the command line can use it before any wasm module is compiled.
 */
const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

/** The V8 flags this Node needs for relaxed SIMD: the one above on Node 20 and 21, none from 22 on. */
export function relaxedSimdFlags(nodeVersion: string = process.versions.node): string[] {
  return Number(nodeVersion.split('.')[0]) < 22 ? [RELAXED_SIMD_FLAG] : [];
}
