import type { Command } from 'commander';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { relaxedSimdFlags } from './relaxed-simd.js';

/**
 * `edgerun bench MODEL`, and the harness behind `npm run bench`: edgerun beside its peers on the same model,
 * inputs and machine. Every runtime runs in a fresh process of its own (one runtime's JIT, heap and threads
 * never touch another's numbers, and its peak RSS is its own); the parent drives those processes round by
 * round, one inference each in turn, so machine drift hits all runtimes alike. Ratios are medians of
 * per-round ratios, which cancel most of that drift.
 */

/**
 * Untimed runs before the timed ones, so every runtime is timed in its steady state (the first inference is
 * reported on its own). V8 keeps optimizing a runtime's per-run JavaScript for tens of runs, and deoptimizes
 * and reoptimizes some of it on the way (`--trace-opt --trace-deopt`), on background threads that take a
 * core from a two-thread pool. Measured on edgerun, runs 20 ms apart: tiny_bert_encoder 1.3-2.0 ms over
 * runs 0-20, 1.15-1.25 ms over 40-80, 1.05-1.1 ms after 80; mobilenet_v2 on two threads, median of 30
 * paused runs, 10.7-13.5 ms after 5 warm-ups, 9.9 ms after 30.
 */
export const DEFAULT_WARMUPS = 100;

