import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocate, readNumbers, type DataType } from '../../../src/core/dtype.js';
import type { Attribute } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import { HOST_DEVICE, type Backend, type KernelIO, type NodeInfo } from '../../../src/backends/backend.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';
import { prepareQLinearConv, prepareQLinearMatMul } from '../../../src/backends/wasm/quantized.js';
import { WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { effectiveScale, multiplyByQuantizedMultiplier, quantizeMultiplier } from '../../../src/kernels/fixed-point.js';
import { int, ints, nodeInfo, str, type NodeSpec } from './harness.js';
import { backendsByVariant, hostVariants } from './variants.js';

/**
 * The 8-bit kernels against the reference kernels, element for element (they must be bit-exact: both follow
 * onnxruntime's float32 requantization), over tile edges, odd sizes, zero points at 0 and the extremes,
 * per-channel scales, saturation and NaN / infinity; and the fixed-point requantization against TFLite's
 * integer arithmetic written out in TypeScript.
 */

const backends = await backendsByVariant();

/** A deterministic generator of integers in [low, high]. */
function generator(seed: number): (low: number, high: number) => number {
  let state = seed * 2654435761 + 7;
  return (low, high) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return low + Math.floor((state / 2147483648) * (high - low + 1));
  };
}

const RANGES: Record<'int8' | 'uint8', [number, number]> = { int8: [-128, 127], uint8: [0, 255] };

function tensorOf(type: DataType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const data = allocate(type, values.length) as Float32Array;
  data.set(Array.from(values));
  return new Tensor(type, data, dims);
}

function randomInts(type: 'int8' | 'uint8' | 'int32', dims: readonly number[], next: (low: number, high: number) => number, range?: [number, number]): Tensor {
  const [low, high] = range ?? (type === 'int32' ? [-5000, 5000] : RANGES[type]);
  const count = dims.reduce((a, b) => a * b, 1);
  return tensorOf(type, dims, Array.from({ length: count }, () => next(low, high)));
}

const scalar = (type: DataType, value: number) => tensorOf(type, [], [value]);

/** A node run through a backend's seam with typed outputs; 'arena' puts inputs and outputs in its memory. */
function run(backend: Backend, info: NodeInfo, inputs: readonly (Tensor | undefined)[], place: 'host' | 'arena' = 'host'): Tensor[] {
  const regions: { release(): void }[] = [];
  const make = (type: DataType, dims: readonly number[], source?: Tensor): Tensor => {
    const count = dims.reduce((a, b) => a * b, 1);
    if (place === 'host' || !backend.allocate) return source ?? new Tensor(type, allocate(type, count), dims);
    const bytes = (allocate(type, 1) as Float32Array).BYTES_PER_ELEMENT * count;
    const region = backend.allocate(bytes);
    regions.push(region);
    const host = allocate(type, 0) as Float32Array;
    const data = new (host.constructor as Float32ArrayConstructor)(region.buffer, region.byteOffset, count);
    if (source) data.set(source.data as Float32Array);
    return new Tensor(type, data, dims);
  };
  const outputs: Tensor[] = [];
  const io: KernelIO = {
    inputs: inputs.map((tensor) => tensor && make(tensor.type, tensor.dims, tensor)),
    output: (index, dtype, dims) => (outputs[index] = make(dtype, dims)),
    set: (index, value) => {
      assert.ok(value instanceof Tensor);
      outputs[index] = value;
    },
    runGraph: () => assert.fail('no subgraphs here'),
  };
  const kernel = backend.prepare(info);
  kernel.run(io);
  kernel.dispose?.();
  const copies = outputs.map((tensor) => new Tensor(tensor.type, (tensor.data as Float32Array).slice(), tensor.dims));
  regions.forEach((region) => region.release());
  return copies;
}

