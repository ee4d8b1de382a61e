import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type GraphProto } from 'onnx-buf';
import { Tensor } from '../../src/core/tensor.js';
import { decodeTensor, encodeTensor } from '../../src/formats/onnx/data-proto.js';
import { readNpy, writeNpy } from '../../src/formats/npy.js';
import { encodeOnnx } from '../../src/formats/onnx/encode.js';
import { REPO_ROOT, sharedPath, skipUnlessShared } from '../support/shared.js';
import { ortOutputs } from '../support/ort-reference.js';
import { addReluModel, model, node, tensorInfo } from '../support/tiny-models.js';

/**
 * The CLI as users run it: the built bin, real files, exit codes and stdout/stderr. A time limit turns a
 * hang (a read from a pipe with no writer) into a failure instead of a stuck suite.
 */
function edgerun(...args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/edgerun.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.signal, null, `edgerun ${args.join(' ')} was killed (${result.signal}): it hung`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Under --json a failure is one JSON object on stdout, nothing on stderr, and the usual exit code. */
function jsonFailure(result: ReturnType<typeof edgerun>): { code: string; message: string } {
  assert.notEqual(result.code, 0);
  assert.equal(result.stderr, '');
  const printed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(printed), ['error']);
  return printed.error;
}

const folder = mkdtempSync(join(tmpdir(), 'edgerun-cli-'));
const modelPath = join(folder, 'add_relu.onnx');
writeFileSync(modelPath, addReluModel(new Tensor('float32', Float32Array.of(1, -2, 0.5), [3])));
const input = new Tensor('float32', Float32Array.of(0, 1, 2, -5, 5, -1), [2, 3]);

test('inspect prints the interface, op histogram and op support', () => {
  const text = edgerun('inspect', modelPath);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /format: +onnx \(IR version 8\)/);
  assert.match(text.stdout, /x: float32\[batch, 3\]/);
  assert.match(text.stdout, /Add +1\n +Relu +1/);
  assert.match(text.stdout, /every node has a kernel/);
  const json = edgerun('inspect', modelPath, '--json');
  const report = JSON.parse(json.stdout) as { parameterCount: number; opHistogram: Record<string, number>; unsupported: unknown[] };
  assert.equal(report.parameterCount, 3);
  assert.deepEqual(report.opHistogram, { Add: 1, Relu: 1 });
  assert.deepEqual(report.unsupported, []);
});

test('run reads .pb, .npy and JSON inputs and saves outputs as .pb and .npy', async () => {
  const reference = (await ortOutputs(readFileSync(modelPath), { x: input })).y!;
  const expected = Array.from(reference.data as Float32Array);
  const argmax = expected.indexOf(Math.max(...expected));
  const inputs = {
    pb: join(folder, 'x.pb'),
    npy: join(folder, 'x.npy'),
    json: join(folder, 'x.json'),
  };
  writeFileSync(inputs.pb, encodeTensor(input, 'x'));
  writeFileSync(inputs.npy, writeNpy(input));
  writeFileSync(inputs.json, JSON.stringify({ type: 'float32', dims: [2, 3], data: Array.from(input.data as Float32Array) }));
  for (const [kind, file] of Object.entries(inputs)) {
    const out = join(folder, `out-${kind}`);
    const result = edgerun('run', modelPath, kind === 'json' ? `--input=x=${file}` : file, '--save-outputs', out, '--json');
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { outputs: { name: string; dims: number[]; values: number[]; argmax: number }[] };
    assert.deepEqual(printed.outputs[0]!.values, expected);
    assert.equal(printed.outputs[0]!.argmax, argmax);
    const pb = decodeTensor(readFileSync(join(out, 'output_0.pb')));
    assert.deepEqual(Array.from(pb.data as Float32Array), expected);
    assert.deepEqual(Array.from(readNpy(readFileSync(join(out, 'output_0.npy'))).data as Float32Array), expected);
  }
  const text = edgerun('run', modelPath, inputs.npy);
  assert.match(text.stdout, new RegExp(`y: float32 \\[2, 3\\] +argmax ${argmax}\\n +${expected.join(', ').replace(/\./g, '\\.')}`));
});

