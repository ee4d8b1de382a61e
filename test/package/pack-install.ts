import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/shared.js';

/**
 * The package as a newcomer gets it: `npm pack`, the tarball installed into an empty folder, then
 * `npx edgerun demo` there, with nothing from this checkout on hand. Needs the npm registry (or npm's cache)
 * for the runtime dependencies; run by `npm run test:package` (not part of `npm test`).
 */
function sh(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} in ${cwd} failed (${result.signal ?? result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

test('npm pack, install the tarball in an empty folder, run the demo there', () => {
  const work = mkdtempSync(join(tmpdir(), 'edgerun-pack-'));
  const [packed] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = new Set(packed!.files.map((file) => file.path));
  for (const required of ['LICENSE', 'bin/edgerun.js', 'dist/cli/main.js', 'dist/node.d.ts', 'demo/speech_16k.wav', 'demo/models/silero_vad_v5.onnx', 'demo/models/silero_vad_legacy.onnx', 'demo/models/LICENSE']) {
    assert.ok(files.has(required), `the tarball lacks ${required}`);
  }
  // Every source map points at sources that ship too.
  const maps = [...files].filter((path) => path.endsWith('.map'));
  const unpacked = join(work, 'unpacked');
  sh('mkdir', ['-p', unpacked], work);
  sh('tar', ['-xzf', join(work, packed!.filename), '-C', unpacked], work);
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const shipped = posix.normalize(posix.join(posix.dirname(map), source));
      assert.ok(files.has(shipped), `${map} points at ${shipped}, which is not in the package`);
    }
  }

  const user = join(work, 'user');
  sh('mkdir', ['-p', user], work);
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed!.filename)], user);
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(sh('npx', ['--no-install', 'edgerun', '--version'], user).trim(), manifest.version);
  const report = JSON.parse(sh('npx', ['--no-install', 'edgerun', 'demo', '--json'], user)) as { results: { model: string; matches: boolean; segments: number[][] }[]; expected: number[][] };
  assert.deepEqual(report.results.map((result) => result.model), ['Silero VAD v5', 'Silero VAD v4']);
  for (const result of report.results) {
    assert.ok(result.matches, `${result.model}: found ${JSON.stringify(result.segments)}, expected ${JSON.stringify(report.expected)}`);
  }
});
