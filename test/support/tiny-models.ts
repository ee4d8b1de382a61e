import type { Graph, Model, Node, ValueInfo } from '../../src/core/graph.js';
import type { DataType } from '../../src/core/dtype.js';
import type { Tensor } from '../../src/core/tensor.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';

/** Small ONNX models built through the project's own IR and writer, for API and error tests. */
export function tensorInfo(name: string, dtype: DataType, shape?: (number | string)[]): ValueInfo {
  return shape ? { name, type: { kind: 'tensor', dtype, shape } } : { name, type: { kind: 'tensor', dtype } };
}

export function node(opType: string, inputs: string[], outputs: string[], name = ''): Node {
  return { name, opType, domain: '', inputs, outputs, attributes: {} };
}

export function model(parts: Partial<Graph> & Pick<Graph, 'nodes' | 'inputs' | 'outputs'>, opset = 17): Model {
  return {
    format: 'onnx',
    irVersion: 8,
    opsetImports: [{ domain: '', version: opset }],
    metadata: {},
    functions: [],
    graph: { name: 'tiny', initializers: new Map<string, Tensor>(), valueInfo: [], ...parts },
  };
}

/** y = relu(x + b), x: float32[batch, 3]. */
export function addReluModel(bias: Tensor): Uint8Array {
  return encodeOnnx(
    model({
      nodes: [node('Add', ['x', 'b'], ['sum'], 'add'), node('Relu', ['sum'], ['y'], 'relu')],
      inputs: [tensorInfo('x', 'float32', ['batch', 3])],
      outputs: [tensorInfo('y', 'float32', ['batch', 3])],
      initializers: new Map([['b', bias]]),
    }),
  );
}
