/** edgerun's browser-safe API: sessions from model bytes, tensors, typed errors, custom ops. */
export { InferenceSession, type SessionOptions, type RunOptions, type ValueMetadata, type GraphOptimizationLevel } from './runtime/session.js';
export { nodeTimings, opTypeTimings, profileReport, type TraceEvent, type NodeTiming, type OpTypeTiming, type ProfileReport } from './runtime/profile.js';
export { registerBackend, availableBackends, type BackendFactory } from './runtime/backends.js';
export type { Backend, Kernel, KernelIO, NodeInfo, MemoryRegion, BackendOptions } from './backends/backend.js';
export { Tensor } from './core/tensor.js';
export type { DataType, TensorData } from './core/dtype.js';
export type { Value } from './core/graph.js';
export { asOptional, asSequence, asTensor, isSequence, isTensor, type OnnxValue, type RunResult } from './runtime/values.js';
export { EdgerunError, type ErrorCode } from './core/errors.js';
export { defineOp, registerOp, supportedOps, attr, type KernelContext, type OpSchema, type OpDef } from './ops/registry.js';
export { inspectModel, type ModelReport } from './runtime/inspect.js';
export { readNpy, writeNpy } from './formats/npy.js';
export { decodeValue as decodeOnnxValue, decodeTensor as decodeOnnxTensor, encodeTensor as encodeOnnxTensor } from './formats/onnx/data-proto.js';
export { decodeOnnx } from './formats/onnx/decode.js';
export { encodeOnnx } from './formats/onnx/encode.js';
export { optimizeGraph, OPTIMIZATION_LEVELS, type OptimizationLevel, type OptimizeOptions } from './optimize/index.js';
