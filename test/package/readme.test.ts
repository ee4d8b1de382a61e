import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/shared.js';

/**
 * Every ```ts block of the README compiles, under `strict`, against the built package (dist/ through the
 * package.json exports, as `import ... from 'edgerun'` resolves for a user), each block as its own module.
 */
test('the README TypeScript blocks compile under strict against dist/', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  assert.ok(blocks.length >= 2, `found ${blocks.length} ts blocks`);
  const folder = mkdtempSync(join(tmpdir(), 'edgerun-readme-'));
  mkdirSync(join(folder, 'node_modules'));
  symlinkSync(REPO_ROOT, join(folder, 'node_modules', 'edgerun'), 'dir');
  symlinkSync(join(REPO_ROOT, 'node_modules', '@types'), join(folder, 'node_modules', '@types'), 'dir');
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module' }));
  const files = blocks.map((block, index) => {
    const file = `block-${index + 1}.ts`;
    writeFileSync(join(folder, file), block);
    return file;
  });
  const compilerOptions = { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true, types: ['node'], lib: ['ES2022'] };
  writeFileSync(join(folder, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
  const tsc = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', folder], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `README blocks (files ${folder}/block-N.ts) do not compile:\n${tsc.stdout}${tsc.stderr}`);
});
