import { int, ints, Random, singleNodeCase, type OpCase, type OpGenerator } from './harness.js';

/**
 * Cases the spec allows and onnxruntime-node refuses (see ort-refusals.ts for why): they cannot be compared,
 * so the runner checks that edgerun runs each one as expected, with outputs of the inferred types.
 */
function lrnEvenSize(random: Random): OpCase {
  const x = [1, random.int(2, 6), random.int(1, 4), random.int(1, 4)];
  const size = random.pick([2, 4]);
  return singleNodeCase(`LRN even size=${size} x[${x}]`, { opType: 'LRN', opset: 13, inputs: [{ name: 'x', value: random.tensor('float32', x) }], outputs: ['y'], attributes: { size: int(size) } });
}

function lrnNot4d(random: Random): OpCase {
  const x = random.pick([[1, random.int(2, 6), random.int(1, 5)], [1, random.int(2, 6), 2, 2, random.int(1, 3)]]);
  return singleNodeCase(`LRN rank ${x.length} x[${x}]`, { opType: 'LRN', opset: 13, inputs: [{ name: 'x', value: random.tensor('float32', x) }], outputs: ['y'], attributes: { size: int(3) } });
}

function poolPadNotBelowKernel(random: Random): OpCase {
  const opType = random.pick(['MaxPool', 'AveragePool']);
  const kernel = random.int(1, 2);
  const pad = kernel + random.int(0, 1);
  const x = [1, random.int(1, 2), random.int(2, 5), random.int(2, 5)];
  return singleNodeCase(`${opType} pad ${pad} >= kernel ${kernel} x[${x}]`, {
    opType,
    opset: 11,
    inputs: [{ name: 'x', value: random.tensor('float32', x) }],
    outputs: ['y'],
    attributes: { kernel_shape: ints([kernel, kernel]), pads: ints([pad, pad, pad, pad]) },
  });
}

const makers = [lrnEvenSize, lrnNot4d, poolPadNotBelowKernel];

export const generators: OpGenerator[] = [
  { op: 'onnxruntime gaps', cases: (random: Random, count: number) => Array.from({ length: count }, (_, i) => makers[i % makers.length]!(random)) },
];
