import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WASM_MODULES } from '../../../src/backends/wasm/modules.generated.js';
import { convOps } from '../../../src/backends/wasm/conv.js';
import { chooseVariant, decodeBase64, wasmCapabilities, WasmRuntime } from '../../../src/backends/wasm/runtime.js';
import { int, ints, nodeInfo, randomTensor } from './harness.js';
import './variants.js';

test('the embedded modules decode to the same valid wasm with atob and without it', () => {
  const host = globalThis as { atob?: typeof atob };
  const nativeAtob = host.atob;
  for (const [name, variants] of Object.entries(WASM_MODULES)) {
    for (const [variant, base64] of Object.entries(variants)) {
      const withAtob = decodeBase64(base64);
      host.atob = undefined;
      try {
        assert.deepEqual(decodeBase64(base64), withAtob, `${name}/${variant}`);
      } finally {
        host.atob = nativeAtob;
      }
      // The wasm magic number and version 1.
      assert.deepEqual([...withAtob.subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], `${name}/${variant}`);
    }
  }
});

test('the build chosen is the best the host validates: shared memory first, relaxed SIMD with it or alone', () => {
  const choose = (relaxedSimd: boolean, sharedMemory: boolean) => chooseVariant({ simd: true, relaxedSimd, sharedMemory });
  assert.equal(choose(true, true), 'relaxed-threads');
  assert.equal(choose(false, true), 'threads');
  assert.equal(choose(true, false), 'relaxed');
  assert.equal(choose(false, false), 'simd');
  assert.equal(chooseVariant({ simd: false, relaxedSimd: false, sharedMemory: true }), undefined);
  // This process turned relaxed SIMD on (variants.js): Node validates every build.
  assert.deepEqual(wasmCapabilities(), { simd: true, relaxedSimd: true, sharedMemory: true });
});

test('a runtime tiers up the kernels its prepared nodes call, and no others', async () => {
  const runtime = await WasmRuntime.create(chooseVariant()!);
  try {
    assert.deepEqual([...runtime.warmedKernels], [], 'nothing before a node is prepared');
    const conv = convOps.Conv!;
    conv.prepare(runtime, nodeInfo({ opType: 'Conv', inputs: [randomTensor([1, 8, 5, 5], 1), randomTensor([16, 8, 1, 1], 2)], constants: [1] }));
    assert.deepEqual(new Set(runtime.warmedKernels), new Set(['f32_gemm_minmax', 'f32_transpose']), 'a pointwise NCHW Conv: the GEMM and the layout transposes');
    conv.prepare(runtime, nodeInfo({
      opType: 'Conv', inputs: [randomTensor([1, 8, 5, 5], 3), randomTensor([8, 1, 3, 3], 4)], constants: [1],
      attributes: { group: int(8), pads: ints([1, 1, 1, 1]) },
    }));
    assert.deepEqual(new Set(runtime.warmedKernels), new Set(['f32_gemm_minmax', 'f32_transpose', 'f32_dwconv_minmax_nhwc']), 'a depthwise Conv adds its kernel');
  } finally {
    runtime.dispose();
  }
});
