#!/usr/bin/env node
// Copies the Silero VAD models `edgerun demo` runs into demo/models, so the packed package carries them and
// the demo works from an installed package alone. They come from the npm package @ricky0123/vad-web (a dev
// dependency); the files are checked against the hashes below, which are those of upstream snakers4/silero-vad,
// so the license note written beside them stays true. Run by `npm run prepare` (npm ci and npm pack run it);
// demo/models is not committed.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_PACKAGE = '@ricky0123/vad-web';
const MODELS = [
  {
    file: 'silero_vad_v5.onnx',
    sha256: '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f',
    upstream: 'src/silero_vad/data/silero_vad.onnx at commit f0d880d79c50d36c9c014e282a89fe42b0683120 (silero-vad 5.1)',
  },
  {
    file: 'silero_vad_legacy.onnx',
    sha256: 'a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28',
    upstream: 'files/silero_vad.onnx at commit 1baf307b35ab3bbb070ab374b43a0a3c3604fa2a (v4)',
  },
];

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'demo', 'models');
let sourceRoot;
try {
  sourceRoot = dirname(createRequire(import.meta.url).resolve(`${SOURCE_PACKAGE}/package.json`));
} catch {
  console.error(`copy-demo-models: ${SOURCE_PACKAGE} is not installed (it is a dev dependency: run npm ci)`);
  process.exit(1);
}
const sourceVersion = JSON.parse(readFileSync(join(sourceRoot, 'package.json'), 'utf8')).version;

mkdirSync(target, { recursive: true });
for (const model of MODELS) {
  const bytes = readFileSync(join(sourceRoot, 'dist', model.file));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== model.sha256) {
    console.error(`copy-demo-models: ${SOURCE_PACKAGE}@${sourceVersion} dist/${model.file} has sha256 ${sha256}, expected ${model.sha256}`);
    process.exit(1);
  }
  writeFileSync(join(target, model.file), bytes);
}

writeFileSync(
  join(target, 'LICENSE'),
  `The ONNX models in this folder are the Silero VAD models by the Silero Team
(https://github.com/snakers4/silero-vad), copied byte for byte from the npm package
${SOURCE_PACKAGE}@${sourceVersion} (license ISC), whose files are identical (sha256) to upstream:
${MODELS.map((model) => `- ${model.file}: sha256 ${model.sha256}, upstream ${model.upstream}`).join('\n')}

They are distributed under the license of silero-vad:

MIT License

Copyright (c) 2020-present Silero Team

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`,
);
// On stderr: `npm pack --json` prints its JSON on stdout, after the prepare script.
console.error(`copy-demo-models: ${MODELS.map((model) => model.file).join(', ')} and LICENSE -> demo/models`);
