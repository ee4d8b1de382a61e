/**
 * What a suite does when something it needs is missing (the shared data folder, Chromium, a peer runtime).
 * Under CI (`CI=true`, exported by `.ci/run`) a missing prerequisite is a failure: a suite that cannot run
 * must never look like one that passed. Elsewhere the suite skips, says so on its last line, and still
 * exits non-zero unless the caller passed `--allow-skip` (or set `EDGERUN_ALLOW_SKIP=1`, the form that
 * reaches the node:test files of `npm test`).
 */
export const UNDER_CI = process.env.CI === 'true' || process.env.CI === '1';
export const SKIPS_ALLOWED = process.argv.includes('--allow-skip') || process.env.EDGERUN_ALLOW_SKIP === '1';

/** Ends the process for a suite that cannot run: exit 1 under CI or without --allow-skip, 0 with it. */
export function missingPrerequisite(suite: string, what: string): never {
  if (UNDER_CI) {
    console.error(`${suite}: FAILED: ${what} (a missing prerequisite is a failure under CI)`);
    process.exit(1);
  }
  const code = SKIPS_ALLOWED ? 0 : 1;
  console.log(`${suite}: SKIPPED: ${what}${SKIPS_ALLOWED ? '' : ' (exit 1; pass --allow-skip to accept the skip)'}`);
  process.exit(code);
}
