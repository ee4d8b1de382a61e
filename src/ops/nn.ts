import type { DataType } from '../core/dtype.js';
import type { ValueType } from '../core/graph.js';
import { Tensor, elementCount } from '../core/tensor.js';
import { attr, defineOp, type KernelContext, type OpDef } from './registry.js';
import { at, broadcastOffsets, integersOf, normalizeAxis, numbersOf, sameTypeAs, tensorFromNumbers, tensorType } from './common.js';

/**
 * Neural-network ops: convolutions, pooling, normalizations, MatMul/Gemm and Dropout.
 *
 * Hot loops (Conv, MatMul, Gemm, pooling) work directly on Float32Array/Float64Array data; other element types
 * are decoded to float64 once and encoded back at the end. Spatial ops of rank 1 and 2 are run as rank 3 with
 * leading axes of size 1, so one tight triple loop serves 1-D, 2-D and 3-D.
 */

// ---------------------------------------------------------------------------------------------------------
// Float buffers

type Floats = Float32Array | Float64Array;

/** The elements as floats: float32/float64 data as-is (no copy), other numeric types decoded once. */
function floatsOf(tensor: Tensor): Floats {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float64') return tensor.data as Float64Array;
  return Float64Array.from(numbersOf(tensor));
}

/** A result buffer: float32 results are computed in float32, every other type in float64 and encoded last. */
function floatsFor(type: DataType, length: number): Floats {
  return type === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

function tensorOf(type: DataType, dims: readonly number[], values: Floats): Tensor {
  if (type === 'float32' && values instanceof Float32Array) return new Tensor(type, values, dims);
  if (type === 'float64' && values instanceof Float64Array) return new Tensor(type, values, dims);
  return tensorFromNumbers(type, dims, values);
}

/** Element type only: for ops whose output shape depends on attributes or values. */
function dtypeOf(index = 0) {
  return ({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] => {
    const input = inputTypes[index];
    return [input?.kind === 'tensor' ? tensorType(input.dtype) : undefined];
  };
}

function product(values: readonly number[], from = 0, to = values.length): number {
  let result = 1;
  for (let i = from; i < to; i++) result *= values[i]!;
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Matrix products

/**
 * c[m·ldc + n] = Σk a[m·lda + k] · bT[n·ldb + k], for m < M, n < N. Both operands walk contiguous rows (the
 * right operand is given transposed). Outputs are computed in 4×4 blocks so each loaded value serves four
 * products; the rows and columns left over take one dot product each.
 */
function gemmTransposedB(
  M: number, N: number, K: number,
  a: Floats, aOffset: number, lda: number,
  bT: Floats, bOffset: number, ldb: number,
  c: Floats, cOffset: number, ldc: number,
): void {
  const blockRows = M - (M % 4);
  const blockCols = N - (N % 4);
  for (let m = 0; m < blockRows; m += 4) {
    for (let n = 0; n < blockCols; n += 4) {
      block4x4(K, a, aOffset + m * lda, lda, bT, bOffset + n * ldb, ldb, c, cOffset + m * ldc + n, ldc);
    }
  }
  const dot = (m: number, n: number) => {
    const aRow = aOffset + m * lda;
    const bRow = bOffset + n * ldb;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += a[aRow + k]! * bT[bRow + k]!;
    c[cOffset + m * ldc + n] = sum;
  };
  for (let m = 0; m < blockRows; m++) for (let n = blockCols; n < N; n++) dot(m, n);
  for (let m = blockRows; m < M; m++) for (let n = 0; n < N; n++) dot(m, n);
}

/** One 4×4 block of gemmTransposedB: rows a0.., columns b0.., written at c0 (row stride ldc). */
function block4x4(
  K: number,
  a: Floats, a0: number, lda: number,
  bT: Floats, b0: number, ldb: number,
  c: Floats, c0: number, ldc: number,
): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
  const b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  for (let k = 0; k < K; k++) {
    const y0 = bT[b0 + k]!, y1 = bT[b1 + k]!, y2 = bT[b2 + k]!, y3 = bT[b3 + k]!;
    let x = a[a0 + k]!;
    s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
    x = a[a1 + k]!;
    s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
    x = a[a2 + k]!;
    s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
    x = a[a3 + k]!;
    s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
  }
  c[c0] = s00; c[c0 + 1] = s01; c[c0 + 2] = s02; c[c0 + 3] = s03;
  const c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  c[c1] = s10; c[c1 + 1] = s11; c[c1 + 2] = s12; c[c1 + 3] = s13;
  c[c2] = s20; c[c2 + 1] = s21; c[c2 + 2] = s22; c[c2 + 3] = s23;
  c[c3] = s30; c[c3 + 1] = s31; c[c3 + 2] = s32; c[c3 + 3] = s33;
}

/** A rows×cols matrix at `offset` transposed into a new cols×rows buffer. */
function transposed(source: Floats, offset: number, rows: number, cols: number): Floats {
  const result = source instanceof Float32Array ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const from = offset + r * cols;
    for (let col = 0; col < cols; col++) result[col * rows + r] = source[from + col]!;
  }
  return result;
}

function matMulKernel({ tensor, fail }: KernelContext): Tensor[] {
  const a = tensor(0);
  const b = tensor(1);
  // 1-D operands are promoted to matrices (a row for A, a column for B) and the added axis removed after.
  const aDims = a.dims.length === 1 ? [1, a.dims[0]!] : [...a.dims];
  const bDims = b.dims.length === 1 ? [b.dims[0]!, 1] : [...b.dims];
  if (aDims.length < 2 || bDims.length < 2) fail('INVALID_ARGUMENT', 'MatMul inputs A and B must have rank >= 1');
  const M = aDims[aDims.length - 2]!;
  const K = aDims[aDims.length - 1]!;
  const N = bDims[bDims.length - 1]!;
  if (bDims[bDims.length - 2] !== K) {
    fail('SHAPE_MISMATCH', `MatMul inner dimensions differ: A [${a.dims.join(', ')}] and B [${b.dims.join(', ')}]`);
  }
  const aBatch = aDims.slice(0, -2);
  const bBatch = bDims.slice(0, -2);
  const batchDims = broadcastBatch(aBatch, bBatch, fail);
  const batches = product(batchDims);
  const aOffsets = broadcastOffsets(batchDims, aBatch);
  const bOffsets = broadcastOffsets(batchDims, bBatch);
  const aValues = floatsOf(a);
  const bValues = floatsOf(b);
  const out = floatsFor(a.type, batches * M * N);
  const transposedB = new Map<number, Floats>();
  for (let batch = 0; batch < batches; batch++) {
    const aBatchIndex = aOffsets ? aOffsets[batch]! : batch;
    const bBatchIndex = bOffsets ? bOffsets[batch]! : batch;
    let bT = transposedB.get(bBatchIndex);
    if (!bT) {
      bT = transposed(bValues, bBatchIndex * K * N, K, N);
      transposedB.set(bBatchIndex, bT);
    }
    gemmTransposedB(M, N, K, aValues, aBatchIndex * M * K, K, bT, 0, K, out, batch * M * N, N);
  }
  const outDims = [...batchDims];
  if (a.dims.length > 1) outDims.push(M);
  if (b.dims.length > 1) outDims.push(N);
  return [tensorOf(a.type, outDims, out)];
}

function broadcastBatch(aBatch: number[], bBatch: number[], fail: KernelContext['fail']): number[] {
  const rank = Math.max(aBatch.length, bBatch.length);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = aBatch[aBatch.length - rank + i] ?? 1;
    const y = bBatch[bBatch.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail('SHAPE_MISMATCH', `MatMul batch dimensions [${aBatch.join(', ')}] and [${bBatch.join(', ')}] cannot be broadcast`);
    dims.push(x === 1 ? y : x);
  }
  return dims;
}

interface GemmAttrs {
  alpha: number;
  beta: number;
  transA: number;
  transB: number;
}

/** Y = alpha·A'·B' + beta·C, C broadcast to [M, N] (opset < 7 only with `broadcast`, checked by shape here). */
function gemmKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<GemmAttrs>): Tensor[] {
  const a = tensor(0);
  const b = tensor(1);
  const c = optionalTensor(2);
  if (a.dims.length !== 2 || b.dims.length !== 2) fail('INVALID_ARGUMENT', 'Gemm inputs A and B must be matrices');
  const [M, K] = attrs.transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [bK, N] = attrs.transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (bK !== K) fail('SHAPE_MISMATCH', `Gemm inner dimensions differ: A' has ${K} columns, B' has ${bK} rows`);
  const aRows = attrs.transA ? transposed(floatsOf(a), 0, K, M) : floatsOf(a);
  const bTransposed = attrs.transB ? floatsOf(b) : transposed(floatsOf(b), 0, K, N);
  const out = floatsFor(a.type, M * N);
  gemmTransposedB(M, N, K, aRows, 0, K, bTransposed, 0, K, out, 0, N);
  const cValues = c ? floatsOf(c) : undefined;
  const cOffsets = c ? broadcastOffsets([M, N], c.dims) : undefined;
  if (c && c.size !== M * N && !cOffsets) fail('SHAPE_MISMATCH', 'Gemm input C must broadcast to [M, N]');
  for (let i = 0; i < out.length; i++) {
    const scaled = attrs.alpha * out[i]!;
    out[i] = cValues && attrs.beta !== 0 ? scaled + attrs.beta * at(cValues, cOffsets, i) : scaled;
  }
  return [tensorOf(a.type, [M, N], out)];
}

