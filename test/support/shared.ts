import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SKIPS_ALLOWED, UNDER_CI } from './prerequisites.js';

/** The read-only shared data folder beside the repository (`EDGERUN_SHARED` names another place). */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const REPO_ROOT = repoRoot;
export const SHARED_DIR = process.env.EDGERUN_SHARED ?? resolve(repoRoot, '../shared');
export const HAVE_SHARED = existsSync(resolve(SHARED_DIR, 'conformance'));
export const MISSING_SHARED = `../shared not found (looked in ${SHARED_DIR}); set EDGERUN_SHARED to its location`;
/** The same message, or false when the folder is there (the bench's old spelling). */
export const SKIP_SHARED = HAVE_SHARED ? false : MISSING_SHARED;

export function sharedPath(...parts: string[]): string {
  return resolve(SHARED_DIR, ...parts);
}

/**
 * For node:test files: the `skip` option of a test that reads ../shared. Without the folder the test is
 * skipped, and, under CI or unless EDGERUN_ALLOW_SKIP=1, one failing test says why, so the file (and
 * `npm test`) fails instead of passing with a skip nobody reads.
 */
let explained = false;

export function skipUnlessShared(): false | string {
  if (HAVE_SHARED) return false;
  if ((UNDER_CI || !SKIPS_ALLOWED) && !explained) {
    explained = true;
    const why = UNDER_CI ? 'a missing prerequisite is a failure under CI' : 'set EDGERUN_ALLOW_SKIP=1 to accept the skip';
    test('../shared is present', () => {
      throw new Error(`${MISSING_SHARED} (${why})`);
    });
  }
  return MISSING_SHARED;
}
