import { EdgerunError } from '../core/errors.js';
import { opsetVersion, type Graph, type Model } from '../core/graph.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import { activationFusion } from './activation-fusion.js';
import { commonSubexpressionElimination } from './common-subexpression.js';
import { constantFolding } from './constant-folding.js';
import { convBatchNormFolding } from './conv-batchnorm.js';
import { deadCodeElimination } from './dead-code.js';
import { identityElimination } from './identity-elimination.js';
import { matMulAddFusion } from './matmul-add.js';
import { nhwcLayout } from './nhwc.js';
import type { GraphPass, PassContext } from './pass.js';
import { catalogueResolver } from './resolve.js';
import { shapeFolding } from './shape-folding.js';
import { transposeCancellation } from './transpose-cancel.js';

export { inferGraphTypes, type InferredGraph, type NodeResolver, type ResolvedNode } from './infer.js';
export { catalogueResolver } from './resolve.js';
export type { GraphPass, PassContext } from './pass.js';

/** onnxruntime's graphOptimizationLevel names; each level runs the passes of the levels below it too. */
export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export const OPTIMIZATION_LEVELS: readonly OptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface OptimizeOptions {
  level: OptimizationLevel;
  /** At level 'all', move convolution chains to NHWC (for backends whose kernels prefer channels last). */
  preferNhwc?: boolean;
}

/** Rewrites that keep the graph's ops ONNX ops: folding, elimination, Conv + BatchNormalization. */
const BASIC: readonly GraphPass[] = [
  constantFolding,
  shapeFolding,
  constantFolding,
  identityElimination,
  commonSubexpressionElimination,
  convBatchNormFolding,
  transposeCancellation,
  deadCodeElimination,
];

/** Fusions into Gemm and ai.edgerun ops. */
const EXTENDED: readonly GraphPass[] = [matMulAddFusion, activationFusion, deadCodeElimination];

/** Layout: convolution chains in NHWC with transposes at the edges. */
const LAYOUT: readonly GraphPass[] = [nhwcLayout, transposeCancellation, deadCodeElimination];

/** The passes a level runs, in order. */
export function passesFor(options: OptimizeOptions): GraphPass[] {
  switch (options.level) {
    case 'disabled':
      return [];
    case 'basic':
      return [...BASIC];
    case 'extended':
      return [...BASIC, ...EXTENDED];
    case 'all':
      return [...BASIC, ...EXTENDED, ...(options.preferNhwc ? LAYOUT : [])];
    default:
      throw new EdgerunError('INVALID_ARGUMENT', `unknown optimization level '${String(options.level)}'; levels: ${OPTIMIZATION_LEVELS.join(', ')}`);
  }
}

/**
 * The model with its main graph optimized at `options.level`. Pure: the given model is not changed. The
 * graph keeps its inputs and outputs (names and types); subgraphs and model-local functions are kept as
 * they are. A model using fused ops imports the ai.edgerun domain.
 */
export function optimizeGraph(model: Model, options: OptimizeOptions): Model {
  const passes = passesFor(options);
  if (passes.length === 0) return model;
  const opsets = opsetVersion(model.opsetImports, EDGERUN_DOMAIN) === undefined ? [...model.opsetImports, { domain: EDGERUN_DOMAIN, version: 1 }] : model.opsetImports;
  const context: PassContext = { resolve: catalogueResolver(opsets, model.functions), opsets, initializersOverridable: model.irVersion >= 4 };
  let graph: Graph = model.graph;
  for (const pass of passes) graph = pass.run(graph, context);
  const usesFused = graph.nodes.some((node) => node.domain === EDGERUN_DOMAIN);
  return { ...model, opsetImports: usesFused ? opsets : model.opsetImports, graph };
}
