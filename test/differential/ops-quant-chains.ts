import type { DataType } from '../../src/core/dtype.js';
import { writeNumbers } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import type { Tolerance } from '../support/compare.js';
import { chainCase, generator, int64s, ints, Random, repeat, type ChainNode, type NodeInput, type OpCase, type OpGenerator } from './harness.js';

/**
 * Quantized chains as quantizers write them, at the value ranges of real activations: onnxruntime's
 * quantize_dynamic (DynamicQuantizeLinear -> ConvInteger / MatMulInteger -> Cast -> Mul -> Add) and the
 * QLinear* form (QuantizeLinear -> QLinearConv / QLinearMatMul -> DequantizeLinear), followed by the float ops
 * that feed the next quantizer in a real network (Relu, Resize, Sigmoid). Every intermediate is a graph output.
 *
 * onnxruntime computes these chains bit-identically at every optimization level, and a one-bit difference in a
 * float feeding DynamicQuantizeLinear can move a value across a rounding boundary, one whole quantization step:
 * the comparison is exact.
 */
const EXACT: Tolerance = { rtol: 0, atol: 0 };

/** A tensor of `dims` from `make(index)`. */
function tensorOf(dtype: DataType, dims: number[], make: () => number): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  return new Tensor(dtype, writeNumbers(dtype, repeat(count, make)), dims);
}

/**
 * An activation as a network produces it: an offset and a spread drawn per case (post-ReLU ranges, symmetric
 * ones, wide ones), so that DynamicQuantizeLinear's scale and zero point vary from case to case.
 */
function activation(random: Random, dims: number[]): Tensor {
  const spread = random.pick([0.05, 1, 4, 30]);
  const low = random.pick([0, -0.5, -1, -0.1]) * spread;
  return tensorOf('float32', dims, () => low + random.float() * spread);
}

/** Quantized uint8 weights around their zero point(s), as quantize_dynamic leaves them. */
function uint8Weights(random: Random, dims: number[], zeroPoints: readonly number[], perRowOf: (index: number) => number): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: count }, (_, index) => {
    const zeroPoint = zeroPoints[perRowOf(index) % zeroPoints.length]!;
    return Math.max(0, Math.min(255, zeroPoint + random.int(-90, 90)));
  });
  return new Tensor('uint8', writeNumbers('uint8', values), dims);
}

const constant = (name: string, value: Tensor): NodeInput => ({ name, value, constant: true });
const scalar = (dtype: DataType, value: number): Tensor => new Tensor(dtype, writeNumbers(dtype, [value]), []);

/**
 * One quantize_dynamic convolution: x -> DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(x_scale * w_scale)
 * -> Add(bias) [-> Relu]; returns the nodes, the initializers and the output name.
 */
function dynamicConvLayer(random: Random, prefix: string, x: string, extent: readonly number[], channels: number, outChannels: number, group: number, relu: boolean) {
  // Every window must fit the input: a kernel no wider than the smaller spatial extent.
  const kernel = random.pick([1, 3, 3, 2].filter((size) => size <= Math.min(...extent)));
  const pads = repeat(4, () => random.int(0, kernel - 1));
  const strides = repeat(2, () => random.pick([1, 1, 2]));
  const wZeroPoint = random.int(100, 156);
  const weightsPerFilter = (channels / group) * kernel * kernel;
  const w = uint8Weights(random, [outChannels, channels / group, kernel, kernel], [wZeroPoint], (index) => Math.floor(index / weightsPerFilter));
  const initializers = [
    constant(`${prefix}_w`, w),
    constant(`${prefix}_wzp`, scalar('uint8', wZeroPoint)),
    constant(`${prefix}_wscale`, scalar('float32', 0.001 + random.float() * 0.02)),
    constant(`${prefix}_bias`, tensorOf('float32', [1, outChannels, 1, 1], () => random.float() * 2 - 1)),
  ];
  const nodes: ChainNode[] = [
    { opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [`${prefix}_xq`, `${prefix}_xscale`, `${prefix}_xzp`] },
    { opType: 'Mul', inputs: [`${prefix}_xscale`, `${prefix}_wscale`], outputs: [`${prefix}_scale`] },
    {
      opType: 'ConvInteger',
      inputs: [`${prefix}_xq`, `${prefix}_w`, `${prefix}_xzp`, `${prefix}_wzp`],
      outputs: [`${prefix}_acc`],
      attributes: { pads: ints(pads), strides: ints(strides), group: { type: 'int', value: group } },
    },
    { opType: 'Cast', inputs: [`${prefix}_acc`], outputs: [`${prefix}_accf`], attributes: { to: { type: 'int', value: 1 } } },
    { opType: 'Mul', inputs: [`${prefix}_accf`, `${prefix}_scale`], outputs: [`${prefix}_scaled`] },
    { opType: 'Add', inputs: [`${prefix}_scaled`, `${prefix}_bias`], outputs: [`${prefix}_y`] },
  ];
  if (relu) nodes.push({ opType: 'Relu', inputs: [`${prefix}_y`], outputs: [`${prefix}_relu`] });
  const label = `k${kernel} pads[${pads}] strides[${strides}] group ${group}`;
  const outExtent = extent.map((size, axis) => Math.floor((size + pads[axis]! + pads[axis + 2]! - kernel) / strides[axis]!) + 1);
  return { nodes, initializers, output: relu ? `${prefix}_relu` : `${prefix}_y`, label, outExtent };
}