function assertSame(actual: Tensor, expected: Tensor, label: string): void {
  assert.equal(actual.type, expected.type, `${label}: type`);
  assert.deepEqual(actual.dims, expected.dims, `${label}: dims`);
  const [a, e] = [readNumbers(actual.type, actual.data), readNumbers(expected.type, expected.data)];
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) assert.fail(`${label}: element ${i} is ${a[i]}, the reference has ${e[i]}`);
  }
}

/** The node on every wasm build, host and arena placement, against the reference; the wasm backend must take it. */
function checkNode(label: string, spec: NodeSpec): void {
  const info = nodeInfo(spec);
  const expected = run(referenceBackend, info, spec.inputs);
  for (const [variant, backend] of backends) {
    assert.ok(backend.supports(info), `${variant} supports ${label}`);
    for (const place of ['host', 'arena'] as const) {
      const actual = run(backend, info, spec.inputs, place);
      expected.forEach((tensor, index) => assertSame(actual[index]!, tensor, `${variant}/${place} ${label} output ${index}`));
    }
  }
}

/** float32 values that probe rounding: exact ties of the scale, NaN, infinities, values far out of range. */
function probingFloats(count: number, scale: number, next: (low: number, high: number) => number): Float32Array {
  const special = [Number.NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0];
  return Float32Array.from({ length: count }, (_, i) => {
    if (i % 11 === 5) return special[next(0, special.length - 1)]!;
    if (i % 3 === 0) return (next(-300, 300) + 0.5) * scale;
    return (next(-40000, 40000) / 100) * scale;
  });
}

test('QuantizeLinear and DequantizeLinear: per tensor and per axis, int8 and uint8, odd sizes, ties, NaN and saturation', () => {
  const next = generator(1);
  const cases: { dims: number[]; axis: number }[] = [
    { dims: [1], axis: 0 },
    { dims: [7], axis: 0 },
    { dims: [2, 3, 5], axis: 1 },
    { dims: [3, 17], axis: -1 },
    { dims: [4, 2, 9], axis: 0 },
    { dims: [2, 5, 3, 3], axis: 2 },
  ];
  for (const type of ['int8', 'uint8'] as const) {
    const [low, high] = RANGES[type];
    for (const { dims, axis } of cases) {
      for (const perAxis of [false, true]) {
        const channels = perAxis ? dims[axis < 0 ? axis + dims.length : axis]! : 1;
        const scales = Float32Array.from({ length: channels }, () => next(1, 400) / 997);
        const zeroPoints = Array.from({ length: channels }, (_, c) => [low, high, 0, next(low, high)][c % 4]!);
        const scaleTensor = perAxis ? tensorOf('float32', [channels], scales) : tensorOf('float32', [], scales);
        const zeroTensor = tensorOf(type, perAxis ? [channels] : [], zeroPoints);
        const x = tensorOf('float32', dims, probingFloats(dims.reduce((a, b) => a * b, 1), scales[0]!, next));
        const attributes = { axis: int(axis) };
        const label = `${type} [${dims}] axis ${axis}${perAxis ? ' per axis' : ''}`;
        checkNode(`QuantizeLinear ${label}`, { opType: 'QuantizeLinear', opset: 13, attributes, inputs: [x, scaleTensor, zeroTensor], constants: [1, 2] });
        const q = randomInts(type, dims, next);
        checkNode(`DequantizeLinear ${label}`, { opType: 'DequantizeLinear', opset: 13, attributes, inputs: [q, scaleTensor, zeroTensor] });
      }
    }
  }
  // No zero point: QuantizeLinear gives uint8 with zero point 0.
  const x = tensorOf('float32', [5, 3], probingFloats(15, 0.1, next));
  checkNode('QuantizeLinear without a zero point', { opType: 'QuantizeLinear', opset: 13, inputs: [x, scalar('float32', 0.1)] });
});

