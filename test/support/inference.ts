import { describeType, type Value } from '../../src/core/graph.js';
import { Tensor } from '../../src/core/tensor.js';
import { inferModelTypes, type InferenceSession as Session } from '../../src/runtime/session.js';

/** How much of a run's output types static inference told beforehand; 'wrong' when it disagreed. */
export type InferenceCoverage = 'shape' | 'dtype' | 'none' | 'wrong';

/**
 * Static inference, from the graph inputs alone, must agree with what the run produced: same element type,
 * and every dimension it claims to know. Coverage says whether it knew every output's full shape, only the
 * element types, or not even those. A disagreement is a defect even when the numbers came out right: a
 * planner that trusts a wrong shape sizes buffers and picks kernels wrongly.
 */
export function checkInference(session: Session, outputs: Record<string, Value>): { coverage: InferenceCoverage; problem?: string } {
  const model = session.model;
  const types = inferModelTypes(model);
  let coverage: InferenceCoverage = 'shape';
  for (const info of model.graph.outputs) {
    const inferred = types.get(info.name);
    const actual = outputs[info.name];
    if (!(actual instanceof Tensor)) continue;
    if (!inferred || inferred.kind !== 'tensor') {
      coverage = 'none';
      continue;
    }
    const shapeWrong = inferred.shape && (inferred.shape.length !== actual.dims.length || inferred.shape.some((dim, i) => typeof dim === 'number' && dim !== actual.dims[i]));
    if (inferred.dtype !== actual.type || shapeWrong) {
      return { coverage: 'wrong', problem: `inference: output '${info.name}' inferred ${describeType(inferred)}, ran as ${actual.type}[${actual.dims.join(', ')}]` };
    }
    const shapeKnown = inferred.shape?.every((dim) => typeof dim === 'number');
    if (!shapeKnown && coverage === 'shape') coverage = 'dtype';
  }
  return { coverage };
}