const GEMM_ATTRIBUTES = { alpha: attr.float(1), beta: attr.float(1), transA: attr.int(0), transB: attr.int(0) };

// ---------------------------------------------------------------------------------------------------------
// Spatial geometry shared by convolutions and pooling

/** One spatial axis of a sliding window: input and output extent, kernel, stride, dilation and padding. */
interface WindowAxis {
  input: number;
  output: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
}

interface WindowAttrs {
  auto_pad: string;
  pads?: number[];
  strides?: number[];
  dilations?: number[];
  ceil_mode?: number;
}

/** Output extent and padding per spatial axis, as the spec's auto_pad / pads / ceil_mode rules give them. */
function windowAxes(inputDims: readonly number[], kernel: readonly number[], options: WindowAttrs, fail: KernelContext['fail']): WindowAxis[] {
  const rank = inputDims.length;
  if (kernel.length !== rank) fail('INVALID_ARGUMENT', `kernel_shape [${kernel.join(', ')}] must have ${rank} values, one per spatial axis`);
  return inputDims.map((input, i) => {
    const kernelSize = kernel[i]!;
    const stride = options.strides?.[i] ?? 1;
    const dilation = options.dilations?.[i] ?? 1;
    const span = (kernelSize - 1) * dilation + 1;
    const round = options.ceil_mode ? Math.ceil : Math.floor;
    let padBegin = 0;
    let padEnd = 0;
    let output: number;
    if (options.auto_pad === 'SAME_UPPER' || options.auto_pad === 'SAME_LOWER') {
      output = Math.ceil(input / stride);
      const total = Math.max(0, (output - 1) * stride + span - input);
      // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
      padBegin = options.auto_pad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
      padEnd = total - padBegin;
    } else {
      if (options.auto_pad !== 'VALID') {
        padBegin = options.pads?.[i] ?? 0;
        padEnd = options.pads?.[i + rank] ?? 0;
      }
      output = round((input + padBegin + padEnd - span) / stride) + 1;
      // A window may not start inside the end padding only (ceil_mode would otherwise add an empty window).
      if (options.ceil_mode && (output - 1) * stride >= input + padBegin) output--;
    }
    if (output < 1) fail('INVALID_ARGUMENT', `spatial axis ${i} of size ${input} is too small for a window of ${span}`);
    return { input, output, kernel: kernelSize, stride, dilation, padBegin, padEnd };
  });
}

const UNIT_AXIS: WindowAxis = { input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0 };

/** Rank 1 and 2 windows as rank 3 with leading unit axes, so one triple loop serves all ranks. */
function asRank3(axes: WindowAxis[], fail: KernelContext['fail']): [WindowAxis, WindowAxis, WindowAxis] {
  if (axes.length > 3) fail('INVALID_ARGUMENT', `${axes.length} spatial axes are not supported (at most 3)`);
  const padded = [...new Array<WindowAxis>(3 - axes.length).fill(UNIT_AXIS), ...axes];
  return [padded[0]!, padded[1]!, padded[2]!];
}

/** For each output position of an axis: where its window starts in the input and which kernel taps fall inside the input ([first, end)). */
interface AxisTaps {
  start: Int32Array;
  first: Int32Array;
  end: Int32Array;
}

function tapsOf(axis: WindowAxis): AxisTaps {
  const taps: AxisTaps = {
    start: new Int32Array(axis.output),
    first: new Int32Array(axis.output),
    end: new Int32Array(axis.output),
  };
  for (let o = 0; o < axis.output; o++) {
    const start = o * axis.stride - axis.padBegin;
    taps.start[o] = start;
    taps.first[o] = Math.min(axis.kernel, Math.max(0, Math.ceil(-start / axis.dilation)));
    taps.end[o] = Math.max(taps.first[o]!, Math.min(axis.kernel, Math.ceil((axis.input - start) / axis.dilation)));
  }
  return taps;
}

function spatialAttrs(attrs: WindowAttrs & { kernel_shape?: number[] }, x: Tensor, kernel: readonly number[], fail: KernelContext['fail']) {
  if (x.dims.length < 3) fail('INVALID_ARGUMENT', `input X must be [N, C, spatial...], got [${x.dims.join(', ')}]`);
  return windowAxes(x.dims.slice(2), kernel, attrs, fail);
}

// ---------------------------------------------------------------------------------------------------------
// Convolution

interface ConvAttrs extends WindowAttrs {
  group: number;
  kernel_shape?: number[];
}

/**
 * Conv as im2col + matrix product, one tile of output positions at a time: each output position's receptive
 * field is copied into one contiguous row, so the product reads weights and patches as contiguous rows.
 */
function convolve(
  x: Floats, xDims: readonly number[],
  w: Floats, outChannels: number,
  axes: [WindowAxis, WindowAxis, WindowAxis],
  group: number, out: Floats,
): void {
  const batch = xDims[0]!;
  const channels = xDims[1]!;
  const [ad, ah, aw] = axes;
  const groupChannels = channels / group;
  const groupOutChannels = outChannels / group;
  const kernelVolume = ad.kernel * ah.kernel * aw.kernel;
  const K = groupChannels * kernelVolume;
  const inPlane = ad.input * ah.input * aw.input;
  const outPlane = ad.output * ah.output * aw.output;
  if (suitsWinograd(axes, groupChannels, groupOutChannels)) {
    convolveWinograd(x, xDims, w, outChannels, ah, aw, group, out);
    return;
  }
  // Tiles of a multiple of 4 positions (the product's block width) whose patches stay in cache.
  const tileSize = Math.min(outPlane, Math.max(16, Math.floor(131072 / K) & ~3));
  const patches = x instanceof Float32Array ? new Float32Array(tileSize * K) : new Float64Array(tileSize * K);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < group; g++) {
      const channelBase = (n * channels + g * groupChannels) * inPlane;
      for (let tileStart = 0; tileStart < outPlane; tileStart += tileSize) {
        const tileEnd = Math.min(outPlane, tileStart + tileSize);
        gatherPatches(x, channelBase, groupChannels, axes, tileStart, tileEnd, patches);
        gemmTransposedB(
          groupOutChannels, tileEnd - tileStart, K,
          w, g * groupOutChannels * K, K,
          patches, 0, K,
          out, (n * outChannels + g * groupOutChannels) * outPlane + tileStart, outPlane,
        );
      }
    }
  }
}

/**
 * Winograd F(2×2, 3×3) for 3×3 stride-1 undilated 2-D convolutions (most of VGG and ResNet): each 2×2 output
 * tile is A^T·[(G·g·G^T) ⊙ (B^T·d·B)]·A for the 4×4 input tile d, so per channel pair a tile costs 16
 * multiplications instead of 36. The element-wise product summed over channels becomes 16 matrix products
 * (one per position ξ of the 4×4 transformed tile), done by gemmTransposedB.
 */
function suitsWinograd([ad, ah, aw]: [WindowAxis, WindowAxis, WindowAxis], groupChannels: number, groupOutChannels: number): boolean {
  const plain3 = (axis: WindowAxis) => axis.kernel === 3 && axis.stride === 1 && axis.dilation === 1;
  const unit = ad.kernel === 1 && ad.input === 1;
  // Few channels leave too little work per transform for the saving to pay off.
  return unit && plain3(ah) && plain3(aw) && groupChannels >= 8 && groupOutChannels >= 8;
}

