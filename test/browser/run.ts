import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { Tensor } from '../../src/core/tensor.js';
import { readNpy } from '../../src/formats/npy.js';
import { compareTensors } from '../support/compare.js';
import { missingPrerequisite, UNDER_CI } from '../support/prerequisites.js';
import { HAVE_SHARED, MISSING_SHARED, REPO_ROOT, sharedPath } from '../support/shared.js';
import { addReluModel } from '../support/tiny-models.js';

/**
 * `npm run test:browser`: the browser bundle in a real headless Chromium, on the page and in a Web Worker,
 * served from loopback. It runs a tiny model (always) and the real mnist model on a real digit (when
 * ../shared is present), and checks the outputs against the expected values. Without Chromium, or without
 * ../shared for the mnist part, the run fails under CI and otherwise ends with a skip (see prerequisites.ts).
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

interface Served {
  server: Server;
  url: string;
}

async function serve(files: Record<string, { type: string; body: string | Uint8Array }>): Promise<Served> {
  const server = createServer((request, response) => {
    const file = files[(request.url ?? '/').slice(1) || 'index.html'];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function main(): Promise<number> {
  // Under CI the mnist part is required too, so a missing ../shared fails before the browser starts.
  const missing = [...(existsSync(CHROMIUM) ? [] : [`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`]), ...(UNDER_CI && !HAVE_SHARED ? [MISSING_SHARED] : [])];
  if (missing.length > 0) missingPrerequisite('test:browser', missing.join('; '));
  const bundle = await build({ entryPoints: [`${REPO_ROOT}/src/index.ts`], bundle: true, format: 'esm', platform: 'browser', write: false, minify: true });
  const script = PAGE.slice(PAGE.indexOf('<script type="module">') + 22, PAGE.lastIndexOf('</script>'));
  const tinyInput = { dims: [1, 3], data: [0.5, 1, -2] };
  const expected: Record<string, Tensor> = { tiny: new Tensor('float32', Float32Array.of(1.5, 0, 0), [1, 3]) };
  const files: Record<string, { type: string; body: string | Uint8Array }> = {
    'index.html': { type: 'text/html', body: PAGE },
    'page.js': { type: 'text/javascript', body: script },
    'edgerun.js': { type: 'text/javascript', body: bundle.outputFiles[0]!.text },
    'tiny.onnx': { type: 'application/octet-stream', body: addReluModel(new Tensor('float32', Float32Array.of(1, -2, 0.5), [3])) },
    'tiny.input.json': { type: 'application/json', body: JSON.stringify(tinyInput) },
  };
  if (HAVE_SHARED) {
    const digit = readNpy(readFileSync(sharedPath('real/cases/onnx-mnist-digits100/input_0.npy')));
    files['mnist.onnx'] = { type: 'application/octet-stream', body: readFileSync(sharedPath('real/onnx/mnist.onnx')) };
    files['mnist.input.json'] = { type: 'application/json', body: JSON.stringify({ dims: digit.dims, data: Array.from(digit.data as Float32Array) }) };
    expected.mnist = readNpy(readFileSync(sharedPath('real/cases/onnx-mnist-digits100/output_0.npy')));
  }
  const { server, url } = await serve(files);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let passed = 0;
  let failed = 0;
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    await page.goto(url);
    await page.waitForFunction('window.results !== undefined', undefined, { timeout: 60_000 });
    const results = (await page.evaluate('window.results')) as Record<string, Record<string, { dims: number[]; data: number[] }>> & { error?: string };
    if (results.error) throw new Error(`in the browser: ${results.error}`);
    for (const where of ['page', 'worker']) {
      for (const [name, reference] of Object.entries(expected)) {
        const got = results[where]?.[name];
        const problem = got
          ? compareTensors(new Tensor('float32', Float32Array.from(got.data), got.dims), reference, { rtol: 1e-3, atol: 1e-4 }, `${name} in the ${where}`)
          : `${name} in the ${where}: no result`;
        if (problem) {
          failed++;
          console.log(`FAIL ${problem}`);
        } else {
          passed++;
          console.log(`ok   ${name} in the ${where} of Chromium ${browser.version()} matches the expected output`);
        }
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (failed > 0) return 1;
  if (!HAVE_SHARED) missingPrerequisite('test:browser', `the mnist part did not run: ${MISSING_SHARED}`);
  return 0;
}

process.exitCode = await main();