test('DynamicQuantizeLinear: random, all-positive, all-negative, all-zero data and NaN', () => {
  const next = generator(2);
  const datasets: number[][] = [
    Array.from({ length: 37 }, () => next(-1000, 1000) / 77),
    Array.from({ length: 16 }, () => next(1, 1000) / 13),
    Array.from({ length: 5 }, () => -next(1, 1000) / 13),
    new Array<number>(9).fill(0),
    [0.5, Number.NaN, -2, 3.25, Number.NaN, 1, 7],
  ];
  for (const values of datasets) {
    checkNode(`DynamicQuantizeLinear of ${values.length}`, { opType: 'DynamicQuantizeLinear', opset: 11, inputs: [tensorOf('float32', [values.length], values)] });
  }
});

/** MatMulInteger / QLinearMatMul inputs of shape m x k times k x n. */
interface ProductCase {
  m: number;
  k: number;
  n: number;
  aType: 'int8' | 'uint8';
  bType: 'int8' | 'uint8';
  /** 'per-column' b zero points (and, for QLinearMatMul, scales). */
  bPerColumn: boolean;
  /** A's zero point known only at run. */
  aZeroAtRun: boolean;
}

function productCases(next: (low: number, high: number) => number): ProductCase[] {
  const cases: ProductCase[] = [];
  for (const [m, k, n] of [[1, 1, 1], [3, 2, 7], [4, 16, 8], [5, 7, 9], [9, 33, 17], [2, 3, 16], [13, 64, 24]] as const) {
    const types = (['int8', 'uint8'] as const)[next(0, 1)]!;
    cases.push({ m, k, n, aType: types, bType: next(0, 1) ? 'int8' : 'uint8', bPerColumn: next(0, 1) === 1, aZeroAtRun: next(0, 1) === 1 });
  }
  return cases;
}

/** A zero point at 0, at either extreme, or in between. */
function zeroPointOf(type: 'int8' | 'uint8', choice: number, next: (low: number, high: number) => number): number {
  const [low, high] = RANGES[type];
  return [0, low, high, next(low, high)][choice % 4]!;
}

test('MatMulInteger: tile edges, int8 and uint8 operands, zero points per tensor and per column, given at run', () => {
  const next = generator(3);
  productCases(next).forEach(({ m, k, n, aType, bType, bPerColumn, aZeroAtRun }, index) => {
    const a = randomInts(aType, index % 2 ? [2, m, k] : [m, k], next);
    const b = randomInts(bType, [k, n], next);
    const aZero = scalar(aType, zeroPointOf(aType, index, next));
    const bZero = bPerColumn ? tensorOf(bType, [n], Array.from({ length: n }, (_, j) => zeroPointOf(bType, j, next))) : scalar(bType, zeroPointOf(bType, index + 1, next));
    const label = `MatMulInteger ${m}x${k}x${n} ${aType}/${bType}${bPerColumn ? ' per column' : ''}${aZeroAtRun ? ', a zero point at run' : ''}`;
    checkNode(label, { opType: 'MatMulInteger', opset: 10, inputs: [a, b, aZero, bZero], constants: aZeroAtRun ? [1, 3] : [1, 2, 3] });
  });
  const [a, b] = [randomInts('uint8', [3, 5], next), randomInts('int8', [5, 6], next)];
  checkNode('MatMulInteger without zero points', { opType: 'MatMulInteger', opset: 10, inputs: [a, b], constants: [1] });
});

/** y scales: one that saturates much of the output, one that leaves it mostly in range, one with ties (0.5). */
const OUTPUT_SCALES = [0.02, 4, 1];