function convolveWinograd(
  x: Floats, xDims: readonly number[],
  w: Floats, outChannels: number,
  ah: WindowAxis, aw: WindowAxis,
  group: number, out: Floats,
): void {
  const [batch, channels] = [xDims[0]!, xDims[1]!];
  const groupChannels = channels / group;
  const groupOut = outChannels / group;
  const [H, W, OH, OW] = [ah.input, aw.input, ah.output, aw.output];
  const tilesAcross = Math.ceil(OW / 2);
  const tiles = Math.ceil(OH / 2) * tilesAcross;
  const weights = winogradWeights(w, outChannels, groupChannels);
  const chunk = Math.min(tiles, Math.max(16, Math.floor(65536 / groupChannels) & ~3));
  const make = (length: number) => (x instanceof Float32Array ? new Float32Array(length) : new Float64Array(length));
  const transformed = make(16 * chunk * groupChannels);
  const products = make(16 * groupOut * chunk);
  const tile = new Float64Array(16);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < group; g++) {
      const inputBase = (n * channels + g * groupChannels) * H * W;
      const outputBase = (n * outChannels + g * groupOut) * OH * OW;
      for (let first = 0; first < tiles; first += chunk) {
        const count = Math.min(chunk, tiles - first);
        // V[ξ][t][c] = (B^T·d·B)[ξ] of input tile t of channel c.
        for (let t = 0; t < count; t++) {
          const top = Math.floor((first + t) / tilesAcross) * 2 - ah.padBegin;
          const left = ((first + t) % tilesAcross) * 2 - aw.padBegin;
          for (let c = 0; c < groupChannels; c++) {
            readTile(x, inputBase + c * H * W, H, W, top, left, tile);
            transformInputTile(tile);
            for (let xi = 0; xi < 16; xi++) transformed[(xi * chunk + t) * groupChannels + c] = tile[xi]!;
          }
        }
        // M[ξ][m][t] = Σc U[ξ][m][c] · V[ξ][t][c]
        for (let xi = 0; xi < 16; xi++) {
          gemmTransposedB(
            groupOut, count, groupChannels,
            weights, (xi * outChannels + g * groupOut) * groupChannels, groupChannels,
            transformed, xi * chunk * groupChannels, groupChannels,
            products, xi * groupOut * chunk, chunk,
          );
        }
        for (let m = 0; m < groupOut; m++) {
          for (let t = 0; t < count; t++) {
            for (let xi = 0; xi < 16; xi++) tile[xi] = products[(xi * groupOut + m) * chunk + t]!;
            const row = Math.floor((first + t) / tilesAcross) * 2;
            const col = ((first + t) % tilesAcross) * 2;
            writeOutputTile(tile, out, outputBase + m * OH * OW, OH, OW, row, col);
          }
        }
      }
    }
  }
}

/** U[ξ][m][c] = (G·g·G^T)[ξ] for each 3×3 kernel g of output channel m and (group-local) input channel c. */
function winogradWeights(w: Floats, outChannels: number, groupChannels: number): Floats {
  const kernels = outChannels * groupChannels;
  const weights = w instanceof Float32Array ? new Float32Array(16 * kernels) : new Float64Array(16 * kernels);
  const gg = new Float64Array(12);
  for (let kernel = 0; kernel < kernels; kernel++) {
    const g = kernel * 9;
    // G·g: 4 rows of 3.
    for (let j = 0; j < 3; j++) {
      const g0 = w[g + j]!, g1 = w[g + 3 + j]!, g2 = w[g + 6 + j]!;
      gg[j] = g0;
      gg[3 + j] = (g0 + g1 + g2) / 2;
      gg[6 + j] = (g0 - g1 + g2) / 2;
      gg[9 + j] = g2;
    }
    // (G·g)·G^T: each row of 3 becomes 4.
    for (let i = 0; i < 4; i++) {
      const h0 = gg[i * 3]!, h1 = gg[i * 3 + 1]!, h2 = gg[i * 3 + 2]!;
      const target = i * 4 * kernels + kernel;
      weights[target] = h0;
      weights[target + kernels] = (h0 + h1 + h2) / 2;
      weights[target + 2 * kernels] = (h0 - h1 + h2) / 2;
      weights[target + 3 * kernels] = h2;
    }
  }
  return weights;
}

/** The 4×4 input tile at (top, left) of one channel, 0 outside the image. */
function readTile(x: Floats, base: number, H: number, W: number, top: number, left: number, tile: Float64Array): void {
  for (let i = 0; i < 4; i++) {
    const row = top + i;
    for (let j = 0; j < 4; j++) {
      const col = left + j;
      tile[i * 4 + j] = row >= 0 && row < H && col >= 0 && col < W ? x[base + row * W + col]! : 0;
    }
  }
}

/** tile ← B^T·tile·B, with B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]. */
function transformInputTile(tile: Float64Array): void {
  for (let j = 0; j < 4; j++) {
    const [r0, r1, r2, r3] = [tile[j]!, tile[4 + j]!, tile[8 + j]!, tile[12 + j]!];
    tile[j] = r0 - r2;
    tile[4 + j] = r1 + r2;
    tile[8 + j] = r2 - r1;
    tile[12 + j] = r1 - r3;
  }
  for (let i = 0; i < 4; i++) {
    const [t0, t1, t2, t3] = [tile[i * 4]!, tile[i * 4 + 1]!, tile[i * 4 + 2]!, tile[i * 4 + 3]!];
    tile[i * 4] = t0 - t2;
    tile[i * 4 + 1] = t1 + t2;
    tile[i * 4 + 2] = t2 - t1;
    tile[i * 4 + 3] = t1 - t3;
  }
}

/** Writes A^T·tile·A (2×2, A^T = [[1,1,1,0],[0,1,-1,-1]]) at (row, col), dropping what falls outside. */
function writeOutputTile(tile: Float64Array, out: Floats, base: number, OH: number, OW: number, row: number, col: number): void {
  // Rows of A^T·tile: top = t0 + t1 + t2, bottom = t1 - t2 - t3 (t_i the tile's rows).
  const column = (j: number, bottom: boolean) =>
    bottom ? tile[4 + j]! - tile[8 + j]! - tile[12 + j]! : tile[j]! + tile[4 + j]! + tile[8 + j]!;
  for (let i = 0; i < 2 && row + i < OH; i++) {
    const [u0, u1, u2, u3] = [column(0, i === 1), column(1, i === 1), column(2, i === 1), column(3, i === 1)];
    const target = base + (row + i) * OW + col;
    out[target] = u0 + u1 + u2;
    if (col + 1 < OW) out[target + 1] = u1 - u2 - u3;
  }
}

/** Rows of `patches`: for output positions [from, to), the receptive field over all channels (0 in padding). */
function gatherPatches(
  x: Floats, channelBase: number, channels: number,
  [ad, ah, aw]: [WindowAxis, WindowAxis, WindowAxis],
  from: number, to: number, patches: Floats,
): void {
  const H = ah.input;
  const W = aw.input;
  const inPlane = ad.input * H * W;
  let j = 0;
  for (let p = from; p < to; p++) {
    const ow = p % aw.output;
    const oh = Math.floor(p / aw.output) % ah.output;
    const od = Math.floor(p / (aw.output * ah.output));
    const d0 = od * ad.stride - ad.padBegin;
    const h0 = oh * ah.stride - ah.padBegin;
    const w0 = ow * aw.stride - aw.padBegin;
    for (let c = 0; c < channels; c++) {
      const plane = channelBase + c * inPlane;
      for (let kd = 0; kd < ad.kernel; kd++) {
        const id = d0 + kd * ad.dilation;
        for (let kh = 0; kh < ah.kernel; kh++) {
          const ih = h0 + kh * ah.dilation;
          if (id < 0 || id >= ad.input || ih < 0 || ih >= H) {
            for (let kw = 0; kw < aw.kernel; kw++) patches[j++] = 0;
            continue;
          }
          const row = plane + (id * H + ih) * W;
          for (let kw = 0; kw < aw.kernel; kw++) {
            const iw = w0 + kw * aw.dilation;
            patches[j++] = iw >= 0 && iw < W ? x[row + iw]! : 0;
          }
        }
      }
    }
  }
}

function addChannelBias(out: Floats, bias: Floats | undefined, batch: number, channels: number, plane: number): void {
  if (!bias) return;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const value = bias[c]!;
      const base = (n * channels + c) * plane;
      for (let i = 0; i < plane; i++) out[base + i]! += value;
    }
  }
}

function convKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<ConvAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const bias = optionalTensor(2);
  const kernel = attrs.kernel_shape ?? w.dims.slice(2);
  const axes = spatialAttrs(attrs, x, kernel, fail);
  const outChannels = w.dims[0]!;
  if (x.dims[1] !== w.dims[1]! * attrs.group) {
    fail('SHAPE_MISMATCH', `Conv input X has ${x.dims[1]} channels, W expects ${w.dims[1]} per group × ${attrs.group} groups`);
  }
  const rank3 = asRank3(axes, fail);
  const outPlane = rank3[0].output * rank3[1].output * rank3[2].output;
  const out = floatsFor(x.type, x.dims[0]! * outChannels * outPlane);
  convolve(floatsOf(x), x.dims, floatsOf(w), outChannels, rank3, attrs.group, out);
  addChannelBias(out, bias && floatsOf(bias), x.dims[0]!, outChannels, outPlane);
  return [tensorOf(x.type, [x.dims[0]!, outChannels, ...axes.map((axis) => axis.output)], out)];
}

