import { elementCount } from '../../core/tensor.js';
import type { ClaimedRun, Kernel, NodeInfo } from '../backend.js';
import { checkPlannedDims, floatValue, Staging, staticDims, staticOutputDims } from './common.js';
import { convWritesChannelSlice, prepareNhwcConv } from './conv.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Convolutions whose outputs only a Concat along channels reads (SqueezeNet's fire modules, Inception's
 * branches) run as one kernel that writes each convolution straight into its slice of the Concat's output
 * (NHWC, so a slice is every pixel's run of channels): the Concat's copy, a pass over both outputs, goes.
 */

/** The channel axis of an NHWC Concat, as ONNX may write it. */
const CHANNEL_AXES = [3, -1];

/**
 * Runs of k NHWC convolutions followed by a Concat of exactly their outputs along channels, where no
 * other node reads those outputs and none must be kept (a graph output, a value a subgraph reads).
 */
export function claimConvConcats(infos: readonly NodeInfo[], kept: ReadonlySet<string>): ClaimedRun[] {
  const runs: ClaimedRun[] = [];
  infos.forEach((info, index) => {
    const { node } = info;
    if (node.domain !== '' || node.opType !== 'Concat' || !CHANNEL_AXES.includes(info.attributes.axis as number)) return;
    const count = node.inputs.length;
    if (count < 2 || index < count || staticOutputDims(info, 0)?.length !== 4) return;
    const convs = infos.slice(index - count, index);
    const made = convs.map((conv) => conv.node.outputs[0]!);
    const concatenated = new Set(node.inputs);
    if (concatenated.size !== count || !made.every((name) => concatenated.has(name) && !kept.has(name))) return;
    if (!convs.every((conv) => conv.node.outputs.length === 1 && convWritesChannelSlice(conv) && staticDims(conv, 0) && staticOutputDims(conv, 0))) return;
    const readElsewhere = infos.some((other, at) => at !== index && other.node.inputs.some((name) => made.includes(name)));
    if (readElsewhere || runs.some((run) => run.start + run.count > index - count)) return;
    runs.push({ start: index - count, count: count + 1 });
  });
  return runs;
}

/** The kernel of a claimed run: the convolutions in node order, each into its channel offset of the Concat's output. */
export function prepareConvConcat(runtime: WasmRuntime, infos: readonly NodeInfo[]): Kernel {
  const concat = infos[infos.length - 1]!;
  const convInfos = infos.slice(0, -1);
  const convs = convInfos.map((info) => prepareNhwcConv(runtime, info));
  const outDims = staticOutputDims(concat, 0)!;
  const channels = outDims[3]!;
  /** Each convolution's first channel in the output: the channels of the Concat inputs before its own. */
  const channelsOf = new Map(convInfos.map((info, index) => [info.node.outputs[0]!, convs[index]!.outChannels]));
  const starts = new Map<string, number>();
  let start = 0;
  for (const name of concat.node.inputs) {
    starts.set(name, start);
    start += channelsOf.get(name)!;
  }
  const offsets = convInfos.map((info) => starts.get(info.node.outputs[0]!)!);
  /** Where each convolution's X is in the run's flattened input list (every node's inputs, in node order). */
  const xIndices = convInfos.map((_, index) => convInfos.slice(0, index).reduce((sum, info) => sum + info.node.inputs.length, 0));
  const xDims = convInfos.map((info) => staticDims(info, 0)!);
  const geometries = convs.map((conv, index) => conv.geometryOf(xDims[index]!));
  const works = geometries.map((geometry, index) => convs[index]!.pathWorkBytes(geometry));
  const allWorks = works.flat();
  /** Where each convolution's work buffers start in `allWorks`. */
  const firstWork = works.map((_, index) => works.slice(0, index).reduce((sum, list) => sum + list.length, 0));
  const xBytes = geometries.map(({ batch, height, width, channels: c }) => batch * height * width * c * 4);
  runtime.reserveScratch(Staging.bytesFor([...xBytes, elementCount(outDims) * 4], allWorks));

  return {
    run(io) {
      const xs = convInfos.map((info, index) => {
        const x = floatValue(info, io.inputs[xIndices[index]!], 0);
        checkPlannedDims(info, x, xDims[index]!);
        return x;
      });
      const y = io.output(convInfos.length, 'float32', outDims);
      const staging = new Staging(runtime, xs, [y], allWorks);
      convs.forEach((conv, index) => {
        const own = works[index]!.map((_, at) => staging.work(firstWork[index]! + at));
        conv.convolve(geometries[index]!, staging.address(xs[index]!), staging.address(y) + offsets[index]! * 4, channels, geometries[index]!.batch, own);
      });
      staging.finish();
    },
    dispose: () => convs.forEach((conv) => conv.dispose()),
  };
}
