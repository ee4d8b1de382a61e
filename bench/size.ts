import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { packageDir } from '../src/cli/bench.js';
import { gzipSync } from 'node:zlib';

/**
 * What each runtime makes a web page download to run a model on the CPU: its JavaScript minified (edgerun's
 * browser entry bundled by esbuild; peers' own minified builds) plus its WebAssembly, each gzipped at level 9
 * as a server would send it. onnxruntime-node is native: its binding and shared library, for scale.
 */
export interface ShippedSize {
  runtime: string;
  files: string[];
  bytes: number;
  gzipBytes: number;
}

interface Part {
  name: string;
  contents: Uint8Array;
}

const require = createRequire(import.meta.url);
const fileParts = (folder: string, names: string[]): Part[] => names.map((name) => ({ name, contents: readFileSync(join(folder, name)) }));

async function bundle(entry: string, name: string): Promise<Part> {
  const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
  return { name, contents: result.outputFiles[0]!.contents };
}

function wasmFilesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.wasm'))
    .map((file) => join(folder, file));
}

const RUNTIME_PARTS: Record<string, (repoRoot: string) => Promise<Part[]>> = {
  edgerun: async (repoRoot) => [
    await bundle(resolve(repoRoot, 'src/index.ts'), 'src/index.ts bundled'),
    ...wasmFilesUnder(resolve(repoRoot, 'src')).map((file) => ({ name: basename(file), contents: readFileSync(file) })),
  ],
  'onnxruntime-node': async () => fileParts(join(packageDir('onnxruntime-node'), 'bin/napi-v6/linux/x64'), ['onnxruntime_binding.node', 'libonnxruntime.so.1']),
  'onnxruntime-web': async () =>
    fileParts(join(packageDir('onnxruntime-web'), 'dist'), ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']),
  'tfjs-tflite': async () => [
    ...fileParts(join(packageDir('@tensorflow/tfjs-core'), 'dist'), ['tf-core.min.js']),
    ...fileParts(join(packageDir('@tensorflow/tfjs-backend-cpu'), 'dist'), ['tf-backend-cpu.min.js']),
    ...fileParts(join(packageDir('@tensorflow/tfjs-tflite'), 'dist'), ['tf-tflite.es2017.min.js']),
    ...fileParts(join(packageDir('@tensorflow/tfjs-tflite'), 'wasm'), ['tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.wasm']),
  ],
  litert: async () => [
    await bundle(require.resolve('@litertjs/core'), '@litertjs/core bundled'),
    ...fileParts(join(packageDir('@litertjs/core'), 'wasm'), ['litert_wasm_internal.js', 'litert_wasm_internal.wasm']),
  ],
};

export async function shippedSizes(repoRoot: string): Promise<(ShippedSize | { runtime: string; unavailable: string })[]> {
  return Promise.all(
    Object.entries(RUNTIME_PARTS).map(async ([runtime, parts]) => {
      try {
        const found = await parts(repoRoot);
        return {
          runtime,
          files: found.map((part) => part.name),
          bytes: found.reduce((sum, part) => sum + part.contents.byteLength, 0),
          gzipBytes: found.reduce((sum, part) => sum + gzipSync(part.contents, { level: 9 }).byteLength, 0),
        };
      } catch (error) {
        return { runtime, unavailable: (error as Error).message.split('\n')[0]! };
      }
    }),
  );
}
