/**
 * Every failure edgerun reports on purpose is an EdgerunError with a stable `code`; callers branch on the
 * code, people read the message. Each layer that knows more (file region, node, op, tensor) adds it with
 * `withContext`, so the final message reads outermost first, e.g.
 * `node 'conv1' (Conv): input 'X': expected rank 4, got rank 3`.
 */
export type ErrorCode =
  | 'MODEL_TRUNCATED'
  | 'MODEL_INVALID'
  | 'UNKNOWN_FORMAT'
  | 'UNSUPPORTED_FORMAT'
  | 'UNSUPPORTED_OP'
  | 'UNSUPPORTED_TYPE'
  | 'UNSUPPORTED_ATTRIBUTE'
  | 'INVALID_ATTRIBUTE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_GRAPH'
  | 'GRAPH_CYCLE'
  | 'EXTERNAL_DATA'
  | 'INPUT_NAME_UNKNOWN'
  | 'INPUT_MISSING'
  | 'INPUT_TYPE_MISMATCH'
  | 'INPUT_SHAPE_MISMATCH'
  | 'OUTPUT_NAME_UNKNOWN'
  | 'SHAPE_MISMATCH'
  | 'TYPE_MISMATCH'
  | 'LIMIT_EXCEEDED'
  | 'KERNEL_FAILED'
  | 'SESSION_RELEASED'
  | 'UNSAFE_PICKLE'
  | 'IO_ERROR';

export class EdgerunError extends Error {
  readonly code: ErrorCode;
  /** The innermost message, before any context was added. */
  readonly detail: string;
  readonly context: readonly string[];

  constructor(code: ErrorCode, detail: string, context: readonly string[] = [], options?: { cause?: unknown }) {
    super([...context, detail].join(': '), options);
    this.name = 'EdgerunError';
    this.code = code;
    this.detail = detail;
    this.context = context;
  }

  /** A copy of this error with `where` prepended to its context. */
  withContext(where: string): EdgerunError {
    return new EdgerunError(this.code, this.detail, [where, ...this.context], { cause: this.cause });
  }
}

/** Runs `work`, turning any failure into an EdgerunError that names `where`. */
export function inContext<T>(where: string, work: () => T, fallbackCode: ErrorCode = 'KERNEL_FAILED'): T {
  try {
    return work();
  } catch (error) {
    throw asEdgerunError(error, fallbackCode).withContext(where);
  }
}

/** Unexpected exceptions (a RangeError from a huge allocation, a bug) become typed errors too. */
export function asEdgerunError(error: unknown, fallbackCode: ErrorCode): EdgerunError {
  if (error instanceof EdgerunError) return error;
  if (error instanceof RangeError && /allocation|Array buffer|Invalid typed array length|Invalid array length/i.test(error.message)) {
    return new EdgerunError('LIMIT_EXCEEDED', `cannot allocate memory (${error.message})`, [], { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EdgerunError(fallbackCode, message, [], { cause: error });
}

export function fail(code: ErrorCode, detail: string): never {
  throw new EdgerunError(code, detail);
}