/** Two quantize_dynamic convolutions (odd channel counts, groups, padding), a 2x linear Resize and a Sigmoid. */
function dynamicConvChain(random: Random): OpCase {
  const group = random.pick([1, 1, 2, 3]);
  const channels = group * random.pick([1, 3, 5]);
  const hidden = group * random.pick([1, 3, 7]);
  const outChannels = random.pick([1, 3, 5]);
  const [height, width] = [random.int(3, 11), random.int(3, 11)];
  const x = activation(random, [1, channels, height, width]);
  const first = dynamicConvLayer(random, 'c1', 'x', [height, width], channels, hidden, group, true);
  const second = dynamicConvLayer(random, 'c2', first.output, first.outExtent, hidden, outChannels, 1, false);
  // The output extent of the second convolution is ORT's to compute; Resize by scales doubles it whatever it is.
  const tail: ChainNode[] = [
    { opType: 'Resize', inputs: [second.output, '', 'scales'], outputs: ['up'], attributes: { mode: { type: 'string', value: 'linear' } } },
    { opType: 'Sigmoid', inputs: ['up'], outputs: ['probability'] },
  ];
  return chainCase(
    `DynamicQuantizeLinear->ConvInteger x[1,${channels},${height},${width}] ${first.label} -> ${second.label} -> Resize -> Sigmoid`,
    {
      opset: 13,
      inputs: [
        { name: 'x', value: x },
        ...first.initializers,
        ...second.initializers,
        constant('scales', new Tensor('float32', Float32Array.from([1, 1, 2, 2]), [4])),
      ],
      nodes: [...first.nodes, ...second.nodes, ...tail],
    },
    EXACT,
  );
}

/**
 * quantize_dynamic's MatMul: DynamicQuantizeLinear -> MatMulInteger (per-tensor or per-column zero points of
 * B) -> Cast -> Mul(x_scale * w_scale) -> Add(bias) -> Relu, twice.
 */
