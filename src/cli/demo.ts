import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgerunError } from '../core/errors.js';
import type { InferenceSession as Session } from '../runtime/session.js';
import { printJson } from './output.js';

/**
 * `edgerun demo`: voice activity detection with the real Silero VAD models (v4 and v5) on a speech clip this
 * project synthesized (scripts/make-demo-speech.sh), checked against where the clip's speech really is. The
 * models travel in the package under demo/models: scripts/copy-demo-models.mjs copies them there from the
 * npm package @ricky0123/vad-web (a dev dependency) when the package is built or packed.
 */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const MODELS_FOLDER = 'demo/models';
const SPEECH_THRESHOLD = 0.5;

interface ClipTruth {
  sampleRate: number;
  speech: [number, number][];
}

interface VadModel {
  name: string;
  file: string;
  /** New samples per call, and how many samples of the previous chunk precede them. */
  chunk: number;
  context: number;
  state: { input: string; output: string; dims: number[] }[];
}

const MODELS: VadModel[] = [
  {
    name: 'Silero VAD v5',
    file: 'silero_vad_v5.onnx',
    chunk: 512,
    context: 64,
    state: [{ input: 'state', output: 'stateN', dims: [2, 1, 128] }],
  },
  {
    name: 'Silero VAD v4',
    file: 'silero_vad_legacy.onnx',
    chunk: 1536,
    context: 0,
    state: [
      { input: 'h', output: 'hn', dims: [2, 1, 64] },
      { input: 'c', output: 'cn', dims: [2, 1, 64] },
    ],
  },
];

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('detect speech with the real Silero VAD models (v4, v5) in a bundled clip; prints segments, the truth and timings')
    .option('--json', 'print the results as JSON')
    .action(async (options: { json?: boolean }) => {
      const [{ InferenceSession }, { readWav16 }] = await Promise.all([import('../node.js'), import('./wav.js')]);
      const clip = readWav16(readFileSync(join(PACKAGE_ROOT, 'demo/speech_16k.wav')), 'demo/speech_16k.wav');
      const truth = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'demo/speech_16k.json'), 'utf8')) as ClipTruth;
      if (!options.json) {
        const seconds = (clip.samples.length / clip.sampleRate).toFixed(1);
        process.stdout.write(`edgerun demo: voice activity detection on demo/speech_16k.wav (${seconds} s, two sentences synthesized with espeak-ng)\n`);
      }
      const results = [];
      for (const model of MODELS) {
        const session = await InferenceSession.create(modelPath(model.file));
        results.push(await detect(session, model, clip.samples, clip.sampleRate, truth, options.json));
        await session.release();
      }
      if (options.json) printJson({ clip: 'demo/speech_16k.wav', expected: truth.speech.map((range) => toSeconds(range, truth.sampleRate)), results });
      process.exitCode = results.every((result) => result.matches) ? 0 : 1;
    });
}

function modelPath(file: string): string {
  const path = join(PACKAGE_ROOT, MODELS_FOLDER, file);
  if (!existsSync(path)) {
    throw new EdgerunError('IO_ERROR', `the demo model ${MODELS_FOLDER}/${file} is missing; in a checkout, npm ci (or npm run prepare) copies it from the dev dependency @ricky0123/vad-web`);
  }
  return path;
}

async function detect(session: Session, model: VadModel, samples: Float32Array, sampleRate: number, truth: ClipTruth, quiet?: boolean) {
  const [{ Tensor }, { progress }] = await Promise.all([import('../node.js'), import('./progress.js')]);
  const calls = Math.floor(samples.length / model.chunk);
  const probabilities = new Float32Array(calls);
  const state = new Map(model.state.map((entry) => [entry.input, new Tensor('float32', new Float32Array(entry.dims.reduce((a, b) => a * b)), entry.dims)]));
  const rate = new Tensor('int64', BigInt64Array.of(BigInt(sampleRate)), []);
  const bar = progress(model.name, quiet);
  const started = performance.now();
  for (let call = 0; call < calls; call++) {
    const input = new Float32Array(model.context + model.chunk);
    const begin = call * model.chunk;
    input.set(samples.subarray(Math.max(0, begin - model.context), begin), model.context - Math.min(model.context, begin));
    input.set(samples.subarray(begin, begin + model.chunk), model.context);
    const outputs = await session.run({ input: new Tensor('float32', input, [1, input.length]), sr: rate, ...Object.fromEntries(state) });
    probabilities[call] = (outputs.output!.data as Float32Array)[0]!;
    for (const entry of model.state) state.set(entry.input, outputs[entry.output]!);
    bar.update(call + 1, calls);
  }
  bar.stop();
  const milliseconds = performance.now() - started;
  const segments = speechSegments(probabilities, model.chunk);
  // The synthesized sentences end in a little silence, so only the onsets are held to a tight bound.
  const onsetSlack = 0.3 * sampleRate;
  const matches =
    segments.length === truth.speech.length &&
    segments.every(([start, end], i) => Math.abs(start - truth.speech[i]![0]) <= onsetSlack && end > truth.speech[i]![0] && start < truth.speech[i]![1]);
  const audioSeconds = (calls * model.chunk) / sampleRate;
  const result = {
    model: model.name,
    calls,
    segments: segments.map((range) => toSeconds(range, sampleRate)),
    matches,
    milliseconds: Math.round(milliseconds),
    msPerCall: Number((milliseconds / calls).toFixed(3)),
    realTimeFactor: Number((audioSeconds / (milliseconds / 1000)).toFixed(1)),
  };
  if (!quiet) {
    const format = (ranges: [number, number][]) => ranges.map(([a, b]) => `${a.toFixed(2)}-${b.toFixed(2)} s`).join(', ');
    process.stdout.write(
      `${model.name} (${model.file}, ${calls} calls of ${model.chunk} samples, state carried between calls)\n` +
        `  speech found: ${format(result.segments)}\n` +
        `  expected:     ${format(truth.speech.map((range) => toSeconds(range, sampleRate)))}  -> ${matches ? 'match' : 'MISMATCH'}\n` +
        `  time: ${result.milliseconds} ms, ${result.msPerCall} ms per call, ${result.realTimeFactor}x faster than real time\n`,
    );
  }
  return result;
}

/** Runs of chunks above the threshold, merging gaps under 0.3 s (pauses between words). */
function speechSegments(probabilities: Float32Array, chunk: number): [number, number][] {
  const gapChunks = Math.ceil((0.3 * 16000) / chunk);
  const segments: [number, number][] = [];
  probabilities.forEach((probability, call) => {
    if (probability <= SPEECH_THRESHOLD) return;
    const last = segments.at(-1);
    if (last && call * chunk - last[1] <= gapChunks * chunk) last[1] = (call + 1) * chunk;
    else segments.push([call * chunk, (call + 1) * chunk]);
  });
  return segments;
}

function toSeconds([start, end]: [number, number], sampleRate: number): [number, number] {
  return [Number((start / sampleRate).toFixed(2)), Number((end / sampleRate).toFixed(2))];
}
