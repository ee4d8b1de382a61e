import type { Backend } from '../backend.js';

/** The oracle: runs every op with its plain TypeScript reference kernel from ops/. */
export const referenceBackend: Backend = {
  name: 'reference',
  supports: () => true,
  prepare: (_node, def) => (context) => def.kernel(context),
};
