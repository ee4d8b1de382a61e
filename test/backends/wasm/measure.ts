// Throughput of the wasm kernels, and of mobilenet_v2-shaped layers against the reference kernels.
// Run pinned to one core: taskset -c 1 node build/test/backends/wasm/measure.js [variant]
// Best of many short samples, timed in process CPU time (the machine is shared: wall time counts other
// processes' turns); the reference and wasm runs of a layer are measured in the same process.
import type { Tensor } from '../../../src/core/tensor.js';
import { createWasmBackend, type WasmVariant } from '../../../src/backends/wasm/index.js';
import { isSharedVariant, WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import type { Backend, KernelIO } from '../../../src/backends/backend.js';
import { int, ints, nodeInfo, randomTensor, str, type NodeSpec } from './harness.js';
import './variants.js';

const variant = (process.argv[2] ?? 'simd') as WasmVariant;

/** Milliseconds of CPU time this process has used. */
function cpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Best seconds per call over `samples` samples of enough calls to last ~20 ms of CPU time. */
function best(run: () => void, samples = 15): number {
  run();
  let calls = 1;
  for (let start = cpuMilliseconds(); cpuMilliseconds() - start < 20; calls++) run();
  let fastest = Infinity;
  for (let sample = 0; sample < samples; sample++) {
    const start = cpuMilliseconds();
    for (let i = 0; i < calls; i++) run();
    fastest = Math.min(fastest, (cpuMilliseconds() - start) / 1000 / calls);
  }
  return fastest;
}

const runtime = await WasmRuntime.create(variant);
const { kernels } = runtime;
const fill = (length: number) => {
  const block = runtime.alloc(length * 4);
  runtime.f32(block.pointer, length).set(randomTensor([length], length).data as Float32Array);
  return block.pointer;
};

console.log(`variant ${variant}`);
for (const [m, n, k] of [[256, 256, 256], [512, 512, 512], [12544, 16, 32], [3136, 24, 144], [784, 192, 32], [49, 1280, 320]] as const) {
  const a = fill(m * k);
  const b = fill(k * n);
  const packed = runtime.alloc(kernels.f32_gemm_packed_size(n, k)).pointer;
  kernels.f32_gemm_pack(n, k, b, n, 1, 0, packed);
  const c = fill(m * n);
  const seconds = best(() => kernels.f32_gemm_minmax(m, n, k, a, k, packed, c, n, 0, 6));
  console.log(`f32_gemm_minmax  M=${m} N=${n} K=${k}: ${((2 * m * n * k) / seconds / 1e9).toFixed(1)} GFLOP/s`);
}
for (const [size, channels, stride] of [[112, 32, 1], [112, 96, 2], [56, 144, 1], [28, 192, 1], [14, 576, 1], [7, 960, 1]] as const) {
  const x = fill(size * size * channels);
  const weights = fill(channels * 9);
  const packed = runtime.alloc(kernels.f32_dwconv_packed_size(channels, 3, 3)).pointer;
  kernels.f32_dwconv_pack(channels, 3, 3, weights, 0, packed);
  const out = Math.ceil(size / stride);
  const y = fill(out * out * channels);
  const seconds = best(() => kernels.f32_dwconv_minmax_nhwc(x, size, size, channels, 3, 3, stride, stride, 1, 1, 1, 1, out, out, packed, y, 0, 6));
  console.log(`f32_dwconv_minmax_nhwc 3x3 ${size}x${size}x${channels} stride ${stride}: ${((2 * 9 * out * out * channels) / seconds / 1e9).toFixed(1)} GFLOP/s`);
}

/** Seconds per run of a node on a backend, inputs and output in the backend's memory when it has one. */
function layerTime(backend: Backend, spec: NodeSpec): number {
  const info = nodeInfo(spec);
  const kernel = backend.prepare(info);
  const place = (tensor: Tensor | undefined) => {
    if (!tensor || !backend.allocate) return tensor;
    const region = backend.allocate(tensor.data.length * 4);
    const data = new Float32Array(region.buffer, region.byteOffset, tensor.data.length);
    data.set(tensor.data as Float32Array);
    return new (tensor.constructor as typeof import('../../../src/core/tensor.js').Tensor)('float32', data, tensor.dims);
  };
  const inputs = spec.inputs.map(place);
  let output: Tensor | undefined;
  const io: KernelIO = {
    inputs,
    output: (_index, dtype, dims) => {
      if (!output) {
        const length = dims.reduce((a, b) => a * b, 1);
        const blank = randomTensor([length], 1);
        output = place(new (blank.constructor as typeof import('../../../src/core/tensor.js').Tensor)(dtype, blank.data, dims));
      }
      return output!;
    },
    set: () => {},
    runGraph: () => [],
  };
  return best(() => kernel.run(io), 7);
}

const wasm = await createWasmBackend({ variant });
const layers: [string, NodeSpec, number][] = [];
const conv = (label: string, x: number[], w: number[], attributes: NodeSpec['attributes'], nhwc: boolean) => {
  const [n, c, h, wd] = x as [number, number, number, number];
  const inputs = [randomTensor(nhwc ? [n, h, wd, c] : x, 1), randomTensor(w, 2), randomTensor([w[0]!], 3)];
  const spec: NodeSpec = nhwc
    ? { domain: 'ai.edgerun', opType: 'FusedConv', attributes: { ...attributes, layout: str('NHWC'), activation: str('Clip'), activation_params: { type: 'floats', value: [0, 6] } }, inputs, constants: [1, 2] }
    : { opType: 'Conv', opset: 11, attributes, inputs, constants: [1, 2] };
  const stride = (attributes?.strides?.value as number[] | undefined)?.[0] ?? 1;
  const flops = 2 * n * (h / stride) * (wd / stride) * w[0]! * w[1]! * w[2]! * w[3]!;
  layers.push([`${label} ${nhwc ? 'FusedConv NHWC' : 'Conv NCHW'}`, spec, flops]);
};
for (const nhwc of [false, true]) {
  conv('first 3x3 s2 3->32 224', [1, 3, 224, 224], [32, 3, 3, 3], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, nhwc);
  conv('dw 3x3 112x112x32', [1, 32, 112, 112], [32, 1, 3, 3], { group: int(32), pads: ints([1, 1, 1, 1]) }, nhwc);
  conv('1x1 112x112 32->16', [1, 32, 112, 112], [16, 32, 1, 1], {}, nhwc);
  conv('dw 3x3 s2 112x112x96', [1, 96, 112, 112], [96, 1, 3, 3], { group: int(96), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, nhwc);
  conv('1x1 56x56 144->24', [1, 144, 56, 56], [24, 144, 1, 1], {}, nhwc);
  conv('1x1 7x7 320->1280', [1, 320, 7, 7], [1280, 320, 1, 1], {}, nhwc);
}
for (const [label, spec, flops] of layers) {
  const reference = spec.domain ? undefined : layerTime(referenceBackend, spec);
  const fast = layerTime(wasm, spec);
  const ratio = reference ? `, reference ${(reference * 1000).toFixed(2)} ms (${(reference / fast).toFixed(1)}x slower)` : '';
  console.log(`${label}: wasm ${(fast * 1000).toFixed(3)} ms = ${(flops / fast / 1e9).toFixed(1)} GFLOP/s${ratio}`);
}

/** Wall-clock seconds per call, best of `samples` (threads: CPU time would add up every thread's). */
function bestWall(run: () => void, samples = 30): number {
  for (let i = 0; i < 5; i++) run();
  let fastest = Infinity;
  for (let sample = 0; sample < samples; sample++) {
    const start = performance.now();
    run();
    fastest = Math.min(fastest, (performance.now() - start) / 1000);
  }
  return fastest;
}

if (isSharedVariant(variant)) {
  const one = await createWasmBackend({ variant });
  const two = await createWasmBackend({ variant });
  await two.init!({ threads: 2 });
  const spec: NodeSpec = { opType: 'MatMul', inputs: [randomTensor([512, 512], 1), randomTensor([512, 512], 2)], constants: [1] };
  const kernelOf = (backend: Backend) => {
    const kernel = backend.prepare(nodeInfo(spec));
    const output = randomTensor([512, 512], 3);
    return () => kernel.run({ inputs: spec.inputs, output: () => output, set: () => {}, runGraph: () => [] });
  };
  const [runOne, runTwo] = [kernelOf(one), kernelOf(two)];
  let [timeOne, timeTwo] = [Infinity, Infinity];
  for (let round = 0; round < 5; round++) {
    timeOne = Math.min(timeOne, bestWall(runOne));
    timeTwo = Math.min(timeTwo, bestWall(runTwo));
  }
  console.log(`MatMul 512^3: one thread ${(timeOne * 1000).toFixed(2)} ms, two threads ${(timeTwo * 1000).toFixed(2)} ms (${(timeOne / timeTwo).toFixed(2)}x)`);
  two.dispose!();
}

if (process.argv[3]) {
  const { readFileSync } = await import('node:fs');
  const { decodeOnnx } = await import('../../../src/formats/onnx/decode.js');
  const { decodeValue } = await import('../../../src/formats/onnx/data-proto.js');
  const { prepareModel } = await import('./model-runner.js');
  const dir = process.argv[3];
  const bytes = readFileSync(`${dir}/model.onnx`);
  const graph = decodeOnnx(bytes).graph;
  const input = graph.inputs.find((info) => !graph.initializers.has(info.name))!;
  const feeds = { [input.name]: decodeValue(readFileSync(`${dir}/test_data_set_0/input_0.pb`), input.type) };
  const threads = Number(process.argv[4] ?? 1);
  const model = await prepareModel(bytes, variant, threads);
  const reference = await prepareModel(bytes, 'reference');
  const timeOf = (run: () => void, runs: number) => {
    run();
    let fastest = Infinity;
    for (let i = 0; i < runs; i++) {
      const start = threads > 1 ? performance.now() : cpuMilliseconds();
      run();
      fastest = Math.min(fastest, (threads > 1 ? performance.now() : cpuMilliseconds()) - start);
    }
    return fastest;
  };
  const wasmMs = timeOf(() => model.run(feeds), 20);
  const referenceMs = timeOf(() => reference.run(feeds), 2);
  const { profile, placement } = model.finish();
  const total = [...profile.values()].reduce((a, b) => a + b, 0);
  for (const [label, ms] of [...profile].sort((a, b) => b[1] - a[1])) console.log(`  ${label}: ${((100 * ms) / total).toFixed(1)} %`);
  console.log(`${dir.split('/').pop()}: wasm (${threads} thread) ${wasmMs.toFixed(1)} ms, reference ${referenceMs.toFixed(0)} ms; placement ${JSON.stringify(placement)}`);
}
