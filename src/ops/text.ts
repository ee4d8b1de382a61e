import type { DataType } from '../core/dtype.js';
import type { Dim, ValueType } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { defineOp, attr, type KernelContext, type OpDef } from './registry.js';
import { at, broadcastDims, broadcastOffsets, broadcastShapes, shapeOf, tensorType } from './common.js';

/** String ops: element-wise string functions and the TfIdfVectorizer text featurizer. */

function stringsOf(ctx: KernelContext, index: number): { tensor: Tensor; strings: string[] } {
  const tensor = ctx.tensor(index);
  if (tensor.type !== 'string') ctx.fail('INVALID_ARGUMENT', `input #${index} must be a string tensor, got ${tensor.type}`);
  return { tensor, strings: tensor.data as string[] };
}

/** An output of `dtype` shaped like `input` (element-wise ops); shape unknown when the input's is. */
function shapedLike(dtype: DataType, input: ValueType | undefined): ValueType {
  return tensorType(dtype, shapeOf(input) && [...shapeOf(input)!]);
}

const stringConcat = defineOp({
  name: 'StringConcat',
  since: 20,
  inputs: ['X', 'Y'],
  outputs: ['Z'],
  infer: ({ inputTypes }) => {
    const [x, y] = inputTypes.map(shapeOf);
    return [tensorType('string', x && y ? broadcastDims([x, y]) : undefined)];
  },
  kernel: (ctx) => {
    const x = stringsOf(ctx, 0);
    const y = stringsOf(ctx, 1);
    const dims = broadcastShapes(x.tensor.dims, y.tensor.dims);
    const xOffsets = broadcastOffsets(dims, x.tensor.dims);
    const yOffsets = broadcastOffsets(dims, y.tensor.dims);
    const size = dims.reduce((a, b) => a * b, 1);
    const out = new Array<string>(size);
    for (let i = 0; i < size; i++) out[i] = at(x.strings, xOffsets, i) + at(y.strings, yOffsets, i);
    return [new Tensor('string', out, dims)];
  },
});

const regexFullMatch = defineOp({
  name: 'RegexFullMatch',
  since: 20,
  inputs: ['X'],
  outputs: ['Y'],
  attributes: { pattern: attr.string() },
  infer: ({ inputTypes }) => [shapedLike('bool', inputTypes[0])],
  kernel: (ctx) => {
    const { tensor, strings } = stringsOf(ctx, 0);
    if (ctx.attrs.pattern === undefined) ctx.fail('INVALID_ATTRIBUTE', "attribute 'pattern' is required");
    let regex: RegExp;
    try {
      // Anchoring the whole pattern turns a search into RE2's FullMatch.
      regex = new RegExp(`^(?:${ctx.attrs.pattern})$`);
    } catch (error) {
      ctx.fail('INVALID_ATTRIBUTE', `pattern '${ctx.attrs.pattern}' is not a valid regular expression: ${(error as Error).message}`);
    }
    const out = Uint8Array.from(strings, (s) => (regex.test(s) ? 1 : 0));
    return [new Tensor('bool', out, tensor.dims)];
  },
});

/** Python's str.split semantics: a given delimiter keeps empty pieces; none splits on whitespace runs. */
function splitString(text: string, delimiter: string, maxSplit: number): string[] {
  if (delimiter !== '') {
    const pieces = text.split(delimiter);
    if (pieces.length - 1 <= maxSplit) return pieces;
    return [...pieces.slice(0, maxSplit), pieces.slice(maxSplit).join(delimiter)];
  }
  const pieces: string[] = [];
  let rest = text.replace(/^\s+/, '');
  while (rest !== '') {
    if (pieces.length === maxSplit) {
      pieces.push(rest);
      break;
    }
    const match = /\s+/.exec(rest);
    if (!match) {
      pieces.push(rest);
      break;
    }
    pieces.push(rest.slice(0, match.index));
    rest = rest.slice(match.index + match[0].length);
  }
  return pieces;
}