test('ops lists the catalogue with versions', () => {
  const ops = JSON.parse(edgerun('ops', '--json').stdout) as { domain: string; name: string; versions: number[] }[];
  const conv = ops.find((op) => op.domain === 'ai.onnx' && op.name === 'Conv');
  assert.ok(conv && conv.versions.includes(1));
  assert.ok(ops.some((op) => op.domain === 'ai.onnx.ml' && op.name === 'TreeEnsemble'));
});

test('exit codes: 1 with a message for model and input errors, 2 for usage', () => {
  const missing = edgerun('run', join(folder, 'nope.onnx'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /IO_ERROR: cannot read/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  const garbage = join(folder, 'garbage.onnx');
  writeFileSync(garbage, new Uint8Array(100).fill(0xff));
  assert.equal(edgerun('inspect', garbage).code, 1);
  const wrongShape = join(folder, 'wrong.npy');
  writeFileSync(wrongShape, writeNpy(new Tensor('float32', new Float32Array(4), [1, 4])));
  const shape = edgerun('run', modelPath, wrongShape);
  assert.equal(shape.code, 1);
  assert.match(shape.stderr, /INPUT_SHAPE_MISMATCH: input 'x': expected dims \[batch, 3\], got \[1, 4\]/);
  assert.equal(edgerun('run').code, 2);
  assert.equal(edgerun('frobnicate').code, 2);
  assert.equal(edgerun('run', modelPath, '--input', 'novalue').code, 2);
  assert.equal(edgerun('run', '--help').code, 0);
});

test('demo finds the speech in the bundled clip with both Silero VAD models', () => {
  const result = edgerun('demo', '--json');
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { expected: number[][]; results: { model: string; matches: boolean; segments: number[][] }[] };
  assert.deepEqual(report.results.map((r) => r.model), ['Silero VAD v5', 'Silero VAD v4']);
  for (const run of report.results) {
    assert.ok(run.matches, `${run.model}: found ${JSON.stringify(run.segments)}, expected ${JSON.stringify(report.expected)}`);
    assert.equal(run.segments.length, 2);
  }
});

const identityInt64Path = join(folder, 'identity_int64.onnx');
writeFileSync(
  identityInt64Path,
  encodeOnnx(model({ nodes: [node('Identity', ['x'], ['y'])], inputs: [tensorInfo('x', 'int64', ['n'])], outputs: [tensorInfo('y', 'int64', ['n'])] })),
);

function writeJson(name: string, value: unknown): string {
  const path = join(folder, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

test('JSON input: non-numbers are refused naming the input and the index, never coerced', () => {
  const cases: [unknown[], RegExp][] = [
    [[0, 1, 'abc', 3, 4, 5], /data\[2\] is "abc"/],
    [[0, 1, 2, null, 4, 5], /data\[3\] is null/],
    [[0, 1, 2, 3, [4], 5], /data\[4\] is \[4\]/],
    [[0, 1, 2, 3, 4, true], /data\[5\] is true/],
  ];
  for (const [data, expected] of cases) {
    const file = writeJson('bad.json', { type: 'float32', dims: [2, 3], data });
    const result = edgerun('run', modelPath, file);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /INVALID_ARGUMENT: input 'x' from '.*bad\.json'/);
    assert.match(result.stderr, expected);
  }
  const int8 = edgerun('run', modelPath, writeJson('int8.json', { type: 'int8', dims: [1], data: [300] }));
  assert.match(int8.stderr, /data\[0\] is 300; a int8 tensor takes integers from -128 to 127/);
  const fraction = edgerun('run', identityInt64Path, writeJson('fraction.json', { type: 'int64', dims: [1], data: [1.5] }));
  assert.match(fraction.stderr, /data\[0\] is 1\.5/);
  const beyondDouble = edgerun('run', identityInt64Path, writeJson('unsafe.json', { type: 'int64', dims: [1], data: [2 ** 60] }));
  assert.match(beyondDouble.stderr, /as decimal strings beyond 2\^53/);
});

test('JSON input: 64-bit integers given as strings stay exact through the run and in --json output', () => {
  const values = ['9007199254740993', '-9223372036854775808', '9223372036854775807', '7'];
  const file = writeJson('int64.json', { type: 'int64', dims: [4], data: values });
  const result = edgerun('run', identityInt64Path, file, '--json');
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const printed = JSON.parse(result.stdout) as { outputs: { values: string[] }[] };
  assert.deepEqual(printed.outputs[0]!.values, values);
  const text = edgerun('run', identityInt64Path, file);
  assert.match(text.stdout, /9007199254740993, -9223372036854775808, 9223372036854775807, 7/);
  const overflow = edgerun('run', identityInt64Path, writeJson('overflow.json', { type: 'int64', dims: [1], data: ['9223372036854775808'] }));
  assert.match(overflow.stderr, /data\[0\] is "9223372036854775808"; a int64 tensor takes integers from -9223372036854775808 to 9223372036854775807/);
});

test('input files: an unknown extension says what was given and what is accepted; raw bytes use the declared type', () => {
  const text = join(folder, 'x.txt');
  writeFileSync(text, '1 2 3');
  const result = edgerun('run', modelPath, text);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /INVALID_ARGUMENT: input 'x' from '.*x\.txt': the file has extension '\.txt'; accepted: \.npy .*\.pb .*\.json .*\.raw or \.bin/);
  const bare = join(folder, 'x');
  writeFileSync(bare, '');
  assert.match(edgerun('run', modelPath, bare).stderr, /the file has no extension; accepted/);
  // Raw: the open 'batch' dim follows from the size.
  const raw = join(folder, 'x.raw');
  const data = input.data as Float32Array;
  writeFileSync(raw, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const viaRaw = edgerun('run', modelPath, raw, '--json');
  const viaNpy = edgerun('run', modelPath, join(folder, 'x.npy'), '--json');
  assert.equal(viaRaw.code, 0, viaRaw.stderr);
  assert.deepEqual(JSON.parse(viaRaw.stdout).outputs, JSON.parse(viaNpy.stdout).outputs);
  writeFileSync(raw, new Uint8Array(10));
  assert.match(edgerun('run', modelPath, raw).stderr, /SHAPE_MISMATCH: .*10 bytes do not make a float32 tensor of dims \[batch, 3\]/);
});

test('too many input files: the message counts them and lists the inputs left', () => {
  const npy = join(folder, 'x.npy');
  const result = edgerun('run', modelPath, npy, npy);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /2 input files given \(.*\), but the model takes 1 input: x \(float32\[batch, 3\]\)\n/);
  const named = edgerun('run', modelPath, '--input', `x=${npy}`, npy);
  assert.match(named.stderr, /1 input file given .*; 0 left after --input: none/);
  const unknown = edgerun('run', modelPath, '--input', `z=${npy}`);
  assert.match(unknown.stderr, /INPUT_NAME_UNKNOWN: --input z=\.\.\.: the model has no input 'z'; its inputs: x/);
});

test('--save-outputs: file system errors name the path; special files are refused, never waited on', () => {
  const npy = join(folder, 'x.npy');
  const inTheWay = join(folder, 'a-file');
  writeFileSync(inTheWay, 'not a folder');
  const blocked = edgerun('run', modelPath, npy, '--save-outputs', inTheWay);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, new RegExp(`IO_ERROR: cannot create the --save-outputs folder '${inTheWay}': file already exists \\(EEXIST\\)`));
  const below = edgerun('run', modelPath, npy, '--save-outputs', join(inTheWay, 'sub'));
  assert.match(below.stderr, /IO_ERROR: cannot create the --save-outputs folder '.*a-file\/sub': not a directory \(ENOTDIR\)/);
  const proc = edgerun('run', modelPath, npy, '--save-outputs', '/proc/self');
  assert.match(proc.stderr, /IO_ERROR: cannot write '\/proc\/self\/output_0\.pb': /);
  assert.doesNotMatch(blocked.stderr + below.stderr + proc.stderr, /internal error/);
  const pipes = join(folder, 'pipes');
  mkdirSync(pipes);
  execFileSync('mkfifo', [join(pipes, 'output_0.pb'), join(folder, 'pipe.npy')]);
  const fifoOut = edgerun('run', modelPath, npy, '--save-outputs', pipes);
  assert.match(fifoOut.stderr, /IO_ERROR: cannot write '.*pipes\/output_0\.pb': it is a named pipe, not a regular file/);
  const fifoIn = edgerun('run', modelPath, join(folder, 'pipe.npy'));
  assert.match(fifoIn.stderr, /IO_ERROR: input file '.*pipe\.npy' is a named pipe, not a regular file/);
  // /proc files state size 0 and some block on read (kmsg); they are refused by their size.
  const procIn = edgerun('run', modelPath, '--input', 'x=/proc/self/status.npy');
  assert.match(procIn.stderr, /IO_ERROR: cannot read input file '\/proc\/self\/status\.npy': no such file/);
  const kmsg = edgerun('run', '/proc/kmsg', npy);
  assert.match(kmsg.stderr, /IO_ERROR: (model file '\/proc\/kmsg' is empty \(or a special file|cannot read model file '\/proc\/kmsg')/);
});

test('.npy errors name the file once', () => {
  const broken = join(folder, 'broken.npy');
  writeFileSync(broken, 'not numpy at all');
  const result = edgerun('run', modelPath, broken);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /INVALID_ARGUMENT: input 'x' from '.*broken\.npy': not a \.npy file \(bad magic\)\n$/);
  assert.equal(result.stderr.split('broken.npy').length - 1, 1, result.stderr);
});

test('run --json prints every value, or says they were cut and how to get them all', () => {
  const many = new Tensor('float32', Float32Array.from({ length: 45 }, (_, i) => i - 20), [15, 3]);
  const file = join(folder, 'many.npy');
  writeFileSync(file, writeNpy(many));
  const expected = Array.from(many.data as Float32Array, (value, i) => Math.max(0, value + [1, -2, 0.5][i % 3]!));
  const full = JSON.parse(edgerun('run', modelPath, file, '--json').stdout) as { outputs: { values: number[]; valuesCut?: unknown }[] };
  assert.deepEqual(full.outputs[0]!.values, expected);
  assert.equal(full.outputs[0]!.valuesCut, undefined);
  const cut = JSON.parse(edgerun('run', modelPath, file, '--json', '--values', '5').stdout) as {
    outputs: { values: number[]; valuesCut: { shown: number; of: number; toGetAll: string } }[];
  };
  assert.deepEqual(cut.outputs[0]!.values, expected.slice(0, 5));
  assert.deepEqual(cut.outputs[0]!.valuesCut, { shown: 5, of: 45, toGetAll: '--values all, or --save-outputs DIR for .npy and .pb files' });
  assert.match(edgerun('run', modelPath, file).stdout, /, \.\.\. \(45 values; --values all prints them all\)/);
});

test('--json: errors are a JSON object on stdout with the same exit code, for every command', () => {
  assert.deepEqual(jsonFailure(edgerun('run', join(folder, 'nope.onnx'), '--json')).code, 'IO_ERROR');
  const bad = jsonFailure(edgerun('run', modelPath, writeJson('bad.json', { type: 'float32', dims: [1], data: ['x'] }), '--json'));
  assert.equal(bad.code, 'INVALID_ARGUMENT');
  assert.match(bad.message, /input 'x' from '.*bad\.json': data\[0\] is "x"/);
  const usage = edgerun('run', modelPath, '--json', '--no-such-option');
  assert.equal(usage.code, 2);
  assert.equal(jsonFailure(usage).code, 'USAGE');
  assert.equal(jsonFailure(edgerun('inspect', join(folder, 'nope.onnx'), '--json')).code, 'IO_ERROR');
  assert.equal(jsonFailure(edgerun('ops', '--json', 'extra')).code, 'USAGE');
  assert.equal(jsonFailure(edgerun('demo', '--json', '--bogus')).code, 'USAGE');
});

test('inspect counts the tensors of Constant nodes as parameters and gives types as data in --json', () => {
  const weights = new Tensor('float32', Float32Array.from({ length: 6 }, (_, i) => i), [2, 3]);
  const constantModel = join(folder, 'constant.onnx');
  const constant = { ...node('Constant', [], ['w'], 'weights'), attributes: { value: { type: 'tensor' as const, value: weights } } };
  writeFileSync(
    constantModel,
    encodeOnnx(
      model({
        nodes: [constant, node('Add', ['x', 'w'], ['y'])],
        inputs: [tensorInfo('x', 'float32', ['batch', 2, 3])],
        outputs: [{ name: 'y' }],
        initializers: new Map([['unused_bias', new Tensor('float32', new Float32Array(4), [4])]]),
      }),
    ),
  );
  const report = JSON.parse(edgerun('inspect', constantModel, '--json').stdout) as {
    parameterCount: number;
    parameterBytes: number;
    inputs: { name: string; type: unknown; description: string }[];
    outputs: { name: string; type: unknown; inferred?: boolean }[];
  };
  assert.equal(report.parameterCount, parameterCountFromProto(readFileSync(constantModel)));
  assert.equal(report.parameterBytes, report.parameterCount * 4);
  assert.deepEqual(report.inputs, [{ name: 'x', type: { dtype: 'float32', shape: ['batch', 2, 3] }, description: 'float32[batch, 2, 3]' }]);
  assert.deepEqual(report.outputs[0]!.type, { dtype: 'float32', shape: ['batch', 2, 3] });
  assert.equal(report.outputs[0]!.inferred, true);
  assert.match(edgerun('inspect', constantModel).stdout, /parameters: 10 \(40 B\)/);
});

test('inspect counts silero VAD v5 parameters, all held by Constant nodes', { skip: skipUnlessShared() }, () => {
  const path = sharedPath('real/onnx/silero_vad_v5.onnx');
  const report = JSON.parse(edgerun('inspect', path, '--json').stdout) as { parameterCount: number; inputs: { name: string; type: unknown }[] };
  const expected = parameterCountFromProto(readFileSync(path));
  assert.ok(expected > 100_000, `the proto walk found ${expected}`);
  assert.equal(report.parameterCount, expected);
  assert.deepEqual(report.inputs.find((entry) => entry.name === 'state')!.type, { dtype: 'float32', shape: [2, null, 128] });
});

/** Elements of the initializers and Constant-node tensors, read with the protobuf schema alone (not edgerun's loader). */
function parameterCountFromProto(bytes: Uint8Array): number {
  const count = (dims: bigint[]) => dims.reduce((product, dim) => product * Number(dim), 1);
  const visit = (graph: GraphProto): number =>
    graph.initializer.reduce((sum, tensor) => sum + count(tensor.dims), 0) +
    graph.node.reduce(
      (sum, entry) =>
        sum +
        entry.attribute.reduce(
          (inner, attribute) =>
            inner +
            (entry.opType === 'Constant' && attribute.t ? count(attribute.t.dims) : 0) +
            (attribute.g ? visit(attribute.g) : 0) +
            attribute.graphs.reduce((more, graph) => more + visit(graph), 0),
          0,
        ),
      0,
    );
  return visit(fromBinary(ModelProtoSchema, bytes).graph!);
}

test('--version and --help load no runtime module (the CLI starts in well under a second)', () => {
  const hooks = join(folder, 'record-loads.mjs');
  const log = join(folder, 'loaded.txt');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');\n  return result;\n}\n`,
  );
  const register = join(folder, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  for (const flag of ['--version', '--help']) {
    writeFileSync(log, '');
    const result = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, join(REPO_ROOT, 'bin/edgerun.js'), flag], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const loaded = readFileSync(log, 'utf8').split('\n').filter((url) => url.includes('/dist/'));
    assert.ok(loaded.some((url) => url.endsWith('/dist/cli/main.js')), 'the hook saw the CLI load');
    const runtime = loaded.filter((url) => /\/dist\/(runtime|ops|formats|backends|kernels)\/|\/dist\/(node|index)\.js$/.test(url));
    assert.deepEqual(runtime, [], `${flag} loaded runtime modules`);
    assert.ok(!readFileSync(log, 'utf8').includes('cli-progress'), `${flag} loaded cli-progress`);
  }
});
