import type { OpDef } from './registry.js';

export const ops: OpDef[] = [];
