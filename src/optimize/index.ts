import { EdgerunError } from '../core/errors.js';
import { opsetVersion, type Graph, type Model, type OpsetImport } from '../core/graph.js';
import { EDGERUN_DOMAIN } from '../ops/fused.js';
import { activationFusion } from './activation-fusion.js';
import { commonSubexpressionElimination } from './common-subexpression.js';
import { constantFolding } from './constant-folding.js';
import { convBatchNormFolding } from './conv-batchnorm.js';
import { deadCodeElimination } from './dead-code.js';
import { float16Compute } from './float16-compute.js';
import { geluFusion } from './gelu-fusion.js';
import { identityElimination } from './identity-elimination.js';
import { layerNormFusion } from './layer-norm-fusion.js';
import { matMulAddFusion } from './matmul-add.js';
import { nhwcLayout } from './nhwc.js';
import type { GraphPass, PassContext } from './pass.js';
import { catalogueResolver } from './resolve.js';
import { shapeFolding } from './shape-folding.js';
import { transposeCancellation } from './transpose-cancel.js';
import { transposeToReshape } from './transpose-reshape.js';

export { inferGraphTypes, type InferredGraph, type NodeResolver, type ResolvedNode } from './infer.js';
export { catalogueResolver } from './resolve.js';
export { FLOAT16_KERNEL_OPS, float16Compute } from './float16-compute.js';
export type { GraphPass, PassContext } from './pass.js';

/** onnxruntime's graphOptimizationLevel names; each level runs the passes of the levels below it too. */
export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export const OPTIMIZATION_LEVELS: readonly OptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface OptimizeOptions {
  level: OptimizationLevel;
  /** At level 'all', move convolution chains to NHWC (for backends whose kernels prefer channels last). */
  preferNhwc?: boolean;
}

/**
 * Rewrites that keep the graph's ops ONNX ops: float16 compute where onnxruntime's CPU provider computes in
 * float32 (first, so the float32 chains it makes are folded and fused like any other), folding,
 * elimination, Conv + BatchNormalization, transposes that only move size-1 axes as reshapes.
 */
const BASIC: readonly GraphPass[] = [
  float16Compute,
  constantFolding,
  shapeFolding,
  constantFolding,
  identityElimination,
  commonSubexpressionElimination,
  convBatchNormFolding,
  transposeCancellation,
  transposeToReshape,
  deadCodeElimination,
];

/**
 * Fusions into LayerNormalization and Gelu (written-out forms, first, so no other fusion splits them), Gemm
 * and ai.edgerun ops.
 */
const EXTENDED: readonly GraphPass[] = [layerNormFusion, geluFusion, matMulAddFusion, activationFusion, deadCodeElimination];

/**
 * Layout: convolution chains in NHWC with transposes at the edges; an edge transpose that only moves size-1
 * axes (a one-channel image in, a pooled [N, 1, 1, C] out) becomes a Reshape, a view.
 */
const LAYOUT: readonly GraphPass[] = [nhwcLayout, transposeCancellation, transposeToReshape, deadCodeElimination];

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
  const context = passContext(model, opsets);
  let graph: Graph = model.graph;
  for (const pass of passes) graph = pass.run(graph, context);
  const usesFused = graph.nodes.some((node) => node.domain === EDGERUN_DOMAIN);
  return { ...model, opsetImports: usesFused ? opsets : model.opsetImports, graph };
}

function passContext(model: Model, opsets: readonly OpsetImport[]): PassContext {
  return { resolve: catalogueResolver(opsets, model.functions), opsets, initializersOverridable: model.irVersion >= 4 };
}

/**
 * The model with its float16 nodes computing where onnxruntime's CPU provider computes them (see
 * float16Compute). onnxruntime does this at every optimization level, 'disabled' included, as part of
 * running a graph on its CPU provider; optimizeGraph does it at the other levels. Running it again on its
 * own result changes nothing.
 */
export function computeFloat16LikeOnnxruntime(model: Model): Model {
  const graph = float16Compute.run(model.graph, passContext(model, model.opsetImports));
  return graph === model.graph ? model : { ...model, graph };
}
