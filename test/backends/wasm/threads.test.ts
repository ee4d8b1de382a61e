import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend } from '../../../src/backends/wasm/index.js';
import { WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { DOZE_MS, share, WORKER_POLL_MS } from '../../../src/backends/wasm/tasks.js';
import { assertClose, int, ints, nodeInfo, randomTensor, runNode, runReference, type NodeSpec } from './harness.js';

/**
 * How long a test retries work a worker should take part in. On a loaded machine (test files run side by
 * side on two cores) the OS may not run a woken worker for many ms; a count of short tries ran out first.
 */
const TRIES_MS = 3000;

/** Runs `action` until `done()` holds or `ms` have passed. */
function repeatFor(ms: number, done: () => boolean, action: () => void): void {
  for (const deadline = performance.now() + ms; !done() && performance.now() < deadline; ) action();
}

test('shares cover every item once, boundaries aligned', () => {
  for (const [total, count, align] of [[13, 2, 4], [3, 2, 4], [100, 3, 1], [0, 2, 4], [7, 4, 1]] as const) {
    const parts = Array.from({ length: count }, (_, index) => share(total, count, index, align));
    assert.equal(parts[0]![0], 0);
    assert.equal(parts[count - 1]![1], total);
    parts.forEach(([begin, end], i) => {
      assert.ok(begin <= end);
      if (i > 0) assert.equal(begin, parts[i - 1]![1]);
      if (end < total) assert.equal(end % align, 0);
    });
  }
});

test('two threads on shared memory give the reference results for GEMM and depthwise layers', async () => {
  const backend = await createWasmBackend({ variant: 'threads' });
  await backend.init!({ threads: 2 });
  const cases: [string, NodeSpec][] = [
    ['MatMul 203x67x45 (split by rows)', { opType: 'MatMul', inputs: [randomTensor([203, 45], 1), randomTensor([45, 67], 2)], constants: [1] }],
    ['MatMul 7x203x150 (split by columns)', { opType: 'MatMul', inputs: [randomTensor([7, 150], 11), randomTensor([150, 203], 12)], constants: [1] }],
    ['Gemm 1x500x300 (split by columns)', { opType: 'Gemm', opset: 13, inputs: [randomTensor([1, 300], 13), randomTensor([300, 500], 14), randomTensor([500], 15)], constants: [1, 2] }],
    ['pointwise conv', { opType: 'Conv', opset: 11, inputs: [randomTensor([1, 24, 29, 31], 3), randomTensor([40, 24, 1, 1], 4), randomTensor([40], 5)], constants: [1, 2] }],
    ['depthwise stride 2', {
      opType: 'Conv', opset: 11, attributes: { group: int(48), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) },
      inputs: [randomTensor([1, 48, 37, 41], 6), randomTensor([48, 1, 3, 3], 7), randomTensor([48], 8)], constants: [1, 2],
    }],
    ['depthwise stride 1', {
      opType: 'Conv', opset: 11, attributes: { group: int(32), pads: ints([1, 1, 1, 1]) },
      inputs: [randomTensor([1, 32, 33, 30], 9), randomTensor([32, 1, 3, 3], 10)], constants: [1],
    }],
  ];
  for (const [label, spec] of cases) {
    const expected = runReference(nodeInfo(spec), spec.inputs);
    for (const place of ['host', 'arena'] as const) assertClose(runNode(backend, nodeInfo(spec), spec.inputs, place), expected, `${label} ${place}`);
  }
  backend.dispose!();
});

test('asking for threads without shared memory runs on one thread and says why, once', async () => {
  const warnings: string[] = [];
  const backend = await createWasmBackend({ variant: 'simd', warn: (message) => warnings.push(message) });
  await backend.init!({ threads: 2 });
  await backend.init!({ threads: 2 });
  assert.deepEqual(warnings, ['edgerun: the wasm backend runs on one thread: the simd build in use has no shared memory']);
  const spec: NodeSpec = { opType: 'MatMul', inputs: [randomTensor([64, 64], 1), randomTensor([64, 64], 2)], constants: [1] };
  assertClose(runNode(backend, nodeInfo(spec), spec.inputs), runReference(nodeInfo(spec), spec.inputs), 'one-thread MatMul');
  backend.dispose!();
});