const CONV_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  dilations: attr.ints(),
  group: attr.int(1),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

/**
 * The inverse of gatherPatches for one image: each column entry (channel, kernel tap, window position) is
 * added to the image position the tap lands on; taps landing in padding are dropped.
 */
function scatterPatches(
  columns: Floats, columnsOffset: number, channels: number,
  [ad, ah, aw]: [WindowAxis, WindowAxis, WindowAxis],
  windows: [number, number, number],
  image: Floats, imageOffset: number,
): void {
  const [gd, gh, gw] = windows;
  const positions = gd * gh * gw;
  const D = ad.output;
  const H = ah.output;
  const W = aw.output;
  let row = columnsOffset;
  for (let c = 0; c < channels; c++) {
    const plane = imageOffset + c * D * H * W;
    for (let kd = 0; kd < ad.kernel; kd++) {
      for (let kh = 0; kh < ah.kernel; kh++) {
        for (let kw = 0; kw < aw.kernel; kw++, row += positions) {
          let p = row;
          for (let pd = 0; pd < gd; pd++) {
            const od = pd * ad.stride - ad.padBegin + kd * ad.dilation;
            for (let ph = 0; ph < gh; ph++, p += gw) {
              const oh = ph * ah.stride - ah.padBegin + kh * ah.dilation;
              if (od < 0 || od >= D || oh < 0 || oh >= H) continue;
              const target = plane + (od * H + oh) * W;
              for (let pw = 0; pw < gw; pw++) {
                const ow = pw * aw.stride - aw.padBegin + kw * aw.dilation;
                if (ow >= 0 && ow < W) image[target + ow]! += columns[p + pw]!;
              }
            }
          }
        }
      }
    }
  }
}

interface ConvTransposeAttrs extends ConvAttrs {
  output_padding?: number[];
  output_shape?: number[];
}

/** Output extent and padding per axis of ConvTranspose (the axis' `output` is the result's extent). */
function transposedAxes(inputDims: readonly number[], kernel: readonly number[], attrs: ConvTransposeAttrs): WindowAxis[] {
  const rank = inputDims.length;
  const outputShape = attrs.output_shape?.slice(-rank);
  return inputDims.map((input, i) => {
    const stride = attrs.strides?.[i] ?? 1;
    const dilation = attrs.dilations?.[i] ?? 1;
    const span = (kernel[i]! - 1) * dilation + 1;
    const natural = stride * (input - 1) + (attrs.output_padding?.[i] ?? 0) + span;
    let padBegin = attrs.pads?.[i] ?? 0;
    let padEnd = attrs.pads?.[i + rank] ?? 0;
    const sameMode = attrs.auto_pad === 'SAME_UPPER' || attrs.auto_pad === 'SAME_LOWER';
    if (outputShape || sameMode) {
      const wanted = outputShape ? outputShape[i]! : input * stride;
      const total = natural - wanted;
      const half = Math.floor(total / 2);
      // SAME_UPPER pads less at the beginning; SAME_LOWER (and an explicit output_shape) less at the end.
      [padBegin, padEnd] = attrs.auto_pad === 'SAME_UPPER' ? [half, total - half] : [total - half, half];
    }
    return { input, output: natural - padBegin - padEnd, kernel: kernel[i]!, stride, dilation, padBegin, padEnd };
  });
}

/** ConvTranspose: per group, columns = Wᵀ·X (one row per output channel and tap), then scattered into Y. */
function convTransposeKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<ConvTransposeAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const bias = optionalTensor(2);
  if (x.dims.length < 3) fail('INVALID_ARGUMENT', `input X must be [N, C, spatial...], got [${x.dims.join(', ')}]`);
  const kernel = attrs.kernel_shape ?? w.dims.slice(2);
  const axes = transposedAxes(x.dims.slice(2), kernel, attrs);
  const rank3 = asRank3(axes, fail);
  const [batch, channels] = [x.dims[0]!, x.dims[1]!];
  const group = attrs.group;
  if (w.dims[0] !== channels) fail('SHAPE_MISMATCH', `ConvTranspose W must have ${channels} rows (input channels), got ${w.dims[0]}`);
  const groupChannels = channels / group;
  const groupOutChannels = w.dims[1]!;
  const outChannels = groupOutChannels * group;
  const kernelVolume = product(kernel);
  const rows = groupOutChannels * kernelVolume;
  const inPlane = product(x.dims, 2);
  const outPlane = rank3[0].output * rank3[1].output * rank3[2].output;
  const xValues = floatsOf(x);
  const wValues = floatsOf(w);
  const out = floatsFor(x.type, batch * outChannels * outPlane);
  const columns = floatsFor(x.type, rows * inPlane);
  const windows: [number, number, number] = [rank3[0].input, rank3[1].input, rank3[2].input];
  for (let g = 0; g < group; g++) {
    const weightsT = transposed(wValues, g * groupChannels * rows, groupChannels, rows);
    for (let n = 0; n < batch; n++) {
      const inputT = transposed(xValues, (n * channels + g * groupChannels) * inPlane, groupChannels, inPlane);
      gemmTransposedB(rows, inPlane, groupChannels, weightsT, 0, groupChannels, inputT, 0, groupChannels, columns, 0, inPlane);
      scatterPatches(columns, 0, groupOutChannels, rank3, windows, out, (n * outChannels + g * groupOutChannels) * outPlane);
    }
  }
  addChannelBias(out, bias && floatsOf(bias), batch, outChannels, outPlane);
  return [tensorOf(x.type, [batch, outChannels, ...axes.map((axis) => axis.output)], out)];
}

/** Col2Im: the sliding blocks of `input` [N, C·∏block, L] summed back into images of `image_shape`. */
function col2ImKernel({ tensor, attrs, fail }: KernelContext<{ dilations?: number[]; pads?: number[]; strides?: number[] }>): Tensor[] {
  const input = tensor(0);
  const imageShape = integersOf(tensor(1));
  const blockShape = integersOf(tensor(2));
  const rank = imageShape.length;
  if (blockShape.length !== rank) fail('INVALID_ARGUMENT', 'block_shape must have one value per image axis');
  const axes: WindowAxis[] = imageShape.map((image, i) => ({
    input: 0,
    output: image,
    kernel: blockShape[i]!,
    stride: attrs.strides?.[i] ?? 1,
    dilation: attrs.dilations?.[i] ?? 1,
    padBegin: attrs.pads?.[i] ?? 0,
    padEnd: attrs.pads?.[i + rank] ?? 0,
  }));
  for (const axis of axes) {
    axis.input = Math.floor((axis.output + axis.padBegin + axis.padEnd - ((axis.kernel - 1) * axis.dilation + 1)) / axis.stride) + 1;
  }
  const rank3 = asRank3(axes, fail);
  const [batch, rows, positions] = [input.dims[0]!, input.dims[1]!, input.dims[2]!];
  const blockVolume = product(blockShape);
  const channels = rows / blockVolume;
  if (!Number.isInteger(channels) || positions !== product(axes.map((axis) => axis.input))) {
    fail('SHAPE_MISMATCH', `input [${input.dims.join(', ')}] does not match image_shape [${imageShape.join(', ')}] and block_shape [${blockShape.join(', ')}]`);
  }
  const imagePlane = product(imageShape);
  const out = floatsFor(input.type, batch * channels * imagePlane);
  const values = floatsOf(input);
  const windows: [number, number, number] = [rank3[0].input, rank3[1].input, rank3[2].input];
  for (let n = 0; n < batch; n++) {
    scatterPatches(values, n * rows * positions, channels, rank3, windows, out, n * channels * imagePlane);
  }
  return [tensorOf(input.type, [batch, channels, ...imageShape], out)];
}

interface DeformConvAttrs extends ConvAttrs {
  offset_group: number;
}

