import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Tensor } from '../../src/core/tensor.js';
import { readNpy } from '../../src/formats/npy.js';
import { decodeTensor } from '../../src/formats/onnx/data-proto.js';
import { InferenceSession } from '../../src/node.js';
import { compareTensors } from '../support/compare.js';
import { missingPrerequisite, UNDER_CI } from '../support/prerequisites.js';
import { HAVE_SHARED, MISSING_SHARED, REPO_ROOT, sharedPath } from '../support/shared.js';
import { addReluModel } from '../support/tiny-models.js';

/**
 * `npm run test:browser`: the browser bundle in a real headless Chromium, served from loopback.
 * - On a page and in a Web Worker: a tiny model (always) and the real mnist model on a real digit (when
 *   ../shared is present), checked against the expected values.
 * - The wasm backend on mobilenet_v2 (when ../shared is present): with 1 and 2 threads on a cross-origin-
 *   isolated page (COOP/COEP headers; the 2-thread session must start its worker and run on 2 threads),
 *   and with 2 threads asked on a page that is not isolated (it must run on 1 thread and warn once why).
 *   Every output must match edgerun's in Node.
 * Without Chromium, or without ../shared for the model parts, the run fails under CI and otherwise ends
 * with a skip (see prerequisites.ts).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { InferenceSession, Tensor } from './edgerun.js';
async function runAll() {
  const results = {};
  for (const name of ['tiny', 'mnist']) {
    const response = await fetch('./' + name + '.onnx');
    if (!response.ok) continue;
    const session = await InferenceSession.create(new Uint8Array(await response.arrayBuffer()));
    const input = await (await fetch('./' + name + '.input.json')).json();
    const out = await session.run({ [session.inputNames[0]]: new Tensor('float32', Float32Array.from(input.data), input.dims) });
    const y = out[session.outputNames[0]];
    results[name] = { dims: y.dims, data: Array.from(y.data) };
  }
  return results;
}
self.runAll = runAll;
if (typeof window !== 'undefined') {
  const worker = new Worker('./page.js', { type: 'module' });
  const inWorker = new Promise((resolve, reject) => { worker.onmessage = (e) => resolve(e.data); worker.onerror = (e) => reject(e.message); });
  Promise.all([runAll(), inWorker]).then(([page, worker]) => { window.results = { page, worker }; }, (error) => { window.results = { error: String(error) }; });
} else {
  runAll().then((r) => postMessage(r), (error) => postMessage({ error: String(error) }));
}
</script>`;

/**
 * mobilenet_v2 on the wasm backend once per thread count in `?threads=`, reporting the outputs, the thread
 * count each backend ran on, whether the page is cross-origin isolated and what the host's WebAssembly offers.
 */
