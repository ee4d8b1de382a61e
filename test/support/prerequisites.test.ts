import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './shared.js';

/**
 * Every suite that needs ../shared or Chromium fails under CI when it is missing, and elsewhere ends with a
 * skip on its last line and a non-zero exit unless skips are allowed: a suite that could not run must
 * never pass. Each suite runs here as a child process with EDGERUN_SHARED pointing at an empty folder.
 */
const emptyShared = mkdtempSync(join(tmpdir(), 'edgerun-no-shared-'));
after(() => rmSync(emptyShared, { recursive: true, force: true }));

interface Outcome {
  status: number | null;
  lastLine: string;
  output: string;
}

function run(args: string[], env: Record<string, string | undefined>): Outcome {
  const base: Record<string, string | undefined> = { ...process.env, EDGERUN_SHARED: emptyShared };
  // The child must not think it is a file of this test run, nor inherit this run's CI or skip settings.
  for (const name of ['NODE_TEST_CONTEXT', 'CI', 'EDGERUN_ALLOW_SKIP']) delete base[name];
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env: { ...base, ...env }, encoding: 'utf8', timeout: 120_000 });
  const output = `${result.stdout}${result.stderr}`;
  const lines = output.trim().split('\n');
  return { status: result.status, lastLine: lines[lines.length - 1] ?? '', output };
}

/** A suite, how to start it, and what it lacks (EDGERUN_SHARED always names an empty folder; Chromium only when CHROMIUM_PATH says so). */
interface Scenario {
  suite: string;
  args: string[];
  lacks: string;
  env?: Record<string, string>;
}

const noChromium = { CHROMIUM_PATH: join(emptyShared, 'no-chromium') };
const SCENARIOS: Scenario[] = [
  { suite: 'conformance', args: ['build/test/conformance/run.js'], lacks: '../shared' },
  { suite: 'fuzz', args: ['build/test/fuzz/run.js'], lacks: '../shared' },
  { suite: 'test:browser', args: ['build/test/browser/run.js'], lacks: '../shared', env: noChromium },
  { suite: 'test:browser', args: ['build/test/browser/run.js'], lacks: 'Chromium', env: noChromium },
];

for (const scenario of SCENARIOS) {
  const pattern = (verdict: string) => new RegExp(`^${scenario.suite}: ${verdict}: .*${scenario.lacks === 'Chromium' ? 'no Chromium' : '\\.\\./shared not found'}`);

  test(`${scenario.suite} fails under CI without ${scenario.lacks}`, () => {
    const outcome = run(scenario.args, { ...scenario.env, CI: 'true' });
    assert.equal(outcome.status, 1, outcome.output);
    assert.match(outcome.lastLine, pattern('FAILED'), outcome.output);
  });

  // Outside CI the browser test runs its tiny model before it reports a missing ../shared: that needs Chromium.
  if (scenario.suite === 'test:browser' && scenario.lacks === '../shared') continue;
  test(`${scenario.suite} without ${scenario.lacks} outside CI ends with a skip and exit 1, or exit 0 with --allow-skip`, () => {
    const strict = run(scenario.args, { ...scenario.env });
    assert.equal(strict.status, 1, strict.output);
    assert.match(strict.lastLine, pattern('SKIPPED'), strict.output);
    assert.match(strict.lastLine, /pass --allow-skip to accept the skip/, strict.output);
    const allowed = run([...scenario.args, '--allow-skip'], { ...scenario.env });
    assert.equal(allowed.status, 0, allowed.output);
    assert.match(allowed.lastLine, pattern('SKIPPED'), allowed.output);
  });
}
test('a node:test file that reads ../shared fails under CI and without EDGERUN_ALLOW_SKIP, passes with it', () => {
  const file = ['--test', 'build/test/runtime/release.test.js'];
  const underCi = run(file, { CI: 'true' });
  assert.notEqual(underCi.status, 0, underCi.output);
  assert.match(underCi.output, /\.\.\/shared not found .*a missing prerequisite is a failure under CI/);
  const outside = run(file, {});
  assert.notEqual(outside.status, 0, outside.output);
  assert.match(outside.output, /EDGERUN_ALLOW_SKIP=1 to accept the skip/);
  const allowed = run(file, { EDGERUN_ALLOW_SKIP: '1' });
  assert.equal(allowed.status, 0, allowed.output);
  assert.match(allowed.output, /# skipped [1-9]/);
});