test('QLinearMatMul: bit-exact requantization with per-column scales, ties and saturation', () => {
  const next = generator(4);
  productCases(next).forEach(({ m, k, n, aType, bType, bPerColumn }, index) => {
    for (const yType of ['int8', 'uint8'] as const) {
      const a = randomInts(aType, [m, k], next);
      const b = randomInts(bType, [k, n], next);
      const aScale = scalar('float32', index === 0 ? 1 : next(1, 100) / 211);
      const bScale = bPerColumn ? tensorOf('float32', [n], Array.from({ length: n }, () => next(1, 100) / 307)) : scalar('float32', index === 0 ? 0.5 : 0.013);
      const yScale = scalar('float32', OUTPUT_SCALES[index % 3]!);
      const bZero = bPerColumn ? tensorOf(bType, [n], Array.from({ length: n }, (_, j) => zeroPointOf(bType, j, next))) : scalar(bType, zeroPointOf(bType, index, next));
      const inputs = [a, aScale, scalar(aType, zeroPointOf(aType, index + 1, next)), b, bScale, bZero, yScale, scalar(yType, zeroPointOf(yType, index + 2, next))];
      checkNode(`QLinearMatMul ${m}x${k}x${n} ${aType}/${bType} -> ${yType}`, { opType: 'QLinearMatMul', opset: 10, inputs, constants: [1, 2, 3, 4, 5, 6, 7] });
    }
  });
});

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  attributes?: Record<string, Attribute>;
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 3, 7, 9], w: [8, 3, 3, 3], attributes: { pads: ints([1, 1, 1, 1]) } },
  { x: [2, 5, 6, 5], w: [9, 5, 3, 3], attributes: { strides: ints([2, 2]), pads: ints([0, 1, 2, 1]) } },
  { x: [1, 4, 9, 9], w: [7, 4, 3, 2], attributes: { dilations: ints([2, 3]), pads: ints([2, 1, 2, 1]) } },
  { x: [1, 6, 5, 7], w: [4, 3, 3, 3], attributes: { group: int(2), auto_pad: str('SAME_UPPER') } },
  { x: [1, 8, 6, 6], w: [8, 1, 3, 3], attributes: { group: int(8), pads: ints([1, 1, 1, 1]) } },
  { x: [2, 13, 4, 3], w: [17, 13, 1, 1] },
  { x: [1, 16, 5, 5], w: [5, 16, 1, 1], attributes: { strides: ints([2, 2]) } },
];

test('ConvInteger: padding with the zero point, strides, dilations, groups, 1x1, batch, zero points per channel and at run', () => {
  const next = generator(5);
  CONV_CASES.forEach(({ x, w, attributes = {} }, index) => {
    for (const [xType, wType] of [['uint8', 'uint8'], ['int8', 'int8'], ['uint8', 'int8']] as const) {
      const perChannel = (index + xType.length) % 2 === 0;
      const wZero = perChannel ? tensorOf(wType, [w[0]], Array.from({ length: w[0] }, (_, j) => zeroPointOf(wType, j, next))) : scalar(wType, zeroPointOf(wType, index, next));
      const inputs = [randomInts(xType, x, next), randomInts(wType, w, next), scalar(xType, zeroPointOf(xType, index + 1, next)), wZero];
      const label = `ConvInteger x [${x}] w [${w}] ${xType}/${wType}${perChannel ? ' per channel' : ''} ${JSON.stringify(attributes)}`;
      checkNode(label, { opType: 'ConvInteger', opset: 10, attributes, inputs, constants: index % 2 ? [1, 3] : [1, 2, 3] });
    }
  });
});

/** QLinearConv's inputs for a case, with per-channel weight scales when asked, and an int32 bias. */
function qlinearConvInputs(xDims: readonly number[], wDims: readonly number[], types: { x: 'int8' | 'uint8'; w: 'int8' | 'uint8'; y: 'int8' | 'uint8' }, perChannel: boolean, index: number, next: (low: number, high: number) => number): (Tensor | undefined)[] {
  const m = wDims[0]!;
  const wScale = perChannel ? tensorOf('float32', [m], Array.from({ length: m }, () => next(1, 100) / 509)) : scalar('float32', 0.0078125);
  const wZero = perChannel ? tensorOf(types.w, [m], Array.from({ length: m }, (_, j) => zeroPointOf(types.w, j, next))) : scalar(types.w, zeroPointOf(types.w, index, next));
  return [
    randomInts(types.x, xDims, next), scalar('float32', next(1, 100) / 101), scalar(types.x, zeroPointOf(types.x, index + 1, next)),
    randomInts(types.w, wDims, next), wScale, wZero,
    scalar('float32', OUTPUT_SCALES[index % 3]!), scalar(types.y, zeroPointOf(types.y, index + 2, next)),
    index % 4 === 3 ? undefined : randomInts('int32', [m], next),
  ];
}

