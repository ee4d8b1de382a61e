import assert from 'node:assert/strict';
import type { AttributeWithDoc, Graph, Model, Node } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { InferenceSession, type SessionOptions } from '../../src/node.js';
import { catalogueResolver } from '../../src/optimize/resolve.js';
import type { GraphPass } from '../../src/optimize/pass.js';
import { compareValues } from '../support/compare.js';
import { model } from '../support/tiny-models.js';

/** Graphs made for one pass each, the pass run alone, and the original and rewritten graphs run side by side. */

export function op(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeWithDoc> = {}, domain = ''): Node {
  return { name: `${opType}_${outputs[0]}`, opType, domain, inputs, outputs, attributes };
}

export const ints = (value: number[]): AttributeWithDoc => ({ type: 'ints', value });
export const int = (value: number): AttributeWithDoc => ({ type: 'int', value });
export const float = (value: number): AttributeWithDoc => ({ type: 'float', value });

/** Deterministic values in [-1, 1) (a linear congruential sequence), so failures reproduce. */
export function randomTensor(dims: number[], seed = 1): Tensor {
  let state = seed * 2654435761 + 1;
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    data[i] = (state / 2147483648) * 2 - 1;
  }
  return new Tensor('float32', data, dims);
}

export function floatInput(name: string, dims: (number | string)[]) {
  return { name, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape: dims } };
}

export function graphModel(parts: Partial<Graph> & Pick<Graph, 'nodes' | 'inputs' | 'outputs'>, opset = 17): Model {
  return model(parts, opset);
}

/** The pass alone over `original`'s main graph, with the optimizer's resolver (fused ops included). */
export function runPass(pass: GraphPass, original: Model): Model {
  const opsets = [...original.opsetImports, { domain: 'ai.edgerun', version: 1 }];
  const graph = pass.run(original.graph, { resolve: catalogueResolver(opsets, original.functions), opsets, initializersOverridable: original.irVersion >= 4 });
  return { ...original, opsetImports: opsets, graph };
}

export function opTypes(target: Model): string[] {
  return target.graph.nodes.map((node) => node.opType);
}

/** Sessions that run a model exactly as given: no optimizer at create, the reference kernels. */
export const AS_GIVEN: SessionOptions = { graphOptimizationLevel: 'disabled', executionProviders: ['reference'] };

/** Both models run on the reference backend give the same outputs within tolerance. */
export async function assertSameOutputs(original: Model, optimized: Model, feeds: Record<string, Tensor>): Promise<void> {
  const expected = await (await InferenceSession.fromModel(original, AS_GIVEN)).run(feeds);
  const actual = await (await InferenceSession.fromModel(optimized, AS_GIVEN)).run(feeds);
  for (const name of Object.keys(expected)) {
    const problem = compareValues(actual[name], expected[name]!, { rtol: 1e-4, atol: 1e-5 }, `output '${name}'`);
    if (problem) assert.fail(problem);
  }
}