const stringSplit = defineOp({
  name: 'StringSplit',
  since: 20,
  inputs: ['X'],
  outputs: ['Y', 'Z'],
  attributes: { delimiter: attr.string(''), maxsplit: attr.int() },
  // The substrings' last dim is the most pieces any string splits into: known only from the strings.
  infer: ({ inputTypes }) => {
    const shape = shapeOf(inputTypes[0]);
    return [tensorType('string', shape && [...shape, undefined]), shapedLike('int64', inputTypes[0])];
  },
  kernel: (ctx) => {
    const { tensor, strings } = stringsOf(ctx, 0);
    const maxSplit = ctx.attrs.maxsplit ?? Infinity;
    const pieces = strings.map((s) => splitString(s, ctx.attrs.delimiter, maxSplit));
    const width = pieces.reduce((widest, p) => Math.max(widest, p.length), 0);
    const out = new Array<string>(strings.length * width).fill('');
    pieces.forEach((row, i) => row.forEach((piece, j) => (out[i * width + j] = piece)));
    const counts = BigInt64Array.from(pieces, (row) => BigInt(row.length));
    return [new Tensor('string', out, [...tensor.dims, width]), new Tensor('int64', counts, tensor.dims)];
  },
});

const stringNormalizer = defineOp({
  name: 'StringNormalizer',
  since: 10,
  inputs: ['X'],
  outputs: ['Y'],
  attributes: {
    case_change_action: attr.string('NONE'),
    is_case_sensitive: attr.int(0),
    locale: attr.string(''),
    stopwords: attr.strings([]),
  },
  infer: ({ attrs, inputTypes }) => [tensorType('string', normalizedShape(shapeOf(inputTypes[0]), attrs.stopwords.length > 0))],
  kernel: (ctx) => {
    const { tensor, strings } = stringsOf(ctx, 0);
    const { case_change_action: action, is_case_sensitive: caseSensitive, stopwords } = ctx.attrs;
    const rank = tensor.dims.length;
    if (rank > 2 || (rank === 2 && tensor.dims[0] !== 1)) {
      ctx.fail('INVALID_ARGUMENT', `input X must have shape [C] or [1, C], got [${tensor.dims.join(', ')}]`);
    }
    const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
    const stopSet = new Set(stopwords.map(fold));
    const changeCase = (s: string): string => {
      if (action === 'LOWER') return s.toLowerCase();
      if (action === 'UPPER') return s.toUpperCase();
      return s;
    };
    let kept = strings.filter((s) => !stopSet.has(fold(s))).map(changeCase);
    // The spec keeps a one-element output when every word was a stopword.
    if (kept.length === 0) kept = [''];
    return [new Tensor('string', kept, normalizedShape(tensor.dims, false, kept.length) as number[])];
  },
});

/**
 * StringNormalizer's output for input [C] or [1, C]: the kept words along the last axis. Without stopwords
 * every word is kept, except that an empty input still gives one (empty) word.
 */
function normalizedShape(input: readonly Dim[] | undefined, hasStopwords: boolean, kept?: number): Dim[] | undefined {
  if (!input) return undefined;
  const words = input[input.length - 1];
  const count = kept ?? (hasStopwords || typeof words !== 'number' ? undefined : Math.max(words, 1));
  return input.length === 2 ? [1, count] : [count];
}

/** TfIdfVectorizer: counts the pool's n-grams (with skips) in each row, then applies TF / IDF / TFIDF. */
const tfIdfVectorizer = defineOp({
  name: 'TfIdfVectorizer',
  since: 9,
  inputs: ['X'],
  outputs: ['Y'],
  attributes: {
    max_gram_length: attr.int(),
    max_skip_count: attr.int(),
    min_gram_length: attr.int(),
    mode: attr.string(),
    ngram_counts: attr.ints(),
    ngram_indexes: attr.ints(),
    pool_int64s: attr.ints(),
    pool_strings: attr.strings(),
    weights: attr.floats(),
  },
  infer: ({ attrs, inputTypes }) => {
    const shape = shapeOf(inputTypes[0]);
    const width = attrs.ngram_indexes && ngramWidth(attrs.ngram_indexes);
    return [tensorType('float32', shape && tfIdfShape(shape, width))];
  },
  kernel: (ctx) => {
    const a = ctx.attrs;
    const minN = required(ctx, 'min_gram_length', a.min_gram_length);
    const maxN = required(ctx, 'max_gram_length', a.max_gram_length);
    const maxSkip = required(ctx, 'max_skip_count', a.max_skip_count);
    const mode = required(ctx, 'mode', a.mode);
    const ngramIndexes = required(ctx, 'ngram_indexes', a.ngram_indexes);
    const ngramCounts = required(ctx, 'ngram_counts', a.ngram_counts);
    const pool: string[] = a.pool_strings ?? (a.pool_int64s ?? []).map(String);
    const ngramIndexOf = poolNgrams(pool, ngramCounts, ngramIndexes);
    const x = ctx.tensor(0);
    const tokens: string[] = x.type === 'string' ? (x.data as string[]) : Array.from(x.data as ArrayLike<unknown>, String);
    const rows = x.dims.length === 2 ? x.dims[0]! : 1;
    const rowLength = x.dims.length === 0 ? 1 : x.dims[x.dims.length - 1]!;
    const width = ngramWidth(ngramIndexes);
    const out = new Float32Array(rows * width);
    for (let row = 0; row < rows; row++) {
      const counts = out.subarray(row * width, (row + 1) * width);
      countNgrams(tokens.slice(row * rowLength, (row + 1) * rowLength), ngramIndexOf, counts, minN, maxN, maxSkip);
      applyWeighting(counts, mode, a.weights, ctx);
    }
    return [new Tensor('float32', out, tfIdfShape(x.dims, width) as number[])];
  },
});

