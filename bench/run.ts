import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertFile } from '../scripts/onnx-to-tflite.js';
import {
  DEFAULT_WARMUPS,
  RUNTIMES,
  benchInputs,
  benchModel,
  detailTable,
  markdown,
  parseCounts,
  summaryTable,
  type BenchModel,
  type ModelResult,
} from '../src/cli/bench.js';
import { readNpy } from '../src/node.js';
import { missingPrerequisite } from '../test/support/prerequisites.js';
import { HAVE_SHARED, REPO_ROOT, SKIP_SHARED, sharedPath } from '../test/support/shared.js';
import { shippedSizes } from './size.js';

/**
 * `npm run bench [-- --json] [--threads 1,2] [--runs N] [--models a,b] [--provider wasm]`: edgerun beside
 * onnxruntime-node, onnxruntime-web and the TFLite peers on the shared models, one and two threads, plus
 * the shipped size of each. The harness (fresh process per runtime, interleaved rounds) is `edgerun bench`'s.
 */
const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,2' },
    runs: { type: 'string', default: '30' },
    warmups: { type: 'string', default: String(DEFAULT_WARMUPS) },
    models: { type: 'string' },
    provider: { type: 'string' },
    optimization: { type: 'string' },
    'allow-skip': { type: 'boolean', default: false },
  },
});

const ONNX_MODELS = ['mobilenet_v2', 'squeezenet1_1', 'tiny_bert_encoder', 'lstm_classifier', 'mnist_cnn'];
/**
 * The TFLite peers run each ONNX model's float32 .tflite twin from scripts/onnx-to-tflite.ts (same weights,
 * same inputs: NCHW images, token ids as int32), so their ratios are like for like. The twins are written at
 * bench time into reports/tflite/ (not committed), from the current converter and model, so they never go stale.
 */
const TWIN_DIR = resolve(REPO_ROOT, 'reports/tflite');
/**
 * A real MobileNetV2 1.0/224 as published for TFLite: uint8, so its times say what the TFLite peers do on
 * that architecture quantized, not a like-for-like ratio with the float rows.
 */
const TFLITE_MODEL = 'mobilenet_v2_quant_tflite';
const TFLITE_FILE = 'real/tflite/mobilenet_v2_1.0_224_quant.tflite';
const TFLITE_INPUT = 'real/cases/tflite-mobilenet_v2_quant-cat/input_0.npy';
const modelFile = (name: string) => sharedPath(name === TFLITE_MODEL ? TFLITE_FILE : `models/${name}/model.onnx`);

async function loadModel(name: string): Promise<BenchModel> {
  if (name === TFLITE_MODEL) {
    const input = readNpy(readFileSync(sharedPath(TFLITE_INPUT)));
    return {
      name: 'mobilenet_v2 1.0/224 uint8 (.tflite only)',
      tflite: modelFile(name),
      inputs: [{ name: 'input', type: input.type, dims: [...input.dims], data: input.data as Uint8Array }],
    };
  }
  const onnx = modelFile(name);
  return { name, onnx, tflite: tfliteTwin(name, onnx), inputs: await benchInputs(onnx) };
}

/** The model's .tflite twin, converted now; undefined (the TFLite peers then show 'no .tflite') if conversion fails. */
function tfliteTwin(name: string, onnx: string): string | undefined {
  try {
    return convertFile(onnx, resolve(TWIN_DIR, `${name}.tflite`));
  } catch (error) {
    console.error(`bench: no .tflite twin of ${name}: ${(error as Error).message}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  if (!HAVE_SHARED) missingPrerequisite('bench', SKIP_SHARED as string);
  const known = [...ONNX_MODELS, TFLITE_MODEL];
  const names = args.models ? args.models.split(',').map((name) => name.trim()) : known;
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length) {
    console.error(`bench: unknown model ${unknown.join(', ')}; models are ${known.join(', ')}`);
    process.exit(2);
  }
  const missing = names.map(modelFile).filter((file) => !existsSync(file));
  if (missing.length) missingPrerequisite('bench', `missing ${missing.join(', ')}`);
  let threadCounts: number[];
  let runs: number;
  let warmups: number;
  try {
    threadCounts = parseCounts(args.threads!, '--threads');
    [runs] = parseCounts(args.runs!, '--runs') as [number];
    [warmups] = parseCounts(args.warmups!, '--warmups', 0) as [number];
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exit(2);
  }
  const edgerun = {
    ...(args.provider ? { executionProviders: args.provider.split(',') } : {}),
    ...(args.optimization ? { graphOptimizationLevel: args.optimization } : {}),
  };
  const started = performance.now();
  const results: ModelResult[] = [];
  for (const name of names) {
    const model = await loadModel(name);
    for (const threads of threadCounts) {
      results.push(await benchModel(model, { threads, runs, warmups, runtimes: RUNTIMES, edgerun }));
      console.error(`bench: ${model.name}, ${threads} thread(s) done after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  const sizes = await shippedSizes(REPO_ROOT);
  const seconds = (performance.now() - started) / 1000;
  const report = {
    generated: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    seconds,
    settings: { runs, warmups, threads: threadCounts, edgerun },
    results,
    sizes,
  };
  const out = resolve(REPO_ROOT, 'reports/bench.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  const mismatches = results.filter((result) => result.outputCheck && !result.outputCheck.matches);
  const twinMismatches = results.flatMap((result) => (result.peerChecks ?? []).filter((check) => !check.matches).map((check) => `${check.runtime} on ${result.model} (${check.detail})`));
  if (args.json) {
    console.log(JSON.stringify(report, null, 1));
  } else {
    const kb = (bytes: number) => (bytes / 1024).toFixed(0);
    const sizeRows = sizes.map((size) => ('unavailable' in size ? [size.runtime, size.unavailable, '', ''] : [size.runtime, size.files.join(' + '), kb(size.bytes), kb(size.gzipBytes)]));
    console.log(`## Speed\n\n${summaryTable(results)}\n\n## Every runtime\n\n${detailTable(results)}\n\n## Shipped size\n\n${markdown(['runtime', 'files', 'KB', 'KB gzipped'], sizeRows)}\n`);
    console.log(`${runs} interleaved rounds after ${warmups} warm-ups; each runtime in its own process with WebAssembly relaxed SIMD on (as in Chromium and Node 22); ratios are medians of per-round ratios (below 1: edgerun is faster)`);
    console.log(`took ${seconds.toFixed(0)} s; JSON in reports/bench.json`);
  }
  if (mismatches.length) {
    console.error(`bench: edgerun's outputs differ from the reference on ${mismatches.map((result) => `${result.model} (${result.threads} thread)`).join(', ')}`);
    process.exitCode = 1;
  }
  if (twinMismatches.length) {
    console.error(`bench: a .tflite twin computes something else than its ONNX model: ${twinMismatches.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