export const RUNTIMES = ['edgerun', 'onnxruntime-node', 'onnxruntime-web', 'tfjs-tflite', 'litert'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
const TFLITE_RUNTIMES: readonly RuntimeName[] = ['tfjs-tflite', 'litert'];

/** A tensor as it crosses the process boundary (structured clone keeps typed arrays). */
export interface PlainTensor {
  name: string;
  type: string;
  dims: number[];
  data: ArrayLike<number | bigint> & { length: number };
}

export interface BenchModel {
  name: string;
  /** The ONNX file edgerun and onnxruntime run; absent when the model exists only as .tflite. */
  onnx?: string;
  /** The same network as .tflite for the TFLite peers; absent when there is none. */
  tflite?: string;
  inputs: PlainTensor[];
}

export interface EdgerunOptions {
  executionProviders?: string[];
  graphOptimizationLevel?: string;
}

export interface BenchSettings {
  threads: number;
  warmups: number;
  runs: number;
  runtimes: readonly RuntimeName[];
  edgerun: EdgerunOptions;
}

export interface Stats {
  medianMs: number;
  p90Ms: number;
  /** Interquartile range over the median: 0.05 means the middle half of the runs lies within 5 % of it. */
  spread: number;
  minMs: number;
}

export interface RuntimeResult {
  runtime: RuntimeName;
  /** Why this runtime has no numbers (not installed, no .tflite, cannot run in Node, failed), else undefined. */
  unavailable?: string;
  /** What ran: the execution provider or build, and the thread count it was given. */
  ran?: string;
  /** What the runtime warned about while loading and on its first run (e.g. threads it could not give). */
  warnings?: string[];
  /** Importing the runtime (and compiling its wasm where that is a step of its own). */
  runtimeLoadMs?: number;
  sessionCreateMs?: number;
  firstInferenceMs?: number;
  stats?: Stats;
  peakRssMb?: number;
  /** RSS of the bare Node process before the runtime was imported, for scale. */
  baselineRssMb?: number;
  /** Median of per-round ratios edgerun / this runtime (below 1: edgerun is faster). */
  edgerunRatio?: number;
  timesMs?: number[];
}

export interface ModelResult {
  model: string;
  threads: number;
  runs: number;
  warmups: number;
  results: RuntimeResult[];
  /** edgerun's outputs against the reference runtime's: undefined when not checked. */
  outputCheck?: OutputCheck;
  /**
   * The TFLite peers' outputs against onnxruntime-node's, where both ran: a .tflite converted from the ONNX
   * file must compute the same function, or its times compare nothing.
   */
  peerChecks?: (OutputCheck & { runtime: RuntimeName })[];
  /**
   * With more than one thread: edgerun on one thread in a process of its own, in the same rounds, and the
   * median of per-round ratios of its time to the threaded edgerun's (above 1: the threads pay off).
   */
  oneThread?: { stats: Stats; speedup: number } | { unavailable: string };
}

export interface OutputCheck {
  against: RuntimeName;
  matches: boolean;
  detail: string;
  /** Largest |actual - expected| over every float output element (Infinity when shapes differ). */
  maxAbsDiff: number;
}

// ---------------------------------------------------------------------------------------------- statistics

/** The q-quantile (0..1) by linear interpolation between closest ranks, as numpy's default does. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export function summarize(timesMs: readonly number[]): Stats {
  const middle = median(timesMs);
  return {
    medianMs: middle,
    p90Ms: quantile(timesMs, 0.9),
    spread: (quantile(timesMs, 0.75) - quantile(timesMs, 0.25)) / middle,
    minMs: Math.min(...timesMs),
  };
}

/** Median over rounds of a[i] / b[i]: each round's pair ran back to back, so drift cancels in the ratio. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`paired ratio of ${a.length} and ${b.length} times`);
  return median(a.map((time, i) => time / b[i]!));
}

/** Why two output lists differ beyond tolerance (floats |a-b| <= atol + rtol|b|, integers by 1 step), or undefined. */
export function compareOutputs(actual: readonly PlainTensor[], expected: readonly PlainTensor[], rtol = 1e-3, atol = 1e-4): string | undefined {
  if (actual.length !== expected.length) return `${actual.length} outputs, expected ${expected.length}`;
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const e = expected[k]!;
    if (a.dims.join() !== e.dims.join()) return `output ${k}: dims [${a.dims}], expected [${e.dims}]`;
    const integer = !e.type.startsWith('float');
    let worst = 0;
    let worstAt = -1;
    for (let i = 0; i < e.data.length; i++) {
      const want = Number(e.data[i]);
      const got = Number(a.data[i]);
      const excess = Math.abs(got - want) - (integer ? 1 : atol + rtol * Math.abs(want));
      if (Number.isNaN(got) !== Number.isNaN(want) || excess > worst) {
        worst = Number.isNaN(excess) ? Infinity : excess;
        worstAt = i;
      }
    }
    if (worstAt >= 0) return `output ${k} (${e.name}) element ${worstAt}: ${Number(a.data[worstAt])}, expected ${Number(e.data[worstAt])}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------- parent side

type ChildRequest =
  | { kind: 'load'; runtime: RuntimeName; model: BenchModel; threads: number; edgerun: EdgerunOptions }
  | { kind: 'run'; count: number }
  | { kind: 'finish' };
type ChildReply =
  | { kind: 'ready'; ran: string; warnings: string[]; runtimeLoadMs: number; sessionCreateMs: number; firstInferenceMs: number; outputs: PlainTensor[]; baselineRssKb: number }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'times'; timesMs: number[] }
  | { kind: 'finished'; maxRssKb: number };

const THIS_FILE = fileURLToPath(import.meta.url);
/**
 * Pause before each timed inference. Thread pools spin for a while after their work before they block
 * (onnxruntime-node with two threads spins 40-45 ms after an inference, onnxruntime-web about 18 ms,
 * edgerun's workers up to 5 ms); without a pause the runtime that just ran takes a core from the one timed
 * next, which on a two-core machine halves its threads. With 50 ms, edgerun's two-thread speed-up on
 * squeezenet1_1 beside onnxruntime-node alone was 1.22x, against 1.52x-1.64x with no peer.
 */
const SETTLE_MS = 100;
/** The key of edgerun's one-thread process, run beside the threaded one to measure what threads give. */
const THREAD_BASELINE = 'edgerun, 1 thread';
/**
 * Runtimes see the WebAssembly features the bench was started with, and relaxed SIMD for every runtime
 * alike, so each picks the build a browser would load (LiteRT.js its relaxed one, edgerun its fused
 * multiply-add kernels); the parent's other flags (`--eval`, `--input-type`, test-runner flags) would break
 * or change a runtime's process.
 */
const WASM_FLAGS = [...new Set([...process.execArgv.filter((flag) => /^--(experimental-)?wasm/.test(flag)), ...relaxedSimdFlags()])];

/** One runtime's process, spoken to one request at a time. */
class RuntimeProcess {
  private readonly child: ChildProcess;
  private readonly log: string[] = [];
  private pending?: { resolve(reply: ChildReply): void; reject(error: Error): void };

  constructor(readonly runtime: RuntimeName) {
    this.child = fork(THIS_FILE, ['--bench-child'], { execArgv: WASM_FLAGS, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // Peers log freely (LiteRT prints INFO lines); keep the tail for error messages, out of the report.
    const keep = (chunk: Buffer) => this.log.push(...chunk.toString().split('\n').filter(Boolean).slice(-5));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (reply: ChildReply) => this.settle((pending) => pending.resolve(reply)));
    this.child.on('exit', (code, signal) =>
      this.settle((pending) => pending.reject(new Error(`exited (${signal ?? code}): ${this.log.slice(-3).join(' / ') || 'no output'}`))),
    );
  }

  request(message: ChildRequest): Promise<ChildReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(message);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }

  private settle(action: (pending: NonNullable<RuntimeProcess['pending']>) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) action(pending);
  }
}

/** Why `runtime` cannot run `model` at all, before any process is started. */
function cannotRun(runtime: RuntimeName, model: BenchModel): string | undefined {
  if (TFLITE_RUNTIMES.includes(runtime)) return model.tflite ? undefined : 'no .tflite';
  if (runtime === 'edgerun') return model.onnx || model.tflite ? undefined : 'no model file';
  return model.onnx ? undefined : 'no .onnx';
}

/**
 * The order of `round`: a shuffle seeded by the round number, so a run is reproducible and each runtime
 * follows every other in turn. A rotation put every runtime behind the same neighbour in every round, so
 * whatever that neighbour left running (threads still spinning, the background tier-up of a large wasm
 * module, about a second of one core after onnxruntime-web's warm-ups) always landed on the same runtime.
 */
export function roundOrder<T>(runtimes: readonly T[], round: number): T[] {
  const order = [...runtimes];
  let seed = (round + 1) * 0x9e3779b9;
  for (let index = order.length - 1; index > 0; index--) {
    // xorshift32: enough spread for a handful of runtimes.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const other = (seed >>> 0) % (index + 1);
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}

/**
 * Benchmarks `model` on every runtime in `settings`: loads each in its own process, warms each up, then
 * `runs` rounds of one inference per runtime, in an order shuffled each round (roundOrder).
 */
export async function benchModel(model: BenchModel, settings: BenchSettings, onRound?: (done: number, total: number) => void): Promise<ModelResult> {
  const results = new Map<RuntimeName, RuntimeResult>();
  /** Processes by runtime, and edgerun on one thread (THREAD_BASELINE) when threads are measured. */
  const live = new Map<RuntimeName | typeof THREAD_BASELINE, RuntimeProcess>();
  const outputs = new Map<RuntimeName, PlainTensor[]>();
  const baselineTimes: number[] = [];
  let baselineUnavailable: string | undefined;
  try {
    for (const runtime of settings.runtimes) {
      const reason = cannotRun(runtime, model);
      if (reason) {
        results.set(runtime, { runtime, unavailable: reason });
        continue;
      }
      const child = new RuntimeProcess(runtime);
      const reply = await child
        .request({ kind: 'load', runtime, model, threads: settings.threads, edgerun: settings.edgerun })
        .catch((error: Error): ChildReply => ({ kind: 'unavailable', reason: `failed: ${error.message}` }));
      if (reply.kind !== 'ready') {
        child.kill();
        results.set(runtime, { runtime, unavailable: reply.kind === 'unavailable' ? reply.reason : `unexpected reply ${reply.kind}` });
        continue;
      }
      live.set(runtime, child);
      outputs.set(runtime, reply.outputs);
      results.set(runtime, {
        runtime,
        ran: reply.ran,
        warnings: reply.warnings,
        runtimeLoadMs: reply.runtimeLoadMs,
        sessionCreateMs: reply.sessionCreateMs,
        firstInferenceMs: reply.firstInferenceMs,
        baselineRssMb: reply.baselineRssKb / 1024,
        timesMs: [],
      });
    }
    if (settings.threads > 1 && live.has('edgerun')) {
      const child = new RuntimeProcess('edgerun');
      const reply = await child
        .request({ kind: 'load', runtime: 'edgerun', model, threads: 1, edgerun: settings.edgerun })
        .catch((error: Error): ChildReply => ({ kind: 'unavailable', reason: `failed: ${error.message}` }));
      if (reply.kind === 'ready') live.set(THREAD_BASELINE, child);
      else {
        child.kill();
        baselineUnavailable = reply.kind === 'unavailable' ? reply.reason : `unexpected reply ${reply.kind}`;
      }
    }
    /** A runtime that dies or throws mid-run leaves the table with its reason; the others carry on. */
    const drive = async (runtime: RuntimeName | typeof THREAD_BASELINE, request: ChildRequest): Promise<ChildReply | undefined> => {
      const child = live.get(runtime);
      if (!child) return undefined;
      try {
        return await child.request(request);
      } catch (error) {
        child.kill();
        live.delete(runtime);
        const unavailable = `failed while running: ${(error as Error).message}`;
        if (runtime === THREAD_BASELINE) baselineUnavailable = unavailable;
        else results.set(runtime, { runtime, unavailable });
        return undefined;
      }
    };
    const timesOf = (runtime: RuntimeName | typeof THREAD_BASELINE) => (runtime === THREAD_BASELINE ? baselineTimes : results.get(runtime)!.timesMs!);
    const order = [...live.keys()];
    for (const runtime of order) await drive(runtime, { kind: 'run', count: settings.warmups });
    for (let round = 0; round < settings.runs; round++) {
      for (const runtime of roundOrder(order, round)) {
        // The previous runtime's thread pool may still be spinning on a core: let it go to sleep first.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const reply = await drive(runtime, { kind: 'run', count: 1 });
        if (reply?.kind === 'times') timesOf(runtime).push(...reply.timesMs);
      }
      onRound?.(round + 1, settings.runs);
    }
    for (const runtime of order) {
      const reply = await drive(runtime, { kind: 'finish' });
      if (reply?.kind !== 'finished' || runtime === THREAD_BASELINE) continue;
      const result = results.get(runtime)!;
      result.peakRssMb = reply.maxRssKb / 1024;
      result.stats = summarize(result.timesMs!);
    }
  } finally {
    for (const child of live.values()) child.kill();
  }
  const edgerunTimes = results.get('edgerun')?.timesMs;
  for (const result of results.values()) {
    if (edgerunTimes?.length && result.timesMs?.length) result.edgerunRatio = pairedRatio(edgerunTimes, result.timesMs);
  }
  const oneThread: ModelResult['oneThread'] =
    settings.threads <= 1
      ? undefined
      : baselineTimes.length > 0 && baselineTimes.length === edgerunTimes?.length
        ? { stats: summarize(baselineTimes), speedup: pairedRatio(baselineTimes, edgerunTimes) }
        : { unavailable: baselineUnavailable ?? 'edgerun did not run' };
  return {
    model: model.name,
    threads: settings.threads,
    runs: settings.runs,
    warmups: settings.warmups,
    results: settings.runtimes.map((runtime) => results.get(runtime)!),
    ...(oneThread ? { oneThread } : {}),
    outputCheck: checkOutputs(outputs, 'edgerun', ['onnxruntime-node', 'tfjs-tflite']),
    peerChecks: TFLITE_RUNTIMES.flatMap((runtime) => {
      const check = checkOutputs(outputs, runtime, ['onnxruntime-node']);
      return check ? [{ runtime, ...check }] : [];
    }),
  };
}

/** `runtime`'s outputs against the first of `references` that ran (edgerun: onnxruntime-node, else TFLite itself). */
function checkOutputs(outputs: Map<RuntimeName, PlainTensor[]>, runtime: RuntimeName, references: readonly RuntimeName[]): OutputCheck | undefined {
  const mine = outputs.get(runtime);
  const against = references.find((reference) => outputs.has(reference));
  if (!mine || !against) return undefined;
  const problem = compareOutputs(mine, outputs.get(against)!);
  const maxAbsDiff = maxAbsDifference(mine, outputs.get(against)!);
  return { against, matches: !problem, maxAbsDiff, detail: problem ?? 'within rtol 1e-3, atol 1e-4 (integers: 1 step)' };
}

/** The largest |a - e| over all elements of all outputs; Infinity when their count or dims differ or a NaN is on one side only. */
export function maxAbsDifference(actual: readonly PlainTensor[], expected: readonly PlainTensor[]): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  expected.forEach((e, k) => {
    const a = actual[k]!;
    if (a.dims.join() !== e.dims.join()) worst = Infinity;
    for (let i = 0; i < e.data.length && worst < Infinity; i++) {
      const got = Number(a.data[i]);
      const want = Number(e.data[i]);
      const difference = Number.isNaN(got) && Number.isNaN(want) ? 0 : Math.abs(got - want);
      worst = Number.isNaN(difference) ? Infinity : Math.max(worst, difference);
    }
  });
  return worst;
}

// ---------------------------------------------------------------------------------------------- inputs

/**
 * The inputs for an ONNX model: `test_data_set_0/input_<i>.pb` beside it when present, else made from the
 * model's input metadata (symbolic dims as 1; floats in [0, 1) from a fixed seed, integers 1).
 */
export async function benchInputs(modelPath: string): Promise<PlainTensor[]> {
  const { InferenceSession, decodeOnnxValue, readNpy } = await import('../node.js');
  const session = await InferenceSession.create(modelPath);
  const folder = join(dirname(resolve(modelPath)), 'test_data_set_0');
  const fromFile = (index: number) => {
    const pb = join(folder, `input_${index}.pb`);
    const npy = join(folder, `input_${index}.npy`);
    if (existsSync(pb)) return decodeOnnxValue(readFileSync(pb), undefined);
    return existsSync(npy) ? readNpy(readFileSync(npy)) : undefined;
  };
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return session.inputMetadata.map((input, index) => {
    const stored = fromFile(index);
    if (stored && !Array.isArray(stored) && stored !== null) {
      return { name: input.name, type: stored.type, dims: [...stored.dims], data: stored.data as PlainTensor['data'] };
    }
    const dims = input.shape.map((dim) => (typeof dim === 'number' ? dim : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = input.type === 'float32' ? Float32Array.from({ length: size }, random) : input.type === 'int64' ? new BigInt64Array(size).fill(1n) : new Int32Array(size).fill(1);
    return { name: input.name, type: input.type, dims, data };
  });
}

// ---------------------------------------------------------------------------------------------- tables

const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '' : value.toFixed(digits));

/** One row per runtime: the full figures. */
export function detailTable(models: readonly ModelResult[]): string {
  const header = ['model', 'threads', 'runtime', 'ran', 'median ms', 'p90 ms', 'spread (IQR/median)', 'runtime load ms', 'session create ms', 'first inference ms', 'peak RSS MB', 'edgerun / runtime'];
  const rows = models.flatMap((model) =>
    model.results.map((result) =>
      result.unavailable
        ? [model.model, String(model.threads), result.runtime, result.unavailable, '', '', '', '', '', '', '', '']
        : [
            model.model,
            String(model.threads),
            result.runtime,
            [result.ran, ...(result.warnings ?? []).map((warning) => `warned: ${warning}`)].join('; '),
            fixed(result.stats?.medianMs, 2),
            fixed(result.stats?.p90Ms, 2),
            `${fixed((result.stats?.spread ?? 0) * 100)} %`,
            fixed(result.runtimeLoadMs),
            fixed(result.sessionCreateMs),
            fixed(result.firstInferenceMs),
            fixed(result.peakRssMb, 0),
            result.runtime === 'edgerun' || result.edgerunRatio === undefined ? '' : `${fixed(result.edgerunRatio, 2)}x`,
          ],
    ),
  );
  return markdown(header, rows);
}

/** One row per model and thread count: edgerun's median, its ratio to each peer, and the output check. */
export function summaryTable(models: readonly ModelResult[]): string {
  const peers = RUNTIMES.filter((runtime) => runtime !== 'edgerun' && models.some((model) => model.results.some((result) => result.runtime === runtime)));
  const threaded = models.some((model) => model.oneThread);
  const header = ['model', 'threads', 'edgerun ms', ...(threaded ? ['speed-up over 1 thread'] : []), ...peers.map((peer) => `edgerun / ${peer}`), 'outputs vs reference'];
  const rows = models.map((model) => {
    const find = (runtime: RuntimeName) => model.results.find((result) => result.runtime === runtime);
    const edgerun = find('edgerun');
    const check = model.outputCheck;
    return [
      model.model,
      String(model.threads),
      edgerun?.unavailable ?? fixed(edgerun?.stats?.medianMs, 2),
      ...(threaded ? [speedupCell(model.oneThread)] : []),
      ...peers.map((peer) => {
        const result = find(peer);
        if (!result || result.unavailable) return result?.unavailable ?? '';
        const ratio = result.edgerunRatio === undefined ? `no ratio (${peer} ${fixed(result.stats?.medianMs, 2)} ms)` : `${fixed(result.edgerunRatio, 2)}x`;
        const peerCheck = model.peerChecks?.find((check) => check.runtime === peer);
        return peerCheck && !peerCheck.matches ? `${ratio} (**its outputs differ** from ${peerCheck.against}: ${peerCheck.detail})` : ratio;
      }),
      check ? `${check.matches ? 'match' : '**MISMATCH**'} (${check.against}${check.matches ? '' : `: ${check.detail}`})` : 'not checked',
    ];
  });
  return markdown(header, rows);
}

/** The one-thread comparison of a threaded row: the speed-up, or why there is none ('' on one-thread rows). */
function speedupCell(oneThread: ModelResult['oneThread']): string {
  if (!oneThread) return '';
  return 'unavailable' in oneThread ? oneThread.unavailable : `${fixed(oneThread.speedup, 2)}x (1 thread ${fixed(oneThread.stats.medianMs, 2)} ms)`;
}

export function markdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------- command

/** Parses "1,2" into [1, 2], refusing anything but whole numbers from `minimum` up. */
export function parseCounts(text: string, what: string, minimum = 1): number[] {
  const counts = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  if (counts.some((count) => !Number.isInteger(count) || count < minimum)) {
    throw new RangeError(`${what} takes whole numbers from ${minimum} up, separated by commas; got '${text}'`);
  }
  return counts;
}

interface BenchCommandOptions {
  json?: boolean;
  runs: string;
  warmups: string;
  threads: string;
  provider?: string;
  optimization?: string;
  peers: string;
  tflite?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark edgerun on MODEL beside the peer runtimes installed (onnxruntime-node, onnxruntime-web, TFLite): a fresh process each, interleaved runs')
    .argument('<model>', 'an .onnx file (inputs from test_data_set_0 beside it when present, else generated)')
    .option('--json', 'print the results as JSON')
    .option('--runs <n>', 'timed runs per runtime (at least 30 for a median worth quoting)', '30')
    .option('--warmups <n>', 'untimed runs first', String(DEFAULT_WARMUPS))
    .option('--threads <list>', 'thread counts to measure, e.g. 1,2', '1')
    .option('--provider <names>', "edgerun execution providers in order, e.g. 'wasm' or 'reference' (default: the session's choice)")
    .option('--optimization <level>', 'graphOptimizationLevel passed to edgerun')
    .option('--peers <list>', `peers to run beside edgerun (${RUNTIMES.slice(1).join(', ')}), or 'none'`, RUNTIMES.slice(1).join(','))
    .option('--tflite <file>', 'the same model as .tflite, for the TFLite peers')
    .action(async (modelPath: string, options: BenchCommandOptions) => {
      const { UsageError, printJson } = await import('./output.js');
      const { progress } = await import('./progress.js');
      let threadCounts: number[];
      let runs: number;
      let warmups: number;
      try {
        threadCounts = parseCounts(options.threads, '--threads');
        [runs] = parseCounts(options.runs, '--runs') as [number];
        [warmups] = parseCounts(options.warmups, '--warmups', 0) as [number];
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const peers = options.peers === 'none' ? [] : options.peers.split(',').map((peer) => peer.trim());
      const unknown = peers.filter((peer) => !(RUNTIMES as readonly string[]).includes(peer) || peer === 'edgerun');
      if (unknown.length) throw new UsageError(`unknown peer ${unknown.join(', ')}; peers are ${RUNTIMES.slice(1).join(', ')}`);
      const model: BenchModel = { name: modelPath, onnx: modelPath, tflite: options.tflite, inputs: await benchInputs(modelPath) };
      const edgerun: EdgerunOptions = {
        ...(options.provider ? { executionProviders: options.provider.split(',') } : {}),
        ...(options.optimization ? { graphOptimizationLevel: options.optimization } : {}),
      };
      const results: ModelResult[] = [];
      for (const threads of threadCounts) {
        const bar = progress(`${model.name}, ${threads} thread${threads > 1 ? 's' : ''}`, options.json);
        try {
          results.push(await benchModel(model, { threads, runs, warmups, runtimes: ['edgerun', ...(peers as RuntimeName[])], edgerun }, (done, total) => bar.update(done, total)));
        } finally {
          bar.stop();
        }
      }
      if (options.json) {
        printJson({ results });
        return;
      }
      process.stdout.write(`${summaryTable(results)}\n\n${detailTable(results)}\n`);
      process.stdout.write(`${runs} interleaved rounds after ${warmups} warm-ups, each runtime in its own process with WebAssembly relaxed SIMD on (as in Chromium and Node 22); ratios are medians of per-round ratios (below 1: edgerun is faster)\n`);
      if (results.some((result) => result.outputCheck && !result.outputCheck.matches)) process.exitCode = 1;
    });
}

// ---------------------------------------------------------------------------------------------- child side

interface LoadedRuntime {
  ran: string;
  /** One inference: feed the inputs, run, and read every output back into JavaScript. */
  infer(): Promise<PlainTensor[]> | PlainTensor[];
}

/**
 * Imports a runtime (and compiles its wasm where that is separate), then returns what creates the session:
 * the two are timed apart, so "session create" is the model's cost, not the module's.
 */
type Loader = (model: BenchModel, threads: number, options: EdgerunOptions) => Promise<() => Promise<LoadedRuntime>>;

/** Thrown by a loader for a runtime that cannot run here; its message becomes the table cell. */
class Unavailable extends Error {}

const require = createRequire(import.meta.url);

/** The folder of an installed package (found through its entry point, as some export no package.json). */
export function packageDir(name: string): string {
  let folder: string;
  try {
    folder = dirname(fileURLToPath(import.meta.resolve(name)));
  } catch {
    throw new Unavailable('not installed');
  }
  const isRoot = (candidate: string) => existsSync(join(candidate, 'package.json')) && (JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8')) as { name?: string }).name === name;
  while (!isRoot(folder) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

const threadsAsked = (threads: number) => `${threads} thread${threads > 1 ? 's' : ''} asked`;

const LOADERS: Record<RuntimeName, Loader> = {
  edgerun: async (model, threads, options) => {
    const { InferenceSession, Tensor } = await import('../node.js');
    const feeds = Object.fromEntries(model.inputs.map((input) => [input.name, new Tensor(input.type as 'float32', input.data as Float32Array, input.dims)]));
    return async () => {
      const session = await InferenceSession.create((model.onnx ?? model.tflite)!, { ...options, intraOpNumThreads: threads } as Parameters<typeof InferenceSession.create>[1]);
      return {
        ran: `${options.executionProviders?.join('+') ?? 'default providers'}, ${threadsAsked(threads)}`,
        infer: async () =>
          Object.entries(await session.run(feeds)).map(([name, value]) => {
            if (!(value instanceof Tensor)) throw new Error(`output '${name}' is not a tensor`);
            return { name, type: value.type, dims: [...value.dims], data: value.data as PlainTensor['data'] };
          }),
      };
    };
  },
  'onnxruntime-node': async (model, threads) => {
    packageDir('onnxruntime-node');
    const ort = await import('onnxruntime-node');
    return async () => {
      const session = await ort.InferenceSession.create(model.onnx!, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 });
      return { ran: `cpu EP, intraOpNumThreads ${threads}`, infer: ortInfer(session, ort.Tensor, model.inputs) };
    };
  },
  'onnxruntime-web': async (model, threads) => {
    packageDir('onnxruntime-web');
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    // Its wasm is compiled by the first session create; that is part of what a user waits for, so it stays there.
    return async () => {
      const session = await ort.InferenceSession.create(readFileSync(model.onnx!), { executionProviders: ['wasm'] });
      return { ran: `wasm EP, numThreads ${threads}`, infer: ortInfer(session, ort.Tensor, model.inputs) };
    };
  },
  'tfjs-tflite': async (model, threads) => {
    if (threads > 1) throw new Unavailable('1 thread only in Node (its threaded build needs browser Workers)');
    const wasmDir = join(packageDir('@tensorflow/tfjs-tflite'), 'wasm');
    const loaded: string[] = [];
    installBrowserShims(wasmDir, loaded, false);
    require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-cpu');
    const tflite = require('@tensorflow/tfjs-tflite') as TfjsTflite;
    return async () => {
      const bytes = readFileSync(model.tflite!);
      const { modelRunner } = await tflite.loadTFLiteModel(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), { numThreads: threads });
      const inputs = modelRunner.getInputs();
      return {
        ran: `${loaded.filter((file) => file.endsWith('.wasm')).join(' + ')}, XNNPACK, 1 thread`,
        infer: () => {
          model.inputs.forEach((input, index) => inputs[index]!.data().set(tfliteFeed(input)));
          if (!modelRunner.infer()) throw new Error('TFLite infer() returned false');
          return modelRunner.getOutputs().map((output) => ({ name: output.name, type: output.dataType, dims: output.shape.split(',').map(Number), data: output.data().slice() }));
        },
      };
    };
  },
  litert: async (model, threads) => {
    if (threads > 1) throw new Unavailable('1 thread only in Node (its threaded build needs relaxed SIMD and browser Workers)');
    const wasmDir = join(packageDir('@litertjs/core'), 'wasm');
    const loaded: string[] = [];
    installBrowserShims(wasmDir, loaded, true);
    const litert = await import('@litertjs/core');
    await litert.loadLiteRt(`${wasmDir}/`);
    return async () => {
      const compiled = await litert.loadAndCompile(new Uint8Array(readFileSync(model.tflite!)), { accelerator: 'wasm', cpuOptions: { numThreads: threads } });
      const inputs = model.inputs.map((input) => new litert.Tensor(tfliteFeed(input) as Float32Array, input.dims));
      return {
        ran: `${loaded.join(' + ')}, XNNPACK, 1 thread`,
        infer: async () => {
          const outputs = await compiled.run(inputs);
          const plain = outputs.map((output, index) => ({ name: `output_${index}`, type: output.type.dtype, dims: [...output.type.layout.dimensions], data: output.toTypedArray().slice() }));
          for (const output of outputs) output.delete();
          return plain;
        },
      };
    };
  },
};

/** An input as the TFLite peers take it: int64 (token ids) as int32, which is what a .tflite twin declares (LiteRT.js has no int64). */
function tfliteFeed(input: PlainTensor): Float32Array | Int32Array | Uint8Array {
  if (input.data instanceof BigInt64Array) return Int32Array.from(input.data, Number);
  return input.data as Float32Array | Int32Array | Uint8Array;
}

interface TfliteTensorInfo {
  name: string;
  dataType: string;
  shape: string;
  data(): { set(values: ArrayLike<number>): void; slice(): PlainTensor['data'] };
}
interface TfjsTflite {
  loadTFLiteModel(model: ArrayBuffer, options: { numThreads: number }): Promise<{ modelRunner: { getInputs(): TfliteTensorInfo[]; getOutputs(): TfliteTensorInfo[]; infer(): boolean } }>;
}

/**
 * The TFLite peers are written for browsers and workers. In Node they get what a worker has: `self`,
 * `importScripts`, a `location` in their wasm folder, `fetch` of those local files, and no `MessageChannel`
 * (so they pick their single-threaded build). LiteRT's newer Emscripten loader takes its Node path and needs
 * CommonJS `require` / `__dirname` to find its .wasm. Everything they load comes from their npm package.
 */
function installBrowserShims(wasmDir: string, loaded: string[], commonJs: boolean): void {
  const toPath = (url: string | URL) => decodeURIComponent(String(url).replace(/^file:\/\//, ''));
  const scope = globalThis as Record<string, unknown>;
  scope.self = globalThis;
  scope.location = { href: `file://${wasmDir}/index.html`, origin: 'file://', protocol: 'file:' };
  if (commonJs) Object.assign(scope, { require, __dirname: wasmDir, __filename: join(wasmDir, 'index.js') });
  scope.importScripts = (...urls: string[]) => {
    for (const url of urls) {
      const file = toPath(url);
      loaded.push(basename(file));
      vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
    }
  };
  scope.MessageChannel = class {
    constructor() {
      throw new Error('no threads in this benchmark process');
    }
  };
  scope.fetch = async (url: string | URL) => {
    const file = toPath(url);
    loaded.push(basename(file));
    return new Response(readFileSync(file), { headers: { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
  };
}

interface OrtLike {
  run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; dims: readonly number[]; data: unknown }>>;
}

function ortInfer<T>(session: OrtLike, TensorClass: new (type: never, data: never, dims: readonly number[]) => T, inputs: readonly PlainTensor[]): () => Promise<PlainTensor[]> {
  const feeds = Object.fromEntries(inputs.map((input) => [input.name, new TensorClass(input.type as never, input.data as never, input.dims)]));
  return async () =>
    Object.entries(await session.run(feeds)).map(([name, tensor]) => ({ name, type: tensor.type, dims: [...tensor.dims], data: tensor.data as PlainTensor['data'] }));
}

async function serveAsChild(): Promise<void> {
  const baselineRssKb = process.resourceUsage().maxRSS;
  let runtime: LoadedRuntime | undefined;
  const reply = (message: ChildReply) => process.send!(message);
  process.on('message', async (request: ChildRequest) => {
    if (request.kind === 'load') {
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (...parts: unknown[]) => warnings.push(parts.join(' '));
      try {
        const imported = performance.now();
        const create = await LOADERS[request.runtime](request.model, request.threads, request.edgerun);
        const created = performance.now();
        runtime = await create();
        const first = performance.now();
        const outputs = await runtime.infer();
        const firstInferenceMs = performance.now() - first;
        reply({ kind: 'ready', ran: runtime.ran, warnings, runtimeLoadMs: created - imported, sessionCreateMs: first - created, firstInferenceMs, outputs, baselineRssKb });
      } catch (error) {
        const reason = error instanceof Unavailable ? error.message : `failed: ${(error as Error).message.split('\n')[0]}`;
        reply({ kind: 'unavailable', reason });
      } finally {
        console.warn = warn;
      }
    } else if (request.kind === 'run') {
      const timesMs: number[] = [];
      for (let i = 0; i < request.count; i++) {
        const started = performance.now();
        await runtime!.infer();
        timesMs.push(performance.now() - started);
      }
      reply({ kind: 'times', timesMs });
    } else {
      reply({ kind: 'finished', maxRssKb: process.resourceUsage().maxRSS });
      process.disconnect?.();
    }
  });
}

if (process.argv[1] === THIS_FILE && process.argv[2] === '--bench-child' && process.send) await serveAsChild();
