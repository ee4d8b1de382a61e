import type { OpGenerator } from './harness.js';

export const generators: OpGenerator[] = [];
