import type { Value } from '../../core/graph.js';
import { elementCount, Tensor } from '../../core/tensor.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, epilogueOf, floatInput, residentConstants, shapeError, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Element-wise Add / Sub / Mul / Div with multidirectional broadcasting (ai.edgerun FusedAdd: Add plus a
 * fused `activation`), and Relu / Clip. Broadcasting becomes a loop over at most two axis groups in wasm:
 * after dropping unit axes, consecutive axes where each input is either full or broadcast merge into one
 * group; the last group is the columns, the one before the rows, and any further ones loop here.
 */

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, FusedAdd: 0 };

/** One merged axis group: its size and each input's element stride along it (0 where broadcast). */
interface Group {
  size: number;
  aStride: number;
  bStride: number;
}

function broadcastGroups(info: NodeInfo, aDims: readonly number[], bDims: readonly number[]): { outDims: number[]; groups: Group[] } {
  const rank = Math.max(aDims.length, bDims.length);
  const align = (dims: readonly number[]) => [...new Array<number>(rank - dims.length).fill(1), ...dims];
  const [a, b] = [align(aDims), align(bDims)];
  const outDims = a.map((dim, i) => {
    const other = b[i]!;
    if (dim !== other && dim !== 1 && other !== 1) shapeError(info, `inputs [${aDims.join(', ')}] and [${bDims.join(', ')}] do not broadcast`);
    return dim === 1 ? other : dim;
  });
  const groups: (Group & { aFull: boolean; bFull: boolean })[] = [];
  let aRight = 1;
  let bRight = 1;
  for (let axis = rank - 1; axis >= 0; axis--) {
    const size = outDims[axis]!;
    if (size === 1) continue;
    const aFull = a[axis] !== 1;
    const bFull = b[axis] !== 1;
    const last = groups[0];
    if (last && last.aFull === aFull && last.bFull === bFull) {
      last.size *= size;
    } else {
      groups.unshift({ size, aFull, bFull, aStride: aFull ? aRight : 0, bStride: bFull ? bRight : 0 });
    }
    if (aFull) aRight *= size;
    if (bFull) bRight *= size;
  }
  return { outDims, groups };
}

function binarySupports(info: NodeInfo): boolean {
  return info.opset >= 7 && allFloat32(info) && epilogueOf(info.attributes) !== undefined;
}

/** The loops of one broadcast: rows and columns in wasm, `outer` groups here. */
interface BinaryPlan {
  aDims: readonly number[];
  bDims: readonly number[];
  outDims: number[];
  rows: Group;
  cols: Group;
  outer: Group[];
  /** Elements per call of the wasm kernel, and calls. */
  block: number;
  blocks: number;
}

const NO_GROUP: Group = { size: 1, aStride: 0, bStride: 0 };

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function binaryPlan(info: NodeInfo, aDims: readonly number[], bDims: readonly number[]): BinaryPlan {
  const { outDims, groups } = broadcastGroups(info, aDims, bDims);
  const cols = groups[groups.length - 1] ?? NO_GROUP;
  const rows = groups[groups.length - 2] ?? NO_GROUP;
  const outer = groups.slice(0, -2);
  return { aDims: [...aDims], bDims: [...bDims], outDims, rows, cols, outer, block: rows.size * cols.size, blocks: elementCount(outer.map((group) => group.size)) };
}

function prepareBinary(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_binary_minmax');
  const op = BINARY_OPS[info.node.opType]!;
  const epilogue = epilogueOf(info.attributes)!;
  // The broadcast is worked out once per pair of input shapes (every run, when shapes are static).
  let plan: BinaryPlan | undefined;
  const [residentA, residentB] = residentConstants(runtime, info);
  return {
    run(io) {
      const [a, b] = [floatInput(info, io, 0), floatInput(info, io, 1)];
      if (!plan || !sameDims(plan.aDims, a.dims) || !sameDims(plan.bDims, b.dims)) plan = binaryPlan(info, a.dims, b.dims);
      const { outDims, rows, cols, outer, block, blocks } = plan;
      const y = io.output(0, 'float32', outDims);
      const staged = residentA ? (residentB ? [] : [b]) : residentB ? [a] : [a, b];
      const staging = new Staging(runtime, staged, [y]);
      const aAddress = residentA ? residentA.pointer : staging.address(a);
      const bAddress = residentB ? residentB.pointer : staging.address(b);
      const yAddress = staging.address(y);
      for (let index = 0; index < blocks; index++) {
        let [aOffset, bOffset, rest] = [0, 0, index];
        for (let g = outer.length - 1; g >= 0; g--) {
          const coordinate = rest % outer[g]!.size;
          rest = Math.floor(rest / outer[g]!.size);
          aOffset += coordinate * outer[g]!.aStride;
          bOffset += coordinate * outer[g]!.bStride;
        }
        runtime.kernels.f32_binary_minmax(
          op, rows.size, cols.size, aAddress + aOffset * 4, rows.aStride, cols.aStride, bAddress + bOffset * 4, rows.bStride, cols.bStride,
          yAddress + index * block * 4, epilogue.low, epilogue.high,
        );
      }
      staging.finish(epilogue.activation);
    },
    dispose() {
      residentA?.release();
      residentB?.release();
    },
  };
}

/**
 * Clip's bounds: attributes before opset 11, scalar inputs (or none) since; Relu's are [0, inf). With
 * min > max every value becomes max (ONNX: min(max(x, min), max)), so the low bound is lowered to max.
 */
function clipBounds(info: NodeInfo, inputs: readonly (Value | undefined)[]): { low: number; high: number } {
  const ordered = (low: number, high: number) => ({ low: Math.min(low, high), high });
  if (info.node.opType === 'Relu') return { low: 0, high: Infinity };
  if (info.opset < 11) return ordered((info.attributes.min as number | undefined) ?? -Infinity, (info.attributes.max as number | undefined) ?? Infinity);
  const bound = (index: number, fallback: number) => {
    const value = inputs[index];
    if (value === undefined || value === null) return fallback;
    if (!(value instanceof Tensor) || elementCount(value.dims) !== 1) shapeError(info, `Clip's input #${index} must be a scalar`);
    return (value.data as Float32Array)[0]!;
  };
  return ordered(bound(1, -Infinity), bound(2, Infinity));
}

function prepareClamp(runtime: WasmRuntime, info: NodeInfo): Kernel {
  runtime.warmUp('f32_clamp');
  const constant = info.node.inputs.slice(1).every((name, i) => name === '' || info.constants[i + 1]) ? clipBounds(info, info.constants) : undefined;
  return {
    inPlace: new Map([[0, 0]]),
    run(io) {
      const { low, high } = constant ?? clipBounds(info, io.inputs);
      const x = floatInput(info, io, 0);
      const y = io.output(0, 'float32', x.dims);
      const staging = new Staging(runtime, [x], [y]);
      runtime.kernels.f32_clamp(staging.address(x), x.data.length, staging.address(y), low, high);
      staging.finish();
    },
  };
}

export const elementwiseOps: Record<string, WasmOp> = {
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div'].map((name) => [name, { supports: binarySupports, prepare: prepareBinary }])),
  'ai.edgerun:FusedAdd': { supports: binarySupports, prepare: prepareBinary },
  Relu: { supports: allFloat32, prepare: prepareClamp },
  Clip: { supports: allFloat32, prepare: prepareClamp },
};
