import type { AttributeWithDoc } from '../../src/core/graph.js';
import { writeNumbers } from '../../src/core/dtype.js';
import { Tensor } from '../../src/core/tensor.js';
import type { Tolerance } from '../support/compare.js';
import { chainCase, generator, int64s, ints, Random, repeat, singleNodeCase, type NodeInput, type OpCase, type OpGenerator } from './harness.js';

/**
 * float16 graphs of the ops fp16 vision models are made of (Conv, Relu, MaxPool, Resize, Concat, Add,
 * Sigmoid). onnxruntime's CPU provider has float16 kernels only for data movement (Concat, Transpose, ...):
 * it runs every other float16 node through its float32 kernel between inserted Casts, so one op computes in
 * float32 and rounds once to float16, as edgerun does: single ops are compared exactly.
 *
 * In a chain it goes further: the Cast pairs between two such nodes are removed, so the chain runs in float32
 * throughout and only what leaves it (here every intermediate, as graph outputs) is rounded; edgerun rounds
 * each node's output, as the ONNX types say, and feeds the rounded value on. The chain tolerance is that
 * difference: a few float16 steps (2^-11 relative each) carried through the chain, relative to the value or,
 * after the skip connection's Add cancels, to its operands (|conv| < 3 here, where a float16 step is 2^-10).
 */
/** One op: onnxruntime's float32 result rounded once, which edgerun reproduces bit for bit. */
const EXACT: Tolerance = { rtol: 0, atol: 0 };
/**
 * Conv sums many products: onnxruntime adds them in float32 in its own order, edgerun's reference kernel in
 * double; rounded once to float16 the two land in the same step but for rare ties, one step apart.
 */
const ONE_FLOAT16_STEP: Tolerance = { rtol: 2 ** -10, atol: 2 ** -24 };
const FLOAT16_CHAIN: Tolerance = { rtol: 8 * 2 ** -11, atol: 4e-3 };

/** A float16 tensor of values in [low, high). */
function half(random: Random, dims: number[], low = -1, high = 1): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  return new Tensor('float16', writeNumbers('float16', repeat(count, () => low + random.float() * (high - low))), dims);
}

const input = (name: string, value: Tensor, constant = false): NodeInput => ({ name, value, constant });

function convCase(random: Random): OpCase {
  const group = random.pick([1, 1, 2]);
  const [channels, filters, kernel] = [group * random.int(1, 4), group * random.int(1, 4), random.pick([1, 3])];
  const x = [1, channels, random.int(kernel, 9), random.int(kernel, 9)];
  const pads = repeat(4, () => random.int(0, kernel - 1));
  return singleNodeCase(`Conv float16 x[${x}] w[${filters},${channels / group},${kernel},${kernel}] pads[${pads}] group ${group}`, {
    opType: 'Conv',
    opset: 13,
    inputs: [input('x', half(random, x, -4, 4)), input('w', half(random, [filters, channels / group, kernel, kernel]), true), input('b', half(random, [filters]), true)],
    outputs: ['y'],
    attributes: { pads: ints(pads), group: { type: 'int', value: group } },
  }, ONE_FLOAT16_STEP);
}

function resizeCase(random: Random): OpCase {
  const x = [1, random.int(1, 3), random.int(1, 8), random.int(1, 8)];
  const sizes = [x[0]!, x[1]!, random.int(1, 20), random.int(1, 20)];
  const mode = random.pick(['half_pixel', 'asymmetric']);
  return singleNodeCase(`Resize float16 linear ${mode} x[${x}] -> [${sizes}]`, {
    opType: 'Resize',
    opset: 13,
    inputs: [input('x', half(random, x, -8, 8)), undefined, undefined, input('sizes', int64s(sizes), true)],
    outputs: ['y'],
    attributes: { mode: { type: 'string', value: 'linear' }, coordinate_transformation_mode: { type: 'string', value: mode } },
  }, EXACT);
}

function unaryCase(opType: string, attributes: Record<string, AttributeWithDoc> = {}) {
  return (random: Random): OpCase => {
    // Spatial extents of at least 2, so that MaxPool's 2x2 window fits.
    const x = [...random.dims(2, 1, 6), ...random.dims(2, 2, 6)];
    return singleNodeCase(`${opType} float16 x[${x}]`, { opType, opset: 13, inputs: [input('x', half(random, x, -12, 12))], outputs: ['y'], attributes }, EXACT);
  };
}

function concatCase(random: Random): OpCase {
  const x = random.dims(4, 1, 5);
  const other = [...x];
  other[1] = random.int(1, 5);
  return singleNodeCase(`Concat float16 [${x}] + [${other}]`, {
    opType: 'Concat',
    opset: 13,
    inputs: [input('a', half(random, x)), input('b', half(random, other))],
    outputs: ['y'],
    attributes: { axis: { type: 'int', value: 1 } },
  }, EXACT);
}

/** Cast -> Conv -> Relu -> MaxPool -> Resize -> Add (skip) -> Concat -> Sigmoid -> Cast: a U-Net stage in float16. */
function chainCaseFp16(random: Random): OpCase {
  const [channels, filters] = [random.int(1, 4), random.int(1, 5)];
  const [height, width] = [2 * random.int(1, 5), 2 * random.int(1, 5)];
  const x = [1, channels, height, width];
  return chainCase(`float16 chain x[${x}] Conv(${filters}) -> Relu -> MaxPool -> Resize -> Add -> Concat -> Sigmoid`, {
    opset: 13,
    inputs: [
      input('x', random.tensor('float32', x)),
      input('w', half(random, [filters, channels, 3, 3], -0.25, 0.25), true),
      input('b', half(random, [filters]), true),
      input('sizes', int64s([1, filters, height, width]), true),
    ],
    nodes: [
      { opType: 'Cast', inputs: ['x'], outputs: ['x16'], attributes: { to: { type: 'int', value: 10 } } },
      { opType: 'Conv', inputs: ['x16', 'w', 'b'], outputs: ['conv'], attributes: { pads: ints([1, 1, 1, 1]) } },
      { opType: 'Relu', inputs: ['conv'], outputs: ['relu'] },
      { opType: 'MaxPool', inputs: ['relu'], outputs: ['pool'], attributes: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
      { opType: 'Resize', inputs: ['pool', '', '', 'sizes'], outputs: ['up'], attributes: { mode: { type: 'string', value: 'linear' } } },
      { opType: 'Add', inputs: ['up', 'conv'], outputs: ['skip'] },
      { opType: 'Concat', inputs: ['skip', 'relu'], outputs: ['joined'], attributes: { axis: { type: 'int', value: 1 } } },
      { opType: 'Sigmoid', inputs: ['joined'], outputs: ['probability'] },
      { opType: 'Cast', inputs: ['probability'], outputs: ['y'], attributes: { to: { type: 'int', value: 1 } } },
    ],
  }, FLOAT16_CHAIN);
}

export const generators: OpGenerator[] = [
  generator('Conv (float16)', convCase),
  generator('Resize (float16)', resizeCase),
  generator('Sigmoid (float16)', unaryCase('Sigmoid')),
  generator('Relu (float16)', unaryCase('Relu')),
  generator('MaxPool (float16)', unaryCase('MaxPool', { kernel_shape: ints([2, 2]) })),
  generator('Concat (float16)', concatCase),
  generator('float16 chain', chainCaseFp16),
];
