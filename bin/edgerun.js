#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { relaxedSimdFlags } from '../dist/cli/relaxed-simd.js';

// Relaxed SIMD on for this process before any wasm module is compiled (Node 20 and 21 need the flag).
for (const flag of relaxedSimdFlags()) setFlagsFromString(flag);
const { main } = await import('../dist/cli/main.js');

// Output piped into `head` and the like: stop quietly when the reader goes away.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv);
