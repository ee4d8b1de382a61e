import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/shared.js';

/** npm reads the project's config without a warning (no unknown keys in .npmrc or package.json). */
test('npm commands in the project print no config warning', () => {
  const result = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), '"edgerun"');
  assert.doesNotMatch(result.stderr, /warn/i);
});
