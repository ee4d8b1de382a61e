#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// Node 20 and 21 keep WebAssembly relaxed SIMD (fused multiply-adds: a 20 % faster GEMM on Intel cores)
// behind a V8 flag that Chromium and Node 22 have on. The command line is an application of its own, so
// it turns the flag on for its process before any wasm module is compiled.
if (Number(process.versions.node.split('.')[0]) < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
const { main } = await import('../dist/cli/main.js');

// Output piped into `head` and the like: stop quietly when the reader goes away.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv);
