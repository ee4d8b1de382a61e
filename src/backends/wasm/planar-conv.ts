import { toNhwcPerm } from '../../ops/fused.js';
import type { ClaimedRun, Kernel, NodeInfo } from '../backend.js';
import { allFloat32, checkPlannedDims, epilogueOf, floatValue, Staging, staticDims } from './common.js';
import { convReadsPlanarInput, prepareNhwcConv } from './conv.js';
import type { WasmRuntime } from './runtime.js';

/**
 * A network's first layer in NHWC is a Transpose of the NCHW image followed by a convolution of few input
 * channels. That convolution's direct path regroups its windows pixel by pixel anyway, so it reads the
 * image's channel planes as they are: the pair runs as one kernel, and the transposed copy of the image
 * (written, then read back) goes.
 */

const TO_NHWC = toNhwcPerm(4);

/** Runs of a Transpose to NHWC whose output only the next node reads: an NHWC convolution on its direct path. */
export function claimPlanarConvs(infos: readonly NodeInfo[], kept: ReadonlySet<string>): ClaimedRun[] {
  const runs: ClaimedRun[] = [];
  infos.forEach((info, index) => {
    const conv = infos[index + 1];
    const { node } = info;
    if (!conv || node.domain !== '' || node.opType !== 'Transpose' || !allFloat32(info) || staticDims(info, 0)?.length !== 4) return;
    const perm = info.attributes.perm as number[] | undefined;
    if (!perm || perm.some((axis, at) => axis !== TO_NHWC[at])) return;
    const transposed = node.outputs[0]!;
    if (kept.has(transposed) || conv.node.inputs[0] !== transposed || !convReadsPlanarInput(conv)) return;
    if (infos.some((other, at) => at !== index + 1 && other.node.inputs.includes(transposed))) return;
    runs.push({ start: index, count: 2 });
  });
  return runs;
}

/** The kernel of a claimed run: the convolution, reading the Transpose's NCHW input. */
export function preparePlanarConv(runtime: WasmRuntime, infos: readonly NodeInfo[]): Kernel {
  const [transpose, convInfo] = infos as [NodeInfo, NodeInfo];
  const conv = prepareNhwcConv(runtime, convInfo);
  const planned = staticDims(transpose, 0)!;
  const [batch, channels, height, width] = planned as [number, number, number, number];
  const geometry = conv.geometryOf([batch, height, width, channels]);
  const yDims = [batch, geometry.outHeight, geometry.outWidth, conv.outChannels];
  const work = conv.pathWorkBytes(geometry);
  runtime.reserveScratch(Staging.bytesFor([batch * channels * height * width * 4, batch * geometry.outHeight * geometry.outWidth * conv.outChannels * 4], work));
  const { activation } = epilogueOf(convInfo.attributes)!;

  return {
    run(io) {
      const x = floatValue(transpose, io.inputs[0], 0);
      checkPlannedDims(transpose, x, planned);
      // The run's outputs are its nodes' outputs in order: the Transpose's (its own, not written), the convolution's.
      const y = io.output(1, 'float32', yDims);
      const staging = new Staging(runtime, [x], [y], work);
      conv.convolve(geometry, staging.address(x), staging.address(y), conv.outChannels, batch, work.map((_, index) => staging.work(index)), true);
      staging.finish(activation);
    },
    dispose: () => conv.dispose(),
  };
}
