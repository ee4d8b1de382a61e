import { EdgerunError } from '../node.js';

/** How every command ends: exit 0, 1 for a model or input error (message only), 2 for usage. */
export class UsageError extends Error {}

export function reportFailure(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`edgerun: ${error.message}\n`);
    return 2;
  }
  if (error instanceof EdgerunError) {
    process.stderr.write(`edgerun: ${error.code}: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`edgerun: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_, item) => (typeof item === 'bigint' ? item.toString() : item), 2)}\n`);
}