test('QLinearConv: bit-exact with the reference over geometries, operand types, per-channel scales, bias and saturation', () => {
  const next = generator(6);
  CONV_CASES.forEach(({ x, w, attributes = {} }, index) => {
    for (const [xType, wType, yType] of [['uint8', 'uint8', 'uint8'], ['int8', 'int8', 'int8'], ['uint8', 'int8', 'uint8']] as const) {
      for (const perChannel of [false, true]) {
        const inputs = qlinearConvInputs(x, w, { x: xType, w: wType, y: yType }, perChannel, index, next);
        const label = `QLinearConv x [${x}] w [${w}] ${xType}/${wType} -> ${yType}${perChannel ? ' per channel' : ''} ${JSON.stringify(attributes)}`;
        checkNode(label, { opType: 'QLinearConv', opset: 10, attributes, inputs, constants: [1, 2, 3, 4, 5, 6, 7, 8] });
      }
    }
  });
});

test('the wasm backend leaves to the reference what it does not cover', () => {
  const next = generator(7);
  const [variant, backend] = backends[0]!;
  const a = randomInts('uint8', [3, 4], next);
  const b = randomInts('uint8', [4, 5], next);
  const refused: [string, NodeSpec][] = [
    ['a B known only at run', { opType: 'MatMulInteger', opset: 10, inputs: [a, b] }],
    ['a per-row A zero point', { opType: 'MatMulInteger', opset: 10, inputs: [a, b, randomInts('uint8', [3], next)], constants: [1, 2] }],
    ['blocked quantization', { opType: 'QuantizeLinear', opset: 21, attributes: { block_size: int(2) }, inputs: [tensorOf('float32', [4, 4], new Float32Array(16)), tensorOf('float32', [4, 2], new Float32Array(8).fill(1))] }],
    ['int32 DequantizeLinear', { opType: 'DequantizeLinear', opset: 13, inputs: [randomInts('int32', [4], next), scalar('float32', 1)] }],
    [
      'a zero y_scale (an infinite multiplier)',
      {
        opType: 'QLinearMatMul', opset: 10, constants: [1, 2, 3, 4, 5, 6, 7],
        inputs: [a, scalar('float32', 1), scalar('uint8', 0), b, scalar('float32', 1), scalar('uint8', 0), scalar('float32', 0), scalar('uint8', 0)],
      },
    ],
  ];
  for (const [why, spec] of refused) assert.equal(backend.supports(nodeInfo(spec)), false, `${variant} refuses ${why}`);
});

/** TFLite's integer requantization of one accumulator, written out: scale with the fixed-point pair, add the zero point, clamp. */
function tfliteRequantize(accumulator: number, scale: number, zeroPoint: number, [low, high]: [number, number]): number {
  return Math.min(high, Math.max(low, multiplyByQuantizedMultiplier(accumulator, quantizeMultiplier(scale)) + zeroPoint));
}

