import { defineOp, attr, type OpDef } from './registry.js';
import { numbersOf, tensorType } from './common.js';
import { dataTypeFromOnnx, isFloatType, readNumbers, writeNumbers, type BigIntArray, type DataType } from '../core/dtype.js';
import { EdgerunError } from '../core/errors.js';
import { roundHalfEven } from '../core/numeric.js';
import type { ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { bigintsOf, isBigIntType, tensorFromBigInts } from './math-unary.js';

/**
 * Cast and CastLike: every numeric pair converts as numpy's astype does (truncation toward zero, integer
 * wrap-around, round-to-nearest-even for narrow floats, float8 saturation by attribute); strings are parsed
 * and formatted the way numpy does.
 */

// ---- Numbers to strings ----

/** The value as `type` holds it after a round trip, to test whether a decimal string reproduces it. */
function roundTrip(type: DataType, value: number): number {
  if (type === 'float64') return value;
  if (type === 'float32') return Math.fround(value);
  return readNumbers(type, writeNumbers(type, [value]))[0]!;
}

/** The fewest significant digits that read back as the same `type` value (numpy's shortest repr). */
function shortestDigits(type: DataType, value: number): string {
  for (let precision = 1; precision < 17; precision++) {
    const candidate = value.toPrecision(precision);
    if (roundTrip(type, Number(candidate)) === value) return candidate;
  }
  return value.toPrecision(17);
}

/** numpy's str() of a float: positional from 1e-4 up to 1e16 ("1.0", "0.039187793"), else "1e-05" style. */
function formatFloat(type: DataType, value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // The shortest digits, re-read as a double, print back as those digits.
  const shortest = Number(shortestDigits(type, value));
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    const positional = String(shortest);
    return positional.includes('.') ? positional : `${positional}.0`;
  }
  const [mantissa, exponent] = shortest.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}

function formatElements(tensor: Tensor): string[] {
  if (tensor.type === 'bool') return Array.from(tensor.data as Uint8Array, (flag) => (flag ? 'True' : 'False'));
  if (isBigIntType(tensor.type)) return Array.from(tensor.data as BigIntArray, String);
  const values = numbersOf(tensor);
  if (!isFloatType(tensor.type)) return Array.from(values, String);
  return Array.from(values, (value) => formatFloat(tensor.type, value));
}

// ---- Strings to numbers ----

const SPECIAL_VALUES = new Map<string, number>([
  ['nan', NaN],
  ['+nan', NaN],
  ['-nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
]);

function parseNumber(text: string): number {
  const trimmed = text.trim();
  const special = SPECIAL_VALUES.get(trimmed.toLowerCase());
  if (special !== undefined) return special;
  const value = Number(trimmed);
  if (trimmed === '' || Number.isNaN(value)) {
    throw new EdgerunError('INVALID_ARGUMENT', `input 'input': cannot parse '${text}' as a number`);
  }
  return value;
}

/** Integer strings parse exactly as BigInts; anything else goes through a number, truncated. */
function parseBigInt(text: string): bigint {
  const trimmed = text.trim();
  if (/^[+-]?\d+$/.test(trimmed)) return BigInt(trimmed);
  const value = parseNumber(trimmed);
  return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
}

// ---- The conversion ----

/** Elements as numbers: 64-bit integers wrapped to 32 bits first when the target is a narrower integer. */
function numbersFor(tensor: Tensor, to: DataType): ArrayLike<number> {
  if (tensor.type === 'string') return (tensor.data as string[]).map(parseNumber);
  if (!isBigIntType(tensor.type) || isFloatType(to) || to === 'bool') return numbersOf(tensor);
  return Array.from(tensor.data as BigIntArray, (value) => Number(BigInt.asIntN(32, value)));
}

/** Casts to 4-bit integers round half to even and saturate (ONNX), unlike wider integers, which wrap. */
function saturateToFourBits(values: ArrayLike<number>, signed: boolean): Float64Array {
  const [low, high] = signed ? [-8, 7] : [0, 15];
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(high, Math.max(low, roundHalfEven(values[i]!)));
  return out;
}

export function castTensor(input: Tensor, to: DataType, saturate = true): Tensor {
  if (input.type === to) return input;
  if (to === 'string') return new Tensor('string', formatElements(input), input.dims);
  if (isBigIntType(to)) {
    const values = input.type === 'string' ? (input.data as string[]).map(parseBigInt) : bigintsOf(input);
    return tensorFromBigInts(to, input.dims, values);
  }
  let values = numbersFor(input, to);
  if (to === 'int4' || to === 'uint4') values = saturateToFourBits(values, to === 'int4');
  if (to === 'bool') {
    // numpy: any non-zero value, NaN included, is true.
    return new Tensor('bool', Uint8Array.from(values as ArrayLike<number>, (value) => (value !== 0 ? 1 : 0)), input.dims);
  }
  return new Tensor(to, writeNumbers(to, values, saturate), input.dims);
}

function targetOf(to: number | undefined): DataType {
  if (to === undefined) throw new EdgerunError('INVALID_ATTRIBUTE', "Cast needs attribute 'to'");
  return dataTypeFromOnnx(to, "Cast attribute 'to'");
}

/** Cast-1 named its target type by the TensorProto enum name, e.g. 'FLOAT'. */
const LEGACY_TYPE_NAMES: Readonly<Record<string, DataType>> = {
  FLOAT: 'float32',
  UINT8: 'uint8',
  INT8: 'int8',
  UINT16: 'uint16',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  STRING: 'string',
  BOOL: 'bool',
  FLOAT16: 'float16',
  DOUBLE: 'float64',
  UINT32: 'uint32',
  UINT64: 'uint64',
};

function legacyTargetOf(to: string | undefined): DataType {
  const type = to === undefined ? undefined : LEGACY_TYPE_NAMES[to.toUpperCase()];
  if (!type) throw new EdgerunError('INVALID_ATTRIBUTE', `Cast attribute 'to' must name a tensor type such as 'FLOAT', got '${to ?? ''}'`);
  return type;
}

function castType(input: ValueType | undefined, to: DataType): ValueType {
  return input?.kind === 'tensor' ? tensorType(to, input.shape) : tensorType(to);
}

export const ops: OpDef[] = [
  defineOp({
    name: 'Cast',
    since: 1,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { to: attr.string() },
    infer: ({ inputTypes, attrs }) => [castType(inputTypes[0], legacyTargetOf(attrs.to))],
    kernel: ({ tensor, attrs }) => [castTensor(tensor(0), legacyTargetOf(attrs.to))],
  }),
  defineOp({
    name: 'Cast',
    since: 6,
    inputs: ['input'],
    outputs: ['output'],
    attributes: { to: attr.int(), saturate: attr.int(1) },
    infer: ({ inputTypes, attrs }) => [castType(inputTypes[0], targetOf(attrs.to))],
    kernel: ({ tensor, attrs }) => [castTensor(tensor(0), targetOf(attrs.to), attrs.saturate !== 0)],
  }),
  defineOp({
    name: 'CastLike',
    since: 15,
    inputs: ['input', 'target_type'],
    outputs: ['output'],
    attributes: { saturate: attr.int(1) },
    infer: ({ inputTypes }) => {
      const target = inputTypes[1];
      return [target?.kind === 'tensor' ? castType(inputTypes[0], target.dtype) : undefined];
    },
    kernel: ({ tensor, attrs }) => [castTensor(tensor(0), tensor(1).type, attrs.saturate !== 0)],
  }),
];