async function twoThreadRuntime(): Promise<WasmRuntime> {
  const runtime = await WasmRuntime.create('threads');
  await runtime.startThreads(2);
  return runtime;
}

/** An m x n x k GEMM on the runtime's memory, A of 0.5s and B of 0.25s (packed), run by `gemm`: every output is k / 8. */
function gemmOn(runtime: WasmRuntime, m: number, n: number, k: number) {
  const [a, b, c] = [runtime.alloc(m * k * 4).pointer, runtime.alloc(k * n * 4).pointer, runtime.alloc(m * n * 4).pointer];
  const packed = runtime.alloc(runtime.kernels.f32_gemm_packed_size(n, k)).pointer;
  runtime.f32(a, m * k).fill(0.5);
  runtime.f32(b, k * n).fill(0.25);
  runtime.packPanels(n, k, b, n, 1, 0, packed);
  return { output: () => runtime.f32(c, m * n), gemm: () => runtime.gemm(m, n, k, a, k, packed, c, n, -Infinity, Infinity) };
}

test('a worker dozes after a task and is posted work unnotified; past its doze it sleeps and a task notifies it', async () => {
  const runtime = await twoThreadRuntime();
  // A few ms of work: long enough for a worker woken late (a loaded machine) to still find a chunk.
  const { gemm, output } = gemmOn(runtime, 4096, 64, 256);
  /** Runs the GEMM until the worker has taken a chunk of it; false if it never did. */
  const workerTakesPart = async () => {
    const before = runtime.workerChunks;
    for (const deadline = performance.now() + TRIES_MS; runtime.workerChunks === before && performance.now() < deadline; ) {
      gemm();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return runtime.workerChunks > before;
  };
  assert.ok(await workerTakesPart(), 'the worker took no chunk while it polled and dozed');
  assert.equal(runtime.sleepingWorkers, 0, 'a worker slept right after a task');
  await new Promise((resolve) => setTimeout(resolve, WORKER_POLL_MS + DOZE_MS + 300));
  assert.equal(runtime.sleepingWorkers, 1, 'the worker is not asleep after its doze');
  assert.ok(await workerTakesPart(), 'the sleeping worker was not woken');
  assert.deepEqual([...new Set(output())], [32]);
  runtime.dispose();
});

/** Fills `count` floats at `pointer` of both runtimes with the same seeded values in [-1, 1). */
function fillBoth(runtimes: readonly WasmRuntime[], pointers: readonly number[], count: number, seed: number): void {
  let state = seed;
  const values = Float32Array.from({ length: count }, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 30) - 1);
  runtimes.forEach((runtime, index) => runtime.f32(pointers[index]!, count).set(values));
}