function dynamicMatMulChain(random: Random): OpCase {
  const batch = random.dims(random.int(0, 2), 1, 3);
  const [rows, inner, hidden, outer] = [random.int(1, 6), random.int(1, 40), random.int(1, 9), random.int(1, 7)];
  const inputs: NodeInput[] = [{ name: 'x', value: activation(random, [...batch, rows, inner]) }];
  const nodes: ChainNode[] = [];
  const labels: string[] = [];
  let current = 'x';
  for (const [index, [k, n]] of [[inner, hidden], [hidden, outer]].entries()) {
    const prefix = `m${index}`;
    const perColumn = random.bool();
    const zeroPoints = perColumn ? repeat(n, () => random.int(100, 156)) : [random.int(100, 156)];
    inputs.push(
      constant(`${prefix}_w`, uint8Weights(random, [k!, n!], zeroPoints, (i) => i % n!)),
      constant(`${prefix}_wzp`, new Tensor('uint8', writeNumbers('uint8', zeroPoints), perColumn ? [n!] : [])),
      constant(`${prefix}_wscale`, tensorOf('float32', perColumn ? [n!] : [], () => 0.001 + random.float() * 0.02)),
      constant(`${prefix}_bias`, tensorOf('float32', [n!], () => random.float() * 2 - 1)),
    );
    nodes.push(
      { opType: 'DynamicQuantizeLinear', inputs: [current], outputs: [`${prefix}_xq`, `${prefix}_xscale`, `${prefix}_xzp`] },
      { opType: 'Mul', inputs: [`${prefix}_xscale`, `${prefix}_wscale`], outputs: [`${prefix}_scale`] },
      { opType: 'MatMulInteger', inputs: [`${prefix}_xq`, `${prefix}_w`, `${prefix}_xzp`, `${prefix}_wzp`], outputs: [`${prefix}_acc`] },
      { opType: 'Cast', inputs: [`${prefix}_acc`], outputs: [`${prefix}_accf`], attributes: { to: { type: 'int', value: 1 } } },
      { opType: 'Mul', inputs: [`${prefix}_accf`, `${prefix}_scale`], outputs: [`${prefix}_scaled`] },
      { opType: 'Add', inputs: [`${prefix}_scaled`, `${prefix}_bias`], outputs: [`${prefix}_y`] },
      { opType: 'Relu', inputs: [`${prefix}_y`], outputs: [`${prefix}_relu`] },
    );
    labels.push(`[${k},${n}]${perColumn ? ' per-column zp' : ''}`);
    current = `${prefix}_relu`;
  }
  return chainCase(`DynamicQuantizeLinear->MatMulInteger x[${[...batch, rows, inner]}] ${labels.join(' -> ')}`, { opset: 13, inputs, nodes }, EXACT);
}

/**
 * The QLinear form: QuantizeLinear -> QLinearConv (int8 weights with per-channel scales, odd channel counts,
 * padding, groups, int32 bias) -> DequantizeLinear -> Sigmoid -> QuantizeLinear -> QLinearMatMul ->
 * DequantizeLinear.
 */
function qlinearChain(random: Random): OpCase {
  const group = random.pick([1, 1, 3]);
  const channels = group * random.pick([1, 3]);
  const filters = group * random.pick([1, 3, 5]);
  const kernel = random.pick([1, 3]);
  const [height, width] = [random.int(kernel, 8), random.int(kernel, 8)];
  const pads = repeat(4, () => random.int(0, kernel - 1));
  const outWidth = width + pads[1]! + pads[3]! - kernel + 1;
  const columns = random.int(1, 6);
  const x = activation(random, [1, channels, height, width]);
  const xScale = 0.002 + random.float() * 0.05;
  const inputs: NodeInput[] = [
    { name: 'x', value: x },
    constant('xs', scalar('float32', xScale)),
    constant('xzp', scalar('uint8', random.int(0, 255))),
    constant('w', tensorOf('int8', [filters, channels / group, kernel, kernel], () => random.int(-127, 127))),
    constant('ws', tensorOf('float32', [filters], () => 0.001 + random.float() * 0.01)),
    constant('wzp', new Tensor('int8', new Int8Array(filters), [filters])),
    constant('ys', scalar('float32', 0.01 + random.float() * 0.2)),
    constant('yzp', scalar('uint8', random.int(0, 255))),
    constant('bias', tensorOf('int32', [filters], () => random.int(-3000, 3000))),
    constant('ss', scalar('float32', 1 / 255)),
    constant('szp', scalar('uint8', 0)),
    constant('b', tensorOf('uint8', [outWidth, columns], () => random.int(0, 255))),
    constant('bs', scalar('float32', 0.001 + random.float() * 0.02)),
    constant('bzp', scalar('uint8', random.int(100, 156))),
    constant('ms', scalar('float32', 0.001 + random.float() * 0.05)),
    constant('mzp', scalar('uint8', random.int(0, 255))),
  ];
  const nodes: ChainNode[] = [
    { opType: 'QuantizeLinear', inputs: ['x', 'xs', 'xzp'], outputs: ['xq'] },
    {
      opType: 'QLinearConv',
      inputs: ['xq', 'xs', 'xzp', 'w', 'ws', 'wzp', 'ys', 'yzp', 'bias'],
      outputs: ['yq'],
      attributes: { pads: ints(pads), group: { type: 'int', value: group } },
    },
    { opType: 'DequantizeLinear', inputs: ['yq', 'ys', 'yzp'], outputs: ['y'] },
    { opType: 'Sigmoid', inputs: ['y'], outputs: ['s'] },
    { opType: 'QuantizeLinear', inputs: ['s', 'ss', 'szp'], outputs: ['sq'] },
    { opType: 'QLinearMatMul', inputs: ['sq', 'ss', 'szp', 'b', 'bs', 'bzp', 'ms', 'mzp'], outputs: ['mq'] },
    { opType: 'DequantizeLinear', inputs: ['mq', 'ms', 'mzp'], outputs: ['m'] },
  ];
  return chainCase(
    `QuantizeLinear->QLinearConv x[1,${channels},${height},${width}] w[${filters},${channels / group},${kernel},${kernel}] pads[${pads}] group ${group} -> QLinearMatMul [${outWidth},${columns}]`,
    { opset: 13, inputs, nodes },
    EXACT,
  );
}

