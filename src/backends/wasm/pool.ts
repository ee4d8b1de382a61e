import { describeNode } from '../../core/graph.js';
import { EdgerunError } from '../../core/errors.js';
import { spatialAxes, type WindowAxis } from '../../kernels/window.js';
import type { Kernel, NodeInfo } from '../backend.js';
import { allFloat32, floatInput, rankOf, Staging, type WasmOp } from './common.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Pooling: GlobalAveragePool (NCHW: means of rows) and ai.edgerun NhwcGlobalAveragePool (means of columns);
 * MaxPool / AveragePool (NCHW, between two transposes per image) and ai.edgerun NhwcMaxPool /
 * NhwcAveragePool, 2-D, without MaxPool's Indices output.
 */

function globalSupports(info: NodeInfo): boolean {
  const rank = rankOf(info, 0);
  return allFloat32(info) && (rank === undefined || rank >= 3);
}

function prepareGlobal(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const nhwc = info.node.opType === 'NhwcGlobalAveragePool';
  const planned = info.outputTypes[0]?.kind === 'tensor' ? info.outputTypes[0].shape : undefined;
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      const [batch, channels] = nhwc ? [x.dims[0]!, x.dims[x.dims.length - 1]!] : [x.dims[0]!, x.dims[1]!];
      const pixels = x.data.length / (batch * channels);
      const units = x.dims.slice(2).map(() => 1);
      // NHWC keeps its layout: [N, 1, ..., C], unless the planned output type says another rank.
      const dims = nhwc ? (planned?.length === 2 ? [batch, channels] : [batch, ...units, channels]) : [batch, channels, ...units];
      const y = io.output(0, 'float32', dims);
      const staging = new Staging(runtime, [x], [y]);
      const [xAddress, yAddress] = [staging.address(x), staging.address(y)];
      if (nhwc) {
        for (let image = 0; image < batch; image++) {
          runtime.kernels.f32_column_means(xAddress + image * pixels * channels * 4, pixels, channels, yAddress + image * channels * 4);
        }
      } else {
        runtime.kernels.f32_row_means(xAddress, batch * channels, pixels, yAddress);
      }
      staging.finish();
    },
  };
}

function windowSupports(info: NodeInfo): boolean {
  const kernel = info.attributes.kernel_shape as number[] | undefined;
  return allFloat32(info) && (info.node.outputs[1] ?? '') === '' && kernel?.length === 2 && (rankOf(info, 0) ?? 4) === 4;
}

function prepareWindow(runtime: WasmRuntime, info: NodeInfo): Kernel {
  const { opType } = info.node;
  const nhwc = opType.startsWith('Nhwc');
  const isMax = opType.endsWith('MaxPool');
  const countPad = info.attributes.count_include_pad === 1;
  const kernel = info.attributes.kernel_shape as [number, number];
  runtime.warmUp('f32_pool_nhwc');
  if (!nhwc) runtime.warmUp('f32_transpose');
  const fail = (code: EdgerunError['code'], detail: string): never => {
    throw new EdgerunError(code, detail, [describeNode(info.node)]);
  };
  return {
    run(io) {
      const x = floatInput(info, io, 0);
      if (x.dims.length !== 4) fail('INVALID_ARGUMENT', `input X must have rank 4, got [${x.dims.join(', ')}]`);
      const [batch, height, width, channels] = nhwc ? x.dims : [x.dims[0]!, x.dims[2]!, x.dims[3]!, x.dims[1]!];
      const [rows, cols] = spatialAxes(info.attributes, [batch!, channels!, height!, width!], kernel, fail) as [WindowAxis, WindowAxis];
      const y = io.output(0, 'float32', nhwc ? [batch!, rows.output, cols.output, channels!] : [batch!, channels!, rows.output, cols.output]);
      const inImage = height! * width! * channels! * 4;
      const outImage = rows.output * cols.output * channels! * 4;
      const staging = new Staging(runtime, [x], [y], nhwc ? [] : [inImage, outImage]);
      const pool = (xImage: number, yImage: number) =>
        runtime.poolNhwc(
          xImage, height!, width!, channels!, rows.kernel, cols.kernel, rows.stride, cols.stride, rows.dilation, cols.dilation,
          rows.padBegin, cols.padBegin, rows.output, cols.output, yImage, isMax ? 1 : 0, countPad ? 1 : 0,
        );
      for (let image = 0; image < batch!; image++) {
        const [xImage, yImage] = [staging.address(x) + image * inImage, staging.address(y) + image * outImage];
        if (nhwc) {
          pool(xImage, yImage);
        } else {
          runtime.kernels.f32_transpose(xImage, channels!, height! * width!, staging.work(0));
          pool(staging.work(0), staging.work(1));
          runtime.kernels.f32_transpose(staging.work(1), rows.output * cols.output, channels!, yImage);
        }
      }
      staging.finish();
    },
  };
}

export const poolOps: Record<string, WasmOp> = {
  GlobalAveragePool: { supports: globalSupports, prepare: prepareGlobal },
  'ai.edgerun:NhwcGlobalAveragePool': { supports: globalSupports, prepare: prepareGlobal },
  MaxPool: { supports: windowSupports, prepare: prepareWindow },
  AveragePool: { supports: windowSupports, prepare: prepareWindow },
  'ai.edgerun:NhwcMaxPool': { supports: windowSupports, prepare: prepareWindow },
  'ai.edgerun:NhwcAveragePool': { supports: windowSupports, prepare: prepareWindow },
};
