import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Graph, Model } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { decodeOnnx } from '../../src/formats/onnx/decode.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { OPTIMIZATION_LEVELS, optimizeGraph } from '../../src/optimize/index.js';
import { assertSameOutputs, floatInput, graphModel, int, ints, op, randomTensor } from './support.js';

/**
 * A model whose If branches read values of the main graph that passes fold (a Shape of a known shape), fuse
 * around (a Conv + Relu) or could merge (two equal nodes), and which calls a model-local function.
 */
function modelWithSubgraphsAndFunction(): Model {
  const branch = (name: string, body: Graph['nodes']): Graph => ({
    name,
    nodes: body,
    inputs: [],
    outputs: [floatInput(`${name}_out`, [1, 2, 3, 3])],
    initializers: new Map(),
    valueInfo: [],
  });
  const thenBranch = branch('then', [op('Cast', ['dims'], ['dims_f'], { to: int(1) }), op('ReduceSum', ['dims_f'], ['total'], { keepdims: int(0) }), op('Add', ['relu', 'total'], ['then_out'])]);
  const elseBranch = branch('else', [op('Mul', ['conv', 'twin'], ['else_out'])]);
  const base = graphModel({
    nodes: [
      op('Shape', ['x'], ['dims']),
      op('Conv', ['x', 'w'], ['conv'], { pads: ints([1, 1, 1, 1]) }),
      op('Relu', ['conv'], ['relu']),
      op('Sigmoid', ['x'], ['twin']),
      op('Sigmoid', ['x'], ['twin2']),
      op('Greater', ['flag', 'zero'], ['cond']),
      op('If', ['cond'], ['chosen'], { then_branch: { type: 'graph', value: thenBranch }, else_branch: { type: 'graph', value: elseBranch } }),
      { ...op('Double', ['chosen'], ['doubled']), domain: 'local' },
      op('Add', ['doubled', 'twin2'], ['y']),
    ],
    inputs: [floatInput('x', [1, 2, 3, 3]), floatInput('flag', [])],
    outputs: [floatInput('y', [1, 2, 3, 3])],
    initializers: new Map([
      ['w', randomTensor([2, 2, 3, 3])],
      ['zero', new Tensor('float32', Float32Array.of(0), [])],
    ]),
  });
  return {
    ...base,
    opsetImports: [...base.opsetImports, { domain: 'local', version: 1 }],
    functions: [{ name: 'Double', domain: 'local', inputs: ['a'], outputs: ['b'], attributes: [], attributeDefaults: {}, nodes: [op('Add', ['a', 'a'], ['b'])], opsetImports: [{ domain: '', version: 17 }] }],
  };
}

test('subgraphs and model-local functions keep their meaning at every level', async () => {
  const original = modelWithSubgraphsAndFunction();
  for (const level of OPTIMIZATION_LEVELS) {
    const optimized = decodeOnnx(encodeOnnx(optimizeGraph(original, { level, preferNhwc: true })));
    for (const flag of [1, -1]) {
      await assertSameOutputs(original, optimized, { x: randomTensor([1, 2, 3, 3], 2), flag: new Tensor('float32', Float32Array.of(flag), []) });
    }
    assert.equal(optimized.functions.length, 1);
  }
  const extended = optimizeGraph(original, { level: 'extended' });
  const ops = extended.graph.nodes.map((node) => node.opType);
  // The Conv output is read by the else branch, so Relu is not fused; Shape feeds a branch and is folded.
  assert.ok(ops.includes('Conv') && ops.includes('Relu') && !ops.includes('Shape'), ops.join(', '));
});
