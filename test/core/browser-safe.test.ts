import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/shared.js';

/** The core, formats, ops, runtime and backends must bundle for browsers: Node built-ins only in cli/ and node.ts. */
test('no Node-only imports below cli/ and node.ts', () => {
  const src = join(REPO_ROOT, 'src');
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(src, path);
      if (statSync(path).isDirectory()) {
        if (rel !== 'cli') walk(path);
      } else if (name.endsWith('.ts') && rel !== 'node.ts') {
        const text = readFileSync(path, 'utf8');
        for (const match of text.matchAll(/from '(node:[^']+|fs|path|os|worker_threads|child_process)'/g)) offenders.push(`${rel}: ${match[1]}`);
        if (/\bprocess\.|\bBuffer\./.test(text)) offenders.push(`${rel}: uses process or Buffer`);
      }
    }
  };
  walk(src);
  assert.deepEqual(offenders, []);
});
