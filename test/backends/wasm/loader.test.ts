import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WASM_MODULES } from '../../../src/backends/wasm/modules.generated.js';
import { chooseVariant, decodeBase64, wasmCapabilities } from '../../../src/backends/wasm/runtime.js';
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