const MOBILENET_PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { InferenceSession, decodeOnnxTensor, wasmCapabilities, lastWasmBackendThreads } from './edgerun.js';
const bytes = async (name) => new Uint8Array(await (await fetch('./' + name)).arrayBuffer());
async function runMobilenet(model, input, threads) {
  const session = await InferenceSession.create(model, { executionProviders: ['wasm'], intraOpNumThreads: threads });
  const threadsInUse = lastWasmBackendThreads();
  const y = (await session.run({ [session.inputNames[0]]: input }))[session.outputNames[0]];
  const result = { requested: threads, threadsInUse, dims: y.dims, data: Array.from(y.data) };
  await session.release();
  return result;
}
try {
  const [model, input] = [await bytes('mobilenet_v2.onnx'), decodeOnnxTensor(await bytes('mobilenet_v2.input_0.pb'))];
  const runs = [];
  for (const threads of new URLSearchParams(location.search).get('threads').split(',').map(Number)) runs.push(await runMobilenet(model, input, threads));
  window.results = { crossOriginIsolated: self.crossOriginIsolated, capabilities: wasmCapabilities(), runs };
} catch (error) {
  window.results = { error: String(error && error.stack || error) };
}
</script>`;

/** Paths under this prefix are served cross-origin isolated; the same files elsewhere are not. */
const ISOLATED = 'isolated/';
const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const ONE_THREAD_WARNING = 'edgerun: the wasm backend runs on one thread: the page is not cross-origin isolated';

interface Served {
  server: Server;
  url: string;
}

async function serve(files: Record<string, { type: string; body: string | Uint8Array }>): Promise<Served> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.slice(1);
    const isolated = path.startsWith(ISOLATED);
    const file = files[(isolated ? path.slice(ISOLATED.length) : path) || 'index.html'];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type, ...(isolated ? ISOLATION_HEADERS : {}) }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function main(): Promise<number> {
  // Under CI the mnist part is required too, so a missing ../shared fails before the browser starts.
  const missing = [...(existsSync(CHROMIUM) ? [] : [`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`]), ...(UNDER_CI && !HAVE_SHARED ? [MISSING_SHARED] : [])];
  if (missing.length > 0) missingPrerequisite('test:browser', missing.join('; '));
  // ESM, so the wasm backend's `new URL('./worker.js', import.meta.url)` names the worker bundle served beside it.
  const bundle = await build({
    entryPoints: { edgerun: `${REPO_ROOT}/test/browser/entry.ts`, worker: `${REPO_ROOT}/src/backends/wasm/worker.ts` },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    minify: true,
    outdir: 'out',
  });
  const bundled = (name: string) => bundle.outputFiles.find((file) => file.path.endsWith(`/${name}`))!.text;
  const script = PAGE.slice(PAGE.indexOf('<script type="module">') + 22, PAGE.lastIndexOf('</script>'));
  const tinyInput = { dims: [1, 3], data: [0.5, 1, -2] };
  const expected: Record<string, Tensor> = { tiny: new Tensor('float32', Float32Array.of(1.5, 0, 0), [1, 3]) };
  const files: Record<string, { type: string; body: string | Uint8Array }> = {
    'index.html': { type: 'text/html', body: PAGE },
    'page.js': { type: 'text/javascript', body: script },
    'edgerun.js': { type: 'text/javascript', body: bundled('edgerun.js') },
    'worker.js': { type: 'text/javascript', body: bundled('worker.js') },
    'mobilenet.html': { type: 'text/html', body: MOBILENET_PAGE },
    'tiny.onnx': { type: 'application/octet-stream', body: addReluModel(new Tensor('float32', Float32Array.of(1, -2, 0.5), [3])) },
    'tiny.input.json': { type: 'application/json', body: JSON.stringify(tinyInput) },
  };
  if (HAVE_SHARED) {
    const digit = readNpy(readFileSync(sharedPath('real/cases/onnx-mnist-digits100/input_0.npy')));
    files['mnist.onnx'] = { type: 'application/octet-stream', body: readFileSync(sharedPath('real/onnx/mnist.onnx')) };
    files['mnist.input.json'] = { type: 'application/json', body: JSON.stringify({ dims: digit.dims, data: Array.from(digit.data as Float32Array) }) };
    expected.mnist = readNpy(readFileSync(sharedPath('real/cases/onnx-mnist-digits100/output_0.npy')));
    files['mobilenet_v2.onnx'] = { type: 'application/octet-stream', body: readFileSync(sharedPath('models/mobilenet_v2/model.onnx')) };
    files['mobilenet_v2.input_0.pb'] = { type: 'application/octet-stream', body: readFileSync(sharedPath('models/mobilenet_v2/test_data_set_0/input_0.pb')) };
  }
  const { server, url } = await serve(files);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let passed = 0;
  let failed = 0;
  /** Counts one check: `problem` undefined is a pass. */
  const check = (problem: string | undefined, passMessage: string) => {
    if (problem) failed++;
    else passed++;
    console.log(problem ? `FAIL ${problem}` : `ok   ${passMessage}`);
  };
  const matches = (got: { dims: number[]; data: number[] } | undefined, reference: Tensor, what: string, where: string) =>
    check(
      got ? compareTensors(new Tensor('float32', Float32Array.from(got.data), got.dims), reference, TOLERANCE, `${what} ${where}`) : `${what} ${where}: no result`,
      `${what} ${where} of Chromium ${browser.version()} matches ${reference === expected[what] ? 'the expected output' : 'the Node output'}`,
    );
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    await page.goto(url);
    const results = await resultsOf<Record<string, Record<string, Output>>>(page, 60_000);
    for (const where of ['page', 'worker']) {
      for (const [name, reference] of Object.entries(expected)) matches(results[where]?.[name], reference, name, `in the ${where}`);
    }
    await page.close();
    if (HAVE_SHARED) await checkMobilenet(browser, url, check, matches);
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (failed > 0) return 1;
  if (!HAVE_SHARED) missingPrerequisite('test:browser', `the mnist and mobilenet_v2 parts did not run: ${MISSING_SHARED}`);
  return 0;
}

const TOLERANCE = { rtol: 1e-3, atol: 1e-4 };

interface Output {
  dims: number[];
  data: number[];
}

interface MobilenetResults {
  crossOriginIsolated: boolean;
  capabilities: { simd: boolean; relaxedSimd: boolean; sharedMemory: boolean };
  runs: (Output & { requested: number; threadsInUse: number | undefined })[];
}

/** Waits for the page's `window.results`; an error the page caught fails the run with its message. */
async function resultsOf<T>(page: Page, timeout: number): Promise<T> {
  await page.waitForFunction('window.results !== undefined', undefined, { timeout });
  const results = (await page.evaluate('window.results')) as T & { error?: string };
  if (results.error) throw new Error(`in the browser: ${results.error}`);
  return results;
}

/**
 * mobilenet_v2 on the wasm backend: 1 and 2 threads on an isolated page, 2 asked on a page that is not.
 * The reference is edgerun's output in Node (wasm backend, one thread), itself checked against the
 * model's expected output.
 */
async function checkMobilenet(
  browser: Browser,
  url: string,
  check: (problem: string | undefined, passMessage: string) => void,
  matches: (got: Output | undefined, reference: Tensor, what: string, where: string) => void,
): Promise<void> {
  const folder = sharedPath('models/mobilenet_v2');
  const session = await InferenceSession.create(`${folder}/model.onnx`, { executionProviders: ['wasm'], intraOpNumThreads: 1 });
  const input = decodeTensor(readFileSync(`${folder}/test_data_set_0/input_0.pb`));
  const nodeOutput = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!] as Tensor;
  await session.release();
  check(
    compareTensors(nodeOutput, decodeTensor(readFileSync(`${folder}/test_data_set_0/output_0.pb`)), TOLERANCE, 'mobilenet_v2 in Node'),
    'mobilenet_v2 in Node (the reference for Chromium) matches its expected output',
  );
  for (const isolated of [true, false]) {
    const page = await browser.newPage();
    const consoleMessages: string[] = [];
    const workerScripts: string[] = [];
    page.on('console', (message) => consoleMessages.push(message.text()));
    page.on('worker', (worker) => workerScripts.push(worker.url()));
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    const where = isolated ? 'on an isolated page' : 'on a page that is not isolated';
    await page.goto(`${url}${isolated ? ISOLATED : ''}mobilenet.html?threads=${isolated ? '1,2' : '2'}`);
    const results = await resultsOf<MobilenetResults>(page, 180_000);
    await page.close();
    const warnings = consoleMessages.filter((text) => text.startsWith('edgerun: the wasm backend runs on one thread'));
    const backendWorkers = workerScripts.filter((script) => script.endsWith('/worker.js')).length;
    for (const run of results.runs) {
      const what = `mobilenet_v2 (wasm, ${run.requested} thread${run.requested > 1 ? 's' : ''} asked)`;
      matches(run, nodeOutput, what, where);
      const threads = isolated ? run.requested : 1;
      check(run.threadsInUse === threads ? undefined : `${what} ${where}: ran on ${run.threadsInUse} thread(s), expected ${threads}`, `${what} ${where} ran on ${threads} thread(s)`);
    }
    if (isolated) {
      const { crossOriginIsolated, capabilities } = results;
      check(
        crossOriginIsolated && capabilities.sharedMemory ? undefined : `the isolated page: crossOriginIsolated ${crossOriginIsolated}, capabilities ${JSON.stringify(capabilities)}`,
        `the isolated page is cross-origin isolated and the backend has shared memory (${JSON.stringify(capabilities)})`,
      );
      check(backendWorkers === 1 ? undefined : `the isolated page started ${backendWorkers} backend worker(s), expected 1 (workers: ${workerScripts.join(', ') || 'none'})`, 'the 2-thread session started one Web Worker from worker.js');
      check(warnings.length === 0 ? undefined : `the isolated page warned: ${warnings.join(' | ')}`, 'the isolated page gave no one-thread warning');
    } else {
      check(!results.crossOriginIsolated && backendWorkers === 0 ? undefined : `the page that is not isolated: crossOriginIsolated ${results.crossOriginIsolated}, ${backendWorkers} worker(s)`, 'the page that is not isolated started no worker');
      check(
        warnings.length === 1 && warnings[0]!.startsWith(ONE_THREAD_WARNING) ? undefined : `the page that is not isolated: expected one warning starting '${ONE_THREAD_WARNING}', got ${JSON.stringify(warnings)}`,
        `the page that is not isolated warned once: '${warnings[0]}'`,
      );
    }
  }
}

process.exitCode = await main();
