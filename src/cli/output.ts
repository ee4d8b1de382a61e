import { EdgerunError } from '../core/errors.js';

/**
 * How every command ends: exit 0, 1 for a model or input error, 2 for usage. Errors go to stderr as one
 * line, or under --json to stdout as `{ "error": { "code", "message" } }` so a caller parsing stdout always
 * gets JSON. Only the light error module is imported here: `edgerun --version` loads no runtime.
 */
export class UsageError extends Error {}

export const USAGE_EXIT = 2;
const FAILURE_EXIT = 1;

export function reportFailure(error: unknown, json: boolean): number {
  const { code, message, exit } = describeFailure(error);
  if (json) printJson({ error: { code, message } });
  else process.stderr.write(code === 'USAGE' ? `edgerun: ${message}\n` : `edgerun: ${code}: ${message}\n`);
  return exit;
}

function describeFailure(error: unknown): { code: string; message: string; exit: number } {
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message, exit: USAGE_EXIT };
  if (error instanceof EdgerunError) return { code: error.code, message: error.message, exit: FAILURE_EXIT };
  return { code: 'INTERNAL', message: `internal error: ${error instanceof Error ? error.message : String(error)}`, exit: FAILURE_EXIT };
}

/**
 * JSON with nothing lost: 64-bit integers as decimal strings (exact), and the non-finite floats JSON has no
 * literal for as the strings "NaN", "Infinity", "-Infinity" (JSON.stringify would print null).
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonSafe, 2)}\n`);
}

function jsonSafe(_key: string, item: unknown): unknown {
  if (typeof item === 'bigint') return item.toString();
  if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
  return item;
}
