import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import '../../src/ops/index.js';
import { resolveOp, supportedOps, type OpDef } from '../../src/ops/registry.js';
import { REPO_ROOT } from '../support/shared.js';

/**
 * Every attribute default of the op catalogue against ONNX's own schemas, dumped from the onnx Python
 * package by scripts/dump-onnx-attribute-defaults.py into test/golden/onnx-attribute-defaults.json.
 */
interface SchemaAttribute {
  type: string;
  required: boolean;
  default?: unknown;
}

interface SchemaFile {
  onnx_version: string;
  opsets: Record<string, number>;
  schemas: Record<string, { since: number; attributes: Record<string, SchemaAttribute> }[]>;
}

const dump = JSON.parse(readFileSync(`${REPO_ROOT}/test/golden/onnx-attribute-defaults.json`, 'utf8')) as SchemaFile;

type SchemaVersion = SchemaFile['schemas'][string][number];

/** Defaults the schema file gets wrong, each with the reason edgerun differs. */
const RNN_ACTIVATIONS = 'the schema lists one Tanh per direction of a bidirectional RNN; edgerun, like onnxruntime, defaults to one Tanh per direction the node has';
const SCHEMA_ERRATA: Record<string, string> = {
  'ai.onnx:GRU@1 direction': 'GRU-1\'s schema spells its default "foward"; every later version says "forward"',
  'ai.onnx:RNN@1 activations': RNN_ACTIVATIONS,
  'ai.onnx:RNN@7 activations': RNN_ACTIVATIONS,
  'ai.onnx:RNN@14 activations': RNN_ACTIVATIONS,
};

/** A default as the schema stores it: floats are float32, so compare through Math.fround. */
function sameDefault(ours: unknown, theirs: unknown): boolean {
  if (typeof ours === 'number' && typeof theirs === 'number') return Math.fround(ours) === Math.fround(theirs);
  if (Array.isArray(ours) && Array.isArray(theirs)) return ours.length === theirs.length && ours.every((value, i) => sameDefault(value, theirs[i]));
  return ours === theirs;
}

/**
 * The spec versions an OpDef stands for: the one in force at its `since` and every later one that starts
 * before the catalogue's next version of the op. Each must agree with the OpDef on every default.
 */
function coveredVersions(versions: SchemaVersion[], since: number, until: number): SchemaVersion[] {
  const inForce = versions.filter((version) => version.since <= since).at(-1);
  return [...(inForce ? [inForce] : []), ...versions.filter((version) => version.since > since && version.since < until)];
}

/** Problems with one OpDef; attributes newer than the dumped onnx release go to `unchecked`. */
function problemsOf(def: OpDef, key: string, covered: SchemaVersion[], all: SchemaVersion[], unchecked: string[]): string[] {
  const problems: string[] = [];
  const where = `${key}@${def.since}`;
  const check = (name: string, theirs: SchemaAttribute, specSince: number) => {
    if (SCHEMA_ERRATA[`${key}@${specSince} ${name}`]) return;
    const ours = def.attributes[name];
    if (!ours) {
      if (theirs.default !== undefined) problems.push(`${where}: attribute '${name}' (default ${JSON.stringify(theirs.default)} in version ${specSince}) is missing`);
      return;
    }
    // A float attribute also takes an int (resolveAttributes widens it), so it may stand for either.
    if (ours.kind !== theirs.type && !(ours.kind === 'float' && theirs.type === 'int')) problems.push(`${where}: attribute '${name}' is ${ours.kind}, version ${specSince} says ${theirs.type}`);
    if (theirs.default !== undefined && !sameDefault(ours.defaultValue, theirs.default)) {
      problems.push(`${where}: attribute '${name}' defaults to ${JSON.stringify(ours.defaultValue)}, version ${specSince} says ${JSON.stringify(theirs.default)}`);
    }
  };
  for (const version of covered) for (const [name, theirs] of Object.entries(version.attributes)) check(name, theirs, version.since);
  // An attribute from another version of the op (shared definitions) keeps the default that version gives it.
  for (const name of Object.keys(def.attributes)) {
    if (covered.some((version) => name in version.attributes)) continue;
    const elsewhere = all.filter((version) => name in version.attributes);
    const nearest = elsewhere.find((version) => version.since > def.since) ?? elsewhere.at(-1);
    if (nearest) check(name, nearest.attributes[name]!, nearest.since);
    else unchecked.push(`${where} ${name}`);
  }
  return problems;
}

test('every attribute default matches the ONNX schemas of the op versions it stands for', () => {
  const problems: string[] = [];
  let checked = 0;
  const unchecked: string[] = [];
  for (const { domain, name, versions } of supportedOps()) {
    const key = `${domain}:${name}`;
    const specVersions = dump.schemas[key];
    const newest = dump.opsets[domain];
    versions.forEach((since, i) => {
      if (!specVersions || newest === undefined || since > newest) {
        unchecked.push(`${key}@${since}`);
        return;
      }
      const def = resolveOp(domain === 'ai.onnx' ? '' : domain, name, since)!;
      problems.push(...problemsOf(def, key, coveredVersions(specVersions, since, versions[i + 1] ?? Infinity), specVersions, unchecked));
      checked++;
    });
  }
  // What the dumped release does not know (later opsets, attributes added since) is named, not passed over.
  console.log(`checked ${checked} op versions against onnx ${dump.onnx_version}'s schemas; newer than it, unchecked: ${unchecked.join(', ')}`);
  assert.deepEqual(problems, []);
});