/** DeformConv (2-D): each kernel tap samples X bilinearly at its position moved by the learned offset. */
function deformConvKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<DeformConvAttrs>): Tensor[] {
  const x = tensor(0);
  const w = tensor(1);
  const offset = floatsOf(tensor(2));
  const bias = optionalTensor(3);
  const maskTensor = optionalTensor(4);
  const mask = maskTensor && floatsOf(maskTensor);
  if (x.dims.length !== 4) fail('INVALID_ARGUMENT', 'DeformConv supports 2-D inputs [N, C, H, W] only');
  const kernel = attrs.kernel_shape ?? w.dims.slice(2);
  const [ah, aw] = spatialAttrs({ ...attrs, auto_pad: 'NOTSET' }, x, kernel, fail) as [WindowAxis, WindowAxis];
  const [batch, channels, H, W] = x.dims as [number, number, number, number];
  const outChannels = w.dims[0]!;
  const group = attrs.group;
  const offsetGroupChannels = channels / attrs.offset_group;
  const taps = ah.kernel * aw.kernel;
  const outPlane = ah.output * aw.output;
  const rowLength = channels * taps;
  const xValues = floatsOf(x);
  const patches = new Float64Array(outPlane * rowLength);
  const out = floatsFor(x.type, batch * outChannels * outPlane);
  const groupK = (channels / group) * taps;
  const groupOut = outChannels / group;
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < outPlane; p++) {
      const oh = Math.floor(p / aw.output);
      const ow = p % aw.output;
      for (let c = 0; c < channels; c++) {
        const offsetGroup = Math.floor(c / offsetGroupChannels);
        const image = (n * channels + c) * H * W;
        for (let tap = 0; tap < taps; tap++) {
          const kh = Math.floor(tap / aw.kernel);
          const kw = tap % aw.kernel;
          const offsetChannel = (n * attrs.offset_group + offsetGroup) * 2 * taps + 2 * tap;
          const dy = offset[offsetChannel * outPlane + p]!;
          const dx = offset[(offsetChannel + 1) * outPlane + p]!;
          const y = oh * ah.stride - ah.padBegin + kh * ah.dilation + dy;
          const xPos = ow * aw.stride - aw.padBegin + kw * aw.dilation + dx;
          const scale = mask ? mask[((n * attrs.offset_group + offsetGroup) * taps + tap) * outPlane + p]! : 1;
          patches[p * rowLength + c * taps + tap] = scale * bilinear(xValues, image, H, W, y, xPos);
        }
      }
    }
    const weights = Float64Array.from(floatsOf(w));
    const result = new Float64Array(outChannels * outPlane);
    for (let g = 0; g < group; g++) {
      gemmTransposedB(groupOut, outPlane, groupK, weights, g * groupOut * groupK, groupK, patches, g * groupK, rowLength, result, g * groupOut * outPlane, outPlane);
    }
    out.set(result, n * outChannels * outPlane);
  }
  addChannelBias(out, bias && floatsOf(bias), batch, outChannels, outPlane);
  return [tensorOf(x.type, [batch, outChannels, ah.output, aw.output], out)];
}

/** Bilinear sample of one H×W image at (y, x); corners outside the image count as 0. */
function bilinear(values: Floats, base: number, H: number, W: number, y: number, x: number): number {
  if (y <= -1 || y >= H || x <= -1 || x >= W) return 0;
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  const sample = (row: number, col: number) => (row >= 0 && row < H && col >= 0 && col < W ? values[base + row * W + col]! : 0);
  return (
    (1 - fy) * ((1 - fx) * sample(y0, x0) + fx * sample(y0, x0 + 1)) +
    fy * ((1 - fx) * sample(y0 + 1, x0) + fx * sample(y0 + 1, x0 + 1))
  );
}

// ---------------------------------------------------------------------------------------------------------
// Pooling

type PoolKind = 'max' | 'average' | 'lp';

interface PoolOptions {
  kind: PoolKind;
  countIncludePad?: boolean;
  p?: number;
  /** Filled with the row-major flat spatial index of each maximum (max pooling only). */
  argmax?: Int32Array;
}

/** Pools every [N·C] plane of x into out, over the rank-3 window `axes`. */
function pool(x: Floats, planes: number, axes: [WindowAxis, WindowAxis, WindowAxis], options: PoolOptions, out: Floats): void {
  const [ad, ah, aw] = axes;
  const [td, th, tw] = axes.map(tapsOf) as [AxisTaps, AxisTaps, AxisTaps];
  const H = ah.input;
  const W = aw.input;
  const inPlane = ad.input * H * W;
  const { kind, argmax } = options;
  const p = options.p ?? 2;
  // count_include_pad divides by the whole kernel, also where ceil_mode lets a window run past the padding
  // (the ONNX reference pads the input far enough for every window).
  const kernelVolume = ad.kernel * ah.kernel * aw.kernel;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * inPlane;
    for (let od = 0; od < ad.output; od++) {
      for (let oh = 0; oh < ah.output; oh++) {
        for (let ow = 0; ow < aw.output; ow++, o++) {
          let accumulator = kind === 'max' ? -Infinity : 0;
          let best = -1;
          for (let kd = td.first[od]!; kd < td.end[od]!; kd++) {
            const id = td.start[od]! + kd * ad.dilation;
            for (let kh = th.first[oh]!; kh < th.end[oh]!; kh++) {
              const row = (id * H + th.start[oh]! + kh * ah.dilation) * W;
              for (let kw = tw.first[ow]!; kw < tw.end[ow]!; kw++) {
                const index = row + tw.start[ow]! + kw * aw.dilation;
                const value = x[base + index]!;
                if (kind === 'max') {
                  if (value > accumulator || best < 0) {
                    accumulator = value;
                    best = index;
                  }
                } else if (kind === 'average') accumulator += value;
                else accumulator += Math.pow(Math.abs(value), p);
              }
            }
          }
          if (kind === 'average') {
            const count = options.countIncludePad
              ? kernelVolume
              : (td.end[od]! - td.first[od]!) * (th.end[oh]! - th.first[oh]!) * (tw.end[ow]! - tw.first[ow]!);
            accumulator /= count;
          } else if (kind === 'lp') accumulator = Math.pow(accumulator, 1 / p);
          out[o] = accumulator;
          if (argmax) argmax[o] = best;
        }
      }
    }
  }
}

interface PoolAttrs extends WindowAttrs {
  kernel_shape?: number[];
  count_include_pad?: number;
  storage_order?: number;
  p?: number;
}

function poolKernel(kind: PoolKind) {
  return ({ tensor, attrs, fail, outputWanted }: KernelContext<PoolAttrs>): (Tensor | undefined)[] => {
    const x = tensor(0);
    const kernel = attrs.kernel_shape ?? fail('INVALID_ARGUMENT', 'attribute kernel_shape is required');
    const axes = spatialAttrs(attrs, x, kernel, fail);
    const rank3 = asRank3(axes, fail);
    const planes = x.dims[0]! * x.dims[1]!;
    const outDims = [x.dims[0]!, x.dims[1]!, ...axes.map((axis) => axis.output)];
    const outCount = elementCount(outDims);
    const out = floatsFor(x.type, outCount);
    const argmax = kind === 'max' && outputWanted(1) ? new Int32Array(outCount) : undefined;
    pool(floatsOf(x), planes, rank3, { kind, countIncludePad: attrs.count_include_pad === 1, p: attrs.p, argmax }, out);
    const indices = argmax && maxPoolIndices(argmax, rank3, outCount / planes, attrs.storage_order === 1);
    return [tensorOf(x.type, outDims, out), indices && new Tensor('int64', indices, outDims)];
  };
}

/** MaxPool's Indices output: flat indices into X, spatial part row-major or (storage_order 1) column-major. */
function maxPoolIndices(argmax: Int32Array, [ad, ah, aw]: WindowAxis[], outPlane: number, columnMajor: boolean): BigInt64Array {
  const [D, H, W] = [ad!.input, ah!.input, aw!.input];
  const inPlane = D * H * W;
  const indices = new BigInt64Array(argmax.length);
  for (let i = 0; i < argmax.length; i++) {
    let spatial = argmax[i]!;
    if (columnMajor) {
      const w = spatial % W;
      const h = Math.floor(spatial / W) % H;
      const d = Math.floor(spatial / (W * H));
      spatial = d + D * (h + H * w);
    }
    indices[i] = BigInt(Math.floor(i / outPlane) * inPlane + spatial);
  }
  return indices;
}

const POOL_ATTRIBUTES = {
  auto_pad: attr.string('NOTSET'),
  ceil_mode: attr.int(0),
  dilations: attr.ints(),
  kernel_shape: attr.ints(),
  pads: attr.ints(),
  strides: attr.ints(),
};