/** One output column per n-gram coordinate: the largest ngram_indexes entry plus one. */
function ngramWidth(ngramIndexes: readonly number[]): number {
  return Math.max(-1, ...ngramIndexes) + 1;
}

/** TfIdfVectorizer's output: [rows, width] for a batch [rows, tokens], else [width]. */
function tfIdfShape(input: readonly Dim[], width: Dim): Dim[] {
  return input.length === 2 ? [input[0], width] : [width];
}

function required<T>(ctx: KernelContext, name: string, value: T | undefined): T {
  if (value === undefined) ctx.fail('INVALID_ATTRIBUTE', `attribute '${name}' is required`);
  return value;
}

const NGRAM_SEPARATOR = '\u0000';

/** Maps each pool n-gram (tokens joined) to its output coordinate. */
function poolNgrams(pool: string[], ngramCounts: number[], ngramIndexes: number[]): Map<string, number> {
  const map = new Map<string, number>();
  let ngramNumber = 0;
  for (let level = 0; level < ngramCounts.length; level++) {
    const n = level + 1;
    const start = ngramCounts[level]!;
    const end = level + 1 < ngramCounts.length ? ngramCounts[level + 1]! : pool.length;
    for (let i = start; i + n <= end; i += n) {
      map.set(pool.slice(i, i + n).join(NGRAM_SEPARATOR), ngramIndexes[ngramNumber]!);
      ngramNumber++;
    }
  }
  return map;
}

function countNgrams(tokens: string[], ngramIndexOf: Map<string, number>, counts: Float32Array, minN: number, maxN: number, maxSkip: number): void {
  for (let stride = 1; stride <= maxSkip + 1; stride++) {
    // Unigrams do not depend on the skip distance: count them once, at stride 1.
    const smallest = stride === 1 ? minN : Math.max(minN, 2);
    for (let start = 0; start < tokens.length; start++) {
      for (let n = smallest; n <= maxN; n++) {
        const last = start + (n - 1) * stride;
        if (last >= tokens.length) break;
        const gram: string[] = [];
        for (let k = 0; k < n; k++) gram.push(tokens[start + k * stride]!);
        const index = ngramIndexOf.get(gram.join(NGRAM_SEPARATOR));
        if (index !== undefined) counts[index]! += 1;
      }
    }
  }
}

function applyWeighting(counts: Float32Array, mode: string, weights: number[] | undefined, ctx: KernelContext): void {
  if (mode === 'TF') return;
  if (mode !== 'IDF' && mode !== 'TFIDF') ctx.fail('INVALID_ATTRIBUTE', `mode must be TF, IDF or TFIDF, got '${mode}'`);
  for (let i = 0; i < counts.length; i++) {
    const weight = weights?.[i] ?? 1;
    counts[i] = mode === 'IDF' ? (counts[i]! > 0 ? weight : 0) : counts[i]! * weight;
  }
}

export const ops: OpDef[] = [stringConcat, regexFullMatch, stringSplit, stringNormalizer, tfIdfVectorizer];
