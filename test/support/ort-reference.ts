import * as ort from 'onnxruntime-node';
import { Tensor } from '../../src/core/tensor.js';

// onnxruntime's kernel warnings (deprecated attributes, its RoiAlign notice) go to its default logger.
ort.env.logLevel = 'error';

/**
 * What onnxruntime-node computes for a model, as edgerun tensors: the reference the small tests compare to.
 * `options` adds session options (the differential test and the committed set turn graph optimization off,
 * so that ORT runs each op as written).
 */
export async function ortOutputs(model: Uint8Array, feeds: Record<string, Tensor>, options: ort.InferenceSession.SessionOptions = {}): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, ...options });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
  const outputs = await session.run(ortFeeds);
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
}
