import type { Node } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import type { KernelContext, OpDef } from '../ops/registry.js';
import type { Value } from '../core/graph.js';

/** A kernel ready to run one node: everything that depends only on the node and its constants is done. */
export type PreparedKernel = (context: KernelContext) => (Value | undefined)[];

/**
 * The seam between planning and execution. A backend says which nodes it can run and prepares a kernel
 * for each (packing weights once); the planner gives every other node to the reference backend.
 */
export interface Backend {
  readonly name: string;
  supports(node: Node, def: OpDef): boolean;
  prepare(node: Node, def: OpDef, constants: ReadonlyMap<string, Tensor>): PreparedKernel;
}
