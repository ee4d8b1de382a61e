import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The read-only shared data folder beside the repository (tests skip, saying so, when it is absent). */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const REPO_ROOT = repoRoot;
export const SHARED_DIR = process.env.EDGERUN_SHARED ?? resolve(repoRoot, '../shared');
export const HAVE_SHARED = existsSync(resolve(SHARED_DIR, 'conformance'));
export const SKIP_SHARED = HAVE_SHARED ? false : `../shared not found (looked in ${SHARED_DIR}); set EDGERUN_SHARED to run these tests`;

export function sharedPath(...parts: string[]): string {
  return resolve(SHARED_DIR, ...parts);
}