test('split kernels run partly on the worker and give the results of one thread bit for bit', async () => {
  const one = await WasmRuntime.create('threads');
  const two = await WasmRuntime.create('threads');
  await two.startThreads(2);
  assert.equal(two.threads, 2);
  const both = [one, two];
  const blocks = (bytes: number) => both.map((runtime) => runtime.alloc(bytes).pointer);
  /** Runs `kernel` on each runtime (on `two` until a worker has taken part) and compares `count` outputs at `out`. */
  const check = (label: string, out: number[], count: number, kernel: (runtime: WasmRuntime, index: number) => void) => {
    kernel(one, 0);
    const before = two.workerChunks;
    // The first tasks run on the caller alone until the dozing worker wakes; later ones are shared.
    repeatFor(TRIES_MS, () => two.workerChunks > before, () => kernel(two, 1));
    assert.ok(two.workerChunks > before, `${label}: the worker ran no chunk`);
    assert.deepEqual(new Uint32Array(two.f32(out[1]!, count).slice().buffer), new Uint32Array(one.f32(out[0]!, count).slice().buffer), label);
  };
  const gemm = (label: string, m: number, n: number, k: number) => {
    const [a, b, c] = [blocks(m * k * 4), blocks(k * n * 4), blocks(m * n * 4)];
    const packed = blocks(one.kernels.f32_gemm_packed_size(n, k));
    fillBoth(both, a, m * k, m);
    fillBoth(both, b, k * n, n);
    both.forEach((runtime, i) => runtime.packPanels(n, k, b[i]!, n, 1, 0, packed[i]!));
    check(label, c, m * n, (runtime, i) => runtime.gemm(m, n, k, a[i]!, k, packed[i]!, c[i]!, n, -1, 6));
  };
  gemm('GEMM 515x72x200, split by rows', 515, 72, 200);
  gemm('GEMM 3x1000x600, split by column panels', 3, 1000, 600);

  const [matrices, m, n, k] = [36, 50, 40, 32];
  const packedBytes = one.kernels.f32_gemm_packed_size(n, k);
  const [a, b, c, packed] = [blocks(matrices * m * k * 4), blocks(k * n * 4), blocks(matrices * m * n * 4), blocks(matrices * packedBytes)];
  fillBoth(both, a, matrices * m * k, 3);
  fillBoth(both, b, k * n, 4);
  both.forEach((runtime, i) => {
    for (let matrix = 0; matrix < matrices; matrix++) runtime.packPanels(n, k, b[i]!, n, 1, 0, packed[i]! + matrix * packedBytes);
  });
  check('36 batched GEMMs 50x40x32, whole matrices per thread', c, matrices * m * n, (runtime, i) =>
    runtime.gemmBatch(matrices, m, n, k, a[i]!, m * k * 4, k, packed[i]!, packedBytes, c[i]!, m * n * 4, n, -Infinity, Infinity),
  );

  const depthwise = (label: string, size: number, channels: number, stride: number) => {
    const out = Math.ceil(size / stride);
    const [x, weights, y] = [blocks(size * size * channels * 4), blocks(channels * 9 * 4), blocks(out * out * channels * 4)];
    const dwPacked = blocks(one.kernels.f32_dwconv_packed_size(channels, 3, 3));
    fillBoth(both, x, size * size * channels, 5);
    fillBoth(both, weights, channels * 9, 6);
    both.forEach((runtime, i) => runtime.kernels.f32_dwconv_pack(channels, 3, 3, weights[i]!, 0, dwPacked[i]!));
    check(label, y, out * out * channels, (runtime, i) =>
      runtime.dwconv(x[i]!, size, size, channels, 3, 3, stride, stride, 1, 1, 1, 1, out, out, dwPacked[i]!, y[i]!, 0, 6),
    );
  };
  depthwise('depthwise 3x3 64x64x80, split by output rows', 64, 80, 1);
  depthwise('depthwise 3x3 14x14x1002 stride 2 (few rows, odd channels), split by output rows', 14, 1002, 2);

  // A first layer: 3 input channels, 3x3 stride 2, padded by 1, 32 outputs, each chunk with its own scratch; any packed values will do.
  const [size, outSize, outChannels] = [112, 56, 32];
  const directScratch = Math.ceil(one.kernels.f32_conv_direct_scratch_size(3, 3, 3, 2, outSize) / 64) * 64;
  const [x, y, directWork] = [blocks(size * size * 3 * 4), blocks(outSize * outSize * outChannels * 4), blocks(two.chunks * directScratch)];
  const directPacked = blocks(one.kernels.f32_gemm_packed_size(outChannels, 27));
  fillBoth(both, x, size * size * 3, 7);
  fillBoth(both, directPacked, one.kernels.f32_gemm_packed_size(outChannels, 27) / 4, 8);
  for (const planar of [0, 1]) {
    check(`direct convolution 112x112x3 (${planar ? 'planar' : 'NHWC'}) -> 56x56x32, split by output rows`, y, outSize * outSize * outChannels, (runtime, i) =>
      runtime.directConv(x[i]!, size, size, 3, planar, 3, 3, 2, 2, 1, 1, outSize, outSize, directPacked[i]!, outChannels, y[i]!, 0, 6, directWork[i]!, directScratch),
    );
  }
  // Winograd's transforms, split by tile rows, each chunk with its own scratch; Y a channel slice (pixels wider than its channels).
  const [height, width, inChannels, outChannels2] = [30, 26, 96, 100];
  const [tilesH, tilesW] = [Math.ceil(height / 4), Math.ceil(width / 4)];
  const tiles = tilesH * tilesW;
  const scratchBytes = Math.ceil(one.kernels.f32_winograd_scratch_size(inChannels) / 64) * 64;
  const [image, transformed, scratch] = [blocks(height * width * inChannels * 4), blocks(36 * tiles * inChannels * 4), blocks(two.chunks * scratchBytes)];
  fillBoth(both, image, height * width * inChannels, 9);
  check('Winograd input transform 30x26x96, split by tile rows', transformed, 36 * tiles * inChannels, (runtime, i) =>
    runtime.winogradInput(image[i]!, height, width, inChannels, 1, 1, 0, tilesH, tilesW, transformed[i]!, tiles * inChannels * 4, scratch[i]!, scratchBytes),
  );
  const yPixel = outChannels2 + 12;
  const [products, biasBlock, slice] = [blocks(36 * tiles * outChannels2 * 4), blocks(outChannels2 * 4), blocks(height * width * yPixel * 4)];
  fillBoth(both, products, 36 * tiles * outChannels2, 10);
  fillBoth(both, biasBlock, outChannels2, 11);
  check('Winograd output transform 30x26x100 into a slice 112 channels wide, split by tile rows', slice, height * width * yPixel, (runtime, i) =>
    runtime.winogradOutput(products[i]!, tiles * outChannels2 * 4, 0, tilesH, tilesW, outChannels2, biasBlock[i]!, height, width, slice[i]!, yPixel, -Infinity, Infinity, scratch[i]!, scratchBytes),
  );
  // Pooling, split by output rows: max, and average counting the padding, 3x3 stride 2 with padding.
  const [poolSize, poolChannels, pooled] = [57, 70, 29];
  const [poolX, poolY] = [blocks(poolSize * poolSize * poolChannels * 4), blocks(pooled * pooled * poolChannels * 4)];
  fillBoth(both, poolX, poolSize * poolSize * poolChannels, 12);
  for (const [kind, isMax] of [['max', 1], ['average', 0]] as const) {
    check(`${kind} pooling 57x57x70 -> 29x29, split by output rows`, poolY, pooled * pooled * poolChannels, (runtime, i) =>
      runtime.poolNhwc(poolX[i]!, poolSize, poolSize, poolChannels, 3, 3, 2, 2, 1, 1, 1, 1, pooled, pooled, poolY[i]!, isMax, 1),
    );
  }
  one.dispose();
  two.dispose();
});

