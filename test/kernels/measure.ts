import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { countAllocations } from '../support/allocations.js';
import { HAVE_SHARED, SKIP_SHARED, sharedPath } from '../support/shared.js';

/**
 * Measures the reference kernels on the shared image models, three ways (run from the built tree):
 *   node build/test/kernels/measure.js profile [--build DIR]   CPU time per op type, per run
 *   node build/test/kernels/measure.js alloc [--build DIR]     typed-array bytes allocated per run
 *   node build/test/kernels/measure.js compare --baseline DIR  this build, another build (e.g. main's
 *       `dist`) and onnxruntime-web (wasm, 1 thread) interleaved round by round in one process, wall and
 *       CPU time
 * DIR is a compiled edgerun tree holding node.js (default: this build's src).
 */
const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    build: { type: 'string' },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    models: { type: 'string', default: 'mobilenet_v2,squeezenet1_1' },
  },
});

/** The slice of the public API this script uses, as any edgerun build exposes it. */
interface EdgerunBuild {
  InferenceSession: { create(path: string): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, unknown>> }> };
  decodeOnnxValue(bytes: Uint8Array, type: undefined): unknown;
  supportedOps(): { domain: string; name: string; versions: number[] }[];
}
type Registry = { resolveOp(domain: string, name: string, opset: number): { kernel: (context: unknown) => unknown } | undefined };

const THIS_BUILD = resolve(import.meta.dirname, '../../src');

async function load(dir: string): Promise<{ api: EdgerunBuild; registry: Registry }> {
  const api = (await import(pathToFileURL(resolve(dir, 'node.js')).href)) as EdgerunBuild;
  const registry = (await import(pathToFileURL(resolve(dir, 'ops/registry.js')).href)) as Registry;
  return { api, registry };
}

function modelPath(name: string): string {
  return sharedPath(`models/${name}/model.onnx`);
}

