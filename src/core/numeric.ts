/**
 * Bit-level encodings of the narrow float types. Tensors of these types carry raw bits (Uint16Array or
 * Uint8Array) so that nothing is lost on the way in or out; kernels decode to numbers, compute, encode back.
 */

const scratch = new DataView(new ArrayBuffer(4));

export function float32Bits(value: number): number {
  scratch.setFloat32(0, value, true);
  return scratch.getUint32(0, true);
}

export function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}

export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Round to nearest, ties to even, from the exact double value (no double rounding through float32). */
export function numberToFloat16(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  let magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) {
    // Subnormal: units of 2^-24.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent -= 1;
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  magnitude = magnitude / 2 ** exponent - 1;
  let mantissa = roundHalfEven(magnitude * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent += 1;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | mantissa;
}

export function bfloat16ToNumber(bits: number): number {
  return float32FromBits(bits << 16);
}

export function numberToBfloat16(value: number): number {
  if (Number.isNaN(value)) return 0x7fc0;
  const bits = float32Bits(value);
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export type Float8Format = 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz';

interface Float8Layout {
  exponentBits: number;
  bias: number;
  /** fnuz formats: one NaN (0x80), no negative zero, no infinity. */
  unsignedZero: boolean;
  hasInfinity: boolean;
}

const FLOAT8_LAYOUTS: Record<Float8Format, Float8Layout> = {
  float8e4m3fn: { exponentBits: 4, bias: 7, unsignedZero: false, hasInfinity: false },
  float8e4m3fnuz: { exponentBits: 4, bias: 8, unsignedZero: true, hasInfinity: false },
  float8e5m2: { exponentBits: 5, bias: 15, unsignedZero: false, hasInfinity: true },
  float8e5m2fnuz: { exponentBits: 5, bias: 16, unsignedZero: true, hasInfinity: false },
};

function decodeFloat8(format: Float8Format, code: number): number {
  const layout = FLOAT8_LAYOUTS[format];
  const mantissaBits = 7 - layout.exponentBits;
  if (layout.unsignedZero && code === 0x80) return NaN;
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >> mantissaBits) & ((1 << layout.exponentBits) - 1);
  const mantissa = code & ((1 << mantissaBits) - 1);
  const maxExponent = (1 << layout.exponentBits) - 1;
  if (format === 'float8e4m3fn' && exponent === maxExponent && mantissa === (1 << mantissaBits) - 1) return NaN;
  if (layout.hasInfinity && exponent === maxExponent) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - layout.bias - mantissaBits);
  return sign * (1 + mantissa / (1 << mantissaBits)) * 2 ** (exponent - layout.bias);
}

interface Float8Table {
  decode: Float32Array;
  /** Finite non-negative values, ascending, with their codes. */
  positives: number[];
  codes: number[];
  nanCode: number;
  infinityCode: number | undefined;
}

const float8Tables = new Map<Float8Format, Float8Table>();

function float8Table(format: Float8Format): Float8Table {
  let table = float8Tables.get(format);
  if (table) return table;
  const decode = new Float32Array(256);
  for (let code = 0; code < 256; code++) decode[code] = decodeFloat8(format, code);
  const positives: number[] = [];
  const codes: number[] = [];
  for (let code = 0; code < 0x80; code++) {
    const value = decode[code]!;
    if (Number.isFinite(value)) {
      positives.push(value);
      codes.push(code);
    }
  }
  const layout = FLOAT8_LAYOUTS[format];
  table = {
    decode,
    positives,
    codes,
    nanCode: layout.unsignedZero ? 0x80 : 0x7f,
    infinityCode: layout.hasInfinity ? 0x7c : undefined,
  };
  float8Tables.set(format, table);
  return table;
}

export function float8ToNumber(format: Float8Format, code: number): number {
  return float8Table(format).decode[code & 0xff]!;
}

/** Round to nearest even; out-of-range values saturate to the largest finite value when `saturate`. */
export function numberToFloat8(format: Float8Format, value: number, saturate = true): number {
  const table = float8Table(format);
  if (Number.isNaN(value)) return table.nanCode;
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  const { positives, codes } = table;
  const last = positives.length - 1;
  const max = positives[last]!;
  const overflowCode = saturate ? codes[last]! : (table.infinityCode ?? table.nanCode);
  let code: number;
  if (magnitude === Infinity) {
    code = saturate ? codes[last]! : (table.infinityCode ?? table.nanCode);
  } else {
    const step = max - positives[last - 1]!;
    if (magnitude > max + step / 2 || (magnitude === max + step / 2 && (codes[last]! & 1) === 1)) {
      code = overflowCode;
    } else if (magnitude >= max) {
      code = codes[last]!;
    } else {
      let low = 0;
      let high = last;
      while (high - low > 1) {
        const middle = (low + high) >> 1;
        if (positives[middle]! <= magnitude) low = middle;
        else high = middle;
      }
      const below = positives[low]!;
      const above = positives[high]!;
      if (magnitude - below < above - magnitude) code = codes[low]!;
      else if (magnitude - below > above - magnitude) code = codes[high]!;
      else code = (codes[low]! & 1) === 0 ? codes[low]! : codes[high]!;
    }
  }
  if (!negative) return code;
  if (code === table.nanCode) return code;
  if (FLOAT8_LAYOUTS[format].unsignedZero && code === 0) return 0;
  return code | 0x80;
}
