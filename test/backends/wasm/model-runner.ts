import type { Value } from '../../../src/core/graph.js';
import { Tensor } from '../../../src/core/tensor.js';
import { decodeOnnx } from '../../../src/formats/onnx/decode.js';
import { inferValueTypes } from '../../../src/runtime/infer.js';
import { planGraph } from '../../../src/runtime/plan.js';
import { planContextFor } from '../../../src/runtime/session.js';
import type { Backend, Kernel, KernelIO, MemoryRegion, NodeInfo } from '../../../src/backends/backend.js';
import { referenceBackend } from '../../../src/backends/reference/index.js';

/**
 * A minimal executor over the backend seam, for testing and timing the wasm backend on whole models until
 * the session planner places nodes on it: every node the backend supports runs there (weights packed once),
 * the rest on the reference kernels; float32 outputs are placed in the backend's memory (as the arena will).
 */
export interface PreparedModel {
  run(feeds: Record<string, Value>): Record<string, Value>;
  /** Milliseconds spent per op type (and backend) over every run so far. */
  readonly profile: Map<string, number>;
  /** Op types of the nodes the backend took and of those left to the reference kernels, with counts. */
  readonly placement: { backend: Record<string, number>; reference: Record<string, number> };
  dispose(): void;
}

/** Bytes of the backend's memory the runner takes once for the outputs of a run (the arena's stand-in). */
const ARENA_BYTES = 256 << 20;

export function prepareModel(bytes: Uint8Array, backend: Backend): PreparedModel {
  const model = decodeOnnx(bytes);
  const graph = model.graph;
  const plan = planGraph(graph, planContextFor(model, {}));
  const types = inferValueTypes(plan);
  // Values known at create, as the planner offers them: initializers and Constant nodes' values.
  const constants = new Map(graph.initializers);
  for (const node of graph.nodes) {
    const value = node.attributes.value;
    if (node.opType === 'Constant' && value?.type === 'tensor') constants.set(node.outputs[0]!, value.value);
  }
  const placement = { backend: {} as Record<string, number>, reference: {} as Record<string, number> };
  const steps = plan.steps.map((step) => {
    const { node } = step;
    const info: NodeInfo = {
      node,
      def: step.def,
      attributes: step.attrs,
      opset: step.opset,
      inputTypes: node.inputs.map((name) => types.get(name)),
      outputTypes: node.outputs.map((name) => types.get(name)),
      constants: node.inputs.map((name) => constants.get(name)),
    };
    const chosen = backend.supports(info) ? backend : referenceBackend;
    const counts = chosen === backend ? placement.backend : placement.reference;
    counts[node.opType] = (counts[node.opType] ?? 0) + 1;
    return { info, kernel: chosen.prepare(info) as Kernel, label: `${node.opType} (${chosen.name})` };
  });
  // Taken once after every prepare, as the planner will: growing a private memory later would detach it.
  const arena: MemoryRegion | undefined = backend.allocate?.(ARENA_BYTES);
  const profile = new Map<string, number>();
  return {
    placement,
    profile,
    run(feeds) {
      const values = new Map<string, Value>([...graph.initializers, ...Object.entries(feeds)]);
      let used = 0;
      for (const { info, kernel, label } of steps) {
        const start = performance.now();
        const { node } = info;
        const io: KernelIO = {
          inputs: node.inputs.map((name) => (name === '' ? undefined : values.get(name))),
          output(index, dtype, dims) {
            const length = dims.reduce((a, b) => a * b, 1);
            let tensor: Tensor;
            if (dtype === 'float32' && arena && used + length * 4 <= arena.byteLength) {
              tensor = new Tensor(dtype, new Float32Array(arena.buffer, arena.byteOffset + used, length), dims);
              used += Math.ceil((length * 4) / 64) * 64;
            } else {
              tensor = new Tensor(dtype, new (dtype === 'float32' ? Float32Array : Float64Array)(length), dims);
            }
            values.set(node.outputs[index]!, tensor);
            return tensor;
          },
          set: (index, value) => values.set(node.outputs[index]!, value),
          runGraph: () => {
            throw new Error('subgraphs are not run here');
          },
        };
        void kernel.run(io);
        profile.set(label, (profile.get(label) ?? 0) + performance.now() - start);
      }
      const outputs: Record<string, Value> = {};
      for (const { name } of graph.outputs) {
        const value = values.get(name)!;
        outputs[name] = value instanceof Tensor ? new Tensor(value.type, value.data.slice() as Float32Array, value.dims) : value;
      }
      return outputs;
    },
    dispose() {
      arena?.release();
      for (const { kernel } of steps) kernel.dispose?.();
    },
  };
}
