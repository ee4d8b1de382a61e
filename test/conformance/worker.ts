import { parentPort } from 'node:worker_threads';
import type { ConformanceCase } from './cases.js';
import { runCase } from './run-case.js';

/** Runs cases one at a time for the harness, which owns the time limit and restarts this worker on a hang. */
parentPort!.on('message', async (testCase: ConformanceCase) => {
  parentPort!.postMessage(await runCase(testCase));
});
