import { Worker } from 'node:worker_threads';

export interface PoolOptions<T, R> {
  workerUrl: URL;
  jobs: number;
  timeoutMs: number;
  /** The result recorded when a task hangs past the limit or its worker dies. */
  onFailure(task: T, kind: 'timeout' | 'crash', detail: string, ms: number): R;
  onResult?(result: R): void;
  resourceLimits?: { maxOldGenerationSizeMb?: number };
}

/**
 * Runs tasks in worker threads, one at a time per worker, each under a time limit: a worker that hangs or
 * dies is replaced and the task recorded as a failure, so one bad case cannot stall a suite.
 */
export function runInWorkers<T, R>(tasks: readonly T[], options: PoolOptions<T, R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let running = 0;
  return new Promise((resolveAll) => {
    const record = (result: R) => {
      results.push(result);
      options.onResult?.(result);
    };
    const launch = () => {
      const worker = new Worker(options.workerUrl, options.resourceLimits ? { resourceLimits: options.resourceLimits } : {});
      running++;
      let current: T | undefined;
      let timer: NodeJS.Timeout | undefined;
      let started = 0;
      const retire = () => {
        worker.removeAllListeners();
        void worker.terminate();
        running--;
      };
      const feed = () => {
        if (next >= tasks.length) {
          retire();
          if (running === 0) resolveAll(results);
          return;
        }
        current = tasks[next++]!;
        started = performance.now();
        timer = setTimeout(() => {
          record(options.onFailure(current!, 'timeout', `no result within ${options.timeoutMs} ms`, options.timeoutMs));
          retire();
          launch();
        }, options.timeoutMs);
        worker.postMessage(current);
      };
      worker.on('message', (result: R) => {
        clearTimeout(timer);
        record(result);
        feed();
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        if (current !== undefined) record(options.onFailure(current, 'crash', String(error), Math.round(performance.now() - started)));
        retire();
        launch();
      });
      worker.on('online', feed);
    };
    if (tasks.length === 0) return resolveAll(results);
    for (let i = 0; i < Math.min(options.jobs, tasks.length); i++) launch();
  });
}
