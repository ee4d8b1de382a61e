import type { Tensor } from '../../core/tensor.js';
import { packMatrixInto } from './gemm.js';
import type { WasmBlock, WasmRuntime } from './runtime.js';

/**
 * Dense 3x3 stride-1 convolution by Winograd F(4x4, 3x3): per 4x4 output tile, the 6x6 input tile is
 * transformed (B^T d B), multiplied element-wise with the transformed weights (G g G^T) and summed over
 * input channels, then transformed back (A^T m A). The sums over channels are 36 matrix products on the
 * GEMM kernel: 2.25 instead of 9 multiply-adds per output, input channel and output channel. Tile rows are
 * processed in blocks so the transformed tiles of a block stay in cache between the three steps.
 */

/** Transformed points per tile: a 6x6 tile. */
const POINTS = 36;
/** Tiles per block (rounded to whole tile rows): large enough for the GEMM, small enough for the cache. */
const TILES_PER_BLOCK = 64;

/**
 * Bytes between the 36 matrices of `bytes` each: 64 times an odd number, so no two of them start at the same
 * address modulo 4096 (the transforms touch all 36 at one offset; 4 KiB aliasing stalls their loads).
 */
function matrixStride(bytes: number): number {
  const lines = Math.ceil(bytes / 64);
  return (lines % 2 === 0 ? lines + 1 : lines) * 64;
}

/** G of F(4x4, 3x3): the weight transform, 6x3. */
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/** The 36 matrices U_xi [C, M] of G g G^T for W [M, C, 3, 3], in double precision then rounded once. */
export function winogradWeights(weights: Tensor): Float32Array[] {
  const [m, c] = weights.dims as [number, number, number, number];
  const values = weights.data as Float32Array;
  const matrices = Array.from({ length: POINTS }, () => new Float32Array(c * m));
  const gg = new Float64Array(18);
  for (let out = 0; out < m; out++) {
    for (let input = 0; input < c; input++) {
      const g = values.subarray((out * c + input) * 9, (out * c + input + 1) * 9);
      // gg = G g (6x3), then U = gg G^T (6x6).
      for (let i = 0; i < 6; i++) {
        for (let col = 0; col < 3; col++) gg[i * 3 + col] = G[i]![0]! * g[col]! + G[i]![1]! * g[3 + col]! + G[i]![2]! * g[6 + col]!;
      }
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 6; j++) {
          const u = gg[i * 3]! * G[j]![0]! + gg[i * 3 + 1]! * G[j]![1]! + gg[i * 3 + 2]! * G[j]![2]!;
          matrices[i * 6 + j]![input * m + out] = u;
        }
      }
    }
  }
  return matrices;
}

/** Sizes of one image's convolution, NHWC. */
export interface WinogradGeometry {
  height: number;
  width: number;
  outHeight: number;
  outWidth: number;
  padTop: number;
  padLeft: number;
}

export class WinogradConv {
  /** The 36 packed weight matrices, `packedStride` bytes apart. */
  private readonly packed: WasmBlock;
  private readonly packedStride: number;
  private readonly bias: WasmBlock;
  private readonly channels: number;
  private readonly outChannels: number;
  /** One chunk's transform scratch (a split transform gives each chunk its own), whole cache lines. */
  private readonly scratchBytes: number;

  constructor(private readonly runtime: WasmRuntime, weights: Tensor, bias: Float32Array | undefined) {
    [this.outChannels, this.channels] = weights.dims as [number, number];
    this.scratchBytes = Math.ceil(runtime.kernels.f32_winograd_scratch_size(this.channels) / 64) * 64;
    this.packedStride = runtime.kernels.f32_gemm_packed_size(this.outChannels, this.channels);
    this.packed = runtime.alloc(POINTS * this.packedStride);
    winogradWeights(weights).forEach((values, point) => {
      packMatrixInto(runtime, { values, k: this.channels, n: this.outChannels, transposed: false }, this.packed.pointer + point * this.packedStride);
    });
    // Rounded up to 4 values: the output transform reads the bias 4 channels at a time.
    const padded = new Float32Array(Math.ceil(this.outChannels / 4) * 4);
    if (bias) padded.set(bias);
    this.bias = runtime.upload(padded);
  }

  private blocking({ outHeight, outWidth }: WinogradGeometry): { tilesH: number; tilesW: number; blockRows: number } {
    const tilesW = Math.ceil(outWidth / 4);
    return { tilesH: Math.ceil(outHeight / 4), tilesW, blockRows: Math.max(1, Math.round(TILES_PER_BLOCK / tilesW)) };
  }

  /** Work buffers of one image: transformed input tiles, products, transform scratch. */
  workBytes(geometry: WinogradGeometry): number[] {
    const { tilesW, blockRows, tilesH } = this.blocking(geometry);
    const tiles = Math.min(blockRows, tilesH) * tilesW;
    return [POINTS * matrixStride(tiles * this.channels * 4), POINTS * matrixStride(tiles * this.outChannels * 4), this.scratchBytes * this.runtime.chunks];
  }

  /** Y (NHWC, at y, pixels `yPixel` floats apart) of X (NHWC, at x) for one image, clamped to [low, high]; `work` as workBytes lists. */
  run(geometry: WinogradGeometry, x: number, y: number, yPixel: number, low: number, high: number, [transformed, products, scratch]: number[]): void {
    const { height, width, outHeight, outWidth, padTop, padLeft } = geometry;
    const { channels, outChannels } = this;
    const { tilesH, tilesW, blockRows } = this.blocking(geometry);
    for (let row = 0; row < tilesH; row += blockRows) {
      const rows = Math.min(blockRows, tilesH - row);
      const tiles = rows * tilesW;
      const [inStride, outStride] = [matrixStride(tiles * channels * 4), matrixStride(tiles * outChannels * 4)];
      this.runtime.winogradInput(x, height, width, channels, padTop, padLeft, row, rows, tilesW, transformed!, inStride, scratch!, this.scratchBytes);
      this.runtime.gemmBatch(
        POINTS, tiles, outChannels, channels, transformed!, inStride, channels, this.packed.pointer, this.packedStride, products!, outStride, outChannels, -Infinity, Infinity,
      );
      this.runtime.winogradOutput(products!, outStride, row, rows, tilesW, outChannels, this.bias.pointer, outHeight, outWidth, y, yPixel, low, high, scratch!, this.scratchBytes);
    }
  }

  release(): void {
    this.packed.release();
    this.bias.release();
  }
}
