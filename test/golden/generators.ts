import type { Graph, Node } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { int, int64s, ints, Random, repeat, singleNodeCase, type OpCase, type OpGenerator } from '../differential/harness.js';
import { model, node, tensorInfo } from '../support/tiny-models.js';

/**
 * Op families the committed conformance set needs beyond the differential generators: quantized
 * arithmetic at realistic ranges and control flow with subgraphs that read outer-scope values.
 */

function uint8(random: Random, dims: number[]): Tensor {
  return random.tensor('uint8', dims, 0, 255);
}

function scalar(value: number): Tensor {
  return new Tensor('float32', Float32Array.of(value), []);
}

function zeroPoint(value: number): Tensor {
  return new Tensor('uint8', Uint8Array.of(value), []);
}

function quantizeLinearCase(random: Random): OpCase {
  const dims = random.dims(random.int(1, 3), 1, 6);
  const perAxis = random.bool() && dims.length > 1;
  const channels = dims[1] ?? 1;
  const scale = perAxis ? new Tensor('float32', Float32Array.from(repeat(channels, () => 0.005 + random.float() * 0.02)), [channels]) : scalar(0.01 + random.float() * 0.02);
  const zero = perAxis ? new Tensor('uint8', Uint8Array.from(repeat(channels, () => random.int(0, 255))), [channels]) : zeroPoint(random.int(0, 255));
  return singleNodeCase(`QuantizeLinear x[${dims}] ${perAxis ? 'per-channel' : 'per-tensor'}`, {
    opType: 'QuantizeLinear',
    opset: 13,
    inputs: [{ name: 'x', value: random.tensor('float32', dims) }, { name: 'scale', value: scale, constant: true }, { name: 'zero', value: zero, constant: true }],
    outputs: ['y'],
    attributes: perAxis ? { axis: int(1) } : {},
  });
}

function dequantizeLinearCase(random: Random): OpCase {
  const dims = random.dims(random.int(1, 3), 1, 6);
  return singleNodeCase(`DequantizeLinear x[${dims}]`, {
    opType: 'DequantizeLinear',
    opset: 13,
    inputs: [{ name: 'x', value: uint8(random, dims) }, { name: 'scale', value: scalar(0.02), constant: true }, { name: 'zero', value: zeroPoint(random.int(0, 255)), constant: true }],
    outputs: ['y'],
  });
}

function dynamicQuantizeCase(random: Random): OpCase {
  const dims = random.dims(2, 1, 7);
  const x = new Tensor('float32', Float32Array.from(repeat(dims[0]! * dims[1]!, () => (random.float() - 0.3) * 6)), dims);
  return singleNodeCase(`DynamicQuantizeLinear x[${dims}]`, { opType: 'DynamicQuantizeLinear', opset: 11, inputs: [{ name: 'x', value: x }], outputs: ['y', 'y_scale', 'y_zero_point'] });
}

function matMulIntegerCase(random: Random): OpCase {
  const [m, k, n] = [random.int(1, 5), random.int(1, 7), random.int(1, 5)];
  return singleNodeCase(`MatMulInteger a[${m},${k}] b[${k},${n}]`, {
    opType: 'MatMulInteger',
    opset: 10,
    inputs: [
      { name: 'a', value: uint8(random, [m, k]) },
      { name: 'b', value: uint8(random, [k, n]), constant: true },
      { name: 'a_zero', value: zeroPoint(random.int(0, 255)), constant: true },
      { name: 'b_zero', value: zeroPoint(random.int(0, 255)), constant: true },
    ],
    outputs: ['y'],
  });
}

function qlinearMatMulCase(random: Random): OpCase {
  const [m, k, n] = [random.int(1, 5), random.int(1, 7), random.int(1, 5)];
  return singleNodeCase(`QLinearMatMul a[${m},${k}] b[${k},${n}]`, {
    opType: 'QLinearMatMul',
    opset: 10,
    inputs: [
      { name: 'a', value: uint8(random, [m, k]) },
      { name: 'a_scale', value: scalar(0.02), constant: true },
      { name: 'a_zero', value: zeroPoint(random.int(100, 150)), constant: true },
      { name: 'b', value: uint8(random, [k, n]), constant: true },
      { name: 'b_scale', value: scalar(0.01), constant: true },
      { name: 'b_zero', value: zeroPoint(random.int(100, 150)), constant: true },
      { name: 'y_scale', value: scalar(0.05), constant: true },
      { name: 'y_zero', value: zeroPoint(random.int(100, 150)), constant: true },
    ],
    outputs: ['y'],
  });
}

function convIntegerCase(random: Random): OpCase {
  const channels = random.int(1, 3);
  const x = [1, channels, random.int(3, 6), random.int(3, 6)];
  const w = [random.int(1, 3), channels, random.int(1, 3), random.int(1, 3)];
  const padded = random.bool();
  return singleNodeCase(`ConvInteger x[${x}] w[${w}]${padded ? ' pads=1' : ''}`, {
    opType: 'ConvInteger',
    opset: 10,
    inputs: [
      { name: 'x', value: uint8(random, x) },
      { name: 'w', value: uint8(random, w), constant: true },
      { name: 'x_zero', value: zeroPoint(random.int(0, 255)), constant: true },
      { name: 'w_zero', value: zeroPoint(random.int(0, 255)), constant: true },
    ],
    outputs: ['y'],
    attributes: padded ? { pads: ints([1, 1, 1, 1]) } : {},
  });
}