/** Global pools: one value per [N, C] plane, kept as size-1 spatial axes. */
function globalPoolKernel(reduce: (values: Floats, from: number, to: number, p: number) => number) {
  return ({ tensor, attrs }: KernelContext<{ p?: number }>): Tensor[] => {
    const x = tensor(0);
    const planes = x.dims[0]! * (x.dims[1] ?? 1);
    const plane = product(x.dims, 2);
    const values = floatsOf(x);
    const out = floatsFor(x.type, planes);
    for (let i = 0; i < planes; i++) out[i] = reduce(values, i * plane, (i + 1) * plane, attrs.p ?? 2);
    return [tensorOf(x.type, [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)], out)];
  };
}

function meanOf(values: Floats, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return sum / (to - from);
}

function maxOf(values: Floats, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

function lpNormOf(values: Floats, from: number, to: number, p: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.pow(Math.abs(values[i]!), p);
  return Math.pow(sum, 1 / p);
}

/**
 * MaxUnpool: X's values written at their Indices into a zero tensor of the unpooled shape. Indices address
 * that inferred shape; a larger output_shape keeps the result in its leading corner, as the ONNX reference does.
 */
function maxUnpoolKernel({ tensor, optionalTensor, attrs, fail }: KernelContext<{ kernel_shape?: number[]; pads?: number[]; strides?: number[] }>): Tensor[] {
  const x = tensor(0);
  const indices = integersOf(tensor(1));
  const shapeInput = optionalTensor(2);
  const kernel = attrs.kernel_shape ?? fail('INVALID_ARGUMENT', 'attribute kernel_shape is required');
  const rank = x.dims.length - 2;
  const inferredDims = [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map((input, i) => {
    const stride = attrs.strides?.[i] ?? 1;
    return (input - 1) * stride + kernel[i]! - (attrs.pads?.[i] ?? 0) - (attrs.pads?.[i + rank] ?? 0);
  })];
  const values = floatsOf(x);
  const unpooled = floatsFor(x.type, elementCount(inferredDims));
  for (let i = 0; i < indices.length; i++) {
    const target = indices[i]!;
    if (target < 0 || target >= unpooled.length) fail('INVALID_ARGUMENT', `input I holds index ${target}, outside the ${unpooled.length} unpooled elements`);
    unpooled[target] = values[i]!;
  }
  if (!shapeInput) return [tensorOf(x.type, inferredDims, unpooled)];
  const outDims = integersOf(shapeInput);
  if (outDims.length !== inferredDims.length || outDims.some((dim, i) => dim < inferredDims[i]!)) {
    fail('INVALID_ARGUMENT', `output_shape [${outDims.join(', ')}] must be at least the unpooled shape [${inferredDims.join(', ')}]`);
  }
  return [tensorOf(x.type, outDims, placeInCorner(unpooled, inferredDims, outDims))];
}

/** A copy of `values` (dims `from`) at the start of every axis of a zero tensor of dims `to`. */
function placeInCorner(values: Floats, from: readonly number[], to: readonly number[]): Floats {
  const out = values instanceof Float32Array ? new Float32Array(elementCount(to)) : new Float64Array(elementCount(to));
  const rowLength = from[from.length - 1]!;
  const rows = values.length / rowLength;
  for (let row = 0; row < rows; row++) {
    // Row-major position of this row's first element in the larger tensor.
    let rest = row;
    let target = 0;
    let stride = to[to.length - 1]!;
    for (let axis = from.length - 2; axis >= 0; axis--) {
      target += (rest % from[axis]!) * stride;
      rest = Math.floor(rest / from[axis]!);
      stride *= to[axis]!;
    }
    out.set(values.subarray(row * rowLength, (row + 1) * rowLength), target);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Normalization

/** y = x·a[c] + b[c] per channel (axis 1), or per [C, spatial...] element when the parameters are that big. */
function affinePerChannel(x: Tensor, a: Float64Array, b: Float64Array): Tensor {
  const values = floatsOf(x);
  const channels = x.dims[1] ?? 1;
  const inner = product(x.dims, 2);
  const perElement = a.length !== channels;
  const out = floatsFor(x.type, values.length);
  for (let i = 0; i < values.length; i++) {
    const channel = Math.floor(i / inner) % channels;
    const parameter = perElement ? channel * inner + (i % inner) : channel;
    out[i] = values[i]! * a[parameter]! + b[parameter]!;
  }
  return tensorOf(x.type, x.dims, out);
}

/** BatchNormalization with given statistics, folded into one scale and shift per parameter. */
function batchNormInference(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: number): Tensor {
  const [s, b, m, v] = [scale, bias, mean, variance].map((t) => Float64Array.from(numbersOf(t))) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const a = new Float64Array(s.length);
  const shift = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    a[i] = s[i]! / Math.sqrt(v[i]! + epsilon);
    shift[i] = b[i]! - m[i]! * a[i]!;
  }
  return affinePerChannel(x, a, shift);
}

/** Mean and (population) variance of each channel over the batch and spatial axes. */
function channelStatistics(x: Tensor): { mean: Float64Array; variance: Float64Array } {
  const values = floatsOf(x);
  const channels = x.dims[1] ?? 1;
  const inner = product(x.dims, 2);
  const batch = x.dims[0]!;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const count = batch * inner;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let n = 0; n < batch; n++) for (let i = 0; i < inner; i++) sum += values[(n * channels + c) * inner + i]!;
    const average = sum / count;
    let squares = 0;
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < inner; i++) squares += (values[(n * channels + c) * inner + i]! - average) ** 2;
    }
    mean[c] = average;
    variance[c] = squares / count;
  }
  return { mean, variance };
}

interface BatchNormAttrs {
  epsilon: number;
  momentum: number;
  training_mode?: number;
}

function batchNormKernel({ tensor, attrs, outputWanted }: KernelContext<BatchNormAttrs>): (Tensor | undefined)[] {
  const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => tensor(i)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  if (!attrs.training_mode) return [batchNormInference(x, scale, bias, mean, variance, attrs.epsilon)];
  // Training: normalize with this batch's statistics and blend them into the running ones.
  const batch = channelStatistics(x);
  const asTensor = (values: Float64Array) => tensorFromNumbers(mean.type, mean.dims, values);
  const y = batchNormInference(x, scale, bias, asTensor(batch.mean), tensorFromNumbers(variance.type, variance.dims, batch.variance), attrs.epsilon);
  const blend = (running: Tensor, current: Float64Array) => {
    const previous = numbersOf(running);
    return tensorFromNumbers(running.type, running.dims, current.map((value, i) => previous[i]! * attrs.momentum + value * (1 - attrs.momentum)));
  };
  return [y, outputWanted(1) ? blend(mean, batch.mean) : undefined, outputWanted(2) ? blend(variance, batch.variance) : undefined];
}

const BATCH_NORM_OUTPUTS_OLD = ['Y', 'mean?', 'var?', 'saved_mean?', 'saved_var?'];

/**
 * Normalizes each of `groups` contiguous runs of `groupSize` values to zero mean and unit variance
 * (with `epsilon`), writing into `out`; returns each group's mean and 1/sqrt(var + epsilon).
 */
function normalizeGroups(values: Floats, groups: number, groupSize: number, epsilon: number, out: Float64Array) {
  const means = new Float64Array(groups);
  const inverseStdDevs = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const from = g * groupSize;
    let sum = 0;
    for (let i = 0; i < groupSize; i++) sum += values[from + i]!;
    const mean = sum / groupSize;
    let squares = 0;
    for (let i = 0; i < groupSize; i++) squares += (values[from + i]! - mean) ** 2;
    const inverseStdDev = 1 / Math.sqrt(squares / groupSize + epsilon);
    for (let i = 0; i < groupSize; i++) out[from + i] = (values[from + i]! - mean) * inverseStdDev;
    means[g] = mean;
    inverseStdDevs[g] = inverseStdDev;
  }
  return { means, inverseStdDevs };
}

function instanceNormKernel({ tensor, attrs }: KernelContext<{ epsilon: number }>): Tensor[] {
  const x = tensor(0);
  const scale = numbersOf(tensor(1));
  const bias = numbersOf(tensor(2));
  const channels = x.dims[1]!;
  const inner = product(x.dims, 2);
  const normalized = new Float64Array(x.size);
  normalizeGroups(floatsOf(x), x.dims[0]! * channels, inner, attrs.epsilon, normalized);
  for (let i = 0; i < normalized.length; i++) {
    const channel = Math.floor(i / inner) % channels;
    normalized[i] = normalized[i]! * scale[channel]! + bias[channel]!;
  }
  return [tensorFromNumbers(x.type, x.dims, normalized)];
}

interface LayerNormAttrs {
  axis: number;
  epsilon: number;
  stash_type: number;
}

