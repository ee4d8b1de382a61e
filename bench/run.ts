import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { InferenceSession, Tensor, decodeOnnxValue, readNpy, type Value } from '../src/node.js';
import { compareValues } from '../test/support/compare.js';
import { REPO_ROOT, SKIP_SHARED, HAVE_SHARED, sharedPath } from '../test/support/shared.js';

/**
 * `npm run bench`: edgerun beside onnxruntime-node (CPU, 1 thread) and onnxruntime-web (wasm, 1 thread) on
 * the same models, inputs and machine, runs interleaved round by round so drift hits all three alike.
 * Quotes medians and the median of per-round ratios; checks edgerun's outputs against onnxruntime-node's.
 */
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, filter: { type: 'string' } } });

interface BenchModel {
  name: string;
  file: string;
  feeds(): Record<string, Tensor>;
}

function pbInputs(folder: string, names: string[]): Record<string, Tensor> {
  return Object.fromEntries(names.map((name, i) => [name, decodeOnnxValue(readFileSync(`${folder}/input_${i}.pb`), undefined) as Tensor]));
}

const zeros = (dims: number[]) => new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
const sampleRate = () => new Tensor('int64', BigInt64Array.of(16000n), []);

const MODELS: BenchModel[] = [
  {
    name: 'mnist (onnx/models mnist-8)',
    file: 'real/onnx/mnist.onnx',
    feeds: () => ({ Input3: readNpy(readFileSync(sharedPath('real/cases/onnx-mnist-digits100/input_0.npy'))) }),
  },
  {
    name: 'silero VAD v5, one 32 ms chunk',
    file: 'real/onnx/silero_vad_v5.onnx',
    feeds: () => ({ input: readNpy(readFileSync(sharedPath('real/cases/onnx-silero-vad-v5-speech16k/input_40.npy'))), state: zeros([2, 1, 128]), sr: sampleRate() }),
  },
  {
    name: 'silero VAD v4, one 96 ms chunk',
    file: 'real/onnx/silero_vad_legacy.onnx',
    feeds: () => ({ input: readNpy(readFileSync(sharedPath('real/cases/onnx-silero-vad-legacy-speech16k/input_20.npy'))), sr: sampleRate(), h: zeros([2, 1, 64]), c: zeros([2, 1, 64]) }),
  },
  ...['mnist_cnn', 'lstm_classifier', 'tiny_bert_encoder', 'squeezenet1_1', 'mobilenet_v2'].map((name) => ({
    name: `${name} (PyTorch export)`,
    file: `models/${name}/model.onnx`,
    feeds: () => pbInputs(sharedPath(`models/${name}/test_data_set_0`), name === 'tiny_bert_encoder' ? ['input', 'attention_mask'] : ['input']),
  })),
];

type Runner = (feeds: Record<string, Tensor>) => Promise<Record<string, Value>>;

async function runners(model: BenchModel): Promise<Record<string, Runner>> {
  const path = sharedPath(model.file);
  const edgerun = await InferenceSession.create(path);
  const node = await ortNode.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const web = await ortWeb.InferenceSession.create(readFileSync(path), { executionProviders: ['wasm'] });
  const ortFeeds = <T>(make: (t: Tensor) => T, feeds: Record<string, Tensor>) => Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, make(t)]));
  const back = (outputs: Record<string, { type: string; data: unknown; dims: readonly number[] }>) =>
    Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
  return {
    edgerun: (feeds) => edgerun.run(feeds),
    'onnxruntime-node': async (feeds) => back(await node.run(ortFeeds((t) => new ortNode.Tensor(t.type as 'float32', t.data as Float32Array, t.dims), feeds))),
    'onnxruntime-web': async (feeds) => back(await web.run(ortFeeds((t) => new ortWeb.Tensor(t.type as 'float32', t.data as Float32Array, t.dims), feeds))),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  if (!HAVE_SHARED) {
    console.log(`bench skipped: ${SKIP_SHARED}`);
    return;
  }
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  const rounds = Number(args.rounds);
  const rows: string[][] = [];
  const report: Record<string, unknown> = {};
  for (const model of MODELS.filter((m) => existsSync(sharedPath(m.file)) && (!args.filter || m.name.includes(args.filter)))) {
    const feeds = model.feeds();
    const run = await runners(model);
    const names = Object.keys(run);
    const check = compareValues(Object.values(await run.edgerun!(feeds))[0], Object.values(await run['onnxruntime-node']!(feeds))[0]!);
    const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = -5; round < rounds; round++) {
      for (const name of names) {
        const started = performance.now();
        await run[name]!(feeds);
        if (round >= 0) times[name]!.push(performance.now() - started);
      }
    }
    const ratio = (peer: string) => median(times.edgerun!.map((t, i) => t / times[peer]![i]!));
    const medians = Object.fromEntries(names.map((name) => [name, median(times[name]!)]));
    report[model.name] = { medians, ratioVsNode: ratio('onnxruntime-node'), ratioVsWeb: ratio('onnxruntime-web'), outputsMatchNode: !check, mismatch: check };
    rows.push([
      model.name,
      ...names.map((name) => medians[name]!.toFixed(2)),
      `${ratio('onnxruntime-node').toFixed(1)}x`,
      `${ratio('onnxruntime-web').toFixed(1)}x`,
      check ? `NO: ${check}` : 'yes',
    ]);
    console.error(`${model.name}: done`);
  }
  const header = ['model', 'edgerun ms', 'ORT-node ms', 'ORT-web ms', 'edgerun / ORT-node', 'edgerun / ORT-web', 'outputs match ORT'];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`medians of ${rounds} interleaved rounds, 1 thread each; ratios are medians of per-round ratios (lower is faster for edgerun)`);
  const out = resolve(REPO_ROOT, 'reports/bench.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ generated: new Date().toISOString(), backend: 'reference', report }, null, 1));
}

await main();
