// Throughput of the 8-bit GEMM against the float32 GEMM on the same shapes, with the cost of requantizing its
// output, and the dynamically quantized U-Net on the wasm backend against the reference kernels.
// Run pinned to one core: taskset -c 1 node build/test/backends/wasm/measure-quantized.js [variant]
// Each pair is timed interleaved in this process, in process CPU time, best of many short samples.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packedBytes } from '../../../src/backends/wasm/quantized.js';
import { WasmRuntime, type WasmVariant } from '../../../src/backends/wasm/runtime.js';
import { InferenceSession, Tensor } from '../../../src/node.js';
import { REPO_ROOT } from '../../support/shared.js';
import './variants.js';

const variant = (process.argv[2] ?? 'simd') as WasmVariant;

function cpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Best seconds per call of each function, sampled in turns (a slow spell of the machine hits all alike). */
function interleaved(runs: (() => void)[], samples = 15): number[] {
  const calls = runs.map((run) => {
    let count = 1;
    for (let start = cpuMilliseconds(); cpuMilliseconds() - start < 20; count++) run();
    return count;
  });
  const fastest = runs.map(() => Infinity);
  for (let sample = 0; sample < samples; sample++) {
    runs.forEach((run, index) => {
      const start = cpuMilliseconds();
      for (let i = 0; i < calls[index]!; i++) run();
      fastest[index] = Math.min(fastest[index]!, (cpuMilliseconds() - start) / 1000 / calls[index]!);
    });
  }
  return fastest;
}

const runtime = await WasmRuntime.create(variant);
const { kernels } = runtime;
/** A block of `bytes` random bytes (the GEMMs' speed does not depend on the values). */
const randomBlock = (bytes: number) => {
  const block = runtime.alloc(bytes);
  const view = new Uint8Array(runtime.buffer, block.pointer, bytes);
  for (let i = 0; i < bytes; i++) view[i] = (i * 2654435761) >>> 24;
  return block.pointer;
};

console.log(`variant ${variant}`);
for (const [m, n, k] of [[256, 256, 256], [512, 512, 512], [12544, 16, 32], [3136, 24, 144], [961, 16, 216], [784, 192, 32], [49, 1280, 320]] as const) {
  const [a, a8, c, y] = [randomBlock(m * k * 4), randomBlock(m * k), randomBlock(m * n * 4), randomBlock(m * n)];
  const floatPacked = randomBlock(kernels.f32_gemm_packed_size(n, k));
  // Float operands of ordinary magnitude (random bytes would hold subnormals, which are slow).
  const [floatA, floatB] = [runtime.f32(a, m * k), runtime.f32(floatPacked, kernels.f32_gemm_packed_size(n, k) / 4)];
  floatA.forEach((_, i) => (floatA[i] = ((i * 37) % 17) / 17));
  floatB.forEach((_, i) => (floatB[i] = ((i * 53) % 19) / 19));
  const int8Packed = randomBlock(packedBytes(k, n));
  const multipliers = randomBlock(Math.ceil(n / 4) * 16);
  runtime.f32(multipliers, Math.ceil(n / 4) * 4).fill(0.001);
  const shifts = randomBlock(n * 4);
  new Int32Array(runtime.buffer, shifts, n).fill(-10);
  const [float, int8, requantizeOnnx, requantizeFixed] = interleaved([
    () => kernels.f32_gemm_minmax(m, n, k, a, k, floatPacked, c, n, -Infinity, Infinity),
    () => kernels.qu8_gemm_4x8c2(m, n, k, a8, k, 3, int8Packed, c, n),
    () => kernels.qs32_requantize_fp32(c, m, n, n, multipliers, 3, 0, 255, y, n),
    () => kernels.qs32_requantize_rndnu(c, m, n, n, multipliers, shifts, 3, 0, 255, y, n),
  ]);
  const ops = 2 * m * n * k;
  const rate = (seconds: number) => (ops / seconds / 1e9).toFixed(1);
  console.log(
    `M=${m} N=${n} K=${k}: f32_gemm_minmax ${rate(float!)} GFLOP/s, qu8_gemm_4x8c2 ${rate(int8!)} GOP/s (${(float! / int8!).toFixed(2)}x);` +
      ` requantizing its output adds ${((100 * requantizeOnnx!) / int8!).toFixed(0)} % (onnx), ${((100 * requantizeFixed!) / int8!).toFixed(0)} % (fixed point)`,
  );
}
runtime.dispose();

/** The U-Net input of test/ops/quantized-models.test.ts' kind: smooth shading in [-0.4, 0.4]. */
const values = Float32Array.from({ length: 3 * 61 * 61 }, (_, i) => 0.4 * Math.sin((i % 61) / 9) * Math.cos(Math.floor(i / 61) / 13));
const input = new Tensor('float32', values, [1, 3, 61, 61]);
const bytes = readFileSync(resolve(REPO_ROOT, 'test/models/tiny-unet-quint8.onnx'));
const wasm = await InferenceSession.create(bytes, { executionProviders: ['wasm', 'reference'] });
const reference = await InferenceSession.create(bytes, { executionProviders: ['reference'] });
let [wasmMs, referenceMs] = [Infinity, Infinity];
for (let round = 0; round < 30; round++) {
  for (const [session, record] of [[wasm, (ms: number) => (wasmMs = Math.min(wasmMs, ms))], [reference, (ms: number) => (referenceMs = Math.min(referenceMs, ms))]] as const) {
    const start = cpuMilliseconds();
    await session.run({ input });
    record(cpuMilliseconds() - start);
  }
}
console.log(`tiny-unet-quint8: wasm backend ${wasmMs.toFixed(2)} ms, reference ${referenceMs.toFixed(2)} ms (${(referenceMs / wasmMs).toFixed(1)}x)`);