test('an inference of few split kernels does not wake the workers; after a longer one they wake as the next begins', async () => {
  const two = await twoThreadRuntime();
  const short = gemmOn(two, 256, 64, 128);
  // About 2 ms on two threads: longer than a dozing worker's slice.
  const long = gemmOn(two, 4096, 64, 256);
  const inference = (tasks: number, kernel = short.gemm) => {
    two.beginInference();
    for (let task = 0; task < tasks; task++) kernel();
  };
  inference(3);
  let before = two.workerChunks;
  inference(3);
  assert.equal(two.workerChunks, before, 'an inference of 3 split kernels after one of 3 ran on the calling thread alone');
  // A worker the OS is slow to schedule may take no chunk of one inference: tries for a while.
  repeatFor(TRIES_MS, () => two.workerChunks > before, () => inference(40));
  assert.ok(two.workerChunks > before, 'an inference of 40 split kernels woke the worker');
  // Once the worker has stopped polling (it dozes, waking every DOZE_SLICE_MS), an inference after a long one
  // wakes it as it begins, so a first kernel longer than a slice is shared (a few tries, as above).
  let shared = false;
  for (const deadline = performance.now() + TRIES_MS; !shared && performance.now() < deadline; ) {
    inference(40);
    await new Promise((resolve) => setTimeout(resolve, 20));
    before = two.workerChunks;
    inference(1, long.gemm);
    shared = two.workerChunks > before;
  }
  assert.ok(shared, 'an inference of one long split kernel after one of 40 was shared');
  assert.deepEqual([...new Set(long.output())], [32]);
  two.dispose();
});
