import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr for work that turns out to take more than a second; quiet for fast work, for
 * --json output and when stderr is not a terminal. `update` renders synchronously, so it works while a
 * synchronous inference holds the event loop.
 */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const SHOW_AFTER_MS = 1000;

export function progress(label: string, quiet = false): Progress {
  const started = performance.now();
  let bar: cliProgress.SingleBar | undefined;
  const enabled = !quiet && Boolean(process.stderr.isTTY);
  return {
    update(done, total) {
      if (!enabled) return;
      if (!bar) {
        if (performance.now() - started < SHOW_AFTER_MS) return;
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, synchronousUpdate: true, clearOnComplete: true, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