test('fixed-point requantization (TFLite) of QLinearConv and QLinearMatMul matches TFLite integer arithmetic, saturation edges included', async () => {
  const next = generator(8);
  for (const variant of hostVariants()) {
    const runtime = await WasmRuntime.create(variant);
    const runMode = (info: NodeInfo, inputs: (Tensor | undefined)[], prepare: typeof prepareQLinearConv) => {
      const fixedPoint: Backend = { name: 'wasm', device: HOST_DEVICE, supports: () => true, prepare: (node) => prepare(runtime, node, 'fixed-point') };
      return run(fixedPoint, info, inputs)[0]!;
    };
    CONV_CASES.forEach(({ x, w, attributes = {} }, index) => {
      const types = { x: 'uint8', w: 'int8', y: index % 2 ? 'int8' : 'uint8' } as const;
      const inputs = qlinearConvInputs(x, w, types, index % 2 === 0, index, next);
      // A bias near the int32 limits puts the accumulators there: the 64-bit product and the clamps at work.
      if (index === 0) inputs[8] = tensorOf('int32', [w[0]], Array.from({ length: w[0] }, (_, j) => (j % 2 ? -1 : 1) * (2 ** 31 - 2 ** 22)));
      const info = nodeInfo({ opType: 'QLinearConv', opset: 10, attributes, inputs, constants: [1, 2, 3, 4, 5, 6, 7, 8] });
      // The int32 accumulators (with bias) from the reference ConvInteger, then TFLite's arithmetic per channel.
      const integer = nodeInfo({ opType: 'ConvInteger', opset: 10, attributes, inputs: [inputs[0], inputs[3], inputs[2], inputs[5]] });
      const [acc] = run(referenceBackend, integer, [inputs[0], inputs[3], inputs[2], inputs[5]]);
      const [m, pixels] = [w[0], acc!.size / acc!.dims[0]! / w[0]];
      const scales = readNumbers('float32', inputs[4]!.data);
      const [xScale, yScale, yZero] = [inputs[1], inputs[6], inputs[7]].map((t) => readNumbers(t!.type, t!.data)[0]!) as [number, number, number];
      const bias = inputs[8] ? readNumbers('int32', inputs[8].data) : undefined;
      const accValues = readNumbers('int32', acc!.data);
      const expected = Array.from(accValues, (value, i) => {
        const channel = Math.floor(i / pixels) % m;
        const scale = effectiveScale(xScale, scales[scales.length === 1 ? 0 : channel]!, yScale);
        return tfliteRequantize(value + (bias?.[channel] ?? 0), scale, yZero, RANGES[types.y]);
      });
      assertSame(runMode(info, inputs, prepareQLinearConv), tensorOf(types.y, acc!.dims, expected), `${variant} fixed-point QLinearConv case ${index}`);
    });
    // Multipliers from far below to far above 1 (shifts from -20 to 20), every output saturating at some.
    const k = 2;
    const extremes = tensorOf('int8', [4, k], [-128, -128, 127, 127, -128, 127, 0, 0]);
    const b = tensorOf('int8', [k, 3], [-128, 127, 1, -128, 127, -1]);
    for (const yScaleValue of [1e-6, 0.9999, 1, 3.5, 1e6]) {
      const inputs = [extremes, scalar('float32', 0.75), scalar('int8', 0), b, scalar('float32', 1.25), scalar('int8', 0), scalar('float32', yScaleValue), scalar('int8', -3)];
      const info = nodeInfo({ opType: 'QLinearMatMul', opset: 10, inputs, constants: [1, 2, 3, 4, 5, 6, 7] });
      const av = readNumbers('int8', extremes.data);
      const bv = readNumbers('int8', b.data);
      const expected = Array.from({ length: 12 }, (_, i) => {
        const [row, col] = [Math.floor(i / 3), i % 3];
        const accumulator = av[row * k]! * bv[col]! + av[row * k + 1]! * bv[3 + col]!;
        return tfliteRequantize(accumulator, effectiveScale(0.75, 1.25, yScaleValue), -3, RANGES.int8);
      });
      assertSame(runMode(info, inputs, prepareQLinearMatMul), tensorOf('int8', [4, 3], expected), `${variant} fixed-point QLinearMatMul y_scale ${yScaleValue}`);
    }
    runtime.dispose();
  }
});