function layerNormKernel({ tensor, optionalTensor, attrs, outputWanted }: KernelContext<LayerNormAttrs>): (Tensor | undefined)[] {
  const x = tensor(0);
  const scale = tensor(1);
  const bias = optionalTensor(2);
  const axis = normalizeAxis(attrs.axis, x.dims.length);
  const normalizedDims = x.dims.slice(axis);
  const groupSize = product(normalizedDims);
  const groups = product(x.dims, 0, axis);
  const out = new Float64Array(x.size);
  const { means, inverseStdDevs } = normalizeGroups(floatsOf(x), groups, groupSize, attrs.epsilon, out);
  const scaleValues = numbersOf(scale);
  const scaleOffsets = broadcastOffsets(normalizedDims, scale.dims);
  const biasValues = bias && numbersOf(bias);
  const biasOffsets = bias && broadcastOffsets(normalizedDims, bias.dims);
  for (let i = 0; i < out.length; i++) {
    const within = i % groupSize;
    out[i] = out[i]! * at(scaleValues, scaleOffsets, within) + (biasValues ? at(biasValues, biasOffsets, within) : 0);
  }
  const statsDims = x.dims.map((dim, i) => (i < axis ? dim : 1));
  const statsType: DataType = attrs.stash_type === 1 ? 'float32' : x.type;
  return [
    tensorFromNumbers(x.type, x.dims, out),
    outputWanted(1) ? tensorFromNumbers(statsType, statsDims, means) : undefined,
    outputWanted(2) ? tensorFromNumbers(statsType, statsDims, inverseStdDevs) : undefined,
  ];
}

/** GroupNormalization: statistics per (sample, group of channels); scale/bias per group (18) or channel (21). */
function groupNormKernel(perChannel: boolean) {
  return ({ tensor, attrs, fail }: KernelContext<{ epsilon: number; num_groups?: number }>): Tensor[] => {
    const x = tensor(0);
    const scale = numbersOf(tensor(1));
    const bias = numbersOf(tensor(2));
    const groups = attrs.num_groups ?? fail('INVALID_ARGUMENT', 'attribute num_groups is required');
    const channels = x.dims[1]!;
    if (channels % groups !== 0) fail('INVALID_ARGUMENT', `num_groups must divide the ${channels} channels of X`);
    const inner = product(x.dims, 2);
    const out = new Float64Array(x.size);
    normalizeGroups(floatsOf(x), x.dims[0]! * groups, (channels / groups) * inner, attrs.epsilon, out);
    for (let i = 0; i < out.length; i++) {
      const channel = Math.floor(i / inner) % channels;
      const parameter = perChannel ? channel : Math.floor(channel / (channels / groups));
      out[i] = out[i]! * scale[parameter]! + bias[parameter]!;
    }
    return [tensorFromNumbers(x.type, x.dims, out)];
  };
}

/** MeanVarianceNormalization: (x - mean) / (stddev + 1e-9) over `axes`, as the op's function body defines it. */
function meanVarianceNormKernel({ tensor, attrs }: KernelContext<{ axes: number[] }>): Tensor[] {
  const x = tensor(0);
  const axes = attrs.axes.map((axis) => normalizeAxis(axis, x.dims.length));
  const reducedDims = x.dims.map((dim, i) => (axes.includes(i) ? 1 : dim));
  const offsets = broadcastOffsets(x.dims, reducedDims);
  const values = numbersOf(x);
  const groups = elementCount(reducedDims);
  const sums = new Float64Array(groups);
  const squares = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) {
    const group = offsets ? offsets[i]! : i;
    sums[group]! += values[i]!;
    squares[group]! += values[i]! ** 2;
  }
  const count = values.length / groups;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const group = offsets ? offsets[i]! : i;
    const mean = sums[group]! / count;
    const variance = squares[group]! / count - mean * mean;
    out[i] = (values[i]! - mean) / (Math.sqrt(variance) + 1e-9);
  }
  return [tensorFromNumbers(x.type, x.dims, out)];
}

function lpNormalizationKernel({ tensor, attrs, fail }: KernelContext<{ axis: number; p: number }>): Tensor[] {
  const x = tensor(0);
  if (attrs.p !== 1 && attrs.p !== 2) fail('INVALID_ARGUMENT', `attribute p must be 1 or 2, got ${attrs.p}`);
  const axis = normalizeAxis(attrs.axis, x.dims.length);
  const length = x.dims[axis]!;
  const inner = product(x.dims, axis + 1);
  const outer = product(x.dims, 0, axis);
  const values = numbersOf(x);
  const out = new Float64Array(values.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      let norm = 0;
      for (let k = 0; k < length; k++) norm += attrs.p === 1 ? Math.abs(values[base + k * inner]!) : values[base + k * inner]! ** 2;
      if (attrs.p === 2) norm = Math.sqrt(norm);
      for (let k = 0; k < length; k++) out[base + k * inner] = values[base + k * inner]! / norm;
    }
  }
  return [tensorFromNumbers(x.type, x.dims, out)];
}

/** LRN: each value divided by (bias + alpha/size · Σ squares of `size` neighbouring channels)^beta. */
function lrnKernel({ tensor, attrs, fail }: KernelContext<{ alpha: number; beta: number; bias: number; size?: number }>): Tensor[] {
  const x = tensor(0);
  const size = attrs.size ?? fail('INVALID_ARGUMENT', 'attribute size is required');
  const values = floatsOf(x);
  const channels = x.dims[1]!;
  const inner = product(x.dims, 2);
  const before = Math.floor((size - 1) / 2);
  const after = Math.ceil((size - 1) / 2);
  const out = floatsFor(x.type, values.length);
  for (let n = 0; n < x.dims[0]!; n++) {
    for (let c = 0; c < channels; c++) {
      const from = Math.max(0, c - before);
      const to = Math.min(channels - 1, c + after);
      for (let i = 0; i < inner; i++) {
        let squares = 0;
        for (let k = from; k <= to; k++) squares += values[(n * channels + k) * inner + i]! ** 2;
        const index = (n * channels + c) * inner + i;
        out[index] = values[index]! / Math.pow(attrs.bias + (attrs.alpha / size) * squares, attrs.beta);
      }
    }
  }
  return [tensorOf(x.type, x.dims, out)];
}

// ---------------------------------------------------------------------------------------------------------
// Dropout

/**
 * Dropout in inference is the identity with an all-kept mask. In training each value is dropped with
 * probability `ratio` and the kept ones scaled by 1/(1 - ratio); the random draw is not reproducible.
 */
function dropout(x: Tensor, ratio: number, training: boolean, maskType: DataType): [Tensor, Tensor] {
  if (!training || ratio === 0) {
    return [x, tensorFromNumbers(maskType, x.dims, new Uint8Array(x.size).fill(1))];
  }
  const values = numbersOf(x);
  const keep = new Uint8Array(values.length);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    keep[i] = Math.random() >= ratio ? 1 : 0;
    out[i] = keep[i] ? values[i]! / (1 - ratio) : 0;
  }
  return [tensorFromNumbers(x.type, x.dims, out), tensorFromNumbers(maskType, x.dims, keep)];
}

function dropoutOld(maskIsBool: boolean) {
  return ({ tensor, attrs, outputWanted }: KernelContext<{ ratio: number; is_test?: number }>): (Tensor | undefined)[] => {
    const x = tensor(0);
    // Before opset 7 `is_test` 0 meant training; from 7 on the attribute-only form is always inference.
    const [y, mask] = dropout(x, attrs.ratio, attrs.is_test === 0, maskIsBool ? 'bool' : x.type);
    return [y, outputWanted(1) ? mask : undefined];
  };
}

function dropoutKernel({ tensor, optionalTensor, outputWanted }: KernelContext): (Tensor | undefined)[] {
  const x = tensor(0);
  const ratio = optionalTensor(1);
  const training = optionalTensor(2);
  const [y, mask] = dropout(x, ratio ? numbersOf(ratio)[0]! : 0.5, training ? numbersOf(training)[0] !== 0 : false, 'bool');
  return [y, outputWanted(1) ? mask : undefined];
}

// ---------------------------------------------------------------------------------------------------------
// Catalogue

function indicesType({ inputTypes }: { inputTypes: readonly (ValueType | undefined)[] }): (ValueType | undefined)[] {
  const input = inputTypes[0];
  return [input?.kind === 'tensor' ? tensorType(input.dtype) : undefined, tensorType('int64')];
}

