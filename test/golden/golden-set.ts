import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tensor } from '../../src/core/tensor.js';
import { decodeTensor } from '../../src/formats/onnx/data-proto.js';
import type { Tolerance } from '../support/compare.js';
import { REPO_ROOT } from '../support/shared.js';

/** The committed conformance set: small single-op models with onnxruntime-node's outputs (see scripts/make-golden-set.ts). */
export const GOLDEN_SET_FILE = 'test/golden/conformance-set.json';

export interface GoldenCase {
  /** The generator family, e.g. 'Conv' or 'Softmax'. */
  family: string;
  label: string;
  /** Whether an output is float32. */
  float32: boolean;
  /** The ONNX model, base64. */
  model: string;
  /** TensorProtos by name, base64. */
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  tolerance?: Tolerance;
}

export interface GoldenSet {
  origin: string;
  cases: GoldenCase[];
}

export function readGoldenSet(): GoldenSet {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, GOLDEN_SET_FILE), 'utf8')) as GoldenSet;
}

export function tensorsOf(encoded: Record<string, string>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(encoded).map(([name, base64]) => [name, decodeTensor(Buffer.from(base64, 'base64'))]));
}
