import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Graph } from '../../src/core/graph.js';
import { deadCodeElimination } from '../../src/optimize/dead-code.js';
import { assertSameOutputs, floatInput, graphModel, op, opTypes, randomTensor, runPass } from './support.js';

test('dead-code elimination drops nodes and initializers no output needs, keeping what a subgraph reads', async () => {
  const branch = (name: string, read: string): Graph => ({
    name,
    nodes: [op('Identity', [read], [`${name}_out`])],
    inputs: [],
    outputs: [floatInput(`${name}_out`, [3])],
    initializers: new Map(),
    valueInfo: [],
  });
  const original = graphModel({
    nodes: [
      op('Neg', ['x'], ['unused']),
      op('Mul', ['unused', 'w_dead'], ['unused2']),
      op('Relu', ['x'], ['r']),
      op('Sigmoid', ['x'], ['s']),
      op('Greater', ['x0', 'zero'], ['cond']),
      op('If', ['cond'], ['y'], { then_branch: { type: 'graph', value: branch('then', 'r') }, else_branch: { type: 'graph', value: branch('else', 's') } }),
    ],
    inputs: [floatInput('x', [3]), floatInput('x0', [])],
    outputs: [floatInput('y', [3])],
    initializers: new Map([
      ['w_dead', randomTensor([3])],
      ['zero', randomTensor([])],
    ]),
  });
  const cleaned = runPass(deadCodeElimination, original);
  assert.deepEqual(opTypes(cleaned), ['Relu', 'Sigmoid', 'Greater', 'If']);
  assert.deepEqual([...cleaned.graph.initializers.keys()], ['zero']);
  for (const x0 of [1, -1]) await assertSameOutputs(original, cleaned, { x: randomTensor([3]), x0: randomTensor([], x0 > 0 ? 3 : 4) });
});
