import { EdgerunError } from '../../core/errors.js';
import { Tensor } from '../../core/tensor.js';
import type { KernelContext } from '../../ops/registry.js';
import { HOST_DEVICE, type Backend, type KernelIO, type NodeInfo } from '../backend.js';

/**
 * Ops whose reference kernels compute output element i from input element i alone (or return a fresh
 * array the executor then copies): their output may take the buffer of input 0 when that input dies at
 * the node, so an activation after a convolution needs no memory of its own.
 */
const ELEMENTWISE_OPS = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Log', 'Mish', 'Neg', 'Not', 'Reciprocal', 'Relu', 'Round',
  'Selu', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'PRelu',
]);
const FIRST_INPUT_IN_PLACE: ReadonlyMap<number, number> = new Map([[0, 0]]);

/** The oracle: runs every op with its plain TypeScript reference kernel from ops/. */
export const referenceBackend: Backend = {
  name: 'reference',
  device: HOST_DEVICE,
  supports: () => true,
  prepare: (info) => ({
    ...(info.node.domain === '' && ELEMENTWISE_OPS.has(info.node.opType) ? { inPlace: FIRST_INPUT_IN_PLACE } : {}),
    run(io) {
      const outputs = info.def.kernel(referenceContext(info, io));
      outputs.forEach((value, index) => {
        if (value !== undefined) io.set(index, value);
      });
    },
  }),
};

/** What a reference kernel sees of its node: resolved attributes, inputs, typed accessors, output buffers. */
export function referenceContext(info: Pick<NodeInfo, 'node' | 'attributes' | 'opset' | 'def'>, io: KernelIO): KernelContext {
  const { node, def } = info;
  const inputs = io.inputs;
  const context: KernelContext = {
    node,
    attrs: info.attributes as Record<string, unknown>,
    opset: info.opset,
    inputs,
    outputCount: node.outputs.length,
    tensor(index) {
      const value = inputs[index];
      if (value instanceof Tensor) return value;
      const label = `input #${index} ('${node.inputs[index] ?? ''}', ${def.inputs[index] ?? 'extra'})`;
      return context.fail('INVALID_ARGUMENT', value === undefined || value === null ? `${label} is required` : `${label} must be a tensor, got a sequence`);
    },
    optionalTensor(index) {
      const value = inputs[index];
      if (value === undefined || value === null) return undefined;
      return context.tensor(index);
    },
    output: (index, dtype, dims) => io.output(index, dtype, dims),
    outputWanted: (index) => (node.outputs[index] ?? '') !== '',
    runGraph: (graph, graphInputs) => io.runGraph(graph, graphInputs),
    fail(code, detail) {
      throw new EdgerunError(code, detail);
    },
  };
  return context;
}