function qlinearConvCase(random: Random): OpCase {
  const channels = random.int(1, 3);
  const x = [1, channels, random.int(3, 6), random.int(3, 6)];
  const w = [random.int(1, 3), channels, random.int(1, 3), random.int(1, 3)];
  return singleNodeCase(`QLinearConv x[${x}] w[${w}]`, {
    opType: 'QLinearConv',
    opset: 10,
    inputs: [
      { name: 'x', value: uint8(random, x) },
      { name: 'x_scale', value: scalar(0.02), constant: true },
      { name: 'x_zero', value: zeroPoint(random.int(100, 150)), constant: true },
      { name: 'w', value: uint8(random, w), constant: true },
      { name: 'w_scale', value: scalar(0.01), constant: true },
      { name: 'w_zero', value: zeroPoint(random.int(100, 150)), constant: true },
      { name: 'y_scale', value: scalar(0.05), constant: true },
      { name: 'y_zero', value: zeroPoint(random.int(100, 150)), constant: true },
    ],
    outputs: ['y'],
  });
}

function graph(name: string, nodes: Node[], inputs: Graph['inputs'], outputs: Graph['outputs']): Graph {
  return { name, nodes, inputs, outputs, initializers: new Map(), valueInfo: [] };
}

/** If: each branch computes from the outer x (then: x + x, else: x * x), the condition is fed. */
function ifCase(random: Random): OpCase {
  const dims = random.dims(2, 1, 4);
  const condition = random.bool();
  const thenBranch = graph('then', [node('Add', ['x', 'x'], ['then_y'])], [], [tensorInfo('then_y', 'float32')]);
  const elseBranch = graph('else', [node('Mul', ['x', 'x'], ['else_y'])], [], [tensorInfo('else_y', 'float32')]);
  const ifNode = { ...node('If', ['cond'], ['y'], 'if'), attributes: { then_branch: { type: 'graph' as const, value: thenBranch }, else_branch: { type: 'graph' as const, value: elseBranch } } };
  const built = model({ nodes: [ifNode], inputs: [tensorInfo('cond', 'bool', []), tensorInfo('x', 'float32', dims)], outputs: [tensorInfo('y', 'float32')] }, 16);
  const feeds = { cond: new Tensor('bool', Uint8Array.of(condition ? 1 : 0), []), x: random.tensor('float32', dims) };
  return { label: `If cond=${condition} x[${dims}]`, model: encodeOnnx(built), feeds };
}

/** Loop: a carried sum that adds the outer x each iteration, with every partial sum as a scan output. */
function loopCase(random: Random): OpCase {
  const dims = random.dims(1, 1, 5);
  const trips = random.int(1, 4);
  const body = graph(
    'body',
    [node('Identity', ['cond_in'], ['cond_out']), node('Add', ['sum_in', 'x'], ['sum_out']), node('Identity', ['sum_out'], ['partial'])],
    [tensorInfo('iteration', 'int64', []), tensorInfo('cond_in', 'bool', []), tensorInfo('sum_in', 'float32', dims)],
    [tensorInfo('cond_out', 'bool', []), tensorInfo('sum_out', 'float32', dims), tensorInfo('partial', 'float32', dims)],
  );
  const loopNode = { ...node('Loop', ['trips', 'keep_going', 'start'], ['sum', 'partials'], 'loop'), attributes: { body: { type: 'graph' as const, value: body } } };
  const built = model(
    {
      nodes: [loopNode],
      inputs: [tensorInfo('x', 'float32', dims), tensorInfo('start', 'float32', dims)],
      outputs: [tensorInfo('sum', 'float32'), tensorInfo('partials', 'float32')],
      initializers: new Map([
        ['trips', int64s([trips], [])],
        ['keep_going', new Tensor('bool', Uint8Array.of(1), [])],
      ]),
    },
    16,
  );
  return { label: `Loop trips=${trips} x[${dims}]`, model: encodeOnnx(built), feeds: { x: random.tensor('float32', dims), start: random.tensor('float32', dims) } };
}

/** Scan: a running sum over the sequence axis of x. */
function scanCase(random: Random): OpCase {
  const [length, width] = [random.int(1, 5), random.int(1, 4)];
  const body = graph(
    'body',
    [node('Add', ['sum_in', 'item'], ['sum_out']), node('Identity', ['sum_out'], ['running'])],
    [tensorInfo('sum_in', 'float32', [width]), tensorInfo('item', 'float32', [width])],
    [tensorInfo('sum_out', 'float32', [width]), tensorInfo('running', 'float32', [width])],
  );
  const scanNode = { ...node('Scan', ['start', 'x'], ['sum', 'running'], 'scan'), attributes: { body: { type: 'graph' as const, value: body }, num_scan_inputs: int(1) } };
  const built = model(
    { nodes: [scanNode], inputs: [tensorInfo('start', 'float32', [width]), tensorInfo('x', 'float32', [length, width])], outputs: [tensorInfo('sum', 'float32'), tensorInfo('running', 'float32')] },
    16,
  );
  return { label: `Scan x[${length},${width}]`, model: encodeOnnx(built), feeds: { start: random.tensor('float32', [width]), x: random.tensor('float32', [length, width]) } };
}

function generator(op: string, make: (random: Random) => OpCase): OpGenerator {
  return { op, cases: (random: Random, count: number) => repeat(count, () => make(random)) };
}

export const goldenOnlyGenerators: OpGenerator[] = [
  generator('QuantizeLinear', quantizeLinearCase),
  generator('DequantizeLinear', dequantizeLinearCase),
  generator('DynamicQuantizeLinear', dynamicQuantizeCase),
  generator('MatMulInteger', matMulIntegerCase),
  generator('QLinearMatMul', qlinearMatMulCase),
  generator('ConvInteger', convIntegerCase),
  generator('QLinearConv', qlinearConvCase),
  generator('If', ifCase),
  generator('Loop', loopCase),
  generator('Scan', scanCase),
];