function feedsOf(api: EdgerunBuild, name: string): Record<string, unknown> {
  return { input: api.decodeOnnxValue(readFileSync(sharedPath(`models/${name}/test_data_set_0/input_0.pb`)), undefined) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

type ConvContext = { attrs: { group: number }; tensor(index: number): { dims: readonly number[] } };

/** Which convolution kernel a Conv node exercises: depthwise, pointwise (1×1) or general. */
function convKind({ attrs, tensor }: ConvContext): string {
  if (attrs.group > 1 && attrs.group === tensor(0).dims[1]) return 'depthwise';
  return tensor(1).dims.slice(2).every((size) => size === 1) ? '1x1' : 'general';
}

/** Wraps every registered kernel with a timer that adds its CPU time to its op type's total. */
function timeKernels(api: EdgerunBuild, registry: Registry): Map<string, number> {
  const totals = new Map<string, number>();
  for (const op of api.supportedOps()) {
    for (const since of op.versions) {
      const def = registry.resolveOp(op.domain === 'ai.onnx' ? '' : op.domain, op.name, since)!;
      const kernel = def.kernel;
      def.kernel = (context) => {
        const usage = process.cpuUsage();
        const result = kernel(context);
        const used = process.cpuUsage(usage);
        const label = op.name === 'Conv' ? `Conv (${convKind(context as ConvContext)})` : op.name;
        totals.set(label, (totals.get(label) ?? 0) + (used.user + used.system) / 1000);
        return result;
      };
    }
  }
  return totals;
}

async function profile(dir: string, rounds: number): Promise<void> {
  const { api, registry } = await load(dir);
  const totals = timeKernels(api, registry);
  for (const name of args.models!.split(',')) {
    const session = await api.InferenceSession.create(modelPath(name));
    const feeds = feedsOf(api, name);
    for (let i = 0; i < 3; i++) await session.run(feeds);
    totals.clear();
    const usage = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await session.run(feeds);
    const used = process.cpuUsage(usage);
    const wall = (used.user + used.system) / 1000 / rounds;
    const rows = [...totals].sort((a, b) => b[1] - a[1]);
    const inKernels = rows.reduce((sum, [, ms]) => sum + ms, 0) / rounds;
    console.log(`${name}: ${wall.toFixed(1)} ms of CPU time per run (mean of ${rounds}), ${inKernels.toFixed(1)} ms in kernels`);
    console.log('| op type | ms per run | share of run |\n|---|---|---|');
    for (const [op, ms] of rows) console.log(`| ${op} | ${(ms / rounds).toFixed(2)} | ${((100 * ms) / rounds / wall).toFixed(1)} % |`);
    console.log(`| outside kernels | ${(wall - inKernels).toFixed(2)} | ${((100 * (wall - inKernels)) / wall).toFixed(1)} % |\n`);
  }
}


async function alloc(dir: string, rounds: number): Promise<void> {
  const counter = countAllocations();
  const { api } = await load(dir);
  for (const name of args.models!.split(',')) {
    const session = await api.InferenceSession.create(modelPath(name));
    const feeds = feedsOf(api, name);
    for (let i = 0; i < 2; i++) await session.run(feeds);
    const before = counter.bytes;
    for (let i = 0; i < rounds; i++) await session.run(feeds);
    console.log(`${name}: ${((counter.bytes - before) / rounds / 2 ** 20).toFixed(1)} MiB of typed arrays allocated per run`);
  }
}

async function compare(baselineDir: string, rounds: number): Promise<void> {
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  const builds = { baseline: await load(baselineDir), 'this build': await load(THIS_BUILD) };
  console.log('| model | baseline ms | this build ms | onnxruntime-web ms | speed-up | this build / ORT-web | baseline / ORT-web |\n|---|---|---|---|---|---|---|');
  for (const name of args.models!.split(',')) {
    const runners: Record<string, () => Promise<unknown>> = {};
    for (const [label, { api }] of Object.entries(builds)) {
      const session = await api.InferenceSession.create(modelPath(name));
      const feeds = feedsOf(api, name);
      runners[label] = () => session.run(feeds);
    }
    const web = await ortWeb.InferenceSession.create(readFileSync(modelPath(name)), { executionProviders: ['wasm'] });
    const input = feedsOf(builds['this build'].api, name).input as { data: Float32Array; dims: number[] };
    const webFeeds = { [web.inputNames[0]!]: new ortWeb.Tensor('float32', input.data, input.dims) };
    runners['onnxruntime-web'] = () => web.run(webFeeds);
    const wall: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((label) => [label, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((label) => [label, []]));
    for (let round = -3; round < rounds; round++) {
      for (const [label, run] of Object.entries(runners)) {
        const started = performance.now();
        const usage = process.cpuUsage();
        await run();
        const used = process.cpuUsage(usage);
        if (round < 0) continue;
        wall[label]!.push(performance.now() - started);
        cpu[label]!.push((used.user + used.system) / 1000);
      }
    }
    for (const [clock, times] of [['wall', wall], ['cpu', cpu]] as const) {
      const ratio = (a: string, b: string) => median(times[a]!.map((t, i) => t / times[b]![i]!));
      const ms = (label: string) => median(times[label]!).toFixed(1);
      console.log(
        `| ${name} (${clock}) | ${ms('baseline')} | ${ms('this build')} | ${ms('onnxruntime-web')} | ${ratio('baseline', 'this build').toFixed(2)}x | ` +
          `${ratio('this build', 'onnxruntime-web').toFixed(2)}x | ${ratio('baseline', 'onnxruntime-web').toFixed(2)}x |`,
      );
    }
  }
  console.log(`medians of ${rounds} interleaved rounds (ratios: medians of per-round ratios), one thread each; cpu is the process' CPU time per run, which other processes on a busy machine do not inflate`);
}

if (!HAVE_SHARED) {
  console.log(`measure skipped: ${SKIP_SHARED}`);
} else {
  const rounds = Number(args.rounds);
  const dir = args.build ? resolve(args.build) : THIS_BUILD;
  const mode = positionals[0] ?? 'profile';
  if (mode === 'profile') await profile(dir, rounds);
  else if (mode === 'alloc') await alloc(dir, rounds);
  else if (mode === 'compare') await compare(resolve(args.baseline ?? THIS_BUILD), rounds);
  else throw new Error(`unknown mode '${mode}': profile, alloc or compare`);
}