/** DynamicQuantizeLinear alone on inputs whose range puts values on rounding ties and zero on a boundary. */
function dynamicQuantizeEdges(random: Random): OpCase {
  const dims = random.dims(random.int(1, 3), 1, 6);
  const kind = random.pick(['zeros', 'positive', 'negative', 'ties', 'activation']);
  const x =
    kind === 'zeros' ? tensorOf('float32', dims, () => 0)
    : kind === 'positive' ? tensorOf('float32', dims, () => random.float() * 5)
    : kind === 'negative' ? tensorOf('float32', dims, () => -random.float() * 5)
    // Multiples of a power-of-two step: x / scale lands on halves.
    : kind === 'ties' ? tensorOf('float32', dims, () => (random.int(-300, 300) * 255) / 512)
    : activation(random, dims);
  return chainCase(`DynamicQuantizeLinear ${kind} x[${dims}]`, {
    opset: 11,
    inputs: [{ name: 'x', value: x }],
    nodes: [{ opType: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['y', 'y_scale', 'y_zero_point'] }],
  }, EXACT);
}

/** Resize to explicit sizes (not a whole multiple), the form U-Nets use to match a skip connection. */
function resizeToSizes(random: Random): OpCase {
  const [height, width] = [random.int(1, 9), random.int(1, 9)];
  const sizes = [1, 2, random.int(1, 33), random.int(1, 33)];
  const mode = random.pick(['half_pixel', 'pytorch_half_pixel', 'asymmetric', 'align_corners']);
  return chainCase(`Resize linear ${mode} [1,2,${height},${width}] -> sizes [${sizes}] -> Sigmoid`, {
    opset: 13,
    inputs: [{ name: 'x', value: activation(random, [1, 2, height, width]) }, constant('sizes', int64s(sizes))],
    nodes: [
      {
        opType: 'Resize',
        inputs: ['x', '', '', 'sizes'],
        outputs: ['y'],
        attributes: { mode: { type: 'string', value: 'linear' }, coordinate_transformation_mode: { type: 'string', value: mode } },
      },
      { opType: 'Sigmoid', inputs: ['y'], outputs: ['s'] },
    ],
  }, EXACT);
}

/** Sigmoid over its whole float32 range, past the approximation's clamp at +-18 and where it rounds above 1. */
function sigmoidWide(random: Random): OpCase {
  const dims = random.dims(2, 1, 64);
  return chainCase(`Sigmoid x[${dims}] in [-20, 20]`, {
    opset: 13,
    inputs: [{ name: 'x', value: tensorOf('float32', dims, () => random.float() * 40 - 20) }],
    nodes: [{ opType: 'Sigmoid', inputs: ['x'], outputs: ['y'] }],
  }, EXACT);
}

export const generators: OpGenerator[] = [
  generator('DynamicQuantizeLinear (edges)', dynamicQuantizeEdges),
  generator('ConvInteger chain (dynamic)', dynamicConvChain),
  generator('MatMulInteger chain (dynamic)', dynamicMatMulChain),
  generator('QLinearConv/MatMul chain', qlinearChain),
  generator('Resize linear (sizes) + Sigmoid', resizeToSizes),
  generator('Sigmoid (float32, [-20, 20])', sigmoidWide),
];
