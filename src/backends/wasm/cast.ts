import { EdgerunError } from '../../core/errors.js';
import { describeNode } from '../../core/graph.js';
import { Tensor } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import type { WasmOp } from './common.js';

/**
 * Cast of integer or bool data to float32 (an attention mask, token positions), written straight into the
 * output where it lives, so a small cast early in a graph does not hop to the reference kernels and back.
 * Each value goes through a JavaScript number first, as the reference kernel does, so the results are the
 * same bit for bit (an int64 beyond 2^53 is rounded twice in both).
 */

const INTEGER_SOURCES: ReadonlySet<string> = new Set(['int64', 'int32', 'int16', 'int8', 'uint32', 'uint16', 'uint8', 'bool']);

function castSupports(info: NodeInfo): boolean {
  const [input] = info.inputTypes;
  const output = info.outputTypes[0];
  return input?.kind === 'tensor' && INTEGER_SOURCES.has(input.dtype) && output?.kind === 'tensor' && output.dtype === 'float32';
}

function prepareCast(info: NodeInfo): Kernel {
  return {
    run(io) {
      const x = io.inputs[0];
      if (!(x instanceof Tensor) || !INTEGER_SOURCES.has(x.type)) {
        throw new EdgerunError('INVALID_ARGUMENT', `input #0 ('${info.node.inputs[0] ?? ''}') must be an integer or bool tensor`, [describeNode(info.node)]);
      }
      const target = io.output(0, 'float32', x.dims).data as Float32Array;
      if (x.data instanceof BigInt64Array) {
        const source = x.data;
        for (let i = 0; i < source.length; i++) target[i] = Number(source[i]!);
      } else {
        target.set(x.data as Exclude<typeof x.data, BigInt64Array | BigUint64Array | string[]>);
      }
    },
  };
}

export const castOps: Record<string, WasmOp> = { Cast: { supports: castSupports, prepare: (_runtime, info) => prepareCast(info) } };