export const ops: OpDef[] = [
  ...[1, 9, 13].map((since) => defineOp({ name: 'MatMul', since, inputs: ['A', 'B'], outputs: ['Y'], infer: dtypeOf(0), kernel: matMulKernel })),

  // Before opset 7, C is required and `broadcast` says whether it may be broadcast; the shapes tell the same.
  ...[1, 6].map((since) =>
    defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C'], outputs: ['Y'], attributes: { ...GEMM_ATTRIBUTES, broadcast: attr.int(0) }, infer: dtypeOf(0), kernel: gemmKernel }),
  ),
  ...[7, 9].map((since) => defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C'], outputs: ['Y'], attributes: GEMM_ATTRIBUTES, infer: dtypeOf(0), kernel: gemmKernel })),
  ...[11, 13].map((since) => defineOp({ name: 'Gemm', since, inputs: ['A', 'B', 'C?'], outputs: ['Y'], attributes: GEMM_ATTRIBUTES, infer: dtypeOf(0), kernel: gemmKernel })),

  ...[1, 11].map((since) => defineOp({ name: 'Conv', since, inputs: ['X', 'W', 'B?'], outputs: ['Y'], attributes: CONV_ATTRIBUTES, infer: dtypeOf(0), kernel: convKernel })),
  ...[1, 11].map((since) =>
    defineOp({
      name: 'ConvTranspose',
      since,
      inputs: ['X', 'W', 'B?'],
      outputs: ['Y'],
      attributes: { ...CONV_ATTRIBUTES, output_padding: attr.ints(), output_shape: attr.ints() },
      infer: dtypeOf(0),
      kernel: convTransposeKernel,
    }),
  ),
  defineOp({
    name: 'DeformConv',
    since: 19,
    inputs: ['X', 'W', 'offset', 'B?', 'mask?'],
    outputs: ['Y'],
    attributes: { ...CONV_ATTRIBUTES, offset_group: attr.int(1) },
    infer: dtypeOf(0),
    kernel: deformConvKernel,
  }),
  defineOp({
    name: 'Col2Im',
    since: 18,
    inputs: ['input', 'image_shape', 'block_shape'],
    outputs: ['output'],
    attributes: { dilations: attr.ints(), pads: attr.ints(), strides: attr.ints() },
    infer: dtypeOf(0),
    kernel: col2ImKernel,
  }),

  defineOp({ name: 'MaxPool', since: 1, inputs: ['X'], outputs: ['Y'], attributes: POOL_ATTRIBUTES, infer: dtypeOf(0), kernel: poolKernel('max') }),
  ...[8, 10, 11, 12].map((since) =>
    defineOp({
      name: 'MaxPool',
      since,
      inputs: ['X'],
      outputs: ['Y', 'Indices?'],
      attributes: { ...POOL_ATTRIBUTES, storage_order: attr.int(0) },
      infer: indicesType,
      kernel: poolKernel('max'),
    }),
  ),
  ...[1, 7, 10, 11, 19].map((since) =>
    defineOp({
      name: 'AveragePool',
      since,
      inputs: ['X'],
      outputs: ['Y'],
      attributes: { ...POOL_ATTRIBUTES, count_include_pad: attr.int(0) },
      infer: dtypeOf(0),
      kernel: poolKernel('average'),
    }),
  ),
  // p is a float in opset 1 and an int from opset 2; the float spec accepts both.
  ...[1, 2, 11, 18].map((since) =>
    defineOp({ name: 'LpPool', since, inputs: ['X'], outputs: ['Y'], attributes: { ...POOL_ATTRIBUTES, p: attr.float(2) }, infer: dtypeOf(0), kernel: poolKernel('lp') }),
  ),
  defineOp({ name: 'GlobalAveragePool', since: 1, inputs: ['X'], outputs: ['Y'], infer: dtypeOf(0), kernel: globalPoolKernel(meanOf) }),
  defineOp({ name: 'GlobalMaxPool', since: 1, inputs: ['X'], outputs: ['Y'], infer: dtypeOf(0), kernel: globalPoolKernel(maxOf) }),
  ...[1, 2].map((since) =>
    defineOp({ name: 'GlobalLpPool', since, inputs: ['X'], outputs: ['Y'], attributes: { p: attr.float(2) }, infer: dtypeOf(0), kernel: globalPoolKernel(lpNormOf) }),
  ),
  ...[9, 11].map((since) =>
    defineOp({
      name: 'MaxUnpool',
      since,
      inputs: ['X', 'I', 'output_shape?'],
      outputs: ['output'],
      attributes: { kernel_shape: attr.ints(), pads: attr.ints(), strides: attr.ints() },
      infer: dtypeOf(0),
      kernel: maxUnpoolKernel,
    }),
  ),

  // Opsets 1 and 6 also carry is_test / spatial; inference ignores is_test, and spatial 0 shows in the
  // parameter shapes ([C, spatial...] instead of [C]), which affinePerChannel follows.
  ...[1, 6, 7, 9].map((since) =>
    defineOp({
      name: 'BatchNormalization',
      since,
      inputs: ['X', 'scale', 'B', 'mean', 'var'],
      outputs: BATCH_NORM_OUTPUTS_OLD,
      attributes: { epsilon: attr.float(1e-5), momentum: attr.float(0.9), is_test: attr.int(0), spatial: attr.int(1) },
      infer: sameTypeAs(0),
      kernel: batchNormKernel,
    }),
  ),
  ...[14, 15].map((since) =>
    defineOp({
      name: 'BatchNormalization',
      since,
      inputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
      outputs: ['Y', 'running_mean?', 'running_var?'],
      attributes: { epsilon: attr.float(1e-5), momentum: attr.float(0.9), training_mode: attr.int(0) },
      infer: sameTypeAs(0),
      kernel: batchNormKernel,
    }),
  ),
  ...[1, 6].map((since) =>
    defineOp({ name: 'InstanceNormalization', since, inputs: ['input', 'scale', 'B'], outputs: ['output'], attributes: { epsilon: attr.float(1e-5) }, infer: sameTypeAs(0), kernel: instanceNormKernel }),
  ),
  defineOp({
    name: 'LayerNormalization',
    since: 17,
    inputs: ['X', 'Scale', 'B?'],
    outputs: ['Y', 'Mean?', 'InvStdDev?'],
    attributes: { axis: attr.int(-1), epsilon: attr.float(1e-5), stash_type: attr.int(1) },
    infer: sameTypeAs(0),
    kernel: layerNormKernel,
  }),
  defineOp({
    name: 'GroupNormalization',
    since: 18,
    inputs: ['X', 'scale', 'bias'],
    outputs: ['Y'],
    attributes: { epsilon: attr.float(1e-5), num_groups: attr.int() },
    infer: sameTypeAs(0),
    kernel: groupNormKernel(false),
  }),
  defineOp({
    name: 'GroupNormalization',
    since: 21,
    inputs: ['X', 'scale', 'bias'],
    outputs: ['Y'],
    attributes: { epsilon: attr.float(1e-5), num_groups: attr.int(), stash_type: attr.int(1) },
    infer: sameTypeAs(0),
    kernel: groupNormKernel(true),
  }),
  ...[9, 13].map((since) =>
    defineOp({ name: 'MeanVarianceNormalization', since, inputs: ['X'], outputs: ['Y'], attributes: { axes: attr.ints([0, 2, 3]) }, infer: sameTypeAs(0), kernel: meanVarianceNormKernel }),
  ),
  defineOp({ name: 'LpNormalization', since: 1, inputs: ['input'], outputs: ['output'], attributes: { axis: attr.int(-1), p: attr.int(2) }, infer: sameTypeAs(0), kernel: lpNormalizationKernel }),
  ...[1, 13].map((since) =>
    defineOp({
      name: 'LRN',
      since,
      inputs: ['X'],
      outputs: ['Y'],
      attributes: { alpha: attr.float(1e-4), beta: attr.float(0.75), bias: attr.float(1), size: attr.int() },
      infer: sameTypeAs(0),
      kernel: lrnKernel,
    }),
  ),

  ...[1, 6].map((since) =>
    defineOp({ name: 'Dropout', since, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5), is_test: attr.int(0) }, infer: sameTypeAs(0), kernel: dropoutOld(false) }),
  ),
  defineOp({ name: 'Dropout', since: 7, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5) }, infer: sameTypeAs(0), kernel: dropoutOld(false) }),
  defineOp({ name: 'Dropout', since: 10, inputs: ['data'], outputs: ['output', 'mask?'], attributes: { ratio: attr.float(0.5) }, infer: sameTypeAs(0), kernel: dropoutOld(true) }),
  ...[12, 13].map((since) =>
    defineOp({ name: 'Dropout', since, inputs: ['data', 'ratio?', 'training_mode?'], outputs: ['output', 'mask?'], attributes: { seed: attr.int() }, infer: sameTypeAs(0), kernel: dropoutKernel }),
  ),
];
